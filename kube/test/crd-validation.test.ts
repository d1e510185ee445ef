/** CRD validation and custom-resource validation, worded as kube-apiserver 1.32 words them (tables of cases). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultCrd } from '../src/schema/crd/strategy.js';
import {
  describe as texts,
  validateCrd as validateRaw,
  validateCrdUpdate,
} from '../src/schema/crd/validation.js';
import { validateValue } from '../src/schema/crd/values.js';
import type { CustomResourceDefinition } from '../src/schema/crd/types.js';
import type { Schema } from '../src/schema/types.js';
import { cronTabCrd } from './fixtures/crontab.js';

/** Validation runs on the defaulted object, as in kube-apiserver. */
function validateCrd(c: CustomResourceDefinition) {
  defaultCrd(c);
  return validateRaw(c);
}

function withSchema(
  schema: Schema,
  mutate?: (c: CustomResourceDefinition) => void,
): CustomResourceDefinition {
  const c = cronTabCrd();
  c.spec.versions[0].schema = { openAPIV3Schema: schema };
  delete c.spec.versions[0].subresources;
  mutate?.(c);
  return c;
}

describe('CRD validation', () => {
  it('accepts the CronTab CRD', () => {
    assert.deepEqual(texts(validateCrd(cronTabCrd())), []);
  });

  const cases: Array<[string, CustomResourceDefinition, string[]]> = [
    [
      'a schema without types (one version: reported under spec.validation)',
      withSchema({ type: 'object', properties: { spec: { properties: { foo: { type: 'string' } } } } }),
      [
        'spec.validation.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields',
      ],
    ],
    [
      'no schema at all',
      withSchema({}, (c) => delete c.spec.versions[0].schema),
      ['spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required'],
    ],
    [
      'an array without items, metadata beyond name, additionalProperties with properties',
      withSchema({
        type: 'object',
        properties: {
          metadata: { type: 'object', properties: { labels: { type: 'object' } } },
          spec: {
            type: 'object',
            properties: {
              list: { type: 'array' },
              m: {
                type: 'object',
                properties: { a: { type: 'string' } },
                additionalProperties: { type: 'string' },
              },
            },
          },
        },
      }),
      [
        'spec.validation.openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified',
        'spec.validation.openAPIV3Schema.properties[spec].properties[list].items: Required value: must be specified',
        'spec.validation.openAPIV3Schema.properties[spec].properties[m].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive',
      ],
    ],
    [
      'structural errors sorted by text',
      withSchema({
        type: 'object',
        properties: {
          metadata: { type: 'object', properties: { labels: { type: 'object' } } },
          spec: {
            type: 'object',
            properties: {
              list: { type: 'array' },
              x: { anyOf: [{ type: 'string' }, { properties: { y: {} } }] },
            },
          },
        },
      }),
      [
        'spec.validation.openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified',
        'spec.validation.openAPIV3Schema.properties[spec].properties[list].items: Required value: must be specified',
        'spec.validation.openAPIV3Schema.properties[spec].properties[x].anyOf[0].type: Forbidden: must be empty to be structural',
        'spec.validation.openAPIV3Schema.properties[spec].properties[x].properties[y]: Required value: because it is defined in spec.validation.openAPIV3Schema.properties[spec].properties[x].anyOf[1].properties[y]',
        'spec.validation.openAPIV3Schema.properties[spec].properties[x].type: Required value: must not be empty for specified object fields',
      ],
    ],
    [
      'names, group, scope, storage',
      withSchema({ type: 'object' }, (c) => {
        c.metadata = { name: 'wrong.example.com' };
        c.spec.group = 'example';
        (c.spec as { scope: string }).scope = 'Global';
        c.spec.names = { plural: 'Crontabs', kind: 'CronTab', listKind: 'CronTab' };
        c.spec.versions[0].storage = false;
      }),
      [
        'metadata.name: Invalid value: "wrong.example.com": must be spec.names.plural+"."+spec.group',
        'spec.group: Invalid value: "example": should be a domain with at least one dot',
        'spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"',
        `spec.versions: Invalid value: ${JSON.stringify(withSchema({ type: 'object' }, (c) => (c.spec.versions[0].storage = false)).spec.versions)}: must have exactly one version marked as storage version`,
        "spec.names.plural: Invalid value: \"Crontabs\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
        'spec.names.listKind: Invalid value: "CronTab": kind and listKind may not be the same',
      ],
    ],
    [
      'list types and unsupported keywords',
      withSchema({
        type: 'object',
        properties: {
          spec: {
            type: 'object',
            properties: {
              ports: {
                type: 'array',
                'x-kubernetes-list-type': 'map',
                items: { type: 'object', properties: { port: { type: 'integer' } } },
              },
              ref: { $ref: '#/definitions/x' },
              tags: { type: 'array', items: { type: 'string' }, uniqueItems: true },
            },
          },
        },
      }),
      [
        'spec.validation.openAPIV3Schema.properties[spec].properties[ref].type: Required value: must not be empty for specified object fields',
        'spec.validation.openAPIV3Schema.properties[spec].properties[ports].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map',
        'spec.validation.openAPIV3Schema.properties[spec].properties[ref].$ref: Forbidden: $ref is not supported',
        'spec.validation.openAPIV3Schema.properties[spec].properties[tags].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic',
      ],
    ],
    [
      'a default of the wrong type',
      withSchema({
        type: 'object',
        properties: { spec: { type: 'object', properties: { n: { type: 'integer', default: 'x' } } } },
      }),
      [
        'spec.validation.openAPIV3Schema.properties[spec].properties[n].default: Invalid value: "string": spec.n in body must be of type integer: "string"',
      ],
    ],
    [
      'scale paths outside spec and status',
      withSchema(
        { type: 'object' },
        (c) =>
          (c.spec.versions[0].subresources = {
            scale: { specReplicasPath: '.status.r', statusReplicasPath: 'status.r' },
          }),
      ),
      [
        'spec.subresources.scale.specReplicasPath: Invalid value: ".status.r": should be a json path under .spec',
        'spec.subresources.scale.statusReplicasPath: Invalid value: "status.r": must be a simple json path starting with .',
      ],
    ],
  ];
  for (const [name, crd, expected] of cases) {
    it(name, () => assert.deepEqual(texts(validateCrd(crd)), expected));
  }

  it('per-version schemas report under spec.versions[i]', () => {
    const c = withSchema({ type: 'object' });
    c.spec.versions.push({
      name: 'v2',
      served: true,
      storage: false,
      schema: { openAPIV3Schema: { type: 'object', properties: { a: {} } } },
    });
    assert.deepEqual(texts(validateCrd(c)), [
      'spec.versions[1].schema.openAPIV3Schema.properties[a].type: Required value: must not be empty for specified object fields',
    ]);
  });

  it('keeps group and plural, and scope once established', () => {
    const old = cronTabCrd();
    defaultCrd(old);
    old.status = { conditions: [{ type: 'Established', status: 'True' }], storedVersions: ['v1'] };
    const c = cronTabCrd();
    defaultCrd(c);
    c.status = old.status;
    c.spec.scope = 'Cluster';
    assert.deepEqual(texts(validateCrdUpdate(c, old)), [
      'spec.scope: Invalid value: "Cluster": field is immutable',
    ]);
  });
});

