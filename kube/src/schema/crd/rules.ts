/**
 * x-kubernetes-validations: CEL rules in a CRD's schema, as apiextensions-apiserver runs them.
 *   - checkRules: at CRD create/update, each rule is sanity-checked and compiled (ValidateCustomResourceDefinition
 *     OpenAPISchema's messages: "compilation failed: ERROR: <input>:..." and the rest);
 *   - evaluateRules: on create/update of a custom resource, each schema node's rules run with `self` (and
 *     `oldSelf` for transition rules, which run where an old value correlates: object fields, map entries,
 *     list-type=map items by key; or always with optionalOldSelf), giving field errors worded as
 *     pkg/apiserver/schema/cel/validation.go. With ratcheting (updates through the main endpoint), a failed rule
 *     that does not name oldSelf on a value unchanged from the old object is a warning, not an error.
 * Not done: cost estimation and budgets, typed compilation (unknown fields fail at evaluation, "no such key").
 */
import type { FieldError } from '../../errors.js';
import { fieldErrorText, GoValue } from '../../errors.js';
import type { CelError } from '../../cel/program.js';
import { compile, Optional, type Program } from '../../cel/program.js';
import type { Schema } from '../types.js';
import type { Correlated } from './correlate.js';
import type { FieldPath } from './path.js';

export interface ValidationRule {
  rule?: string;
  message?: string;
  messageExpression?: string;
  reason?: string;
  fieldPath?: string;
  optionalOldSelf?: boolean;
}

const REASONS = ['FieldValueDuplicate', 'FieldValueForbidden', 'FieldValueInvalid', 'FieldValueRequired'];
const VARS = ['self', 'oldSelf'];
const hasNewlines = (s: string) => /[\n\r]/.test(s);

interface Compiled {
  program?: Program;
  error?: string;
  message?: Program;
  messageError?: string;
}

const cache = new WeakMap<ValidationRule, Compiled>();

function compileRule(r: ValidationRule): Compiled {
  let c = cache.get(r);
  if (c) return c;
  c = {};
  const source = (r.rule ?? '').trim();
  if (source) {
    try {
      c.program = compile(r.rule!, VARS);
      if (c.program.type !== 'bool' && c.program.type !== 'dyn') {
        c.error = 'cel expression must evaluate to a bool';
        delete c.program;
      }
    } catch (e) {
      c.error = `compilation failed: ${(e as Error).message}`;
    }
  }
  if (r.messageExpression?.trim()) {
    try {
      c.message = compile(r.messageExpression, VARS);
      if (c.message.type !== 'string' && c.message.type !== 'dyn') {
        c.messageError = 'must evaluate to a string';
        delete c.message;
      }
    } catch (e) {
      c.messageError = `messageExpression compilation failed: ${(e as Error).message}`;
    }
  }
  cache.set(r, c);
  return c;
}

const goString = (s: string | undefined) => JSON.stringify(s ?? '');

/** The rule as Go's %#v prints an apiextensions.ValidationRule (the bad value of a compile error). */
function goRule(r: ValidationRule): GoValue {
  const reason = r.reason === undefined ? '(*apiextensions.FieldValueErrorReason)(nil)' : `"${r.reason}"`;
  const oos = r.optionalOldSelf === undefined ? '(*bool)(nil)' : String(r.optionalOldSelf);
  return new GoValue(
    `apiextensions.ValidationRule{Rule:${goString(r.rule)}, Message:${goString(r.message)}, ` +
      `MessageExpression:${goString(r.messageExpression)}, Reason:${reason}, FieldPath:${goString(r.fieldPath)}, ` +
      `OptionalOldSelf:${oos}}`,
  );
}

/** A rule's fieldPath (".spec.x", "['a.b']") as field path steps: [name, isKey][]; undefined if it is invalid. */
function fieldPathSteps(path: string, schema: Schema): Array<[string, boolean]> | undefined {
  const steps: Array<[string, boolean]> = [];
  let s: Schema | undefined = schema;
  const re = /\.([^.[\]]+)|\['((?:[^'\\]|\\.)*)'\]/y;
  let at = 0;
  while (at < path.length) {
    re.lastIndex = at;
    const m = re.exec(path);
    if (!m || !s) return undefined;
    at = re.lastIndex;
    const name = m[1] ?? m[2].replace(/\\(.)/g, '$1');
    if (s.properties) {
      s = s.properties[name];
      if (!s) return undefined;
      steps.push([name, false]);
    } else if (typeof s.additionalProperties === 'object') {
      s = s.additionalProperties;
      steps.push([name, true]);
    } else return undefined;
  }
  return steps;
}

