/** Stages berthd for the guest: agent/dist (no tests), its production npm dependencies and the native helper. */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { runCommand } from '../exec.js';

interface CopyItem {
  from: string;
  to: string;
}

/** The production dependency directories of the agent workspace, as npm resolves them. */
async function prodDependencies(repo: string): Promise<CopyItem[]> {
  const out = await runCommand({ cmd: 'npm', args: ['ls', '--omit=dev', '--all', '--parseable', '-w', 'agent'], cwd: repo }).catch(
    (e: Error) => {
      throw new Error(`cannot list berthd's dependencies (npm install first?): ${e.message}`);
    },
  );
  const items: CopyItem[] = [];
  const skip = new Set([await fsp.realpath(repo), await fsp.realpath(path.join(repo, 'agent'))]);
  for (const dir of out.split('\n').filter(Boolean)) {
    if (skip.has(await fsp.realpath(dir))) continue;
    const pkg = JSON.parse(await fsp.readFile(path.join(dir, 'package.json'), 'utf8')) as { name: string };
    items.push({ from: dir, to: path.join('node_modules', pkg.name) });
  }
  return items;
}

const SKIP = /(\.tsbuildinfo|\.map|\.d\.ts)$/;

/** Copies an npm package; workspace packages (@berth/*) ship dist/ only, not their TypeScript sources. */
async function copyTree(from: string, to: string, files: string[], workspace: boolean, rel = ''): Promise<void> {
  let entries;
  try {
    entries = await fsp.readdir(path.join(from, rel), { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (SKIP.test(r) || r === 'node_modules' || (workspace && (r === 'src' || r === 'test' || r === 'dist/test'))) continue;
    const src = path.join(from, r);
    const dst = path.join(to, r);
    if (e.isDirectory()) await copyTree(from, to, files, workspace, r);
    else if (e.isFile()) {
      await fsp.mkdir(path.dirname(dst), { recursive: true });
      await fsp.copyFile(src, dst);
      await fsp.chmod(dst, (await fsp.stat(src)).mode & 0o755);
      files.push(dst);
    }
  }
}

/**
 * Copies berthd into `dest` (→ /opt/berth in the guest): agent/{package.json,dist/src,dist/native},
 * node_modules/<dep> for every production dependency. Returns a hash of what was staged (the cache key).
 */
export async function stageAgent(repo: string, dest: string): Promise<string> {
  const files: string[] = [];
  const agent = path.join(repo, 'agent');
  try {
    await fsp.access(path.join(agent, 'dist/src/main.js'));
  } catch {
    throw new Error('agent/dist/src/main.js is missing: build first (npx tsc -b)');
  }
  await fsp.mkdir(path.join(dest, 'agent/dist'), { recursive: true });
  await fsp.copyFile(path.join(agent, 'package.json'), path.join(dest, 'agent/package.json'));
  files.push(path.join(dest, 'agent/package.json'));
  // dist/src only (copyTree skips top-level src/ of packages, so copy dist/src's contents explicitly).
  await copyTreeAll(path.join(agent, 'dist/src'), path.join(dest, 'agent/dist/src'), files);
  // The native helper (berth-shim, static) is built by `npm run build` next to dist/src.
  await copyTreeAll(path.join(agent, 'dist/native'), path.join(dest, 'agent/dist/native'), files);
  for (const dep of await prodDependencies(repo)) await copyTree(dep.from, path.join(dest, dep.to), files, dep.to.startsWith('node_modules/@berth/'));
  const h = createHash('sha256');
  for (const f of files.sort()) h.update(path.relative(dest, f)).update('\0').update(await fsp.readFile(f));
  return h.digest('hex');
}

async function copyTreeAll(from: string, to: string, files: string[]): Promise<void> {
  let entries;
  try {
    entries = await fsp.readdir(from, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (/\.(map|d\.ts)$/.test(e.name)) continue;
    const src = path.join(from, e.name);
    const dst = path.join(to, e.name);
    if (e.isDirectory()) await copyTreeAll(src, dst, files);
    else if (e.isFile()) {
      await fsp.mkdir(to, { recursive: true });
      await fsp.copyFile(src, dst);
      await fsp.chmod(dst, (await fsp.stat(src)).mode & 0o755);
      files.push(dst);
    }
  }
}