describe('custom resource validation', () => {
  const schema = cronTabCrd().spec.versions[0].schema?.openAPIV3Schema as Schema;
  const cases: Array<[string, unknown, string[]]> = [
    [
      'valid',
      { spec: { cronSpec: '* * * * */5', replicas: 3, port: 'http', size: 'small', note: null } },
      [],
    ],
    [
      'type, enum, pattern, min, maxLength, format, required, nullable',
      {
        spec: {
          cronSpec: 'often',
          replicas: 'three',
          image: 'a-very-long-image-name:latest',
          size: 'huge',
          started: 'yesterday',
          port: true,
        },
      },
      [
        'spec.cronSpec: Invalid value: "often": spec.cronSpec in body should match \'^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$\'',
        'spec.image: Too long: may not be more than 20 bytes',
        'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"',
        'spec.size: Unsupported value: "huge": supported values: "small", "large"',
        'spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"',
        'spec.started: Invalid value: "yesterday": spec.started in body must be of type date-time: "yesterday"',
      ],
    ],
    [
      'missing required',
      { spec: { replicas: 0 } },
      [
        'spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1',
        'spec.cronSpec: Required value',
      ],
    ],
    [
      'a non-nullable null',
      { spec: { cronSpec: '* * * * *', image: null } },
      ['spec.image: Invalid value: "null": spec.image in body must be of type string: "null"'],
    ],
  ];
  for (const [name, value, expected] of cases) {
    it(name, () => assert.deepEqual(texts(validateValue(schema, value)), expected));
  }
});
