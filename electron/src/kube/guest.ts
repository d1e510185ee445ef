/**
 * berth-kube inside the VM, beside the guest's berthd: the image carries it (/opt/berth/kube, staged by
 * vm-image/src/kube-tree.ts), the host starts and stops it over the VM's control channel (SSH for qemu,
 * `limactl shell` for lima), its state lives on the guest's data disk (/var/lib/berth/kube: it survives
 * `berth restart`), and the API server reaches the host's 127.0.0.1:PORT: for qemu through a QEMU forward
 * (the same mechanism published ports use), for lima through Lima's own forwarding of listening ports. The host
 * keeps a copy of the admin kubeconfig whose server is that host address (127.0.0.1 is a certificate SAN).
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { KubeProgress } from '@berth/common';
import { parseDocument } from 'yaml';
import { connectOnce, exec, type ExecResult, type SshClient, type SshEndpoint } from '../tunnel/ssh.js';
import { loadResources, loadVmConfig } from '../vm/config.js';
import { offersPortControl, PortInUseError, type VmDriver } from '../vm/driver.js';
import { createDriver, openPortControl, type DriverKind } from '../vm/factory.js';
import type { BerthPaths } from '../vm/paths.js';
import { writeFileAtomic } from '../settings/store.js';
import { apiGet, BERTH_KUBE_NODE_FLAGS, kubeFiles, removePodContainers } from './native.js';
import type { KubeRunner, KubeRunOptions } from './runner.js';

const DATA = '/var/lib/berth/kube';
const KUBECONFIG = `${DATA}/admin.kubeconfig`;
const PID = '/run/berth/berth-kube.pid';
const LOG = '/run/berth/berth-kube.log';
const BUNDLE = '/opt/berth/kube/lib/berth-kube.cjs';
/** The API server's port inside the qemu guest (the host port is forwarded to it). */
const GUEST_API_PORT = 6443;

/** Runs a shell script as root in the guest. */
type GuestShell = (script: string) => Promise<ExecResult>;

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The host's record of the guest cluster's forward (so a later stop removes exactly it). */
function forwardFile(p: BerthPaths): string {
  return path.join(kubeFiles(p).dir, 'guest-forward.json');
}

class GuestRunner implements KubeRunner {
  constructor(
    private readonly p: BerthPaths,
    readonly driver: DriverKind,
    private readonly vm: VmDriver,
  ) {}

  private node(): string {
    return this.driver === 'lima' ? '/opt/berth/node/bin/node' : 'node';
  }

  private ssh: Promise<SshClient> | undefined;
  private idle: NodeJS.Timeout | undefined;

  /**
   * One SSH connection for a burst of commands (a key exchange costs the guest a lot under TCG), closed after
   * a moment idle so a CLI process can exit and the app holds nothing open.
   */
  private async sshExec(ep: SshEndpoint, script: string): Promise<ExecResult> {
    if (this.idle) clearTimeout(this.idle);
    const conn = (this.ssh ??= connectOnce(ep, 10_000).then((c) => {
      c.once('close', () => {
        if (this.ssh === conn) this.ssh = undefined;
      });
      return c;
    }));
    conn.catch(() => {
      if (this.ssh === conn) this.ssh = undefined;
    });
    try {
      return await exec(await conn, script);
    } finally {
      this.idle = setTimeout(() => {
        if (this.ssh === conn) this.ssh = undefined;
        void conn.then((c) => c.end()).catch(() => undefined);
      }, 300);
      this.idle.unref();
    }
  }

