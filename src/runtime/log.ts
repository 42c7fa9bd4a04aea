// Structured JSON logs ({level, timestamp, message, controller, object, reconcileID, …}).
// Callers pass names and reasons, never a token, a Secret's data or a kubeconfig.
import winston from 'winston';

export type Logger = winston.Logger;
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function createLogger(level: LogLevel = 'info', options: { silent?: boolean } = {}): Logger {
  return winston.createLogger({
    level,
    silent: options.silent ?? false,
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: false }), winston.format.json()),
    defaultMeta: { logger: 'authpolicy-operator' },
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- winston's Console is a TransportStream subclass
    transports: [new winston.transports.Console({ stderrLevels: [...LOG_LEVELS] })],
  });
}
