import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPatch, checkPatchType, patchMediaType } from './index.js';
import { ApiError } from '../../api/errors.js';

const schema = {
  type: 'object',
  properties: {
    items: { type: 'array', items: { type: 'object' }, 'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-patch-strategy': 'merge' },
  },
};
const ctx = { schema, defs: {} };
const original = { items: [{ name: 'a', v: 1 }], keep: true };

test('dispatches on the media type', () => {
  assert.deepEqual(applyPatch('application/json-patch+json', original, [{ op: 'replace', path: '/keep', value: false }], ctx), {
    items: [{ name: 'a', v: 1 }],
    keep: false,
  });
  assert.deepEqual(applyPatch('application/merge-patch+json', original, { items: [{ name: 'b' }] }, ctx), { items: [{ name: 'b' }], keep: true });
  assert.deepEqual(applyPatch('application/strategic-merge-patch+json', original, { items: [{ name: 'b' }] }, ctx), {
    items: [{ name: 'b' }, { name: 'a', v: 1 }],
    keep: true,
  });
  assert.deepEqual(original, { items: [{ name: 'a', v: 1 }], keep: true });
});

test('parameters such as charset are ignored', () => {
  assert.equal(patchMediaType('application/merge-patch+json; charset=utf-8'), 'application/merge-patch+json');
  assert.deepEqual(applyPatch('application/merge-patch+json; charset=utf-8', original, { keep: null }, ctx), { items: [{ name: 'a', v: 1 }] });
  assert.deepEqual(applyPatch('application/strategic-merge-patch+json;charset=UTF-8', original, { keep: null }, ctx), {
    items: [{ name: 'a', v: 1 }],
  });
});

test('unknown patch types are 415 listing the accepted ones', () => {
  for (const type of ['application/json', 'text/plain', '', 'Application/Merge-Patch+Json']) {
    assert.throws(
      () => applyPatch(type, original, {}, ctx),
      (e: unknown) =>
        e instanceof ApiError &&
        e.code === 415 &&
        e.reason === 'UnsupportedMediaType' &&
        e.message ===
          'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml',
    );
  }
});

test('server-side apply is accepted as a patch type but performed by the field manager, not applyPatch', () => {
  assert.doesNotThrow(() => checkPatchType('application/apply-patch+yaml'));
  assert.throws(
    () => applyPatch('application/apply-patch+yaml', original, { apiVersion: 'v1' }, ctx),
    (e: unknown) => e instanceof ApiError && e.code === 415 && /field manager/.test(e.message),
  );
});

test('bodies of the wrong shape are 400', () => {
  const code = (type: string, body: unknown) => {
    try {
      applyPatch(type, original, body, ctx);
      return 0;
    } catch (e) {
      return (e as ApiError).code;
    }
  };
  assert.equal(code('application/json-patch+json', { op: 'add' }), 400);
  assert.equal(code('application/merge-patch+json', [1]), 400);
  assert.equal(code('application/merge-patch+json', null), 400);
  assert.equal(code('application/strategic-merge-patch+json', [1]), 400);
  assert.equal(code('application/strategic-merge-patch+json', 'x'), 400);
  assert.equal(code('application/strategic-merge-patch+json', null), 0);
});

test('a JSON patch that turns the object into a list is 422 on the field "patch"', () => {
  assert.throws(
    () => applyPatch('application/json-patch+json', original, [{ op: 'replace', path: '', value: [1] }], ctx),
    (e: unknown) =>
      e instanceof ApiError && e.code === 422 && e.reason === 'Invalid' && e.details?.causes?.[0]?.field === 'patch' && /is invalid: patch: Invalid value/.test(e.message),
  );
});

test('strategic merge without a schema merges maps and replaces lists', () => {
  assert.deepEqual(applyPatch('application/strategic-merge-patch+json', original, { items: [{ name: 'b' }] }, { defs: {} }), {
    items: [{ name: 'b' }],
    keep: true,
  });
});
