import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyMergePatch } from './merge-patch.js';
import { ApiError } from '../../api/errors.js';

// RFC 7386 appendix A, with each target wrapped in an object (the API only patches objects).
const rfcCases: [unknown, unknown, unknown][] = [
  [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
  [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
  [{ a: 'b' }, { a: null }, {}],
  [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
  [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
  [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
  [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
  [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
  [{ x: ['a', 'b'] }, { x: ['c', 'd'] }, { x: ['c', 'd'] }],
  [{ x: { a: 'b' } }, { x: ['c'] }, { x: ['c'] }],
  [{ x: { a: 'foo' } }, { x: null }, {}],
  [{ x: { a: 'foo' } }, { x: 'bar' }, { x: 'bar' }],
  [{ e: null }, { a: 1 }, { e: null, a: 1 }],
  [{ x: [1, 2] }, { x: { a: 'b', c: null } }, { x: { a: 'b' } }],
  [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
];

test('RFC 7386 appendix A', () => {
  for (const [target, patch, result] of rfcCases) {
    assert.deepEqual(applyMergePatch(target as object, patch), result, JSON.stringify({ target, patch }));
  }
});

test('nulls are pruned from values added where nothing was, also inside lists', () => {
  assert.deepEqual(applyMergePatch({}, { a: [{ b: null, c: 1 }, null] }), { a: [{ c: 1 }, null] });
  assert.deepEqual(applyMergePatch({ a: null }, { a: { b: null, c: 1 } }), { a: { c: 1 } });
});

test('a list given over an object is taken as it is (the library prunes nothing there)', () => {
  assert.deepEqual(applyMergePatch({ a: { x: 1 } }, { a: [{ b: null }] }), { a: [{ b: null }] });
});

test('a Deployment: labels merge, containers are replaced wholesale', () => {
  const live = {
    metadata: { name: 'web', labels: { app: 'web', tier: 'fe' } },
    spec: { template: { spec: { containers: [{ name: 'a', image: 'x', imagePullPolicy: 'IfNotPresent' }] } } },
  };
  const out = applyMergePatch(live, {
    metadata: { labels: { tier: null, team: 'blue' } },
    spec: { template: { spec: { containers: [{ name: 'a', image: 'y' }] } } },
  });
  assert.deepEqual(out, {
    metadata: { name: 'web', labels: { app: 'web', team: 'blue' } },
    spec: { template: { spec: { containers: [{ name: 'a', image: 'y' }] } } },
  });
});

test('the inputs are never modified', () => {
  const original = { a: { b: 1, c: [1] } };
  const patch = { a: { b: null, d: { e: null, f: 1 } } };
  const o = structuredClone(original);
  const p = structuredClone(patch);
  const out = applyMergePatch(original, patch) as any;
  assert.deepEqual(out, { a: { c: [1], d: { f: 1 } } });
  assert.deepEqual(original, o);
  assert.deepEqual(patch, p);
  out.a.c.push(2);
  assert.deepEqual(original, o);
});

test('bodies that are not objects are 400, worded as upstream', () => {
  const check = (body: unknown, message: string) =>
    assert.throws(
      () => applyMergePatch({ a: 1 }, body),
      (e: unknown) => e instanceof ApiError && e.code === 400 && e.reason === 'BadRequest' && e.message === message,
    );
  check(null, 'Invalid JSON Patch');
  check([{ a: 1 }], 'error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}');
  check('x', 'error decoding patch: json: cannot unmarshal string into Go value of type map[string]interface {}');
  check(3, 'error decoding patch: json: cannot unmarshal number into Go value of type map[string]interface {}');
  check(true, 'error decoding patch: json: cannot unmarshal bool into Go value of type map[string]interface {}');
});

test('a "__proto__" key is data, not a prototype', () => {
  const out = applyMergePatch({}, JSON.parse('{"__proto__":{"polluted":true}}')) as any;
  assert.equal(({} as any).polluted, undefined);
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.deepEqual(Object.keys(out), ['__proto__']);
});
