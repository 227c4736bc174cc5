import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSchemaRules, normalizeRuleFieldPath, validateCelRules } from './crd-rules.js';

const ROOT = 'spec.versions[0].schema.openAPIV3Schema';

function widgetSchema(): Record<string, any> {
  return {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        'x-kubernetes-validations': [
          { rule: 'self.replicas <= self.maxReplicas', message: 'replicas must be at most maxReplicas' },
          { rule: 'self.replicas >= oldSelf.replicas', messageExpression: "'replicas may not shrink below ' + string(oldSelf.replicas)", reason: 'FieldValueForbidden', fieldPath: '.replicas' },
          { rule: "!has(self.mode) || self.mode in ['a', 'b']" },
        ],
        properties: {
          replicas: { type: 'integer' },
          maxReplicas: { type: 'integer' },
          mode: { type: 'string' },
          created: { type: 'string', format: 'date-time', 'x-kubernetes-validations': [{ rule: "self > timestamp('2000-01-01T00:00:00Z')" }] },
          timeout: { type: 'string', format: 'duration', 'x-kubernetes-validations': [{ rule: "self < duration('1h')", message: 'too long' }] },
          labels: { type: 'object', additionalProperties: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self.size() < 5', reason: 'FieldValueRequired' }] } },
          'dash-name': { type: 'integer' },
          ports: {
            type: 'array',
            'x-kubernetes-list-type': 'map',
            'x-kubernetes-list-map-keys': ['name'],
            maxItems: 10,
            items: {
              type: 'object',
              properties: { name: { type: 'string' }, port: { type: 'integer' } },
              'x-kubernetes-validations': [{ rule: 'self.port == oldSelf.port', message: 'port is immutable' }],
            },
          },
          immutable: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'immutable' }] },
          once: { type: 'string', 'x-kubernetes-validations': [{ rule: 'oldSelf.hasValue() || self == "first"', optionalOldSelf: true }] },
        },
      },
    },
  };
}

