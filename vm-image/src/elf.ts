/** Checks that every ELF binary in the staged root finds its shared libraries inside that root. */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { runCommand } from './exec.js';

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

async function isElf(file: string): Promise<boolean> {
  const fh = await fsp.open(file, 'r');
  try {
    const b = Buffer.alloc(4);
    await fh.read(b, 0, 4, 0);
    return b.equals(ELF_MAGIC);
  } finally {
    await fh.close();
  }
}

async function walkFiles(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fsp.readdir(path.join(root, rel), { withFileTypes: true })) {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) out.push(...(await walkFiles(root, r)));
    else if (e.isFile()) out.push(r);
  }
  return out;
}

/** Parses `readelf -d f1 f2 …` into file → needed sonames. */
export function parseNeeded(readelfOut: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let cur: string[] | undefined;
  for (const line of readelfOut.split('\n')) {
    const f = /^File: (.+)$/.exec(line);
    if (f) out.set(f[1], (cur = []));
    const m = /\(NEEDED\)\s+Shared library: \[(.+)\]/.exec(line);
    if (m && cur) cur.push(m[1]);
  }
  return out;
}

/** Returns "binary: missing libX.so" lines for every unsatisfied dependency (empty when the root is whole). */
export async function missingLibraries(root: string, triplet: string): Promise<string[]> {
  const libDirs = [`lib/${triplet}`, `usr/lib/${triplet}`, 'lib', 'usr/lib', 'lib64'];
  const have = new Set<string>();
  for (const d of libDirs) {
    const names = await fsp.readdir(path.join(root, d)).catch(() => [] as string[]);
    for (const n of names) have.add(n);
  }
  const elves: string[] = [];
  for (const f of await walkFiles(root))
    if ((await isElf(path.join(root, f))) && !f.endsWith('.ko')) elves.push(f);
  const missing: string[] = [];
  for (let i = 0; i < elves.length; i += 100) {
    const batch = elves.slice(i, i + 100);
    const out = await runCommand({ cmd: 'readelf', args: ['-d', '-W', ...batch], cwd: root }).catch(
      (e: Error) => e.message,
    );
    // A single-file readelf omits the "File:" line; name it ourselves.
    const needed =
      batch.length === 1
        ? new Map([[batch[0], parseNeeded(`File: ${batch[0]}\n${out}`).get(batch[0]) ?? []]])
        : parseNeeded(out);
    for (const [file, libs] of needed)
      for (const l of libs) if (!have.has(l)) missing.push(`${file}: missing ${l}`);
  }
  return missing;
}

/** Parses `readelf -h f1 f2 …` into file → machine ("AArch64", "Advanced Micro Devices X86-64"). */
export function parseMachines(readelfOut: string): Map<string, string> {
  const out = new Map<string, string>();
  let cur: string | undefined;
  for (const line of readelfOut.split('\n')) {
    const f = /^File: (.+)$/.exec(line);
    if (f) cur = f[1]!;
    const m = /^\s*Machine:\s+(.+?)\s*$/.exec(line);
    if (m && cur !== undefined) out.set(cur, m[1]);
  }
  return out;
}

/**
 * "file: machine" for every ELF file under `root` built for another machine than `machine`: a host binary
 * staged into a foreign-arch guest (the native helper, an npm addon) would only fail once the guest runs it.
 */
export async function foreignBinaries(root: string, machine: string): Promise<string[]> {
  const elves: string[] = [];
  for (const f of await walkFiles(root)) if (await isElf(path.join(root, f))) elves.push(f);
  const wrong: string[] = [];
  for (let i = 0; i < elves.length; i += 100) {
    const batch = elves.slice(i, i + 100);
    const out = await runCommand({ cmd: 'readelf', args: ['-h', '-W', ...batch], cwd: root });
    const machines = parseMachines(batch.length === 1 ? `File: ${batch[0]}\n${out}` : out);
    for (const f of batch)
      if (machines.get(f) !== machine) wrong.push(`${f}: ${machines.get(f) ?? 'unknown machine'}`);
  }
  return wrong;
}