  private async shell(): Promise<GuestShell> {
    const ep = await this.vm.forward();
    if (ep.kind === 'vm') return (script) => this.sshExec(ep.ssh, script);
    const target = await this.vm.shell();
    if (target.kind !== 'command') throw new Error(`the ${this.driver} driver gives no way into the guest`);
    return (script) =>
      new Promise((resolve, reject) => {
        const child = spawn(target.cmd, [...target.args, 'sudo', 'sh', '-c', script], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code: code ?? 255, stdout, stderr }));
      });
  }

  async pid(): Promise<number | undefined> {
    const sh = await this.shell();
    const r = await sh(`p=$(cat ${PID} 2>/dev/null) && kill -0 "$p" 2>/dev/null && echo "$p"`);
    const n = Number(r.stdout.trim());
    return r.code === 0 && Number.isInteger(n) && n > 0 ? n : undefined;
  }

  async start(o: KubeRunOptions, progress: KubeProgress): Promise<void> {
    const sh = await this.shell();
    const qemu = this.driver !== 'lima';
    // Lima forwards the guest's listening loopback ports to the same host port; qemu's forward targets the
    // guest's address on QEMU's network, so there it listens on all addresses (clients need a certificate).
    const listen = qemu ? `0.0.0.0:${GUEST_API_PORT}` : `127.0.0.1:${o.port}`;
    if (qemu) await this.forwardApi(o.port);
    const args = [
      BUNDLE,
      '--engine',
      'unix:///run/berth/docker.sock',
      '--data-dir',
      DATA,
      '--kubeconfig',
      KUBECONFIG,
      '--listen',
      listen,
      ...(qemu ? ['--host-address', '0.0.0.0'] : []),
      ...(o.podCIDR ? ['--pod-cidr', o.podCIDR] : []),
    ];
    const script = [
      'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'export NODE_COMPILE_CACHE=/var/lib/berth/.vm/node-compile-cache',
      `p=$(cat ${PID} 2>/dev/null) && kill -0 "$p" 2>/dev/null && { echo "$p"; exit 0; }`,
      `[ -f ${BUNDLE} ] || { echo "this VM image has no berth-kube (${BUNDLE}): rebuild it (node vm-image/build.mjs) and berth restart" >&2; exit 3; }`,
      `mkdir -p ${DATA} /run/berth && rm -f ${KUBECONFIG}`,
      `setsid ${this.node()} ${BERTH_KUBE_NODE_FLAGS.join(' ')} ${args.map(q).join(' ')} </dev/null >>${LOG} 2>&1 &`,
      `p=$!; echo $p > ${PID}`,
    ].join('\n');
    const r = await sh(script);
    if (r.code !== 0)
      throw new Error(`cannot start berth-kube in the VM: ${r.stderr.trim() || r.stdout.trim()}`);
    // Waited for inside the guest (one round trip): berth-kube writes its kubeconfig once its API listens.
    const kc = await sh(
      `p=$(cat ${PID}); i=0; while [ ! -s ${KUBECONFIG} ] && [ $i -lt 1200 ]; do kill -0 "$p" 2>/dev/null || exit 4; usleep 50000; i=$((i+1)); done; cat ${KUBECONFIG}`,
    );
    if (kc.code === 4) throw new Error(`berth-kube exited in the VM:\n${await this.logTail(10)}`);
    if (!kc.stdout.includes('clusters:'))
      throw new Error(`berth-kube in the VM wrote no kubeconfig in time:\n${await this.logTail(10)}`);
    await this.writeHostKubeconfig(kc.stdout, o.port);
    progress('Waiting for the API server');
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if ((await apiGet(this.p, '/readyz').catch(() => undefined))?.body === 'ok') return;
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error(`berth-kube in the VM was not ready in time:\n${await this.logTail(10)}`);
  }

  /** The guest's admin kubeconfig with the server as the host reaches it. */
  private async writeHostKubeconfig(text: string, port: number): Promise<void> {
    const doc = parseDocument(text);
    const clusters = doc.get('clusters') as { items?: unknown[] } | undefined;
    (clusters?.items ?? []).forEach((_, i) =>
      doc.setIn(['clusters', i, 'cluster', 'server'], `https://127.0.0.1:${port}`),
    );
    await fsp.mkdir(kubeFiles(this.p).dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(kubeFiles(this.p).kubeconfig, doc.toString());
  }

  private async portControl() {
    const spec = offersPortControl(this.vm) ? await this.vm.portControl() : undefined;
    return spec ? openPortControl(spec) : undefined;
  }

  /** Host 127.0.0.1:port → the guest's API port, through the VM's own network. */
  private async forwardApi(port: number): Promise<void> {
    const ctl = await this.portControl();
    if (!ctl) throw new Error(`the ${this.driver} VM offers no port forwarding for the API server`);
    await this.unforwardApi();
    try {
      await ctl.add({ proto: 'tcp', hostAddr: '127.0.0.1', hostPort: port, guestPort: GUEST_API_PORT });
    } catch (e) {
      if (e instanceof PortInUseError)
        throw new Error(
          `port ${port} on 127.0.0.1 is taken: choose another with \`berth kube enable --port N\``,
        );
      throw e;
    }
    await fsp.mkdir(kubeFiles(this.p).dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(forwardFile(this.p), JSON.stringify({ hostPort: port }) + '\n');
  }

  private async unforwardApi(): Promise<void> {
    let hostPort: number | undefined;
    try {
      hostPort = (JSON.parse(await fsp.readFile(forwardFile(this.p), 'utf8')) as { hostPort?: number })
        .hostPort;
    } catch {
      return;
    }
    const ctl = await this.portControl().catch(() => undefined);
    if (ctl && hostPort)
      await ctl.remove({ proto: 'tcp', hostAddr: '127.0.0.1', hostPort }).catch(() => false);
    await fsp.rm(forwardFile(this.p), { force: true });
  }

  async stopProcess(graceMs: number): Promise<void> {
    const sh = await this.shell().catch(() => undefined);
    if (sh) {
      const secs = Math.max(1, Math.ceil(graceMs / 1000));
      // SIGTERM, then SIGKILL after the grace (berth-kube stops its proxy and kubelet first; pods stay).
      await sh(
        `p=$(cat ${PID} 2>/dev/null) || exit 0; kill -TERM "$p" 2>/dev/null || { rm -f ${PID}; exit 0; }\n` +
          `i=0; while kill -0 "$p" 2>/dev/null && [ $i -lt ${secs * 10} ]; do usleep 100000; i=$((i+1)); done\n` +
          `kill -KILL "$p" 2>/dev/null; rm -f ${PID}`,
      ).catch(() => undefined);
    }
    await this.unforwardApi();
  }

  removePods(): Promise<number> {
    return removePodContainers(this.p.socket);
  }

  async wipe(): Promise<void> {
    const sh = await this.shell();
    const r = await sh(`rm -rf ${DATA}`);
    if (r.code !== 0) throw new Error(`cannot delete the cluster's state in the VM: ${r.stderr.trim()}`);
  }

  async logTail(lines: number): Promise<string> {
    const sh = await this.shell().catch(() => undefined);
    return (
      (await sh?.(`tail -n ${lines} ${LOG} 2>/dev/null`).catch(() => undefined))?.stdout ?? ''
    ).trimEnd();
  }
}

export async function openGuestRunner(p: BerthPaths, driver: DriverKind): Promise<KubeRunner> {
  const config = await loadVmConfig(p);
  const { resources, registries } = await loadResources(p);
  const vm = createDriver(driver, { paths: p, resources, shareFolders: config.shareFolders, registries });
  return new GuestRunner(p, driver, vm);
}
