import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { StatusCause } from '../errors.js';
import { isStructural, validateStructuralSchema } from './index.js';

const P = 'spec.validation.openAPIV3Schema';

function texts(errs: StatusCause[]): string[] {
  return errs.map((e) => `${e.field}: ${e.message}`);
}

const check = (schema: Record<string, unknown>): string[] => texts(validateStructuralSchema(schema, P));

describe('validateStructuralSchema', () => {
  test('accepts a typical structural schema', () => {
    const schema = {
      type: 'object',
      properties: {
        spec: {
          type: 'object',
          properties: {
            replicas: { type: 'integer', default: 1, minimum: 0 },
            port: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
            tags: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
            free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            rules: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self.size() > 0' }] },
          },
        },
        status: { type: 'object', properties: { ready: { type: 'boolean' } } },
      },
    };
    assert.deepEqual(check(schema), []);
    assert.equal(isStructural(schema), true);
  });

  test('missing types, at the root, for fields and for items', () => {
    assert.deepEqual(check({ properties: { spec: { properties: { list: { type: 'array', items: {} } } } } }), [
      `${P}.properties[spec].properties[list].items.type: Required value: must not be empty for specified array items`,
      `${P}.properties[spec].type: Required value: must not be empty for specified object fields`,
      `${P}.type: Required value: must not be empty at the root`,
    ]);
    assert.deepEqual(check({ type: 'object', properties: { l: { type: 'array' } } }), [`${P}.properties[l].items: Required value: must be specified`]);
    assert.deepEqual(check({ type: 'string' }), [`${P}.type: Invalid value: "string": must be object at the root`]);
  });

  test('types inside allOf/anyOf/oneOf/not, and fields only specified there', () => {
    assert.deepEqual(check({ type: 'object', properties: { a: { type: 'string', allOf: [{ type: 'string', description: 'x' }] } } }), [
      `${P}.properties[a].allOf[0].description: Forbidden: must be empty to be structural`,
      `${P}.properties[a].allOf[0].type: Forbidden: must be empty to be structural`,
    ]);
    assert.deepEqual(check({ type: 'object', anyOf: [{ properties: { b: { minimum: 1 } } }] }), [
      `${P}.properties[b]: Required value: because it is defined in ${P}.anyOf[0].properties[b]`,
    ]);
  });

  test('metadata may only restrict name and generateName', () => {
    assert.deepEqual(check({ type: 'object', properties: { metadata: { type: 'object', properties: { name: { type: 'string', maxLength: 10 } } } } }), []);
    assert.deepEqual(check({ type: 'object', properties: { metadata: { type: 'object', properties: { labels: { type: 'object' } } } } }), [
      `${P}.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified`,
    ]);
    assert.deepEqual(check({ type: 'object', properties: { metadata: { type: 'object', default: { name: 'x' } } } }), [
      `${P}.properties[metadata].default: Forbidden: must not be set in top-level metadata`,
    ]);
  });

  test('additionalProperties rules', () => {
    assert.deepEqual(check({ type: 'object', additionalProperties: { type: 'string' } }), [`${P}.additionalProperties: Forbidden: must not be used at the root`]);
    assert.deepEqual(check({ type: 'object', properties: { m: { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: { type: 'string' } } } }), [
      `${P}.properties[m].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive`,
    ]);
  });

  test('embedded resources and int-or-string', () => {
    assert.deepEqual(check({ type: 'object', properties: { t: { 'x-kubernetes-embedded-resource': true } } }), [
      `${P}.properties[t].properties: Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields`,
      `${P}.properties[t].type: Required value: must be object if x-kubernetes-embedded-resource is true`,
    ]);
    assert.deepEqual(check({ type: 'object', properties: { p: { 'x-kubernetes-int-or-string': true, 'x-kubernetes-preserve-unknown-fields': true } } }), [
      `${P}.properties[p].x-kubernetes-preserve-unknown-fields: Invalid value: true: must be false if x-kubernetes-int-or-string is true`,
    ]);
  });

  test('unsupported keywords and other OpenAPI restrictions', () => {
    assert.deepEqual(check({ type: 'object', properties: { a: { type: 'string', $ref: '#/x' } } }), [`${P}.properties[a].$ref: Forbidden: $ref is not supported`]);
    assert.deepEqual(check({ type: 'object', properties: { a: { type: 'array', items: { type: 'string' }, uniqueItems: true } } }), [
      `${P}.properties[a].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic`,
    ]);
    assert.deepEqual(check({ type: 'object', properties: { a: { type: 'foo' } } }), [
      `${P}.properties[a].type: Unsupported value: "foo": supported values: "array", "boolean", "integer", "number", "object", "string"`,
    ]);
    assert.deepEqual(check({ type: 'object', nullable: true }), [`${P}.nullable: Forbidden: nullable cannot be true at the root`]);
    assert.deepEqual(check({ type: 'object', properties: { a: { type: 'string', 'x-kubernetes-preserve-unknown-fields': false } } }), [
      `${P}.properties[a].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined`,
    ]);
  });

  test('list types and map keys', () => {
    assert.deepEqual(check({ type: 'object', properties: { l: { type: 'array', items: { type: 'object', properties: { k: { type: 'string' } } }, 'x-kubernetes-list-type': 'map' } } }), [
      `${P}.properties[l].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map`,
    ]);
    assert.deepEqual(
      check({ type: 'object', properties: { l: { type: 'array', items: { type: 'object', properties: { k: { type: 'string' } } }, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['k'] } } }),
      [`${P}.properties[l].items.properties[k].default: Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property`],
    );
    assert.deepEqual(check({ type: 'object', properties: { l: { type: 'string', 'x-kubernetes-list-type': 'set' } } }), [
      `${P}.properties[l].type: Invalid value: "string": must be array if x-kubernetes-list-type is specified`,
    ]);
  });

  test('defaults must be pruned and valid against their schema', () => {
    assert.deepEqual(check({ type: 'object', properties: { a: { type: 'integer', minimum: 1, default: 0 } } }), [
      // kube-openapi names a scalar default by its empty path, hence " in body"
      `${P}.properties[a].default: Invalid value: 0:  in body should be greater than or equal to 1`,
    ]);
    assert.deepEqual(check({ type: 'object', properties: { o: { type: 'object', properties: { x: { type: 'string' } }, default: { x: 'a', y: 1 } } } }), [
      `${P}.properties[o].default: Invalid value: map[string]interface {}{"x":"a", "y":1}: must not have unknown fields`,
    ]);
    assert.deepEqual(check({ type: 'object', properties: { o: { type: 'object', properties: { x: { type: 'string' } }, default: { x: 1 } } } }), [
      `${P}.properties[o].default.x: Invalid value: "integer": x in body must be of type string: "integer"`,
    ]);
  });

  test('x-kubernetes-validations are accepted; only their shape is checked here', () => {
    assert.deepEqual(check({ type: 'object', 'x-kubernetes-validations': [{ rule: 'self.a == 1', message: 'a must be 1' }] }), []);
    assert.deepEqual(check({ type: 'object', 'x-kubernetes-validations': [{ rule: ' ' }] }), [`${P}.x-kubernetes-validations[0].rule: Required value: rule is not specified`]);
  });
});
