/**
 * Chooses the accelerator by a real test boot, not by /dev/kvm existing: a nested or broken hypervisor can
 * expose the device yet fail stock kernels. The probe boots the image's own kernel + initramfs to the
 * marker its /init prints; no marker in time means software emulation (TCG), with the reason.
 */
import { spawn } from 'node:child_process';
import { constants, promises as fsp } from 'node:fs';
import type { HostPlatform } from '../driver.js';
import { hardwareAccel, qemuArgs, qemuBinary, type Accel, type QemuPlan } from './args.js';
import type { GuestArch } from '@berth/vm-image/manifest';

export interface AccelChoice {
  accel: Accel;
  /** Set when falling back: "KVM not available: …; using TCG (software emulation, slow)". */
  warning?: string;
}

const NAMES: Record<Accel, string> = {
  kvm: 'KVM',
  hvf: 'Hypervisor.framework',
  whpx: 'Windows Hypervisor Platform',
  tcg: 'TCG',
};

/**
 * Boots with `accel` and reports whether the guest reached its initramfs within `timeoutMs`. A working
 * accelerator has the kernel printing within a fraction of a second; a broken one (the nested KVM here) hangs
 * silently, so no console output at all within `silentMs` fails early instead of waiting out `timeoutMs`.
 */
export function probeBoot(
  binary: string,
  plan: QemuPlan,
  timeoutMs: number,
  silentMs = 2500,
): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    const child = spawn(binary, qemuArgs({ ...plan, probe: true, memoryMiB: 256, cpus: 1 }), {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let done = false;
    const finish = (ok: boolean, detail: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(silence);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      resolve({ ok, detail });
    };
    const timer = setTimeout(
      () =>
        finish(
          false,
          `the test boot did not reach userspace within ${(timeoutMs / 1000).toFixed(0)} s${err ? ` (${lastLine(err)})` : ''}`,
        ),
      timeoutMs,
    );
    const silence = setTimeout(() => {
      if (!out)
        finish(
          false,
          `the test boot printed nothing within ${(silentMs / 1000).toFixed(1)} s${err ? ` (${lastLine(err)})` : ''}`,
        );
    }, silentMs);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('BERTH-PROBE-OK')) finish(true, 'test boot reached userspace');
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => finish(false, e.message));
    child.on('exit', (code) =>
      finish(out.includes('BERTH-PROBE-OK'), lastLine(err) || `qemu exited with ${code}`),
    );
  });
}

function lastLine(s: string): string {
  const lines = s
    .trim()
    .split('\n')
    .filter((l) => !/warning: host doesn't support requested feature/.test(l));
  return (lines.at(-1) ?? '').replace(/^qemu-system-\w+: /, '');
}

/** A reason the hardware accelerator cannot even be tried, or undefined. */
async function precheck(platform: HostPlatform): Promise<string | undefined> {
  if (platform !== 'linux') return undefined;
  try {
    await fsp.access('/dev/kvm', constants.R_OK | constants.W_OK);
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? '/dev/kvm does not exist (enable virtualization in the firmware, or load kvm_intel/kvm_amd)'
      : `cannot open /dev/kvm (${code}): add your user to the kvm group`;
  }
}

interface Cache {
  key: string;
  choice: AccelChoice;
}

/**
 * Detects once per (qemu binary, kernel) and remembers the answer in `cacheFile`; `BERTH_ACCEL` forces
 * a choice (e.g. tcg on a machine known to be broken).
 */
export async function chooseAccel(o: {
  platform: HostPlatform;
  arch: GuestArch;
  plan: QemuPlan;
  cacheFile: string;
  /** The qemu-system binary to probe with (default: found on PATH). */
  binary?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}): Promise<AccelChoice> {
  const env = o.env ?? process.env;
  const forced = env.BERTH_ACCEL as Accel | undefined;
  if (forced && forced in NAMES) return { accel: forced };
  const hw = hardwareAccel(o.platform);
  const binary = o.binary ?? qemuBinary(o.arch, o.platform);
  const kst = await fsp.stat(o.plan.kernel);
  const key = JSON.stringify([binary, o.plan.kernel, kst.size, kst.mtimeMs, o.plan.initrd]);
  try {
    const c = JSON.parse(await fsp.readFile(o.cacheFile, 'utf8')) as Cache;
    if (c.key === key) return c.choice;
  } catch {
    /* no cache yet */
  }
  const why = await precheck(o.platform);
  let choice: AccelChoice;
  if (why)
    choice = {
      accel: 'tcg',
      warning: `${NAMES[hw]} not available: ${why}; using TCG (software emulation, slow)`,
    };
  else {
    const r = await probeBoot(binary, { ...o.plan, accel: hw }, o.timeoutMs ?? 8000);
    choice = r.ok
      ? { accel: hw }
      : {
          accel: 'tcg',
          warning: `${NAMES[hw]} not available: ${r.detail}; using TCG (software emulation, slow)`,
        };
  }
  await fsp.writeFile(o.cacheFile, JSON.stringify({ key, choice } satisfies Cache));
  return choice;
}
