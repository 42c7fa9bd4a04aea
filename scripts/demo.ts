// The README's main command (`make demo`).
//
// With no cluster configured ($KUBECONFIG unset): tells the four incidents' story on
// a local control plane (test/story/story.ts) — the broken cluster, the
// operator installed from config/default, the sample AuthPolicy, the switch to
// the Node authorizer, a signing-key regeneration and a skewed clock — with
// `kubectl get authpolicy` at every step, a summary at the end, and nothing left
// running. `--keep` keeps the cluster up until Ctrl-C instead.
//
// With $KUBECONFIG set: runs the operator (`authpolicy-operator run`) against
// that cluster, as the README documents; it changes nothing until an
// AuthPolicy exists there.
import { spawn } from 'node:child_process';
import { runStory, type Narrator } from '../test/story/story.ts';
import { ROOT } from '../test/cluster/operator.ts';

const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
const bold = (s: string): string => (useColor ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string): string => (useColor ? `\x1b[2m${s}\x1b[0m` : s);
const indent = (text: string): string =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');

if (process.env.KUBECONFIG) {
  console.log(`KUBECONFIG is set (${process.env.KUBECONFIG}): running the operator against that cluster.`);
  console.log('It needs the CRD and RBAC first (kubectl apply --server-side -k config/default) and acts only on an AuthPolicy you apply.');
  const child = spawn(
    process.execPath,
    [`${ROOT}/src/cli/main.ts`, 'run', '--leader-election-namespace=authpolicy-system', ...process.argv.slice(2).filter((a) => a !== '--keep')],
    { stdio: 'inherit' },
  );
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal ? 1 : 0);
  });
} else {
  let count = 0;
  const narrator: Narrator = {
    step: (title) => {
      console.log(`\n${bold(`==> ${++count}. ${title}`)}`);
    },
    say: (text) => {
      console.log(text);
    },
    show: (command, output) => {
      console.log(`${dim(`$ ${command}`)}\n${indent(output)}`);
    },
  };
  const keep = process.argv.includes('--keep');
  const started = Date.now();
  const record = await runStory({
    narrator,
    beforeTeardown: async (cluster) => {
      if (!keep) return;
      console.log(`\nCluster kept running: export KUBECONFIG=${cluster.adminKubeconfig}; PATH=${cluster.binDir}:$PATH`);
      console.log('Press Ctrl-C to stop it.');
      await new Promise<void>((resolve) =>
        process.once('SIGINT', () => {
          resolve();
        }),
      );
    },
  });
  console.log(`\n${bold('Summary')} (${Math.round((Date.now() - started) / 1000)} s; everything stopped and removed)`);
  record.steps.forEach((s, i) => {
    console.log(`  ${i + 1}. ${s.title} (${s.seconds} s)\n     ${s.outcome}`);
  });
}
