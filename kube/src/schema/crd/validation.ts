/**
 * CustomResourceDefinition validation as kube-apiserver words it (apiextensions-apiserver
 * pkg/apis/apiextensions/validation): name = plural.group, group, scope, versions (unique, exactly one storage),
 * names, schemas (required, OpenAPI checks, structural, defaults), subresources, printer columns, conversion.
 * Field paths follow kube-apiserver's internal form: when every version has the same schema (one version always
 * does) it is reported under `spec.validation.openAPIV3Schema`, as a 1.32 server reports it; the same goes for
 * subresources and printer columns.
 */
import type { FieldError } from '../../errors.js';
import { fieldErrorText } from '../../errors.js';
import type { Schema } from '../types.js';
import { FieldPath } from './path.js';
import { checkRules } from './rules.js';
import { validateOpenApiSchema, validateStructural } from './structural.js';
import type { CrdNames, CrdSubresources, CustomResourceDefinition, PrinterColumn } from './types.js';
import { deepEqual, validateValue } from './values.js';

const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function dns1035(v: string): string[] {
  const out: string[] = [];
  if (v.length > 63) out.push('must be no more than 63 characters');
  if (!DNS1035.test(v)) {
    out.push(
      "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
    );
  }
  return out;
}

function dns1123Subdomain(v: string): string[] {
  const out: string[] = [];
  if (v.length > 253) out.push('must be no more than 253 characters');
  if (!DNS1123_SUBDOMAIN.test(v)) {
    out.push(
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    );
  }
  return out;
}

const required = (p: FieldPath, detail?: string): FieldError => ({
  type: 'FieldValueRequired',
  field: p.toString(),
  ...(detail ? { detail } : {}),
});
const invalid = (p: FieldPath, badValue: unknown, detail: string): FieldError => ({
  type: 'FieldValueInvalid',
  field: p.toString(),
  badValue,
  detail,
});
const forbidden = (p: FieldPath, detail: string): FieldError => ({
  type: 'FieldValueForbidden',
  field: p.toString(),
  detail,
});
const notSupported = (p: FieldPath, badValue: unknown, values: string[]): FieldError => ({
  type: 'FieldValueNotSupported',
  field: p.toString(),
  badValue,
  detail: `supported values: ${values.map((v) => JSON.stringify(v)).join(', ')}`,
});

const PRINTER_TYPES = ['boolean', 'date', 'integer', 'number', 'string'];
const PRINTER_FORMATS = ['byte', 'date', 'date-time', 'double', 'float', 'int32', 'int64', 'password'];
const ROOT_ALLOWED_WITH_STATUS = new Set([
  'description',
  'type',
  'format',
  'title',
  'maximum',
  'exclusiveMaximum',
  'minimum',
  'exclusiveMinimum',
  'maxLength',
  'minLength',
  'pattern',
  'maxItems',
  'minItems',
  'uniqueItems',
  'multipleOf',
  'required',
  'items',
  'properties',
  'externalDocs',
  'example',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-validations',
]);

/** Per-version fields that are identical everywhere move to the top level in kube-apiserver's internal form. */
function hoisted<T>(
  crd: CustomResourceDefinition,
  pick: (v: CustomResourceDefinition['spec']['versions'][number]) => T,
): boolean {
  const versions = crd.spec?.versions ?? [];
  return versions.length > 0 && versions.every((v) => deepEqual(pick(v), pick(versions[0])));
}

