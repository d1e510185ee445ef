#!/usr/bin/env node
// Builds kube/src/schema/data/protobuf-types.ts: the field numbers and types of the Kubernetes 1.32 protobuf
// messages (from k8s.io/api and k8s.io/apimachinery v0.32.9 generated.proto), and, from their Go structs, which
// fields keep a zero value in JSON (pointers and fields without omitempty). kubectl's typed commands (create
// token, auth can-i, create role...) send protobuf bodies; kube/src/schema/protobuf.ts decodes them with this.
//
// usage: node scripts/gen-protobuf-types.mjs <kubernetes/api git dir> <kubernetes/apimachinery git dir>
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TAG = 'v0.32.9';
const [apiDir, machineryDir] = process.argv.slice(2);
if (!apiDir || !machineryDir) {
  console.error('usage: gen-protobuf-types.mjs <kubernetes/api git dir> <kubernetes/apimachinery git dir>');
  process.exit(2);
}
const show = (dir, file) => {
  try {
    return execFileSync('git', ['--git-dir', dir, 'show', `${TAG}:${file}`], { encoding: 'utf8' });
  } catch {
    return '';
  }
};

/** k8s.io/api package directory → API group. */
const API_GROUPS = {
  'admissionregistration/v1': 'admissionregistration.k8s.io',
  'apps/v1': 'apps',
  'authentication/v1': 'authentication.k8s.io',
  'authorization/v1': 'authorization.k8s.io',
  'autoscaling/v1': 'autoscaling',
  'autoscaling/v2': 'autoscaling',
  'batch/v1': 'batch',
  'certificates/v1': 'certificates.k8s.io',
  'coordination/v1': 'coordination.k8s.io',
  'core/v1': '',
  'discovery/v1': 'discovery.k8s.io',
  'events/v1': 'events.k8s.io',
  'networking/v1': 'networking.k8s.io',
  'node/v1': 'node.k8s.io',
  'policy/v1': 'policy',
  'rbac/v1': 'rbac.authorization.k8s.io',
  'scheduling/v1': 'scheduling.k8s.io',
  'storage/v1': 'storage.k8s.io',
};
const MACHINERY = [
  'pkg/apis/meta/v1',
  'pkg/api/resource',
  'pkg/util/intstr',
  'pkg/runtime',
  'pkg/runtime/schema',
];

const messages = {};
const kinds = {};

/** Go structs of a package: struct name → json name → keeps its zero value (pointer, or no omitempty). */
function goKeepZero(dir, pkgDir) {
  const out = {};
  const files = execFileSync('git', ['--git-dir', dir, 'ls-tree', '--name-only', TAG, `${pkgDir}/`], {
    encoding: 'utf8',
  })
    .split('\n')
    .filter((f) => f.endsWith('.go') && !f.endsWith('_test.go') && !/generated|zz_/.test(f));
  for (const f of files) {
    let current;
    for (const line of show(dir, f).split('\n')) {
      const start = /^type (\w+) struct \{/.exec(line);
      if (start) {
        current = out[start[1]] = {};
        continue;
      }
      if (line.startsWith('}')) current = undefined;
      if (!current) continue;
      const m = /^\s+(?:\w+\s+)?(\*?)[\w.[\]*]+\s+`json:"([^",]*)((?:,[^"]*)?)"/.exec(line);
      if (m && m[2]) current[m[2]] = m[1] === '*' || !m[3].includes('omitempty');
    }
  }
  return out;
}

function parseProto(text, keep) {
  const pkg = /^package ([\w.]+);/m.exec(text)[1];
  const re = /^message (\w+) \{([\s\S]*?)^\}/gm;
  let m;
  while ((m = re.exec(text))) {
    const [, name, body] = m;
    const fields = [];
    for (const line of body.split('\n')) {
      const f =
        /^\s+(optional|repeated|map<\s*([\w.]+)\s*,\s*([\w.]+)\s*>)\s*([\w.]*)\s+(\w+)\s*=\s*(\d+)/.exec(
          line,
        );
      if (!f) continue;
      const qualify = (t) =>
        /^(string|bytes|bool|int32|int64|uint32|uint64|double|float)$/.test(t)
          ? t
          : t.startsWith('.')
            ? t.slice(1)
            : `${pkg}.${t}`;
      const type = f[2] ? `map:${qualify(f[2])}:${qualify(f[3])}` : qualify(f[4]);
      const k = keep[name]?.[f[5]];
      // [number, json name, type, repeated, keeps zero]
      fields.push([Number(f[6]), f[5], type, f[1] === 'repeated' ? 1 : 0, k === false ? 0 : 1]);
    }
    const entry = { f: fields };
    // Named slice types (ExtraValue, Verbs) are messages of one repeated `items` on the wire, arrays in JSON.
    if (!keep[name] && fields.length === 1 && fields[0][1] === 'items' && fields[0][3]) entry.array = 1;
    messages[`${pkg}.${name}`] = entry;
  }
  return pkg;
}

for (const [dir, group] of Object.entries(API_GROUPS)) {
  const pkg = parseProto(show(apiDir, `${dir}/generated.proto`), goKeepZero(apiDir, dir));
  const version = dir.split('/')[1];
  for (const full of Object.keys(messages))
    if (full.startsWith(`${pkg}.`)) kinds[`${group}/${version}/${full.slice(pkg.length + 1)}`] = full;
}
for (const dir of MACHINERY)
  parseProto(show(machineryDir, `${dir}/generated.proto`), goKeepZero(machineryDir, dir));
for (const k of ['DeleteOptions', 'Status', 'CreateOptions', 'UpdateOptions', 'PatchOptions'])
  kinds[`meta.k8s.io/v1/${k}`] = `k8s.io.apimachinery.pkg.apis.meta.v1.${k}`;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'kube/src/schema/data/protobuf-types.ts');
writeFileSync(
  out,
  `// Generated by scripts/gen-protobuf-types.mjs from k8s.io/api and k8s.io/apimachinery ${TAG}; do not edit.\n` +
    `// prettier-ignore\nexport const PROTOBUF_TYPES: string = ${JSON.stringify(JSON.stringify({ messages, kinds }))};\n`,
);
console.log(`${Object.keys(messages).length} messages, ${Object.keys(kinds).length} kinds → ${out}`);
