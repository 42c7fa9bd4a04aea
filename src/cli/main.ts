#!/usr/bin/env node
// authpolicy-operator: `run` the controller, `check` a cluster once, or show
// each AuthPolicy's `status`. Also works as a kubectl plugin when installed as
// kubectl-authpolicy on PATH.
import { basename } from 'node:path';
import { Command, Option } from 'commander';
import { LOG_LEVELS, type LogLevel } from '../runtime/log.ts';
// Each command loads only its own code when it runs: `status` and `--help` start fast.
import type { check } from './check.ts';
import type { run } from './run.ts';
import type { status } from './status.ts';

// kubectl execve()s the plugin by its PATH entry (argv[0] is the kubectl-authpolicy
// path; Node keeps a symlinked script's path in argv[1]) and adds KUBECTL_PATH to
// its environment: k8s.io/kubectl pkg/cmd/plugin.go, DefaultPluginHandler.Execute
// and pluginEnvironment. KUBECTL_PATH covers launchers that hide the name (npm's
// Windows shims).
const asPlugin = basename(process.argv[1] ?? '').startsWith('kubectl-') || process.env.KUBECTL_PATH !== undefined;
const program = new Command(asPlugin ? 'kubectl authpolicy' : 'authpolicy-operator')
  .description('Keeps node authorization, legacy service-account tokens, clock skew and bound-token health declarative and self-healing.')
  .showHelpAfterError()
  // A usage error is "could not check" (2), never "needs action" (1, commander's default).
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

/**
 * A one-shot command ends when its answer is printed: nothing left over (a connection to a
 * server that never answers, a timer) may keep the process alive past its deadline.
 * stdout and stderr are synchronous for files and pipes on Linux, so nothing printed is lost.
 */
function exitNow(code: number): never {
  process.exit(code);
}

const clusterOptions = (cmd: Command): Command =>
  cmd
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster)')
    .option('--context <name>', 'kubeconfig context to use');

clusterOptions(program.command('run'))
  .description('run the controller')
  .option('--leader-elect', 'elect a leader so only one replica reconciles', true)
  .option('--no-leader-elect', 'reconcile without leader election (single replica only)')
  .option('--leader-election-namespace <ns>', 'namespace of the leader Lease', process.env.POD_NAMESPACE ?? 'authpolicy-system')
  .option('--leader-election-id <name>', 'name of the leader Lease', 'authpolicy-operator')
  .option('--leader-election-lease-duration <d>', 'how long a standby waits before taking an unrenewed lease', '15s')
  .option('--leader-election-renew-deadline <d>', 'how long the leader retries renewing before it stops reconciling', '10s')
  .option('--leader-election-retry-period <d>', 'how often to try to acquire or renew the lease', '2s')
  .option('--metrics-bind-address <addr>', 'where /metrics is served', ':8080')
  .option('--health-probe-bind-address <addr>', 'where /healthz and /readyz are served', ':8081')
  .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
  .option('--concurrency <n>', 'maximum concurrent reconciles', (v) => Number.parseInt(v, 10), 1)
  .option(
    '--watch-inactivity-timeout <d>',
    'restart a watch that sent nothing, not even a bookmark, for this long (the API server sends one about every minute)',
    '3m',
  )
  .option('--relist-interval <d>', 'relist and diff every cache this often as a backstop (0 disables)', '30m')
  .option('--dry-run', 'treat every AuthPolicy as spec.dryRun: report, change nothing', false)
  .option('--audit-webhook-bind-address <addr>', 'serve an HTTPS audit webhook here to find service accounts using stale tokens (off by default)')
  .option('--audit-webhook-cert-file <path>', 'serving certificate for the audit webhook')
  .option('--audit-webhook-key-file <path>', 'serving key for the audit webhook')
  .option('--audit-webhook-client-ca-file <path>', "CA of the API server's audit client certificate")
  .option('--pod-name <name>', "this replica's pod, labelled authpolicy.io/leader=true|false for the leader-only audit Service", process.env.POD_NAME)
  .action(async (opts: Parameters<typeof run>[0] & { logLevel: LogLevel }) => {
    process.exitCode = await (await import('./run.ts')).run(opts);
  });

clusterOptions(program.command('check'))
  .description('diagnose the cluster once against a policy, read-only; exit 0 healthy, 1 needs action, 2 could not check')
  .option('-f, --file <path>', 'an AuthPolicy manifest to check against')
  .option('--name <name>', 'an AuthPolicy in the cluster to check against')
  .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
  .option('--timeout <d>', 'how long to wait for the cluster to answer, at most (e.g. 30s; a number is seconds)', '60s')
  .action(async (opts: Parameters<typeof check>[0]) => {
    exitNow(await (await import('./check.ts')).check(opts));
  });

clusterOptions(program.command('status'))
  .description("show each AuthPolicy's conditions as the operator last wrote them; exit 0 ready, 1 not ready or not yet observed, 2 could not read")
  .option('--name <name>', 'only this AuthPolicy')
  .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table'))
  .option('--timeout <d>', 'how long to wait for the API server, at most (e.g. 5s; a number is seconds; 0: no limit)', '30s')
  .option('--request-timeout <d>', "kubectl's name for --timeout")
  .action(async (opts: Parameters<typeof status>[0]) => {
    exitNow(await (await import('./status.ts')).status(opts));
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`${program.name()}: ${err instanceof Error ? err.message : String(err)}`);
  if (process.env.AUTHPOLICY_DEBUG && err instanceof Error) console.error(err.stack);
  process.exitCode = 2;
});