describe('compileSchemaRules', () => {
  test('a good schema has no errors', () => {
    assert.deepEqual(compileSchemaRules(widgetSchema(), ROOT), []);
  });

  test('compilation errors, bool results, optionalOldSelf and transition rules on uncorrelatable paths', () => {
    const errs = compileSchemaRules(
      {
        type: 'object',
        'x-kubernetes-validations': [{ rule: 'self.x ===' }, { rule: "'a'" }, { rule: 'self.a == 1', optionalOldSelf: true }, { rule: 'true', messageExpression: 'self.nope +' }],
        properties: { list: { type: 'array', maxItems: 5, items: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self == oldSelf' }] } } },
      },
      ROOT,
    );
    const byField = errs.map((e) => `${e.field} ${e.reason}`);
    assert.deepEqual(byField, [
      `${ROOT}.x-kubernetes-validations[0].rule FieldValueInvalid`,
      `${ROOT}.x-kubernetes-validations[1].rule FieldValueInvalid`,
      `${ROOT}.x-kubernetes-validations[2].optionalOldSelf FieldValueInvalid`,
      `${ROOT}.x-kubernetes-validations[3].messageExpression FieldValueInvalid`,
      `${ROOT}.properties[list].items.x-kubernetes-validations[0].rule FieldValueInvalid`,
    ]);
    assert.match(errs[0].message!, /^Invalid value: apiextensions\.ValidationRule\{Rule:"self\.x ===".*\}: compilation failed: ERROR: <input>:1:/);
    assert.match(errs[1].message!, /cel expression must evaluate to a bool$/);
    assert.equal(errs[2].message, 'Invalid value: true: may not be set if oldSelf is not used in rule');
    assert.match(errs[3].message!, /messageExpression compilation failed/);
    assert.equal(errs[4].message, `Invalid value: "self == oldSelf": oldSelf cannot be used on the uncorrelatable portion of the schema within ${ROOT}.properties[list].items`);
  });

  test('a nested loop over an unbounded list exceeds the estimated cost; maxItems makes it affordable', () => {
    const rule = { rule: 'self.all(x, self.all(y, self.all(z, x == y)))' };
    const unbounded = compileSchemaRules({ type: 'object', properties: { l: { type: 'array', items: { type: 'integer' }, 'x-kubernetes-validations': [rule] } } }, ROOT);
    const field = `${ROOT}.properties[l].x-kubernetes-validations[0].rule`;
    assert.ok(unbounded.some((e) => e.field === field && e.reason === 'FieldValueForbidden' && e.message!.startsWith('Forbidden: estimated rule cost exceeds budget by factor of more than 100x')));
    assert.ok(unbounded.some((e) => e.field === ROOT && /cost total for entire OpenAPIv3 schema exceeds budget/.test(e.message!)));
    const bounded = compileSchemaRules({ type: 'object', properties: { l: { type: 'array', maxItems: 20, items: { type: 'integer' }, 'x-kubernetes-validations': [rule] } } }, ROOT);
    assert.deepEqual(bounded, []);
  });

  test('rule field paths are normalized', () => {
    assert.equal(normalizeRuleFieldPath('.spec.replicas'), 'spec.replicas');
    assert.equal(normalizeRuleFieldPath(".labels['a.b']"), 'labels[a.b]');
    assert.equal(normalizeRuleFieldPath('spec'), undefined);
  });
});

describe('validateCelRules', () => {
  const schema = widgetSchema();
  const good = { apiVersion: 'x/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { replicas: 2, maxReplicas: 3, created: '2024-05-01T00:00:00Z', timeout: '30m', labels: { a: 'x' }, 'dash-name': 1, once: 'first' } };

  test('a valid object passes, on create and update', () => {
    assert.deepEqual(validateCelRules(good, undefined, schema), []);
    assert.deepEqual(validateCelRules(good, good, schema), []);
  });

  test('message, default message, reason and type mapping (date-time, duration, maps)', () => {
    const bad = { spec: { ...good.spec, replicas: 5, mode: 'c', created: '1999-01-01T00:00:00Z', timeout: '2h', labels: { a: 'toolong' } } };
    assert.deepEqual(validateCelRules(bad, undefined, schema), [
      { reason: 'FieldValueInvalid', field: 'spec', message: 'Invalid value: "object": replicas must be at most maxReplicas' },
      { reason: 'FieldValueInvalid', field: 'spec', message: `Invalid value: "object": failed rule: !has(self.mode) || self.mode in ['a', 'b']` },
      { reason: 'FieldValueInvalid', field: 'spec.created', message: `Invalid value: "string": failed rule: self > timestamp('2000-01-01T00:00:00Z')` },
      { reason: 'FieldValueInvalid', field: 'spec.timeout', message: 'Invalid value: "string": too long' },
      { reason: 'FieldValueRequired', field: 'spec.labels[a]', message: 'Required value: failed rule: self.size() < 5' },
    ]);
  });

  test('transition rules run only with a correlated old value; messageExpression and fieldPath', () => {
    const old = { spec: { ...good.spec, replicas: 3, immutable: 'a', ports: [{ name: 'http', port: 80 }, { name: 'x', port: 1 }] } };
    const next = { spec: { ...good.spec, replicas: 2, immutable: 'b', ports: [{ name: 'http', port: 81 }, { name: 'new', port: 2 }] } };
    assert.deepEqual(validateCelRules(next, old, schema), [
      { reason: 'FieldValueForbidden', field: 'spec.replicas', message: 'Forbidden: replicas may not shrink below 3' },
      { reason: 'FieldValueInvalid', field: 'spec.ports[0]', message: 'Invalid value: "object": port is immutable' },
      { reason: 'FieldValueInvalid', field: 'spec.immutable', message: 'Invalid value: "string": immutable' },
    ]);
    // Created with immutable set: no old value, so the transition rule does not run.
    assert.deepEqual(validateCelRules({ spec: { ...good.spec, immutable: 'b' } }, undefined, schema), []);
  });

  test('optionalOldSelf runs on create with oldSelf = optional.none()', () => {
    const errs = validateCelRules({ spec: { ...good.spec, once: 'second' } }, undefined, schema);
    assert.deepEqual(errs.map((e) => e.field), ['spec.once']);
    assert.deepEqual(validateCelRules({ spec: { ...good.spec, once: 'second' } }, { spec: { ...good.spec } }, schema), []);
  });

  test('evaluation errors name the rule', () => {
    const s = { type: 'object', 'x-kubernetes-validations': [{ rule: 'self.missing > 1' }] };
    assert.deepEqual(validateCelRules({}, undefined, s), [
      { reason: 'FieldValueInvalid', field: '<nil>', message: 'Invalid value: "object": no such key: missing evaluating rule: self.missing > 1' },
    ]);
  });

  test('a runaway rule is cut off by the per-call limit quickly', () => {
    const s = { type: 'object', properties: { l: { type: 'array', items: { type: 'integer' }, 'x-kubernetes-validations': [{ rule: 'self.all(x, self.all(y, self.all(z, true)))' }] } } };
    const errs = validateCelRules({ l: Array.from({ length: 1000 }, (_, i) => i) }, undefined, s);
    assert.equal(errs.length, 1);
    assert.match(errs[0].message!, /no further validation rules will be run due to call cost exceeds limit for rule: self\.all/);
  });

  test('the per-object budget stops further rules', () => {
    const rule = { rule: 'self.all(x, self.all(y, true))' };
    const items = { type: 'array', items: { type: 'integer' }, 'x-kubernetes-validations': [rule] };
    const props: Record<string, unknown> = {};
    const obj: Record<string, unknown> = {};
    for (let i = 0; i < 40; i++) {
      props[`l${i}`] = items;
      obj[`l${i}`] = Array.from({ length: 500 }, (_, j) => j);
    }
    const errs = validateCelRules(obj, undefined, { type: 'object', properties: props });
    assert.equal(errs.length, 1);
    assert.equal(errs[0].message, 'Invalid value: "array": validation failed due to running out of cost budget, no further validation rules will be run');
  });
});
