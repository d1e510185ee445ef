/**
 * The guest's Node (22) on this host, for running store tests with the binding the guest uses (node:sqlite).
 * Found or fetched the way vm-image does it: the tarball pinned in vm-image/manifest.json, from the npm
 * registry with `npm pack`, verified against its sha256, kept in the shared cache (~/.cache/berth/vm-image/ARCH,
 * or $BERTH_CACHE_DIR), so the image build and these tests download it once between them.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

interface Pin {
  name: string;
  version: string;
  sha256: string;
}

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

const exists = (p: string) =>
  fsp.access(p).then(
    () => true,
    () => false,
  );

function cacheDir(): string {
  const env = process.env;
  return (
    env.BERTH_CACHE_DIR ??
    path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'berth', 'vm-image')
  );
}

/** Path of a Node 22 binary for this host's arch: this one if it is 22+, else the guest's pinned Node. */
export async function node22(): Promise<string> {
  if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath;
  const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
  const manifest = JSON.parse(await fsp.readFile(path.join(repo, 'vm-image/manifest.json'), 'utf8')) as {
    arches: Record<string, { node: Pin }>;
  };
  const pin = manifest.arches[arch]?.node;
  if (!pin) throw new Error(`vm-image/manifest.json pins no node for ${arch}`);
  const dir = path.join(cacheDir(), arch);
  const tgz = path.join(dir, `${pin.name}-${pin.version}.tgz`);
  const bin = path.join(dir, `${pin.name}-${pin.version}`, 'node');
  if (await exists(bin)) return bin;
  await fsp.mkdir(dir, { recursive: true });
  if (!(await exists(tgz)) || (await sha256(tgz)) !== pin.sha256) {
    const tmp = await fsp.mkdtemp(path.join(dir, '.dl-'));
    try {
      await execFileP('npm', ['pack', `${pin.name}@${pin.version}`, '--pack-destination', tmp, '--silent'], {
        cwd: tmp,
      });
      const [got] = await fsp.readdir(tmp);
      if (!got) throw new Error(`npm pack ${pin.name}@${pin.version} produced nothing`);
      const sum = await sha256(path.join(tmp, got));
      if (sum !== pin.sha256)
        throw new Error(`${pin.name} ${pin.version}: sha256 ${sum}, manifest says ${pin.sha256}`);
      await fsp.rename(path.join(tmp, got), tgz);
    } finally {
      await fsp.rm(tmp, { recursive: true, force: true });
    }
  }
  const tmp = await fsp.mkdtemp(path.join(dir, '.x-'));
  try {
    await execFileP('tar', ['-xzf', tgz, '-C', tmp, 'package/bin/node']);
    await fsp.mkdir(path.dirname(bin), { recursive: true });
    await fsp.rename(path.join(tmp, 'package/bin/node'), bin);
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
  return bin;
}
