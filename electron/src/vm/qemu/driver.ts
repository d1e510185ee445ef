/** The QEMU driver: boots the Berth guest image with KVM/HVF/WHPX when a test boot proves it works, else TCG. */
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, promises as fsp } from 'node:fs';
import { freePort } from '../../ports/free-port.js';
import { hostTokenPreamble } from '@berth/common';
import { ensureKeyPair, keyBlob } from '../../tunnel/keys.js';
import { ensureHostToken, pingEngine } from '../../tunnel/engine-tcp.js';
import { connectOnce, exec } from '../../tunnel/ssh.js';
import type {
  DriverStatus,
  GuestEndpoint,
  HostPlatform,
  LogFiles,
  OffersPortControl,
  PortControlSpec,
  Progress,
  ReportsDiskUsage,
  ShellTarget,
  SshEndpoint,
  VmDriver,
  VmResources,
} from '../driver.js';
import type { GuestArch } from '@berth/vm-image/manifest';
import { ARCH } from '@berth/vm-image/plan';
import type { BerthPaths } from '../paths.js';
import { livePid, tailFile, waitExit } from '../process.js';
import { chooseAccel, type AccelChoice } from './accel.js';
import { GUEST_IP, NETDEV, qemuArgs, type QemuPlan } from './args.js';
import { compactDisk, createDisk, diskUsage } from './disk.js';
import { qemuFiles } from './files.js';
import type { QmpPortParams } from './port-control.js';
import { qmpCommand, type QmpAddress } from './qmp.js';
import { planShares } from './shares.js';
import { findQemuTools, type QemuTools } from './tools.js';

export interface QemuDriverOptions {
  paths: BerthPaths;
  resources: VmResources;
  arch: GuestArch;
  platform: HostPlatform;
  imageDir: string;
  /** Host folders shared at the same path inside (default: none). */
  shareFolders?: string[];
  /** How long start waits for the engine inside (TCG boots are slow). */
  bootTimeoutMs?: number;
  /** Registry settings for berthd inside (from the app settings). */
  registries?: { insecure: string[]; mirrors: string[] };
  /** The QEMU binaries (default: found by `findQemuTools` when first needed). */
  tools?: QemuTools;
}

interface VmState {
  sshPort: number;
  /** Host loopback port QEMU forwards to berthd's token-gated TCP listener. */
  enginePort: number;
  accel: AccelChoice;
  qmp: QmpAddress;
  warnings: string[];
}

export class QemuDriver implements VmDriver, OffersPortControl, ReportsDiskUsage {
  readonly kind = 'qemu';
  readonly runsVm = true;
  readonly hostSocket = 'tunnel';
  constructor(private readonly o: QemuDriverOptions) {}

  private get p() {
    return this.o.paths;
  }
  private get f() {
    return qemuFiles(this.o.paths);
  }
  private image() {
    const d = this.o.imageDir;
    return {
      kernel: `${d}/${ARCH[this.o.arch].kernelFile}`,
      initrd: `${d}/initrd.img`,
      rootfs: `${d}/rootfs.squashfs`,
    };
  }
  private pid(): number | undefined {
    return livePid(this.f.pid, this.f.disk);
  }
  private found?: QemuTools;
  /** Looked up when first needed, so status and stop work on a host without QEMU. */
  private tools(): QemuTools {
    return (this.found ??= this.o.tools ?? findQemuTools(this.o.arch, this.o.platform));
  }
  private async readState(): Promise<VmState | undefined> {
    try {
      return JSON.parse(await fsp.readFile(this.f.state, 'utf8')) as VmState;
    } catch {
      return undefined;
    }
  }
  private endpoint(st: VmState): SshEndpoint {
    return {
      kind: 'ssh',
      host: '127.0.0.1',
      port: st.sshPort,
      user: 'root',
      privateKey: this.p.keys.private,
      knownHost: this.f.knownHost,
    };
  }

  private basePlan(): QemuPlan {
    const img = this.image();
    return {
      platform: this.o.platform,
      arch: this.o.arch,
      accel: 'tcg',
      cpus: this.o.resources.cpus,
      memoryMiB: this.o.resources.memoryMiB,
      ...img,
      ...(this.o.arch === 'amd64' && existsSync('/usr/share/qemu/qboot.rom')
        ? { firmware: '/usr/share/qemu/qboot.rom' }
        : {}),
    };
  }

