// Test fixture: kinds' schemas from the schema domain's catalog (the 1.32 definitions berth-kube serves).
import { type Catalog, catalog } from '../../src/schema/index.js';
import { type TypeSchema, kindSchema } from '../../src/patch/schema.js';

const GVK: Record<string, { group: string; version: string; kind: string }> = {
  Pod: { group: '', version: 'v1', kind: 'Pod' },
  ConfigMap: { group: '', version: 'v1', kind: 'ConfigMap' },
  Service: { group: '', version: 'v1', kind: 'Service' },
  Deployment: { group: 'apps', version: 'v1', kind: 'Deployment' },
};

const loaded: Catalog = await catalog();

export function typeOf(kind: string): TypeSchema {
  const t = kindSchema(loaded, GVK[kind]);
  if (!t) throw new Error(`no schema for ${kind}`);
  return t;
}
