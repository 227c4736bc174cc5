import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { StatusCause } from '../errors.js';
import { compileSchema } from './compile.js';
import { validateCustomResource } from './index.js';

/** Causes as upstream's field errors print ("<field>: <body>"), with "<nil>" for the empty path. */
function texts(errs: StatusCause[]): string[] {
  return errs.map((e) => `${e.field || '<nil>'}: ${e.message}`).sort();
}

function check(schema: Record<string, unknown>, obj: unknown): string[] {
  return texts(validateCustomResource(obj, schema));
}

const obj = (properties: Record<string, any>, extra: Record<string, unknown> = {}): Record<string, any> => ({ type: 'object', properties, ...extra });

describe('validateCustomResource: types', () => {
  const schema = obj({ spec: obj({ replicas: { type: 'integer' }, name: { type: 'string' }, ratio: { type: 'number' }, on: { type: 'boolean' }, list: { type: 'array', items: { type: 'string' } } }) });

  test('names the expected and found JSON types, as kube-openapi does', () => {
    assert.deepEqual(check(schema, { spec: { replicas: 'three' } }), ['spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"']);
    assert.deepEqual(check(schema, { spec: { replicas: 1.5 } }), ['spec.replicas: Invalid value: "number": spec.replicas in body must be of type integer: "number"']);
    assert.deepEqual(check(schema, { spec: { name: 5 } }), ['spec.name: Invalid value: "integer": spec.name in body must be of type string: "integer"']);
    assert.deepEqual(check(schema, { spec: { on: 'yes' } }), ['spec.on: Invalid value: "string": spec.on in body must be of type boolean: "string"']);
    assert.deepEqual(check(schema, { spec: { list: { a: 1 } } }), ['spec.list: Invalid value: "object": spec.list in body must be of type array: "object"']);
    assert.deepEqual(check(schema, { spec: 'x' }), ['spec: Invalid value: "string": spec in body must be of type object: "string"']);
    assert.deepEqual(check(schema, { spec: { list: ['a', 1] } }), ['spec.list[1]: Invalid value: "integer": spec.list[1] in body must be of type string: "integer"']);
    assert.equal(validateCustomResource({ spec: { replicas: 3, ratio: 2, name: 'x', on: false, list: [] } }, schema)[0]?.reason, undefined);
  });

  test('reports the cause reason upstream uses for type errors', () => {
    const [c] = validateCustomResource({ spec: { replicas: 'x' } }, schema);
    assert.equal(c.reason, 'FieldValueTypeInvalid');
    assert.equal(c.field, 'spec.replicas');
  });

  test('null is refused unless nullable', () => {
    assert.deepEqual(check(schema, { spec: { name: null } }), ['spec.name: Invalid value: "null": spec.name in body must be of type string: "null"']);
    assert.deepEqual(check(obj({ a: { type: 'string', nullable: true } }), { a: null }), []);
  });

  test('x-kubernetes-int-or-string takes integers and strings only', () => {
    const s = obj({ port: { 'x-kubernetes-int-or-string': true } });
    assert.deepEqual(check(s, { port: 80 }), []);
    assert.deepEqual(check(s, { port: 'http' }), []);
    assert.deepEqual(check(s, { port: true }), ['port: Invalid value: "boolean": port in body must be of type integer,string: "boolean"']);
    // with the anyOf pattern controller-gen writes, the anyOf adds its own failure and the first alternative's
    const withAnyOf = obj({ field: { nullable: true, 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] } });
    assert.deepEqual(check(withAnyOf, { field: 1.2 }), [
      '<nil>: Invalid value: "": "field" must validate at least one schema (anyOf)',
      'field: Invalid value: "number": field in body must be of type integer,string: "number"',
      'field: Invalid value: "number": field in body must be of type integer: "number"',
    ]);
    assert.deepEqual(check(withAnyOf, { field: null }), []);
  });
});

