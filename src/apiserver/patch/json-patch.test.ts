import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyJsonPatch } from './json-patch.js';
import { ApiError } from '../../api/errors.js';
import { GENERIC_422_MESSAGE } from './patch-errors.js';

function rejects422(doc: object, ops: unknown, detail?: RegExp) {
  assert.throws(
    () => applyJsonPatch(doc, ops),
    (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.code, 422);
      assert.equal(e.reason, 'Invalid');
      assert.equal(e.message, GENERIC_422_MESSAGE);
      assert.deepEqual(e.toStatus().details, {});
      if (detail) assert.match((e as any).detail, detail);
      return true;
    },
  );
}

function rejects400(ops: unknown, message: string) {
  assert.throws(
    () => applyJsonPatch({}, ops),
    (e: unknown) => e instanceof ApiError && e.code === 400 && e.reason === 'BadRequest' && e.message === message,
  );
}

// RFC 6902 appendix A.
test('A.1-A.3: add an object member, an array element, remove a member', () => {
  assert.deepEqual(applyJsonPatch({ foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux' }]), { foo: 'bar', baz: 'qux' });
  assert.deepEqual(applyJsonPatch({ foo: ['bar', 'baz'] }, [{ op: 'add', path: '/foo/1', value: 'qux' }]), { foo: ['bar', 'qux', 'baz'] });
  assert.deepEqual(applyJsonPatch({ baz: 'qux', foo: 'bar' }, [{ op: 'remove', path: '/baz' }]), { foo: 'bar' });
});

test('A.4-A.7: remove an element, replace, move a member, move an element', () => {
  assert.deepEqual(applyJsonPatch({ foo: ['bar', 'qux', 'baz'] }, [{ op: 'remove', path: '/foo/1' }]), { foo: ['bar', 'baz'] });
  assert.deepEqual(applyJsonPatch({ baz: 'qux', foo: 'bar' }, [{ op: 'replace', path: '/baz', value: 'boo' }]), { baz: 'boo', foo: 'bar' });
  assert.deepEqual(
    applyJsonPatch({ foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } }, [{ op: 'move', from: '/foo/waldo', path: '/qux/thud' }]),
    { foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } },
  );
  assert.deepEqual(applyJsonPatch({ foo: ['all', 'grass', 'cows', 'eat'] }, [{ op: 'move', from: '/foo/1', path: '/foo/3' }]), {
    foo: ['all', 'cows', 'eat', 'grass'],
  });
});

test('A.8/A.9: test succeeds, test fails with 422', () => {
  const doc = { baz: 'qux', foo: ['a', 2, 'c'] };
  assert.deepEqual(
    applyJsonPatch(doc, [
      { op: 'test', path: '/baz', value: 'qux' },
      { op: 'test', path: '/foo/1', value: 2 },
    ]),
    doc,
  );
  rejects422({ baz: 'qux' }, [{ op: 'test', path: '/baz', value: 'bar' }], /testing value \/baz failed/);
});

test('A.10/A.16: nested values and arrays as values', () => {
  assert.deepEqual(applyJsonPatch({ foo: 'bar' }, [{ op: 'add', path: '/child', value: { grandchild: {} } }]), {
    foo: 'bar',
    child: { grandchild: {} },
  });
  assert.deepEqual(applyJsonPatch({ foo: ['bar'] }, [{ op: 'add', path: '/foo/-', value: ['abc', 'def'] }]), { foo: ['bar', ['abc', 'def']] });
});

test('A.12: adding to a nonexistent target is 422', () => {
  rejects422({ foo: 'bar' }, [{ op: 'add', path: '/baz/bat', value: 'qux' }], /doc is missing path/);
});

test('A.14: ~0 and ~1 escapes', () => {
  const doc = { '/': 9, '~1': 10 };
  assert.deepEqual(applyJsonPatch(doc, [{ op: 'test', path: '/~01', value: 10 }]), doc);
  assert.deepEqual(applyJsonPatch(doc, [{ op: 'add', path: '/a~1b', value: 1 }]), { '/': 9, '~1': 10, 'a/b': 1 });
  assert.deepEqual(applyJsonPatch({ metadata: { labels: { 'app.kubernetes.io/name': 'x' } } }, [
    { op: 'remove', path: '/metadata/labels/app.kubernetes.io~1name' },
  ]), { metadata: { labels: {} } });
});

test('A.15: comparing strings and numbers fails', () => {
  rejects422({ '/': 9, '~1': 10 }, [{ op: 'test', path: '/~01', value: '10' }]);
});

test('copy, and a failed operation rejects the whole patch', () => {
  assert.deepEqual(applyJsonPatch({ a: { b: [1] } }, [{ op: 'copy', from: '/a', path: '/c' }]), { a: { b: [1] }, c: { b: [1] } });
  const doc = { a: 1 };
  rejects422(doc, [
    { op: 'add', path: '/b', value: 2 },
    { op: 'remove', path: '/nope' },
  ], /Unable to remove nonexistent key: nope/);
  assert.deepEqual(doc, { a: 1 });
});

test('copies are independent of their source', () => {
  const out = applyJsonPatch({ a: { b: 1 } }, [
    { op: 'copy', from: '/a', path: '/c' },
    { op: 'replace', path: '/c/b', value: 2 },
  ]);
  assert.deepEqual(out, { a: { b: 1 }, c: { b: 2 } });
});

test('the inputs are never modified', () => {
  const doc = { spec: { containers: [{ name: 'a', image: 'x' }] }, metadata: { labels: { a: 'b' } } };
  const ops = [
    { op: 'replace', path: '/spec/containers/0/image', value: 'y' },
    { op: 'add', path: '/spec/containers/-', value: { name: 'b' } },
    { op: 'remove', path: '/metadata/labels/a' },
  ];
  const docCopy = structuredClone(doc);
  const opsCopy = structuredClone(ops);
  const out = applyJsonPatch(doc, ops) as any;
  assert.deepEqual(doc, docCopy);
  assert.deepEqual(ops, opsCopy);
  out.spec.containers[1].name = 'changed';
  assert.deepEqual(ops, opsCopy);
});

test('evanphx/json-patch v4 behaviour that kube-apiserver exposes', async (t) => {
  await t.test('negative indices count from the end', () => {
    assert.deepEqual(applyJsonPatch({ l: [1, 2, 3] }, [{ op: 'remove', path: '/l/-1' }]), { l: [1, 2] });
    assert.deepEqual(applyJsonPatch({ l: [1, 2, 3] }, [{ op: 'replace', path: '/l/-3', value: 0 }]), { l: [0, 2, 3] });
    assert.deepEqual(applyJsonPatch({ l: [1, 2] }, [{ op: 'add', path: '/l/-1', value: 9 }]), { l: [1, 2, 9] });
    rejects422({ l: [1] }, [{ op: 'remove', path: '/l/-2' }], /invalid index/);
  });
  await t.test('adding at the length appends; beyond it fails', () => {
    assert.deepEqual(applyJsonPatch({ l: [1] }, [{ op: 'add', path: '/l/1', value: 2 }]), { l: [1, 2] });
    rejects422({ l: [1] }, [{ op: 'add', path: '/l/2', value: 2 }], /invalid index/);
    rejects422({ l: [1] }, [{ op: 'replace', path: '/l/1', value: 2 }], /missing key/);
    rejects422({ l: [1] }, [{ op: 'add', path: '/l/x', value: 2 }], /proper array index/);
  });
  await t.test('replace of a missing member adds it', () => {
    assert.deepEqual(applyJsonPatch({ a: 1 }, [{ op: 'replace', path: '/b', value: 2 }]), { a: 1, b: 2 });
  });
  await t.test('replace and test at the root; add at the root fails', () => {
    assert.deepEqual(applyJsonPatch({ a: 1 }, [{ op: 'replace', path: '', value: { b: 2 } }]), { b: 2 });
    assert.deepEqual(applyJsonPatch({ a: 1 }, [{ op: 'test', path: '', value: { a: 1 } }]), { a: 1 });
    rejects422({ a: 1 }, [{ op: 'add', path: '', value: { b: 2 } }]);
    rejects422({ a: 1 }, [{ op: 'replace', path: '', value: 3 }]);
  });
  await t.test('test against null passes for a missing or null member', () => {
    assert.deepEqual(applyJsonPatch({ a: null }, [{ op: 'test', path: '/a', value: null }, { op: 'test', path: '/b', value: null }]), { a: null });
    rejects422({ a: 1 }, [{ op: 'test', path: '/a', value: null }]);
    rejects422({}, [{ op: 'test', path: '/a', value: 1 }]);
  });
  await t.test('copy from a missing member copies null; move from one fails', () => {
    assert.deepEqual(applyJsonPatch({ a: 1 }, [{ op: 'copy', from: '/nope', path: '/b' }]), { a: 1, b: null });
    rejects422({ a: 1 }, [{ op: 'move', from: '/nope', path: '/b' }]);
  });
  await t.test('an absent value adds null', () => {
    assert.deepEqual(applyJsonPatch({}, [{ op: 'add', path: '/a' }]), { a: null });
  });
  await t.test('unknown and missing ops are 422', () => {
    rejects422({}, [{ op: 'merge', path: '/a', value: 1 }], /Unexpected kind: merge/);
    rejects422({}, [{ path: '/a', value: 1 }], /Unexpected kind: unknown/);
    rejects422({}, [null], /Unexpected kind: unknown/);
    rejects422({}, [{ op: 'add', value: 1 }], /failed to decode path/);
  });
  await t.test('walking through a scalar or null is a missing path', () => {
    rejects422({ a: 'x', n: null }, [{ op: 'add', path: '/a/b', value: 1 }]);
    rejects422({ a: 'x', n: null }, [{ op: 'add', path: '/n/b', value: 1 }]);
  });
  await t.test('moving a value into its own child fails', () => {
    rejects422({ a: { b: {} } }, [{ op: 'move', from: '/a', path: '/a/b/c' }]);
  });
});

test('bodies that do not decode as operations are 400, worded as upstream', () => {
  rejects400({}, 'error decoding patch: json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp');
  rejects400('x', 'error decoding patch: json: cannot unmarshal string into Go value of type []handlers.jsonPatchOp');
  rejects400([1], 'error decoding patch: json: cannot unmarshal number into Go value of type handlers.jsonPatchOp');
  rejects400([{ op: 1, path: '/a' }], 'error decoding patch: json: cannot unmarshal number into Go struct field jsonPatchOp.op of type string');
  rejects400([{ op: 'add', path: ['a'] }], 'error decoding patch: json: cannot unmarshal array into Go struct field jsonPatchOp.path of type string');
});

test('a null body is an empty patch', () => {
  assert.deepEqual(applyJsonPatch({ a: 1 }, null), { a: 1 });
  assert.deepEqual(applyJsonPatch({ a: 1 }, []), { a: 1 });
});

test('more than 10000 operations is 413', () => {
  const ops = Array.from({ length: 10001 }, () => ({ op: 'test', path: '/a', value: 1 }));
  assert.throws(
    () => applyJsonPatch({ a: 1 }, ops),
    (e: unknown) =>
      e instanceof ApiError &&
      e.code === 413 &&
      e.message === 'Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001',
  );
});

test('copies beyond 3 MiB in total are 422', () => {
  const big = 'x'.repeat(1024 * 1024);
  const ops = Array.from({ length: 4 }, (_, i) => ({ op: 'copy', from: '/big', path: `/c${i}` }));
  rejects422({ big }, ops, /accumulated size increase of copy/);
});

test('a "__proto__" member is data, not a prototype', () => {
  const out = applyJsonPatch({}, JSON.parse('[{"op":"add","path":"/__proto__","value":{"polluted":true}}]')) as any;
  assert.equal(({} as any).polluted, undefined);
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.deepEqual(Object.keys(out), ['__proto__']);
});
