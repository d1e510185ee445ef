/** Kernel modules for the initramfs: find each by name, add its dependencies, order them for insmod. */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

const norm = (n: string) => n.replace(/-/g, '_');

/** Reads `depends=a,b` from a .ko's .modinfo strings (no modinfo binary needed, works for any arch). */
export function modinfoDepends(ko: Buffer): string[] {
  const key = Buffer.from('\0depends=');
  const at = ko.indexOf(key);
  if (at < 0) return [];
  const end = ko.indexOf(0, at + key.length);
  const v = ko.subarray(at + key.length, end).toString('latin1');
  return v ? v.split(',').map(norm) : [];
}

async function indexModules(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name.endsWith('.ko')) out.set(norm(e.name.slice(0, -3)), p);
    }
  };
  await walk(root);
  return out;
}

/**
 * What /init loads before it can mount the root (the rest loads from berth-init in the background, beside the
 * data disk mount): the virtio transports, the disk driver, and the root's file systems.
 */
export const BOOT_MODULES = ['virtio_pci', 'virtio_blk', 'squashfs', 'overlay'];

/**
 * Modules nothing needs before berthd starts: berth-init's loader takes them after it has let berthd go (the
 * vsock transport, the balloon, the console, the RNG — the kernel's RNG is seeded from RDRAND already —,
 * tun, and br_netfilter, which matters only once containers run, seconds later).
 */
export const DEFERRED_MODULES = [
  'vmw_vsock_virtio_transport',
  'virtio_balloon',
  'virtio_console',
  'virtio_rng',
  'tun',
  'br_netfilter',
  // berth-kube's service proxy: `reject` in its ip table, `numgen` to spread over endpoints.
  'nft_reject_ipv4',
  'nft_numgen',
];

const SIG_MAGIC = Buffer.from('~Module signature appended~\n');

/**
 * A module without Debian's appended signature. The kernel (no MODULE_SIG_FORCE, no Secure Boot under QEMU's
 * direct kernel boot) loads it anyway, only tainting itself; verifying ~50 RSA/SHA-256 signatures took ~0.3 s
 * of each boot under TCG. The code is byte-for-byte Debian's.
 */
export function stripSignature(ko: Buffer): Buffer {
  if (ko.length < SIG_MAGIC.length + 12 || !ko.subarray(ko.length - SIG_MAGIC.length).equals(SIG_MAGIC))
    return ko;
  // struct module_signature (12 bytes, sig_len big-endian last) precedes the magic; the signature precedes it.
  const sigLen = ko.readUInt32BE(ko.length - SIG_MAGIC.length - 4);
  const end = ko.length - SIG_MAGIC.length - 12 - sigLen;
  if (end <= 0) throw new Error('malformed module signature');
  return ko.subarray(0, end);
}

export interface ModuleSet {
  /** Load order: dependencies first. Paths relative to the modules root. */
  order: string[];
  /** Requested modules the kernel has built in (nothing to load). */
  builtin: string[];
}

/** Resolves `wanted` under lib/modules/<release> into an insmod order; unknown names are an error. */
export async function resolveModules(modRoot: string, wanted: string[]): Promise<ModuleSet> {
  const index = await indexModules(path.join(modRoot, 'kernel'));
  let builtinText = '';
  try {
    builtinText = await fsp.readFile(path.join(modRoot, 'modules.builtin'), 'utf8');
  } catch {
    /* older kernels: no list */
  }
  const builtinSet = new Set(
    builtinText
      .split('\n')
      .filter(Boolean)
      .map((l) => norm(path.basename(l, '.ko'))),
  );
  const order: string[] = [];
  const builtin: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = async (name: string, chain: string[]): Promise<void> => {
    const n = norm(name);
    if (state.get(n) === 'done') return;
    if (state.get(n) === 'visiting')
      throw new Error(`module dependency cycle: ${[...chain, n].join(' -> ')}`);
    const file = index.get(n);
    if (!file) {
      if (builtinSet.has(n)) {
        builtin.push(n);
        state.set(n, 'done');
        return;
      }
      throw new Error(`kernel module ${n} not found (needed by ${chain.join(' -> ') || 'the manifest'})`);
    }
    state.set(n, 'visiting');
    for (const d of modinfoDepends(await fsp.readFile(file))) await visit(d, [...chain, n]);
    state.set(n, 'done');
    order.push(path.relative(modRoot, file));
  };
  for (const w of wanted) await visit(w, []);
  return { order, builtin };
}