describe('validateCustomResource: value rules', () => {
  test('required and enum', () => {
    const s = obj({ field: obj({ nestedint: { type: 'integer', enum: [1, 2] }, nestedstring: { type: 'string', enum: ['a', 'b'] } }, { required: ['nestedint', 'nestedstring'] }) }, { required: ['field'] });
    assert.deepEqual(check(s, { test: 'a' }), ['field: Required value']);
    assert.deepEqual(check(s, { field: {} }), ['field.nestedint: Required value', 'field.nestedstring: Required value']);
    assert.deepEqual(check(s, { field: { nestedint: 3, nestedstring: 'c' } }), [
      'field.nestedint: Unsupported value: 3: supported values: "1", "2"',
      'field.nestedstring: Unsupported value: "c": supported values: "a", "b"',
    ]);
    const [c] = validateCustomResource({ field: { nestedint: 1, nestedstring: 'z' } }, s);
    assert.equal(c.reason, 'FieldValueNotSupported');
  });

  test('strings: maxLength, minLength, pattern', () => {
    const s = obj({ a: { type: 'string', maxLength: 2 }, b: { type: 'string', minLength: 3 }, c: { type: 'string', pattern: '^[a-z]+$' } });
    assert.deepEqual(check(s, { a: 'abc', b: 'x', c: 'A1' }), [
      'a: Too long: may not be more than 2 bytes',
      'b: Invalid value: "x": b in body should be at least 3 chars long',
      "c: Invalid value: \"A1\": c in body should match '^[a-z]+$'",
    ]);
    // lengths count characters, not bytes
    assert.deepEqual(check(s, { a: 'éé' }), []);
  });

  test('numbers: minimum, maximum (exclusive), multipleOf', () => {
    const s = obj({
      a: { type: 'integer', minimum: 1, maximum: 10 },
      b: { type: 'integer', minimum: 1, exclusiveMinimum: true, maximum: 10, exclusiveMaximum: true },
      c: { type: 'number', multipleOf: 0.5 },
      d: { type: 'integer', multipleOf: 3 },
    });
    assert.deepEqual(check(s, { a: 0, b: 10, c: 0.3, d: 4 }), [
      'a: Invalid value: 0: a in body should be greater than or equal to 1',
      'b: Invalid value: 10: b in body should be less than 10',
      'c: Invalid value: 0.3: c in body should be a multiple of 0.5',
      'd: Invalid value: 4: d in body should be a multiple of 3',
    ]);
    assert.deepEqual(check(s, { a: 11, b: 1 }), ['a: Invalid value: 11: a in body should be less than or equal to 10', 'b: Invalid value: 1: b in body should be greater than 1']);
    assert.deepEqual(check(s, { a: 10, b: 2, c: 1.5, d: 9 }), []);
  });

  test('arrays: minItems, maxItems, uniqueItems', () => {
    const s = obj({ l: { type: 'array', items: { type: 'string' }, minItems: 2, maxItems: 3, uniqueItems: true } });
    assert.deepEqual(check(s, { l: ['a'] }), ['l: Invalid value: 1: l in body should have at least 2 items']);
    assert.deepEqual(check(s, { l: ['a', 'b', 'c', 'd'] }), ['l: Too many: 4: must have at most 3 items']);
    assert.deepEqual(check(s, { l: ['a', 'a'] }), ['l: Invalid value: "": l in body shouldn\'t contain duplicates']);
  });

  test('objects: minProperties, maxProperties, additionalProperties', () => {
    const s = obj({
      m: { type: 'object', additionalProperties: { type: 'integer' }, minProperties: 1, maxProperties: 2 },
      closed: { type: 'object', additionalProperties: false },
    });
    assert.deepEqual(check(s, { m: {} }), ['m: Invalid value: 0: m in body should have at least 1 properties']);
    assert.deepEqual(check(s, { m: { a: 1, b: 2, c: 3 } }), ['m: Too many: 3: must have at most 2 items']);
    assert.deepEqual(check(s, { m: { a: 'x' } }), ['m.a: Invalid value: "string": m.a in body must be of type integer: "string"']);
    assert.deepEqual(check(s, { closed: { x: 1 } }), ['closed: Invalid value: "x": closed.x in body is a forbidden property']);
  });

  test('formats kube-openapi checks, and formats it ignores', () => {
    const s = obj({
      e: { type: 'string', format: 'email' },
      t: { type: 'string', format: 'date-time' },
      u: { type: 'string', format: 'uuid' },
      ip: { type: 'string', format: 'ipv4' },
      i: { type: 'integer', format: 'int32' },
      q: { type: 'string', format: 'quantity' },
    });
    assert.deepEqual(check(s, { e: 'a@example.com', t: '2024-01-02T03:04:05Z', u: '123e4567-e89b-12d3-a456-426614174000', ip: '10.0.0.1', i: 2 ** 40, q: 'zzz' }), []);
    assert.deepEqual(check(s, { e: 'nope', t: 'yesterday', u: 'x', ip: '::1' }), [
      'e: Invalid value: "nope": e in body must be of type email: "nope"',
      'ip: Invalid value: "::1": ip in body must be of type ipv4: "::1"',
      't: Invalid value: "yesterday": t in body must be of type date-time: "yesterday"',
      'u: Invalid value: "x": u in body must be of type uuid: "x"',
    ]);
  });

  test('allOf, oneOf and not report their composite failures at the root', () => {
    const s = obj({
      a: { type: 'integer', allOf: [{ minimum: 5 }, { maximum: 10 }] },
      o: { type: 'integer', oneOf: [{ minimum: 0 }, { maximum: 100 }] },
      n: { type: 'string', not: { enum: ['forbidden'] } },
    });
    assert.deepEqual(check(s, { a: 3 }), ['<nil>: Invalid value: "": "a" must validate all the schemas (allOf)', 'a: Invalid value: 3: a in body should be greater than or equal to 5']);
    assert.deepEqual(check(s, { o: 50 }), ['<nil>: Invalid value: "": "o" must validate one and only one schema (oneOf). Found 2 valid alternatives']);
    assert.deepEqual(check(s, { n: 'forbidden' }), ['<nil>: Invalid value: "": "n" must not validate the schema (not)']);
    assert.deepEqual(check(s, { a: 7, o: 200, n: 'ok' }), []);
  });
});

