/**
 * Stages berth-kube for a guest beside berthd (agent-tree.ts): one CommonJS bundle (for the same reasons as
 * berthd's: under TCG, resolving and compiling hundreds of module files is most of the start) and the static
 * berth-pause the kubelet imports as the sandbox image. In the guest: /opt/berth/kube/lib/berth-kube.cjs and
 * /opt/berth/native/berth-pause, where the bundle's own DEFAULT_PAUSE_BINARY (../../native from its file) points.
 * The guest's Node 22 has node:sqlite, so better-sqlite3 (a host-ABI addon, loaded lazily) stays out.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

/** The bundle's path inside the staged directory (→ /opt/berth/kube/lib/berth-kube.cjs in the guest). */
export const KUBE_ENTRY = 'kube/lib/berth-kube.cjs';
export const PAUSE_ENTRY = 'native/berth-pause';

/** Writes the bundle and berth-pause under `dest`; returns a hash of both (part of the image's cache key). */
export async function stageKube(repo: string, dest: string): Promise<string> {
  const entry = path.join(repo, 'kube/dist/src/main.js');
  const pause = path.join(repo, 'kube/dist/native/berth-pause');
  for (const [f, how] of [
    [entry, 'npx tsc -b'],
    [pause, 'npm run build'],
  ] as const)
    await fsp.access(f).catch(() => {
      throw new Error(`${path.relative(repo, f)} is missing: build first (${how})`);
    });
  const esbuild = await import('esbuild');
  const out = path.join(dest, KUBE_ENTRY);
  await fsp.mkdir(path.dirname(out), { recursive: true });
  await esbuild.build({
    entryPoints: [entry],
    absWorkingDir: repo,
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    external: ['better-sqlite3'],
    define: { 'import.meta.url': '__berth_kube_url' },
    banner: { js: 'const __berth_kube_url = require("node:url").pathToFileURL(__filename).href;' },
    legalComments: 'none',
    logLevel: 'error',
  });
  await fsp.mkdir(path.join(dest, path.dirname(PAUSE_ENTRY)), { recursive: true });
  await fsp.copyFile(pause, path.join(dest, PAUSE_ENTRY));
  await fsp.chmod(path.join(dest, PAUSE_ENTRY), 0o755);
  const h = createHash('sha256');
  for (const f of [KUBE_ENTRY, PAUSE_ENTRY])
    h.update(f)
      .update('\0')
      .update(await fsp.readFile(path.join(dest, f)));
  return h.digest('hex');
}
