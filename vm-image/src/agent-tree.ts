/**
 * Stages berthd for a guest as one bundled file plus the native helper. Under TCG, Node resolving and compiling
 * ~160 module files cost ~1.5 s of the engine's start (a bundle: a fraction of that) and ~10 MiB more RSS.
 * CommonJS rather than ESM: Node's ESM loader alone costs ~2 MiB of resident memory.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

/** The bundle's name inside the staged directory (→ /opt/berth/berthd.cjs in the guest). */
export const AGENT_ENTRY = 'berthd.cjs';

/**
 * Writes `dest`/berthd.cjs (agent/dist/src/main.js with every dependency, @berth/common included) and
 * `dest`/berth-shim beside it, where runtime/native.ts looks first. Returns a hash of both (the cache key).
 */
export async function stageAgent(repo: string, dest: string): Promise<string> {
  const agent = path.join(repo, 'agent');
  const entry = path.join(agent, 'dist/src/main.js');
  const shim = path.join(agent, 'dist/native/berth-shim');
  for (const [f, how] of [
    [entry, 'npx tsc -b'],
    [shim, 'npm run build'],
  ] as const) {
    await fsp.access(f).catch(() => {
      throw new Error(`${path.relative(repo, f)} is missing: build first (${how})`);
    });
  }
  // A build-time tool: loaded only when an image is staged, never by the app or the CLI at run time.
  const esbuild = await import('esbuild');
  await fsp.mkdir(dest, { recursive: true });
  const out = path.join(dest, AGENT_ENTRY);
  await esbuild.build({
    entryPoints: [entry],
    // Paths in the bundle's comments relative to the repo: the same sources give the same bytes anywhere.
    absWorkingDir: repo,
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // The sources are ESM; import.meta.url (runtime/native.ts) becomes the bundle's own file URL.
    define: { 'import.meta.url': '__berthd_url' },
    banner: { js: 'const __berthd_url = require("node:url").pathToFileURL(__filename).href;' },
    legalComments: 'none',
    logLevel: 'error',
  });
  await fsp.copyFile(shim, path.join(dest, 'berth-shim'));
  await fsp.chmod(path.join(dest, 'berth-shim'), 0o755);
  const h = createHash('sha256');
  for (const f of [AGENT_ENTRY, 'berth-shim'])
    h.update(f)
      .update('\0')
      .update(await fsp.readFile(path.join(dest, f)));
  return h.digest('hex');
}