function withSteps(base: string, steps: Array<[string, boolean]>): string {
  let out = base;
  for (const [name, isKey] of steps) out = isKey ? `${out}[${name}]` : out ? `${out}.${name}` : name;
  return out;
}

function rulesOf(s: Schema): ValidationRule[] {
  const v = s['x-kubernetes-validations'];
  return Array.isArray(v) ? (v as ValidationRule[]) : [];
}

/** The CRD-time checks of every x-kubernetes-validations in `schema` (at `path`: ...openAPIV3Schema). */
export function checkRules(schema: Schema, path: FieldPath): FieldError[] {
  const out: FieldError[] = [];
  const visit = (s: Schema, p: FieldPath, uncorrelatable?: FieldPath) => {
    if (!s || typeof s !== 'object') return;
    const rules = rulesOf(s);
    const before = out.length;
    rules.forEach((r, i) => {
      const rp = p.child('x-kubernetes-validations').index(i);
      const rule = (r.rule ?? '').trim();
      const msg = (r.message ?? '').trim();
      if (!rule)
        out.push({
          type: 'FieldValueRequired',
          field: rp.child('rule').toString(),
          detail: 'rule is not specified',
        });
      else if (r.message && !msg)
        out.push(invalidAt(rp.child('message'), r.message, 'message must be non-empty if specified'));
      else if (hasNewlines(msg))
        out.push(invalidAt(rp.child('message'), r.message, 'message must not contain line breaks'));
      else if (hasNewlines(rule) && !msg)
        out.push({
          type: 'FieldValueRequired',
          field: rp.child('message').toString(),
          detail: 'message must be specified if rule contains line breaks',
        });
      if (r.messageExpression && !r.messageExpression.trim())
        out.push({
          type: 'FieldValueRequired',
          field: rp.child('messageExpression').toString(),
          detail: 'messageExpression must be non-empty if specified',
        });
      if (r.reason !== undefined && !REASONS.includes(r.reason))
        out.push({
          type: 'FieldValueNotSupported',
          field: rp.child('reason').toString(),
          badValue: r.reason,
          detail: `supported values: ${REASONS.map((x) => `"${x}"`).join(', ')}`,
        });
      if (r.fieldPath !== undefined && r.fieldPath.length > 0) {
        if (!r.fieldPath.trim())
          out.push(invalidAt(rp.child('fieldPath'), r.fieldPath, 'fieldPath must be non-empty if specified'));
        if (hasNewlines(r.fieldPath))
          out.push(invalidAt(rp.child('fieldPath'), r.fieldPath, 'fieldPath must not contain line breaks'));
        if (!fieldPathSteps(r.fieldPath, s))
          out.push(invalidAt(rp.child('fieldPath'), r.fieldPath, 'fieldPath must be a valid path'));
      }
    });
    if (out.length === before) {
      rules.forEach((r, i) => {
        const rp = p.child('x-kubernetes-validations').index(i);
        const c = compileRule(r);
        if (c.error) out.push(invalidAt(rp.child('rule'), goRule(r), c.error));
        if (c.messageError) out.push(invalidAt(rp.child('messageExpression'), goRule(r), c.messageError));
        const usesOld = !!c.program?.references.has('oldSelf');
        if (usesOld && uncorrelatable)
          out.push(
            invalidAt(
              rp.child('rule'),
              r.rule,
              `oldSelf cannot be used on the uncorrelatable portion of the schema within ${uncorrelatable.toString()}`,
            ),
          );
        else if (c.program && !usesOld && r.optionalOldSelf !== undefined)
          out.push(
            invalidAt(
              rp.child('optionalOldSelf'),
              r.optionalOldSelf,
              'may not be set if oldSelf is not used in rule',
            ),
          );
      });
    }
    for (const [k, v] of Object.entries(s.properties ?? {}))
      visit(v, p.child('properties').key(k), uncorrelatable);
    if (s.items && !Array.isArray(s.items))
      visit(
        s.items,
        p.child('items'),
        s['x-kubernetes-list-type'] === 'map' ? uncorrelatable : (uncorrelatable ?? p),
      );
    if (typeof s.additionalProperties === 'object')
      visit(s.additionalProperties, p.child('additionalProperties'), uncorrelatable);
    (s.allOf ?? []).forEach((a, i) => visit(a, p.child('allOf').index(i), uncorrelatable));
  };
  visit(schema, path);
  return out;
}