export function validateCrd(crd: CustomResourceDefinition): FieldError[] {
  const out: FieldError[] = [];
  const spec = crd.spec ?? ({} as CustomResourceDefinition['spec']);
  const names = spec.names ?? ({} as CrdNames);
  const p = FieldPath.of('spec');
  const name = crd.metadata?.name ?? '';
  if (name && name !== `${names.plural}.${spec.group}`) {
    out.push(invalid(FieldPath.of('metadata', 'name'), name, 'must be spec.names.plural+"."+spec.group'));
  }
  if (!spec.group) out.push(required(p.child('group')));
  else if (dns1123Subdomain(spec.group).length)
    out.push(invalid(p.child('group'), spec.group, dns1123Subdomain(spec.group).join(',')));
  else if (spec.group.split('.').length < 2)
    out.push(invalid(p.child('group'), spec.group, 'should be a domain with at least one dot'));
  if (!spec.scope) out.push(required(p.child('scope')));
  else if (spec.scope !== 'Cluster' && spec.scope !== 'Namespaced')
    out.push(notSupported(p.child('scope'), spec.scope, ['Cluster', 'Namespaced']));

  const versions = spec.versions ?? [];
  const schemaHoisted = hoisted(crd, (v) => v.schema);
  const subHoisted = hoisted(crd, (v) => v.subresources);
  const colsHoisted = hoisted(crd, (v) => v.additionalPrinterColumns);
  const topSchema = schemaHoisted ? versions[0]?.schema : undefined;
  if (!topSchema?.openAPIV3Schema) {
    versions.forEach((v, i) => {
      if (!v.schema?.openAPIV3Schema)
        out.push(
          required(p.child('versions').index(i).child('schema', 'openAPIV3Schema'), 'schemas are required'),
        );
    });
  }
  let storage = 0;
  const seen = new Set<string>();
  let unique = true;
  versions.forEach((v, i) => {
    const vp = p.child('versions').index(i);
    if (v.storage) storage++;
    if (seen.has(v.name)) unique = false;
    seen.add(v.name);
    const errs = dns1035(v.name ?? '');
    if (errs.length) out.push(invalid(vp.child('name'), v.name, errs.join(',')));
    const statusEnabled = !!(subHoisted ? versions[0].subresources : v.subresources)?.status;
    if (!schemaHoisted)
      out.push(...validateSchema(v.schema?.openAPIV3Schema, statusEnabled, vp.child('schema')));
    if (!subHoisted) out.push(...validateSubresources(v.subresources, vp.child('subresources')));
    if (!colsHoisted)
      (v.additionalPrinterColumns ?? []).forEach((c, j) =>
        out.push(...validateColumn(c, vp.child('additionalPrinterColumns').index(j))),
      );
  });
  if (!unique) out.push(invalid(p.child('versions'), versions, 'must contain unique version names'));
  if (storage !== 1)
    out.push(
      invalid(p.child('versions'), versions, 'must have exactly one version marked as storage version'),
    );
  for (const [k, label] of [
    ['plural', 'plural'],
    ['singular', 'singular'],
    ['kind', 'kind'],
    ['listKind', 'listKind'],
  ] as const) {
    if (!names[k]) out.push(required(p.child('names', label)));
  }
  out.push(...validateNames(names, p.child('names')));
  if (schemaHoisted) {
    const statusEnabled = versions.some((v) => !!v.subresources?.status);
    out.push(...validateSchema(topSchema?.openAPIV3Schema, statusEnabled, p.child('validation')));
  }
  if (subHoisted) out.push(...validateSubresources(versions[0]?.subresources, p.child('subresources')));
  if (colsHoisted)
    (versions[0]?.additionalPrinterColumns ?? []).forEach((c, j) =>
      out.push(...validateColumn(c, p.child('additionalPrinterColumns').index(j))),
    );
  if (spec.preserveUnknownFields) {
    out.push(
      invalid(
        p.child('preserveUnknownFields'),
        true,
        'cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead',
      ),
    );
  }
  const conversion = spec.conversion;
  if (conversion && conversion.strategy !== 'None' && conversion.strategy !== 'Webhook') {
    out.push(notSupported(p.child('conversion', 'strategy'), conversion.strategy, ['None', 'Webhook']));
  } else if (conversion?.strategy === 'Webhook' && !conversion.webhook) {
    out.push(required(p.child('conversion', 'webhook'), 'required when strategy is set to Webhook'));
  }
  return out;
}