describe('validateCustomResource: list types and embedded resources', () => {
  test('list-type set and map reject duplicates', () => {
    const s = obj({
      spec: obj({
        tags: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } },
        ports: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
          items: obj({ name: { type: 'string' }, port: { type: 'integer' } }, { required: ['name'] }),
        },
        routes: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['host', 'path'],
          items: obj({ host: { type: 'string' }, path: { type: 'string' } }),
        },
        labels: { type: 'object', additionalProperties: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } } },
      }),
    });
    assert.deepEqual(check(s, { spec: { tags: ['a', 'b', 'a', 'a'] } }), ['spec.tags[2]: Duplicate value: "a"']);
    assert.deepEqual(check(s, { spec: { ports: [{ name: 'http', port: 80 }, { name: 'http', port: 81 }] } }), [
      'spec.ports[1]: Duplicate value: map[string]interface {}{"name":"http"}',
    ]);
    assert.deepEqual(check(s, { spec: { routes: [{ host: 'a', path: '/' }, { path: '/', host: 'a' }] } }), [
      'spec.routes[1]: Duplicate value: map[string]interface {}{"host":"a", "path":"/"}',
    ]);
    assert.deepEqual(check(s, { spec: { labels: { foo: ['x', 'x'] } } }), ['spec.labels[foo][1]: Duplicate value: "x"']);
    const [c] = validateCustomResource({ spec: { tags: ['a', 'a'] } }, s);
    assert.equal(c.reason, 'FieldValueDuplicate');
  });

  test('embedded resources need apiVersion and kind, and valid metadata', () => {
    const s = obj({
      spec: obj({
        template: { type: 'object', 'x-kubernetes-embedded-resource': true, 'x-kubernetes-preserve-unknown-fields': true },
      }),
    });
    assert.deepEqual(check(s, { spec: { template: {} } }), ['spec.template.apiVersion: Required value', 'spec.template.kind: Required value']);
    assert.deepEqual(check(s, { spec: { template: { apiVersion: 'a/b/c', kind: 'Pod_x' } } }), [
      'spec.template.apiVersion: Invalid value: "a/b/c": unexpected GroupVersion string: a/b/c',
      "spec.template.kind: Invalid value: \"Pod_x\": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
    ]);
    const errs = check(s, { spec: { template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a/b', labels: { 'bad key!': 'x' } } } } });
    assert.ok(errs.some((e) => e.startsWith('spec.template.metadata.name: Invalid value: "a/b"')), errs.join('\n'));
    assert.ok(errs.some((e) => e.startsWith('spec.template.metadata.labels: Invalid value: "bad key!"')), errs.join('\n'));
    assert.deepEqual(check(s, { spec: { template: { apiVersion: 'v1', kind: 'Pod', metadata: { labels: 'x' } } } }), [
      'spec.template.metadata: Invalid value: map[string]interface {}{"labels":"x"}: json: cannot unmarshal string into Go struct field ObjectMeta.labels of type map[string]string',
    ]);
    assert.deepEqual(check(s, { spec: { template: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { generateName: 'x-' } } } }), []);
  });
});

describe('compiled schemas', () => {
  test('a schema object is compiled once and reused', () => {
    const schema = obj({ spec: obj({ a: { type: 'string' } }) });
    assert.equal(compileSchema(schema), compileSchema(schema));
    assert.deepEqual(check(schema, { spec: { a: 1 } }), ['spec.a: Invalid value: "integer": spec.a in body must be of type string: "integer"']);
    assert.equal(compileSchema(schema).properties?.get('spec'), compileSchema(schema.properties.spec));
  });
});
