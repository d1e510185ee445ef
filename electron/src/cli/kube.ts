/** `berth kube enable|disable|status|kubeconfig|reset`: the single-node cluster beside the engine (native driver). */
import { createInterface } from 'node:readline/promises';
import type { BerthKubeStatus } from '@berth/common';
import {
  CONTEXT,
  disableKube,
  enableKube,
  kubeconfigText,
  kubeStatus,
  resetKube,
  userKubeconfig,
} from '../kube/actions.js';
import { berthPaths } from '../vm/paths.js';
import { CliUsageError, type CliCommand } from './command.js';
import { flags, positiveInt, progress } from './vm-common.js';

const HELP = `Usage: berth kube COMMAND [OPTIONS]

A single-node Kubernetes (API 1.32) beside the engine; kubectl reaches it through the context "berth".

Commands:
  enable [--use] [--port N] [--pod-cidr CIDR]
              Start the cluster, wait for its node, and merge the context "berth" into your kubeconfig
              ($KUBECONFIG's first file, else ~/.kube/config; the old file is kept as <file>.berth-backup).
              The current context switches to "berth" only when there was none, or with --use.
              The API server listens on 127.0.0.1:6443 (--port, else another free port when 6443 is taken).
              Remembered: \`berth start\` brings the cluster back.
  disable     Stop the cluster and remove its pods' containers (the context stays in your kubeconfig)
  status [--json]
              Running or stopped, the API URL, whether the node is Ready, the kubeconfig path
  kubeconfig  Print the cluster's own admin kubeconfig
  reset [--force]
              Disable, then delete the cluster's state (objects, certificates); the engine's images stay
`;

function describe(s: BerthKubeStatus): string {
  const lines = [
    `Cluster:    ${s.state}${s.pid ? `, pid ${s.pid}` : ''}${s.enabled ? '' : ' (not enabled)'}` +
      (s.driver === 'native' ? '' : ` (in the ${s.driver} VM)`),
  ];
  if (s.apiServer) lines.push(`API server: ${s.apiServer}`);
  for (const n of s.nodes) lines.push(`Node:       ${n.name} ${n.ready ? 'Ready' : 'NotReady'}`);
  lines.push(
    `Kubeconfig: ${s.kubeconfig}${s.context ? ` (context "${CONTEXT}")` : ` (no context "${CONTEXT}")`}`,
  );
  for (const pr of s.problems) {
    lines.push(`Problem:    ${pr.message}`);
    if (pr.log) lines.push(...pr.log.split('\n').map((l) => `            ${l}`));
  }
  if (s.state === 'stopped') lines.push('Next:       `berth kube enable` starts it');
  return lines.join('\n') + '\n';
}

async function confirm(question: string, word: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw new CliUsageError("this deletes the cluster's state; confirm with --force");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(question);
  rl.close();
  return answer.trim() === word;
}

export const command: CliCommand = {
  summary: 'Kubernetes beside the engine: enable, disable, status, kubeconfig, reset',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
      process.stdout.write(HELP);
      return sub === undefined ? 2 : 0;
    }
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(HELP);
      return 0;
    }
    const p = berthPaths();
    switch (sub) {
      case 'enable': {
        const { values } = flags(rest, {
          use: { type: 'boolean' },
          port: { type: 'string' },
          'pod-cidr': { type: 'string' },
        });
        const port = positiveInt('--port', values.port);
        if (port !== undefined && port > 65535) throw new CliUsageError('--port must be 1-65535');
        const podCIDR = typeof values['pod-cidr'] === 'string' ? values['pod-cidr'] : undefined;
        if (podCIDR !== undefined && !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(podCIDR))
          throw new CliUsageError(`--pod-cidr wants an IPv4 CIDR such as 10.42.0.0/16, got "${podCIDR}"`);
        await enableKube(
          p,
          { use: values.use === true, ...(port ? { port } : {}), ...(podCIDR ? { podCIDR } : {}) },
          progress,
        );
        return 0;
      }
      case 'disable': {
        flags(rest, {});
        await disableKube(p, progress);
        process.stderr.write(`The cluster is stopped; context "${CONTEXT}" stays in ${userKubeconfig()}.\n`);
        return 0;
      }
      case 'status': {
        const { values } = flags(rest, { json: { type: 'boolean' } });
        const s = await kubeStatus(p);
        process.stdout.write(values.json ? JSON.stringify(s, null, 2) + '\n' : describe(s));
        return s.state === 'running' ? 0 : 3;
      }
      case 'kubeconfig': {
        flags(rest, {});
        process.stdout.write(await kubeconfigText(p));
        return 0;
      }
      case 'reset': {
        const { values } = flags(rest, { force: { type: 'boolean', short: 'f' } });
        if (
          !values.force &&
          !(await confirm('This deletes every object in the cluster. Type "reset" to confirm: ', 'reset'))
        ) {
          process.stderr.write('Not reset.\n');
          return 1;
        }
        await resetKube(p, progress);
        process.stderr.write('The cluster was reset; `berth kube enable` creates a new one.\n');
        return 0;
      }
      default:
        throw new CliUsageError(
          `unknown subcommand "${sub}": use enable, disable, status, kubeconfig or reset`,
        );
    }
  },
};
