/**
 * A pod container as an engine create request (cri-dockerd's CreateContainer after the kubelet's
 * generateContainerConfig): joined to the sandbox's network, IPC and UTS namespaces (PID too with
 * shareProcessNamespace), command/args over the image's ENTRYPOINT/CMD with Docker's rule (an entrypoint drops the
 * image's CMD, exactly Kubernetes' rule), the resolved environment, volumes, the kubelet-managed /etc/hosts and the
 * termination message file.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { ContainerCreateRequest, MountSpec } from '@berth/common/api/containers';
import type { ImageInspect } from '@berth/common/api/images';
import { expandArgs } from './env.js';
import { containerLabels } from './naming.js';
import { resourceConfig, securityConfig, userFor, verifyNonRoot, type QosClass } from './security.js';
import type { Container, Pod } from './types.js';
import { podDir } from './volumes/prepare.js';

export interface ContainerSpecInput {
  pod: Pod;
  container: Container;
  init: boolean;
  restartCount: number;
  sandboxId: string;
  image: ImageInspect;
  env: Array<[string, string]>;
  mounts: MountSpec[];
  qos: QosClass;
  root: string;
  nodeMemory?: number;
}

/** The kubelet-managed /etc/hosts (kubelet_pods.go managedHostsFileContent). */
export function hostsFile(pod: Pod, podIP: string, clusterDomain = 'cluster.local'): string {
  const lines = [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
  ];
  const host = pod.spec?.hostname ?? pod.metadata?.name ?? '';
  if (podIP) {
    const sub = pod.spec?.subdomain;
    lines.push(
      sub
        ? `${podIP}\t${host}.${sub}.${pod.metadata?.namespace ?? 'default'}.svc.${clusterDomain}\t${host}`
        : `${podIP}\t${host}`,
    );
  }
  const aliases = pod.spec?.hostAliases ?? [];
  if (aliases.length) {
    lines.push('', '# Entries added by HostAliases.');
    for (const a of aliases) if (a.ip) lines.push(`${a.ip}\t${(a.hostnames ?? []).join('\t')}`);
  }
  return lines.join('\n') + '\n';
}

export const hostsPath = (root: string, uid: string): string => path.join(podDir(root, uid), 'etc-hosts');

/** The empty file bound at terminationMessagePath, one per container instance. */
export async function terminationLogFile(
  root: string,
  uid: string,
  name: string,
  restartCount: number,
): Promise<string> {
  const dir = path.join(podDir(root, uid), 'containers', name);
  await fsp.mkdir(dir, { recursive: true });
  const f = path.join(dir, `termination-log-${restartCount}`);
  await fsp.writeFile(f, '', { mode: 0o666 });
  await fsp.chmod(f, 0o666);
  return f;
}

export async function containerCreateRequest(i: ContainerSpecInput): Promise<ContainerCreateRequest> {
  const { pod, container: c } = i;
  const spec = pod.spec ?? { containers: [] };
  const uid = pod.metadata!.uid!;
  const imageUser = i.image.Config?.User ?? '';
  verifyNonRoot(pod, c, imageUser);
  const user = userFor(pod, c, imageUser);
  const entrypoint = expandArgs(c.command, i.env);
  const cmd = expandArgs(c.args, i.env);
  const mounts = [...i.mounts];
  const termPath = c.terminationMessagePath ?? '/dev/termination-log';
  if (!mounts.some((m) => m.Target === termPath))
    mounts.push({
      Type: 'bind',
      Source: await terminationLogFile(i.root, uid, c.name, i.restartCount),
      Target: termPath,
    });
  // As the kubelet: its hosts file in every container of a pod on the pod network, unless the image mounts one.
  if (!spec.hostNetwork && !mounts.some((m) => m.Target === '/etc/hosts'))
    mounts.push({ Type: 'bind', Source: hostsPath(i.root, uid), Target: '/etc/hosts' });
  const sandbox = `container:${i.sandboxId}`;
  return {
    Image: c.image,
    ...(entrypoint ? { Entrypoint: entrypoint } : {}),
    ...(cmd ? { Cmd: cmd } : {}),
    Env: i.env.map(([k, v]) => `${k}=${v}`),
    ...(c.workingDir ? { WorkingDir: c.workingDir } : {}),
    ...(user !== undefined ? { User: user } : {}),
    Labels: containerLabels({
      pod,
      container: c,
      init: i.init,
      restartCount: i.restartCount,
      sandboxId: i.sandboxId,
      logPath: path.join(podDir(i.root, uid), 'logs', c.name, `${i.restartCount}.log`),
    }),
    Tty: c.tty === true,
    OpenStdin: c.stdin === true,
    StdinOnce: c.stdinOnce === true,
    AttachStdin: c.stdin === true,
    AttachStdout: true,
    AttachStderr: true,
    // Docker's own healthcheck stays off: the kubelet probes.
    Healthcheck: { Test: ['NONE'] },
    HostConfig: {
      NetworkMode: sandbox,
      IpcMode: sandbox,
      UTSMode: spec.hostNetwork ? 'host' : sandbox,
      ...(spec.shareProcessNamespace ? { PidMode: sandbox } : spec.hostPID ? { PidMode: 'host' } : {}),
      Mounts: mounts,
      RestartPolicy: { Name: 'no' },
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '5' } },
      ...resourceConfig(c, i.qos, i.nodeMemory),
      ...securityConfig(pod, c),
    },
  };
}
