/**
 * Decoding an `application/apply-patch+yaml` body as kube-apiserver does (sigs.k8s.io/yaml: YAML 1.1, converted to
 * JSON, then into an object): JSON bodies (what kubectl and the client libraries send) are parsed as JSON; other
 * YAML with YAML 1.1 scalars (`yes` is true). Anything but a mapping is 400 "error decoding YAML: ...". A repeated
 * key is accepted (the last wins) and reported as the strict-decoding error, which fieldValidation=Strict refuses.
 */
import { parseDocument } from 'yaml';
import { badRequest } from '../../errors.js';
import { type JsonObject, type JsonValue, isObject, jsonKindWord } from '../json.js';

export interface DecodedApply {
  config: JsonObject;
  /** A duplicate key, worded as sigs.k8s.io/yaml's strict decoder. */
  strictError?: string;
}

function parseYaml(body: string): { value: JsonValue; duplicate?: string } {
  const doc = parseDocument(body, { version: '1.1', uniqueKeys: false, prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const line = body.slice(0, e.pos[0]).split('\n').length;
    throw badRequest(
      `error decoding YAML: error converting YAML to JSON: yaml: line ${line}: ${e.message.split('\n')[0]}`,
    );
  }
  const strict = parseDocument(body, { version: '1.1', uniqueKeys: true, prettyErrors: false });
  const dup = strict.errors.find((e) => e.code === 'DUPLICATE_KEY');
  const value = (doc.toJS({ maxAliasCount: 100 }) ?? null) as JsonValue;
  if (!dup) return { value };
  const line = body.slice(0, dup.pos[0]).split('\n').length;
  const key = /^["']?([^"':]*)["']?\s*:/.exec(body.slice(dup.pos[0]))?.[1] ?? '';
  return {
    value,
    duplicate: `error converting YAML to JSON: yaml: unmarshal errors:\n  line ${line}: key ${JSON.stringify(key)} already set in map`,
  };
}

export function decodeApplyBody(body: string): DecodedApply {
  let value: JsonValue;
  let duplicate: string | undefined;
  try {
    value = JSON.parse(body) as JsonValue;
  } catch {
    ({ value, duplicate } = parseYaml(body));
  }
  const decoded = decodeApplyValue(value);
  return duplicate ? { ...decoded, strictError: duplicate } : decoded;
}

/** The shape check of decodeApplyBody, for a body already decoded. */
export function decodeApplyValue(value: JsonValue): DecodedApply {
  if (value === null) return { config: {} };
  if (!isObject(value)) {
    throw badRequest(
      `error decoding YAML: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${jsonKindWord(value)} into Go value of type map[string]interface {}`,
    );
  }
  return { config: value };
}
