// Every change of an AuthPolicy's conditions, in the API server's order: a `kubectl get -w` (one line per
// write), started again when it ends (an API server restart closes the watch; the new one lists first).
// A poll would miss a condition that holds for less than its period, as a short restart window does on a
// busy machine, where starting kubectl alone takes seconds.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Cluster } from './harness.ts';
import type { ConditionView } from './requests.ts';

export interface ConditionWatch {
  stop(): void;
}

export type ConditionState = Pick<ConditionView, 'type' | 'status' | 'reason'>;

/** Calls onConditions with the type, status and reason of every condition, for each write to the policy. */
export function watchConditions(cluster: Cluster, policy: string, onConditions: (conditions: ConditionState[]) => void): ConditionWatch {
  let child: ChildProcess | undefined;
  let stopped = false;
  const start = (): void => {
    if (stopped) return;
    const proc = spawn(`${cluster.binDir}/kubectl`, [
      `--kubeconfig=${cluster.adminKubeconfig}`,
      'get',
      'authpolicy',
      policy,
      '-w',
      '-o',
      'jsonpath={range .status.conditions[*]}{.type} {.status} {.reason};{end}{"\\n"}',
    ]);
    child = proc;
    let partial = '';
    proc.stdout.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        onConditions(
          line
            .split(';')
            .filter(Boolean)
            .map((c) => {
              const [type = '', status = '', reason = ''] = c.split(' ');
              return { type, status, reason };
            }),
        );
      }
    });
    proc.on('error', () => undefined);
    proc.on('exit', () => setTimeout(start, 200));
  };
  start();
  return {
    stop: () => {
      stopped = true;
      child?.kill();
    },
  };
}