/** Update rules on top of validateCrd: group and plural never change; scope and kind not once Established. */
export function validateCrdUpdate(
  crd: CustomResourceDefinition,
  old: CustomResourceDefinition,
): FieldError[] {
  const out = validateCrd(crd);
  const p = FieldPath.of('spec');
  const immutable = (path: FieldPath, now: unknown, before: unknown) => {
    if (!deepEqual(now, before)) out.push(invalid(path, now, 'field is immutable'));
  };
  const established = (old.status?.conditions ?? []).some(
    (c) => c.type === 'Established' && c.status === 'True',
  );
  if (established) {
    immutable(p.child('scope'), crd.spec?.scope, old.spec?.scope);
    immutable(p.child('names', 'kind'), crd.spec?.names?.kind, old.spec?.names?.kind);
  }
  immutable(p.child('group'), crd.spec?.group, old.spec?.group);
  immutable(p.child('names', 'plural'), crd.spec?.names?.plural, old.spec?.names?.plural);
  out.push(...validateStoredVersions(crd));
  return out;
}

/** status.storedVersions must name served versions and include the storage version. */
export function validateStoredVersions(crd: CustomResourceDefinition): FieldError[] {
  const stored = crd.status?.storedVersions;
  if (!stored) return [];
  const path = FieldPath.of('status', 'storedVersions');
  if (stored.length === 0) return [invalid(path, stored, 'must have at least one stored version')];
  const out: FieldError[] = [];
  const versions = crd.spec?.versions ?? [];
  const storage = versions.find((v) => v.storage);
  if (storage && !stored.includes(storage.name))
    out.push(invalid(path, stored, `must have the storage version ${storage.name}`));
  stored.forEach((v, i) => {
    if (!versions.some((x) => x.name === v))
      out.push(invalid(path.index(i), v, 'must appear in spec.versions'));
  });
  return out;
}

function validateNames(n: CrdNames, p: FieldPath): FieldError[] {
  const out: FieldError[] = [];
  const label = (k: 'plural' | 'singular', v: string | undefined) => {
    if (v && dns1035(v).length) out.push(invalid(p.child(k), v, dns1035(v).join(',')));
  };
  label('plural', n.plural);
  label('singular', n.singular);
  for (const k of ['kind', 'listKind'] as const) {
    const v = n[k];
    if (v && dns1035(v.toLowerCase()).length) {
      out.push(
        invalid(
          p.child(k),
          v,
          `may have mixed case, but should otherwise match: ${dns1035(v.toLowerCase()).join(',')}`,
        ),
      );
    }
  }
  (n.shortNames ?? []).forEach((s, i) => {
    if (dns1035(s).length) out.push(invalid(p.child('shortNames').index(i), s, dns1035(s).join(',')));
  });
  if (n.kind && n.kind === n.listKind)
    out.push(invalid(p.child('listKind'), n.listKind, 'kind and listKind may not be the same'));
  (n.categories ?? []).forEach((c, i) => {
    if (dns1035(c).length) out.push(invalid(p.child('categories').index(i), c, dns1035(c).join(',')));
  });
  return out;
}

function validateSchema(schema: Schema | undefined, statusEnabled: boolean, p: FieldPath): FieldError[] {
  if (!schema) return [];
  const out: FieldError[] = [];
  const sp = p.child('openAPIV3Schema');
  if (statusEnabled) {
    if (schema.type !== undefined && schema.type !== 'object') {
      out.push(
        invalid(
          p.child('openAPIV3Schema.type'),
          schema.type,
          'only "object" is allowed as the type at the root of the schema if the status subresource is enabled',
        ),
      );
    } else if (
      Object.keys(schema).some(
        (k) => !ROOT_ALLOWED_WITH_STATUS.has(k) && (schema as Record<string, unknown>)[k] !== undefined,
      )
    ) {
      out.push(
        invalid(
          sp,
          schema,
          'only [Description Type Format Title Maximum ExclusiveMaximum Minimum ExclusiveMinimum MaxLength MinLength Pattern MaxItems MinItems UniqueItems MultipleOf Required Items Properties ExternalDocs Example XPreserveUnknownFields XValidations] fields are allowed at the root of the schema if the status subresource is enabled',
        ),
      );
    }
  }
  if (schema.nullable)
    out.push(forbidden(p.child('openAPIV3Schema.nullable'), 'nullable cannot be true at the root'));
  // Structural errors first (sorted), then the per-node OpenAPI ones; defaults are checked on structural schemas.
  const structural = validateStructural(schema, sp);
  out.push(...structural);
  if (structural.length === 0) out.push(...validateDefaults(schema, sp));
  out.push(...validateOpenApiSchema(schema, sp));
  // CEL rules compile only on a schema without errors (kube-apiserver skips them too: the errors would mislead).
  if (out.length === 0) out.push(...checkRules(schema, sp));
  return out;
}

