/**
 * Writes Berth's context into the user's kubeconfig the way `kubectl config set-*` would: the named cluster, user
 * and context replaced or added, everything else kept, the previous file kept as `<file>.berth-backup`, the new
 * one written atomically with mode 0600. current-context changes only when there was none, or when asked.
 */
import { promises as fsp } from 'node:fs';
import { parse, stringify } from 'yaml';
import { writeFileAtomic } from '../settings/store.js';
import { KubeconfigError } from './kubeconfig.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface ContextEntry {
  /** One name for the context, its cluster and its user. */
  name: string;
  cluster: Obj;
  user: Obj;
}

export interface MergeResult {
  file: string;
  /** Where the file was before this write (absent when there was no file). */
  backup?: string;
  current?: string;
  switched: boolean;
}

export async function readKubeconfigDoc(file: string): Promise<{ doc: Obj; existed: boolean }> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { doc: {}, existed: false };
    throw new KubeconfigError(
      `cannot read the kubeconfig ${file} (${(e as Error).message}): fix it, or point KUBECONFIG at another file`,
    );
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new KubeconfigError(`${file} is not valid YAML, so Berth leaves it alone: ${(e as Error).message}`);
  }
  if (doc === null || doc === undefined) return { doc: {}, existed: true };
  if (!isObj(doc))
    throw new KubeconfigError(`${file} is not a kubeconfig (a mapping), so Berth leaves it alone`);
  return { doc, existed: true };
}

/** The list under `key` with the entry named `name` replaced (or appended). */
function upsert(doc: Obj, key: string, name: string, field: string, value: Obj): void {
  const list = Array.isArray(doc[key]) ? (doc[key] as unknown[]) : [];
  const entry = { name, [field]: value };
  const i = list.findIndex((x) => isObj(x) && x.name === name);
  if (i >= 0) list[i] = entry;
  else list.push(entry);
  doc[key] = list;
}

async function writeOrExplain(file: string, text: string): Promise<void> {
  try {
    await writeFileAtomic(file, text);
  } catch (e) {
    throw new KubeconfigError(
      `cannot write the kubeconfig ${file} (${(e as Error).message}): make it writable, or point KUBECONFIG at a file you can write`,
    );
  }
}

export async function mergeContext(file: string, e: ContextEntry, use: boolean): Promise<MergeResult> {
  const { doc, existed } = await readKubeconfigDoc(file);
  const result: MergeResult = { file, switched: false };
  if (existed) {
    result.backup = `${file}.berth-backup`;
    await fsp.copyFile(file, result.backup);
    await fsp.chmod(result.backup, 0o600);
  }
  doc.apiVersion ??= 'v1';
  doc.kind ??= 'Config';
  upsert(doc, 'clusters', e.name, 'cluster', e.cluster);
  upsert(doc, 'users', e.name, 'user', e.user);
  upsert(doc, 'contexts', e.name, 'context', { cluster: e.name, user: e.name });
  const current = typeof doc['current-context'] === 'string' ? doc['current-context'] : '';
  if (use || !current) {
    doc['current-context'] = e.name;
    result.switched = current !== e.name;
  }
  result.current = doc['current-context'] as string;
  await writeOrExplain(file, stringify(doc));
  return result;
}

/** Whether the kubeconfig names context `name` (disable leaves it; status says so). */
export async function hasContext(file: string, name: string): Promise<boolean> {
  try {
    const { doc } = await readKubeconfigDoc(file);
    return Array.isArray(doc.contexts) && doc.contexts.some((c) => isObj(c) && c.name === name);
  } catch {
    return false;
  }
}