function invalidAt(p: FieldPath, badValue: unknown, detail: string): FieldError {
  return { type: 'FieldValueInvalid', field: p.toString(), badValue, detail };
}

export function hasRules(s: Schema | undefined): boolean {
  if (!s || typeof s !== 'object') return false;
  if (rulesOf(s).length) return true;
  return (
    Object.values(s.properties ?? {}).some(hasRules) ||
    (!!s.items && !Array.isArray(s.items) && hasRules(s.items)) ||
    (typeof s.additionalProperties === 'object' && hasRules(s.additionalProperties)) ||
    (s.allOf ?? []).some(hasRules)
  );
}

/** A JSON value as CEL sees it under schema `s`: integers as ints (bigint), numbers as doubles. */
function toCel(v: unknown, s: Schema | undefined, resourceRoot = false): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') {
    const asInt = s?.type === 'integer' || (s?.type !== 'number' && Number.isInteger(v));
    return asInt && Number.isInteger(v) ? BigInt(v) : v;
  }
  if (Array.isArray(v)) return v.map((x) => toCel(x, s?.items));
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const sub =
        s?.properties?.[k] ??
        (typeof s?.additionalProperties === 'object' ? s.additionalProperties : undefined);
      out[k] = toCel(x, sub, s?.properties?.[k]?.['x-kubernetes-embedded-resource'] === true);
    }
    if (resourceRoot && out.metadata && typeof out.metadata === 'object') {
      // Rules see only metadata.name and generateName (model.WithTypeAndObjectMeta).
      const m = out.metadata as Record<string, unknown>;
      out.metadata = Object.fromEntries(
        Object.entries(m).filter(([k]) => k === 'name' || k === 'generateName'),
      );
    }
    return out;
  }
  return v;
}

/**
 * Where a node stands for ratcheting (ratchetingOptions): its own correlation with the old object, or, below a
 * node that does not correlate (a list item that is not a map-list item), the nearest ancestor that does.
 */
interface Ratchet {
  current?: Correlated;
  parent?: Correlated;
}

const ratchetKey = (r: Ratchet, field: string): Ratchet => {
  if (!r.current) return r;
  // The resource's apiVersion and kind do not ratchet (old and new are converted to the same version).
  if (!r.parent && (field === 'apiVersion' || field === 'kind')) return {};
  return { current: r.current.key(field), parent: r.current };
};

const ratchetIndex = (r: Ratchet, i: number): Ratchet =>
  r.current ? { current: r.current.index(i), parent: r.current } : r;

/** Errors of this node are ratcheted when it (or, if it does not correlate, its nearest correlated ancestor) is unchanged. */
const ratchets = (r: Ratchet): boolean =>
  r.current ? r.current.unchanged() : (r.parent?.unchanged() ?? false);

export interface RuleOptions {
  /** The new object correlated with the old one: failed rules without oldSelf on unchanged values only warn. */
  ratchet?: Correlated;
  /** Where ratcheted failures go (kube-apiserver adds them as warnings to the response). */
  warn?: (text: string) => void;
}

/**
 * The rules of `schema` over `obj`; `old` (an update) gives transition rules their oldSelf. Every rule runs; those
 * naming oldSelf only where an old value correlates, unless optionalOldSelf.
 */
export function evaluateRules(
  schema: Schema,
  obj: unknown,
  old?: unknown,
  opts: RuleOptions = {},
): FieldError[] {
  const out: FieldError[] = [];
  const ctx: Walk = { out, warn: opts.warn ?? (() => {}) };
  walk(schema, obj, old, '', true, opts.ratchet ? { current: opts.ratchet } : {}, ctx);
  return out;
}

interface Walk {
  out: FieldError[];
  warn: (text: string) => void;
}