  async create(progress: Progress): Promise<void> {
    const tools = this.tools();
    for (const f of Object.values(this.image()))
      if (!existsSync(f))
        throw new Error(
          `the guest image is missing ${f}: build it with \`node vm-image/build.mjs\` (or set BERTH_IMAGE_DIR)`,
        );
    await fsp.mkdir(this.p.vm.dir, { recursive: true });
    await ensureKeyPair(this.p.keys.private, this.p.keys.public);
    await ensureHostToken(this.p.keys.engineToken);
    if (!existsSync(this.f.disk)) {
      progress(`Creating the ${this.o.resources.diskGiB} GiB data disk`);
      await createDisk(this.f.disk, this.o.resources.diskGiB, tools.img);
    }
  }

  async start(progress: Progress): Promise<DriverStatus> {
    await this.create(progress);
    if (this.pid()) return this.status();
    progress('Checking hardware acceleration');
    const accel = await chooseAccel({
      platform: this.o.platform,
      arch: this.o.arch,
      plan: this.basePlan(),
      cacheFile: this.f.accel,
      binary: this.tools().system,
    });
    if (accel.warning) progress(`warning: ${accel.warning}`);
    const { publicKey } = await ensureKeyPair(this.p.keys.private, this.p.keys.public);
    const shares = planShares(this.o.platform, this.o.shareFolders ?? []);
    for (const w of shares.warnings) progress(`warning: ${w}`);
    const qmp: QmpAddress =
      this.o.platform === 'win32'
        ? { kind: 'tcp', port: await freePort() }
        : { kind: 'unix', path: this.f.qmp };
    const st: VmState = {
      sshPort: await freePort(),
      enginePort: await freePort(),
      accel,
      qmp,
      warnings: shares.warnings,
    };
    const token = await ensureHostToken(this.p.keys.engineToken);
    const plan: QemuPlan = {
      ...this.basePlan(),
      accel: accel.accel,
      disk: this.f.disk,
      serialLog: this.f.serialLog,
      pidFile: this.f.pid,
      qmp,
      sshPort: st.sshPort,
      enginePort: st.enginePort,
      engineTokenFile: this.p.keys.engineToken,
      sshKey: keyBlob(publicKey),
      shares: shares.shares,
      ...(this.o.registries ? { registries: this.o.registries } : {}),
    };
    if (existsSync(this.f.serialLog)) await fsp.rename(this.f.serialLog, `${this.f.serialLog}.1`);
    await fsp.rm(this.f.qmp, { force: true });
    await fsp.writeFile(this.f.state, JSON.stringify(st, null, 1));
    progress(`Booting the VM (${accel.accel.toUpperCase()}, ${plan.cpus} CPUs, ${plan.memoryMiB} MiB)`);
    const errLog = `${this.p.vm.dir}/qemu.log`;
    const fd = openSync(errLog, 'w');
    const child = spawn(this.tools().system, qemuArgs(plan), {
      detached: true,
      stdio: ['ignore', fd, fd],
      windowsHide: true,
    });
    closeSync(fd);
    let exited = false;
    child.on('exit', () => (exited = true));
    child.on('error', () => (exited = true));
    child.unref();
    const deadline = Date.now() + (this.o.bootTimeoutMs ?? 180_000);
    const fail = async (why: string) => {
      if (!exited) child.kill('SIGKILL');
      const detail = [await tailFile(errLog, 5), await tailFile(this.f.serialLog, 15)]
        .filter(Boolean)
        .join('\n');
      return new Error(`${why}${detail ? `\n--- qemu / console ---\n${detail}` : ''}`);
    };
    progress('Waiting for the engine inside the VM');
    // /_ping straight through QEMU's forward of the engine port (no SSH handshake, cheap under TCG), polled
    // often: the gap between berthd listening and the host knowing it is at most one interval.
    const preamble = hostTokenPreamble(token);
    while (!(await pingEngine(st.enginePort, preamble, 1000))) {
      if (exited) throw await fail('the VM stopped while booting');
      if (Date.now() > deadline) {
        const engineLog = await this.guestEngineLog(st);
        throw await fail(
          `the VM did not start: the engine inside did not answer /_ping in time${engineLog ? `\n--- berthd (in the VM) ---\n${engineLog}` : ''}`,
        );
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    return this.status();
  }

  /** The end of berthd's log inside (over SSH), for error messages; '' when the guest cannot be reached. */
  private async guestEngineLog(st: VmState): Promise<string> {
    try {
      const c = await connectOnce(this.endpoint(st), 5000);
      return (await exec(c, 'tail -n 15 /run/berth/berthd.log').finally(() => c.end())).stdout.trim();
    } catch {
      return '';
    }
  }

  async stop(timeoutMs: number, progress: Progress): Promise<void> {
    const pid = this.pid();
    const st = await this.readState();
    if (pid && st) {
      progress('Stopping containers and the VM');
      try {
        const c = await connectOnce(this.endpoint(st), 5000);
        await exec(c, '/sbin/berth-shutdown').finally(() => c.end());
      } catch {
        /* no SSH: fall through to the hard stop below */
      }
      if (!(await waitExit(pid, timeoutMs))) {
        progress(`The VM did not power off in ${Math.round(timeoutMs / 1000)} s; stopping it hard`);
        await qmpCommand(st.qmp, 'quit').catch(() => undefined);
        if (!(await waitExit(pid, 3000))) {
          process.kill(pid, 'SIGKILL');
          await waitExit(pid, 5000);
        }
      }
    }
    await fsp.rm(this.f.pid, { force: true });
    await fsp.rm(this.f.qmp, { force: true });
  }

  async status(): Promise<DriverStatus> {
    const pid = this.pid();
    if (!pid) return { state: 'stopped' };
    const st = await this.readState();
    const warning = [st?.accel.warning, ...(st?.warnings ?? [])].filter(Boolean).join('; ');
    return {
      state: 'running',
      pid,
      ...(st ? { accel: st.accel.accel } : {}),
      ...(warning ? { warning } : {}),
    };
  }

  private async running(): Promise<VmState> {
    const st = await this.readState();
    if (!st || !this.pid()) throw new Error('the VM is not running: run `berth start`');
    return st;
  }

  async shell(): Promise<ShellTarget> {
    return { kind: 'ssh', endpoint: this.endpoint(await this.running()) };
  }

  async forward(): Promise<GuestEndpoint> {
    const st = await this.running();
    return {
      kind: 'vm',
      ssh: this.endpoint(st),
      engine: { port: st.enginePort, tokenFile: this.p.keys.engineToken },
    };
  }

  async portControl(): Promise<PortControlSpec | undefined> {
    const st = await this.readState();
    if (!st || !this.pid()) return undefined;
    const params: QmpPortParams = { qmp: st.qmp, netdev: NETDEV, guestIp: GUEST_IP };
    return { driver: this.kind, params };
  }

  async diskBytes(): Promise<number | undefined> {
    return existsSync(this.f.disk) ? diskUsage(this.f.disk) : undefined;
  }

  async reset(): Promise<void> {
    if (this.pid()) throw new Error('the VM is running: stop it first (`berth stop`)');
    await fsp.rm(this.p.vm.dir, { recursive: true, force: true });
  }

  async compact(progress: Progress): Promise<string> {
    if (!existsSync(this.f.disk)) return 'no data disk yet';
    const before = await diskUsage(this.f.disk);
    const st = await this.readState();
    if (this.pid() && st) {
      // Running: trim inside; discard=unmap punches the freed clusters out of the qcow2 file.
      progress('Trimming free space inside the VM');
      const c = await connectOnce(this.endpoint(st), 10_000);
      const r = await exec(c, 'sync; fstrim -v /var/lib/berth').finally(() => c.end());
      if (r.code !== 0) throw new Error(`fstrim failed: ${r.stderr.trim() || r.stdout.trim()}`);
    } else {
      progress('Rewriting the data disk without unused blocks');
      await compactDisk(this.f.disk, this.tools().img);
    }
    const after = await diskUsage(this.f.disk);
    const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
    return `data disk uses ${mib(after)} on the host (was ${mib(before)})`;
  }

  logFiles(): LogFiles {
    return { console: this.f.serialLog };
  }
}