/** Defaults must validate against their own schema (defaulting.ValidateDefaults, the type and value checks). */
function validateDefaults(s: Schema, p: FieldPath): FieldError[] {
  const out: FieldError[] = [];
  const visit = (n: Schema, at: FieldPath, name: string) => {
    if (n.default !== undefined) {
      for (const e of validateValue(n, n.default, name))
        out.push({ ...e, field: at.child('default').toString(), detail: e.detail });
    }
    for (const [k, v] of Object.entries(n.properties ?? {}))
      visit(v, at.child('properties').key(k), name ? `${name}.${k}` : k);
    if (n.items && !Array.isArray(n.items)) visit(n.items, at.child('items'), `${name}[0]`);
    if (typeof n.additionalProperties === 'object')
      visit(n.additionalProperties, at.child('additionalProperties'), `${name}[key]`);
  };
  visit(s, p, '');
  return out;
}

function validateSimpleJsonPath(path: string, p: FieldPath): FieldError[] {
  if (path.length === 0) return [invalid(p, path, 'must not be empty')];
  if (!path.startsWith('.')) return [invalid(p, path, 'must be a simple json path starting with .')];
  return [];
}

function validateSubresources(sub: CrdSubresources | undefined, p: FieldPath): FieldError[] {
  const scale = sub?.scale;
  if (!scale) return [];
  const out: FieldError[] = [];
  const check = (value: string | undefined, key: string, prefix: string, under: string) => {
    const kp = p.child(`scale.${key}`);
    if (!value) return out.push(required(kp));
    const errs = validateSimpleJsonPath(value, kp);
    if (errs.length) out.push(...errs);
    else if (!value.startsWith(prefix)) out.push(invalid(kp, value, `should be a json path under ${under}`));
  };
  check(scale.specReplicasPath, 'specReplicasPath', '.spec.', '.spec');
  check(scale.statusReplicasPath, 'statusReplicasPath', '.status.', '.status');
  if (scale.labelSelectorPath) {
    const kp = p.child('scale.labelSelectorPath');
    const errs = validateSimpleJsonPath(scale.labelSelectorPath, kp);
    if (errs.length) out.push(...errs);
    else if (
      !scale.labelSelectorPath.startsWith('.spec.') &&
      !scale.labelSelectorPath.startsWith('.status.')
    ) {
      out.push(invalid(kp, scale.labelSelectorPath, 'should be a json path under either .spec or .status'));
    }
  }
  return out;
}

function validateColumn(c: PrinterColumn, p: FieldPath): FieldError[] {
  const out: FieldError[] = [];
  if (!c.name) out.push(required(p.child('name')));
  if (!c.type) out.push(required(p.child('type'), `must be one of ${PRINTER_TYPES.join(',')}`));
  else if (!PRINTER_TYPES.includes(c.type))
    out.push(invalid(p.child('type'), c.type, `must be one of ${PRINTER_TYPES.join(',')}`));
  if (c.format && !PRINTER_FORMATS.includes(c.format))
    out.push(invalid(p.child('format'), c.format, `must be one of ${PRINTER_FORMATS.join(',')}`));
  if (!c.jsonPath) out.push(required(p.child('JSONPath')));
  else out.push(...validateSimpleJsonPath(c.jsonPath, p.child('JSONPath')));
  return out;
}

/** `CustomResourceDefinition.apiextensions.k8s.io "x" is invalid: [...]`: the causes' texts, for tests and logs. */
export function describe(errors: FieldError[]): string[] {
  return errors.map((e) => `${e.field}: ${fieldErrorText(e)}`);
}