function walk(s: Schema, v: unknown, old: unknown, path: string, root: boolean, r: Ratchet, ctx: Walk): void {
  if (!s || typeof s !== 'object' || v === null || v === undefined) return;
  runNode(s, s, v, old, path, root, r, ctx);
  // allOf rules ratchet as the schema's allOf checks do: on the nearest correlated ancestor only.
  for (const a of s.allOf ?? []) runNode(a, s, v, old, path, root, { parent: r.parent }, ctx);
  if (Array.isArray(v)) {
    if (!s.items || Array.isArray(s.items)) return;
    const keys = s['x-kubernetes-list-type'] === 'map' ? (s['x-kubernetes-list-map-keys'] ?? []) : undefined;
    const olds = Array.isArray(old) ? (old as Array<Record<string, unknown>>) : [];
    v.forEach((item, i) => {
      const o =
        keys && item && typeof item === 'object'
          ? olds.find((x) => x && keys.every((k) => x[k] === (item as Record<string, unknown>)[k]))
          : undefined;
      walk(
        s.items!,
        item,
        o,
        `${path}[${i}]`,
        s.items!['x-kubernetes-embedded-resource'] === true,
        ratchetIndex(r, i),
        ctx,
      );
    });
    return;
  }
  if (typeof v !== 'object') return;
  const o = old && typeof old === 'object' && !Array.isArray(old) ? (old as Record<string, unknown>) : {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const prop = s.properties?.[k];
    if (prop)
      walk(
        prop,
        x,
        o[k],
        path ? `${path}.${k}` : k,
        prop['x-kubernetes-embedded-resource'] === true,
        ratchetKey(r, k),
        ctx,
      );
    else if (typeof s.additionalProperties === 'object') {
      const ap = s.additionalProperties;
      walk(
        ap,
        x,
        o[k],
        `${path}[${k}]`,
        ap['x-kubernetes-embedded-resource'] === true,
        ratchetKey(r, k),
        ctx,
      );
    }
  }
}

function runNode(
  rulesAt: Schema,
  s: Schema,
  v: unknown,
  old: unknown,
  path: string,
  root: boolean,
  ratchet: Ratchet,
  { out, warn }: Walk,
): void {
  const rules = rulesOf(rulesAt);
  if (!rules.length) return;
  const field = path || '<nil>';
  const type = s.type ?? (s['x-kubernetes-int-or-string'] ? 'int-or-string' : '');
  const self = toCel(v, s, root);
  let oldSelf: unknown;
  for (const r of rules) {
    const c = compileRule(r);
    if (c.error) {
      out.push({
        type: 'FieldValueInvalid',
        field,
        badValue: type,
        detail: `rule compile error: ${c.error}`,
      });
      continue;
    }
    if (!c.program) continue;
    const usesOld = c.program.references.has('oldSelf');
    if (usesOld && (old === undefined || old === null) && !r.optionalOldSelf) continue;
    if (usesOld && oldSelf === undefined)
      oldSelf = old === undefined || old === null ? null : toCel(old, s, root);
    const vars: Record<string, unknown> = { self };
    if (usesOld)
      vars.oldSelf = r.optionalOldSelf
        ? oldSelf === null
          ? Optional.none()
          : Optional.of(oldSelf)
        : oldSelf;
    const text = (r.message ?? '').trim() || (r.rule ?? '').trim();
    let result: unknown;
    try {
      result = c.program.evaluate(vars);
    } catch (e) {
      const err = e as CelError;
      const detail = err.noOverload
        ? `'no such overload': call arguments did not match a supported operator, function or macro signature for rule: ${text}`
        : `${err.message} evaluating rule: ${text}`;
      out.push({ type: 'FieldValueInvalid', field, badValue: type, detail });
      continue;
    }
    if (result === true) continue;
    const steps = r.fieldPath ? fieldPathSteps(r.fieldPath, s) : undefined;
    const at = steps ? withSteps(path, steps) : field;
    let detail = (r.message ?? '').trim() ? r.message!.trim() : `failed rule: ${text}`;
    if (c.message) {
      try {
        const m = c.message.evaluate(vars);
        if (typeof m === 'string' && m.trim() && !/\n/.test(m.trim()) && m.trim().length <= 5 * 1024)
          detail = m.trim();
      } catch {
        // kube-apiserver logs a failing messageExpression and falls back to message
      }
    }
    const e = reasonError(r.reason, at, type, detail);
    if (!usesOld && ratchets(ratchet)) warn(`${e.field}: ${fieldErrorText(e)}`);
    else out.push(e);
  }
}

function reasonError(reason: string | undefined, field: string, type: string, detail: string): FieldError {
  if (reason === 'FieldValueForbidden') return { type: 'FieldValueForbidden', field, detail };
  if (reason === 'FieldValueRequired') return { type: 'FieldValueRequired', field, detail };
  if (reason === 'FieldValueDuplicate') return { type: 'FieldValueDuplicate', field, badValue: type };
  return { type: 'FieldValueInvalid', field, badValue: type, detail };
}
