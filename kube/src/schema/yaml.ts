/**
 * YAML request bodies, read as kube-apiserver reads them (sigs.k8s.io/yaml over go-yaml v2): YAML 1.1 scalars
 * (`yes`/`on` are booleans, `0755` is octal), merge keys, timestamps kept as strings, only the first document.
 * Duplicate keys are found as go-yaml's strict mode finds them (`line 3: key "a" already set in map`), all of
 * them, for the Strict/Warn field validation.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, parseAllDocuments, type Document, type Tags } from 'yaml';
import type { JsonValue } from './json.js';

export class YamlSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'YamlSyntaxError';
  }
}

export interface ParsedYaml {
  value: JsonValue;
  /** go-yaml's unmarshal errors for duplicate keys, one line each: `line 3: key "a" already set in map`. */
  duplicates: string[];
}

const OPTIONS = {
  version: '1.1' as const,
  uniqueKeys: false,
  merge: true,
  // go-yaml decodes a timestamp into interface{} as its string.
  customTags: (tags: Tags): Tags =>
    tags.filter((t) => typeof t === 'string' || t.tag !== 'tag:yaml.org,2002:timestamp'),
};

/** Parses the first YAML document; throws YamlSyntaxError worded `yaml: line N: ...`. */
export function parseYaml(text: string): ParsedYaml {
  const docs = parseAllDocuments(text, OPTIONS);
  const doc = (Array.isArray(docs) ? docs[0] : undefined) as Document | undefined;
  if (!doc) return { value: null, duplicates: [] };
  const err = doc.errors[0];
  if (err) {
    const line = err.linePos?.[0]?.line ?? 1;
    const reason = err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new YamlSyntaxError(`yaml: line ${line}: ${reason}`);
  }
  const duplicates: string[] = [];
  const lineOf = lineIndex(text);
  findDuplicates(doc.contents, lineOf, duplicates);
  return { value: (doc.toJS({ maxAliasCount: 100 }) ?? null) as JsonValue, duplicates };
}

function lineIndex(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

function findDuplicates(node: unknown, lineOf: (offset: number) => number, out: string[]): void {
  if (isMap(node)) {
    const seen = new Set<string>();
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      // a scalar holds a primitive
      type Primitive = string | number | boolean | bigint | null;
      const raw = isScalar(pair.key) ? (pair.key.value as Primitive) : undefined;
      const key = raw === undefined ? undefined : String(raw);
      if (key !== undefined && key !== '<<') {
        if (seen.has(key)) {
          const at = isScalar(pair.key) && pair.key.range ? lineOf(pair.key.range[0]) : 1;
          // go-yaml prints the key with %#v: strings quoted, numbers and booleans bare.
          const shown = typeof raw === 'string' ? JSON.stringify(raw) : key;
          out.push(`line ${at}: key ${shown} already set in map`);
        }
        seen.add(key);
      }
      findDuplicates(pair.value, lineOf, out);
    }
  } else if (isSeq(node)) {
    for (const item of node.items) findDuplicates(item, lineOf, out);
  } else if (isAlias(node)) {
    // An alias repeats a node already walked.
  }
}
