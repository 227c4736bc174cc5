import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDefinitions } from '../../api/schema.js';
import { applyStrategicMergePatch, type SchemaNode } from './strategic-merge.js';
import { ApiError } from '../../api/errors.js';
import { GENERIC_422_MESSAGE } from './patch-errors.js';

// ---------------------------------------------------------------------------------------------
// A small hand-written schema in upstream's shape, modelled on the type strategicpatch's own tests
// use, so that the cases below can carry the inputs and results of upstream's test table.
// ---------------------------------------------------------------------------------------------

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const str = { type: 'string' };
const itemDefs: Record<string, SchemaNode> = {
  item: {
    type: 'object',
    properties: {
      name: str,
      value: str,
      other: str,
      mergingList: { type: 'array', items: { allOf: [ref('item')] }, 'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-patch-strategy': 'merge' },
      nonMergingList: { type: 'array', items: ref('item') },
      mergingIntList: { type: 'array', items: { type: 'integer' }, 'x-kubernetes-patch-strategy': 'merge' },
      nonMergingIntList: { type: 'array', items: { type: 'integer' } },
      mergeItemPtr: { allOf: [ref('item')], 'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-patch-strategy': 'merge' },
      simpleMap: { type: 'object', additionalProperties: str },
      itemMap: { type: 'object', additionalProperties: ref('item') },
      replacingItem: { type: 'object', 'x-kubernetes-patch-strategy': 'replace' },
      retainKeysMap: { allOf: [ref('retainKeysItem')], 'x-kubernetes-patch-strategy': 'retainKeys' },
      retainKeysMergingList: {
        type: 'array',
        items: ref('item'),
        'x-kubernetes-patch-merge-key': 'name',
        'x-kubernetes-patch-strategy': 'merge,retainKeys',
      },
    },
  },
  retainKeysItem: {
    type: 'object',
    properties: {
      name: str,
      value: str,
      other: str,
      mergingList: { type: 'array', items: ref('item'), 'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-patch-strategy': 'merge' },
      nonMergingList: { type: 'array', items: ref('item') },
      mergingIntList: { type: 'array', items: { type: 'integer' }, 'x-kubernetes-patch-strategy': 'merge' },
    },
  },
};

const smp = (original: object, patch: object) => applyStrategicMergePatch(original, patch, itemDefs.item, itemDefs);

interface Case {
  name: string;
  current: object;
  patch: object;
  result: object;
}

// Current + three-way patch → result, from strategicpatch's test table (patch_test.go, release-1.30).
const upstreamCases: Case[] = [
  {
    name: 'merge lists of maps',
    current: { mergingList: [{ name: '1', other: 'a' }, { name: '2', value: '2', other: 'b' }] },
    patch: {
      '$setElementOrder/mergingList': [{ name: '4' }, { name: '1' }, { name: '2' }, { name: '3' }],
      mergingList: [{ name: '4', value: '4' }, { name: '3', value: '3' }],
    },
    result: {
      mergingList: [{ name: '4', value: '4' }, { name: '1', other: 'a' }, { name: '2', value: '2', other: 'b' }, { name: '3', value: '3' }],
    },
  },
  {
    name: 'set elements order in a list with server-only items',
    current: {
      mergingList: [{ name: '1', other: 'a' }, { name: '3', value: '3' }, { name: '4', value: '4' }, { name: '2', value: '2' }, { name: '9' }],
    },
    patch: { '$setElementOrder/mergingList': [{ name: '4' }, { name: '2' }, { name: '3' }, { name: '1' }] },
    result: {
      mergingList: [{ name: '4', value: '4' }, { name: '2', value: '2' }, { name: '3', value: '3' }, { name: '1', other: 'a' }, { name: '9' }],
    },
  },
  {
    name: 'set elements order in a list with server-only items 2',
    current: {
      mergingList: [{ name: '1', other: 'a' }, { name: '2', value: '2' }, { name: '9' }, { name: '3', value: '3' }, { name: '4', value: '4' }],
    },
    patch: { '$setElementOrder/mergingList': [{ name: '2' }, { name: '1' }, { name: '4' }, { name: '3' }] },
    result: {
      mergingList: [{ name: '2', value: '2' }, { name: '1', other: 'a' }, { name: '9' }, { name: '4', value: '4' }, { name: '3', value: '3' }],
    },
  },
  {
    name: 'set elements order in a list with server-only items 3',
    current: {
      mergingList: [
        { name: '1', other: 'a' },
        { name: '2', value: '2' },
        { name: '7' },
        { name: '9' },
        { name: '8' },
        { name: '3', value: '3' },
        { name: '4', value: '4' },
      ],
    },
    patch: { '$setElementOrder/mergingList': [{ name: '2' }, { name: '1' }, { name: '4' }, { name: '3' }] },
    result: {
      mergingList: [
        { name: '2', value: '2' },
        { name: '1', other: 'a' },
        { name: '7' },
        { name: '9' },
        { name: '8' },
        { name: '4', value: '4' },
        { name: '3', value: '3' },
      ],
    },
  },
  {
    name: 'add map to merging list by pointer',
    current: { mergeItemPtr: [{ name: '1', other: 'a' }, { name: '3' }] },
    patch: { '$setElementOrder/mergeItemPtr': [{ name: '1' }, { name: '2' }], mergeItemPtr: [{ name: '2' }] },
    result: { mergeItemPtr: [{ name: '1', other: 'a' }, { name: '2' }, { name: '3' }] },
  },
  {
    name: 'nested patch merge with empty list',
    current: { name: 'hi', mergingList: [{ name: 'hello2' }] },
    patch: { '$setElementOrder/mergingList': [{ name: 'hello' }, { name: 'doesntexist' }], mergingList: [{ name: 'hello' }] },
    result: { name: 'hi', mergingList: [{ name: 'hello' }, { name: 'hello2' }] },
  },
  {
    name: 'nested patch merge with empty list, two-way (a delete of a missing item adds nothing)',
    current: { name: 'hi' },
    patch: { mergingList: [{ name: 'hello' }, { $patch: 'delete', name: 'doesntexist' }] },
    result: { name: 'hi', mergingList: [{ name: 'hello' }] },
  },
  {
    name: 'merge lists of scalars',
    current: { mergingIntList: [1, 2, 4] },
    patch: { '$setElementOrder/mergingIntList': [1, 2, 3], mergingIntList: [3] },
    result: { mergingIntList: [1, 2, 3, 4] },
  },
  {
    name: 'add an item in a list of primitives and preserve order',
    current: { mergingIntList: [1, 4, 2] },
    patch: { '$setElementOrder/mergingIntList': [3, 1, 2], mergingIntList: [3] },
    result: { mergingIntList: [3, 1, 4, 2] },
  },
  {
    name: 'delete an item in a list of primitives and preserve order',
    current: { mergingIntList: [1, 2, 3] },
    patch: { '$setElementOrder/mergingIntList': [2, 1], '$deleteFromPrimitiveList/mergingIntList': [3] },
    result: { mergingIntList: [2, 1] },
  },
  {
    name: 'delete items in lists of scalars',
    current: { mergingIntList: [1, 2, 3, 4] },
    patch: { '$setElementOrder/mergingIntList': [1, 2], '$deleteFromPrimitiveList/mergingIntList': [3] },
    result: { mergingIntList: [1, 2, 4] },
  },
  {
    name: 'delete all duplicate items in lists of scalars',
    current: { mergingIntList: [1, 2, 3, 3, 4] },
    patch: { '$setElementOrder/mergingIntList': [1, 2], '$deleteFromPrimitiveList/mergingIntList': [3] },
    result: { mergingIntList: [1, 2, 4] },
  },
  {
    name: 'behavior of set element order for a merging list with duplicate',
    current: { mergingList: [{ name: '1' }, { name: '2', value: 'dup1' }, { name: '3' }, { name: '2', value: 'dup2' }, { name: '4' }] },
    patch: { '$setElementOrder/mergingList': [{ name: '2' }, { name: '1' }, { name: '4' }, { name: '3' }, { name: '2' }] },
    result: { mergingList: [{ name: '2', value: 'dup1' }, { name: '2', value: 'dup2' }, { name: '1' }, { name: '4' }, { name: '3' }] },
  },
  {
    name: 'behavior of set element order for a merging int list with duplicate',
    current: { mergingIntList: [1, 2, 3, 2, 4] },
    patch: { '$setElementOrder/mergingIntList': [2, 1, 4, 3, 2] },
    result: { mergingIntList: [2, 2, 1, 4, 3] },
  },
  {
    name: '$setElementOrder contains item that is not present in the list to be merged',
    current: { mergingList: [{ name: '1' }, { name: '3' }] },
    patch: {
      '$setElementOrder/mergingList': [{ name: '3' }, { name: '2' }, { name: '1' }],
      mergingList: [{ name: '3', value: '3' }, { name: '1', value: '1' }],
    },
    result: { mergingList: [{ name: '3', value: '3' }, { name: '1', value: '1' }] },
  },
  {
    name: '$setElementOrder contains item that is not present in the int list to be merged',
    current: { mergingIntList: [1, 3] },
    patch: { '$setElementOrder/mergingIntList': [3, 2, 1] },
    result: { mergingIntList: [3, 1] },
  },
  {
    name: 'unique scalars when merging lists',
    current: { mergingIntList: [1, 2] },
    patch: { mergingIntList: [2, 3] },
    result: { mergingIntList: [1, 2, 3] },
  },
  {
    name: 'delete map from nested map',
    current: { simpleMap: { key1: '1', key2: '1' } },
    patch: { simpleMap: { $patch: 'delete' } },
    result: { simpleMap: {} },
  },
  {
    name: 'delete all items from merging list',
    current: { mergingList: [{ name: '1' }, { name: '2' }] },
    patch: { mergingList: [{ $patch: 'replace' }] },
    result: { mergingList: [] },
  },
  {
    name: 'delete all keys from map',
    current: { name: '1', value: '1' },
    patch: { $patch: 'replace' },
    result: {},
  },
  {
    name: 'add key and delete all keys from map',
    current: { name: '1', value: '1' },
    patch: { other: 'a', $patch: 'replace' },
    result: { other: 'a' },
  },
  {
    name: 'delete all duplicate entries in a merging list',
    current: { mergingList: [{ name: '1' }, { name: '1' }, { name: '2', value: 'a' }, { name: '3' }, { name: '3' }] },
    patch: { mergingList: [{ name: '1', $patch: 'delete' }, { name: '3', $patch: 'delete' }] },
    result: { mergingList: [{ name: '2', value: 'a' }] },
  },
  {
    name: 'preserve the order from the patch in a merging list',
    current: { mergingList: [{ name: '1' }, { name: '2', value: 'b' }, { name: '3' }] },
    patch: { mergingList: [{ name: '3', value: 'c' }, { name: '1', value: 'a' }, { name: '2', other: 'x' }] },
    result: { mergingList: [{ name: '3', value: 'c' }, { name: '1', value: 'a' }, { name: '2', value: 'b', other: 'x' }] },
  },
  {
    name: 'preserve the order from the patch in a merging list 2',
    current: { mergingList: [{ name: '1' }, { name: '2', value: 'b' }, { name: '3' }] },
    patch: { mergingList: [{ name: '3', value: 'c' }, { name: '1', value: 'a' }] },
    result: { mergingList: [{ name: '2', value: 'b' }, { name: '3', value: 'c' }, { name: '1', value: 'a' }] },
  },
  {
    name: 'preserve the order from the patch in a merging int list',
    current: { mergingIntList: [1, 2, 3] },
    patch: { mergingIntList: [3, 1] },
    result: { mergingIntList: [2, 3, 1] },
  },
  {
    name: 'retainKeys map should clear defaulted field',
    current: { retainKeysMap: { value: 'foo' } },
    patch: { retainKeysMap: { $retainKeys: ['other'], other: 'bar' } },
    result: { retainKeysMap: { other: 'bar' } },
  },
  {
    name: 'retainKeys map can add a field when no retainKeys directive present',
    current: { retainKeysMap: { name: 'foo' } },
    patch: { retainKeysMap: { value: 'bar' } },
    result: { retainKeysMap: { name: 'foo', value: 'bar' } },
  },
  {
    name: 'retainKeys list of maps clears a field',
    current: { retainKeysMergingList: [{ name: 'bar' }, { name: 'foo', value: 'a', other: 'x' }] },
    patch: {
      '$setElementOrder/retainKeysMergingList': [{ name: 'bar' }, { name: 'foo' }],
      retainKeysMergingList: [{ $retainKeys: ['name', 'value'], name: 'foo' }],
    },
    result: { retainKeysMergingList: [{ name: 'bar' }, { name: 'foo', value: 'a' }] },
  },
  {
    name: '$deleteFromPrimitiveList of nonexistent item in primitive list should not add the item to the list',
    current: { mergingIntList: [1, 2] },
    patch: { '$deleteFromPrimitiveList/mergingIntList': [3] },
    result: { mergingIntList: [1, 2] },
  },
  {
    name: '$deleteFromPrimitiveList on empty primitive list should not add the item to the list',
    current: { mergingIntList: null },
    patch: { '$deleteFromPrimitiveList/mergingIntList': [3] },
    result: { mergingIntList: null },
  },
  {
    name: '$deleteFromPrimitiveList on nonexistent primitive list should not add the primitive list',
    current: { foo: ['bar'] },
    patch: { '$deleteFromPrimitiveList/mergingIntList': [3] },
    result: { foo: ['bar'] },
  },
  {
    name: '$deleteFromPrimitiveList should delete item from a list with merge patch strategy',
    current: { mergingIntList: [1, 2, 3] },
    patch: { '$deleteFromPrimitiveList/mergingIntList': [2] },
    result: { mergingIntList: [1, 3] },
  },
  {
    name: '$deleteFromPrimitiveList should delete item from a list without merge patch strategy',
    current: { nonMergingIntList: [1, 2, 3] },
    patch: { '$deleteFromPrimitiveList/nonMergingIntList': [2] },
    result: { nonMergingIntList: [1, 3] },
  },
];

test('strategicpatch test table (StrategicMergeMapPatch results)', async (t) => {
  for (const c of upstreamCases) {
    await t.test(c.name, () => {
      const current = structuredClone(c.current);
      const patch = structuredClone(c.patch);
      assert.deepEqual(smp(current, patch), c.result);
      assert.deepEqual(current, c.current, 'original modified');
      assert.deepEqual(patch, c.patch, 'patch modified');
    });
  }
});

test('a new item takes the live slot of the item the same patch deletes (upstream edits the live slice in place)', () => {
  // Live [2, 5, 4]; the patch deletes 5 and adds 3, ordered [2, 3]: the 4 nobody mentioned stays
  // ahead of the 3, as in upstream; reading the live list afresh would put it last.
  assert.deepEqual(
    smp(
      { mergingList: [{ name: '2' }, { name: '5' }, { name: '4' }] },
      { '$setElementOrder/mergingList': [{ name: '2' }, { name: '3' }], mergingList: [{ name: '5', $patch: 'delete' }, { name: '3' }] },
    ),
    { mergingList: [{ name: '2' }, { name: '4' }, { name: '3' }] },
  );
});

test('a second patch item with the same key merges into the first one as it was sent', () => {
  // The first item's own `$patch: delete` entry is still there when the second merges into it,
  // so it is sorted last; the typed decode then keeps it as a plain item.
  assert.deepEqual(
    smp(
      { mergingList: [{ name: 'a' }] },
      {
        mergingList: [
          { name: 'n', mergingList: [{ name: '1' }, { name: '2', $patch: 'delete' }] },
          { name: 'n', value: 'v', mergingList: [{ name: '3' }] },
        ],
      },
    ),
    { mergingList: [{ name: 'n', value: 'v', mergingList: [{ name: '3' }, { name: '1' }, { name: '2' }] }, { name: 'a' }] },
  );
});

test('a new item without $setElementOrder goes first, as upstream (kubernetes docs: "kubectl patch" example)', () => {
  assert.deepEqual(smp({ mergingList: [{ name: 'a' }, { name: 'b' }] }, { mergingList: [{ name: 'c' }] }), {
    mergingList: [{ name: 'c' }, { name: 'a' }, { name: 'b' }],
  });
  assert.deepEqual(smp({ mergingIntList: [1, 2] }, { mergingIntList: [3] }), { mergingIntList: [3, 1, 2] });
});

test('lists without a merge strategy are replaced; maps without metadata merge', () => {
  assert.deepEqual(
    smp(
      { nonMergingList: [{ name: '1', value: 'a' }, { name: '2' }], nonMergingIntList: [1, 2], simpleMap: { a: 'x', b: 'y' } },
      { nonMergingList: [{ name: '1' }], nonMergingIntList: [3], simpleMap: { b: null, c: 'z' } },
    ),
    { nonMergingList: [{ name: '1' }], nonMergingIntList: [3], simpleMap: { a: 'x', c: 'z' } },
  );
});

test('a map field with the replace strategy is replaced', () => {
  assert.deepEqual(smp({ replacingItem: { a: 1, b: 2 } }, { replacingItem: { c: 3 } }), { replacingItem: { c: 3 } });
});

test('maps of objects (additionalProperties) merge their values by the value schema', () => {
  assert.deepEqual(
    smp(
      { itemMap: { x: { name: 'x', mergingList: [{ name: 'a', value: '1' }] } } },
      { itemMap: { x: { mergingList: [{ name: 'a', other: 'o' }] }, y: { name: 'y' } } },
    ),
    { itemMap: { x: { name: 'x', mergingList: [{ name: 'a', value: '1', other: 'o' }] }, y: { name: 'y' } } },
  );
});

test('null deletes a key; nulls and directives inside new values are dropped', () => {
  assert.deepEqual(
    smp(
      { name: 'n', value: 'v' },
      {
        value: null,
        missing: null,
        simpleMap: { a: 'x', b: null },
        mergingList: [{ name: 'a', value: null }, { name: 'gone', $patch: 'delete' }],
        retainKeysMap: { $retainKeys: ['name'], name: 'k', value: null },
      },
    ),
    { name: 'n', simpleMap: { a: 'x' }, mergingList: [{ name: 'a' }], retainKeysMap: { name: 'k' } },
  );
});

test('new list items keep their content but lose nulls and directive keys', () => {
  assert.deepEqual(
    smp(
      { mergingList: [{ name: 'a' }] },
      { mergingList: [{ name: 'b', value: null, mergingList: [{ name: 'x', $patch: 'delete' }], '$setElementOrder/mergingList': [{ name: 'x' }] }] },
    ),
    { mergingList: [{ name: 'b', mergingList: [{ name: 'x' }] }, { name: 'a' }] },
  );
});

test('no schema: maps merge, lists are replaced, directives still apply', () => {
  const out = applyStrategicMergePatch(
    { spec: { list: [1, 2], items: [{ name: 'a', v: 1 }], m: { a: 1, b: 2 }, gone: { x: 1 } } },
    { spec: { list: [3], items: [{ name: 'b' }], m: { b: null, c: 3 }, gone: { $patch: 'delete' } } },
    undefined,
    {},
  );
  assert.deepEqual(out, { spec: { list: [3], items: [{ name: 'b' }], m: { a: 1, c: 3 }, gone: {} } });
});

test('a null body is an empty patch; other non-objects are 400', () => {
  assert.deepEqual(applyStrategicMergePatch({ a: 1 }, null as unknown as object, undefined, {}), { a: 1 });
  for (const [body, kind] of [
    [[1], 'array'],
    ['x', 'string'],
    [1, 'number'],
  ] as const) {
    assert.throws(
      () => applyStrategicMergePatch({ a: 1 }, body as unknown as object, undefined, {}),
      (e: unknown) =>
        e instanceof ApiError &&
        e.code === 400 &&
        e.reason === 'BadRequest' &&
        e.message === `json: cannot unmarshal ${kind} into Go value of type map[string]interface {}`,
    );
  }
});

// ---------------------------------------------------------------------------------------------
// Errors, with the status upstream answers
// ---------------------------------------------------------------------------------------------

function rejects(original: object, patch: object, code: number, message: string | RegExp) {
  assert.throws(
    () => smp(original, patch),
    (e: unknown) => {
      assert.ok(e instanceof ApiError, String(e));
      assert.equal(e.code, code);
      if (typeof message === 'string') assert.equal(e.message, message);
      else assert.match(e.message, message);
      const status = e.toStatus();
      if (code === 400) assert.equal(status.reason, 'BadRequest');
      if (code === 422) assert.equal(status.reason, 'Invalid');
      if (code === 500) assert.equal('reason' in status, false, 'upstream sends no reason for plain errors');
      return true;
    },
  );
}

test('400: malformed directives that upstream recognises as bad patch formats', () => {
  rejects({ retainKeysMap: { name: 'a' } }, { retainKeysMap: { $retainKeys: 'name' } }, 400, 'invalid patch format of retainKeys');
  rejects({ retainKeysMap: { name: 'a' } }, { retainKeysMap: { $retainKeys: ['name'], value: 'v' } }, 400, 'invalid patch format of retainKeys');
  rejects({ mergingIntList: [1] }, { $deleteFromPrimitiveListmergingIntList: [1] }, 400, 'invalid patch format of primitive list');
  rejects({ mergingIntList: [1] }, { $setElementOrdermergingIntList: [1] }, 400, 'invalid patch format of setElementOrder list');
});

test('422: lists of lists', () => {
  rejects({ mergingIntList: [] }, { mergingIntList: [[1]] }, 422, GENERIC_422_MESSAGE);
});

test('500 (no reason), the raw message: everything upstream returns as a plain error', () => {
  rejects(
    { mergingList: [{ name: '1', value: 'a' }] },
    { mergingList: [{ value: 'b' }] },
    500,
    'map: map[value:b] does not contain declared merge key: name',
  );
  rejects(
    { mergingList: [{ name: '1' }, { name: '3' }, { name: '2' }] },
    { '$setElementOrder/mergingList': [{ name: '1' }, { name: '2' }, { name: '3' }], mergingList: [{ name: '3', value: '3' }, { name: '1', value: '1' }] },
    500,
    /^The order in patch list:\n\[map\[name:3 value:3\] map\[name:1 value:1\]\]\n doesn't match \$setElementOrder list:\n/,
  );
  rejects({ mergingIntList: [1, 3, 2] }, { '$setElementOrder/mergingIntList': [1, 2, 3], mergingIntList: [3, 1] }, 500, /doesn't match/);
  rejects({ mergingList: [{ name: '1' }] }, { mergingList: [{ name: '2', $patch: 'merge' }] }, 500, 'merging lists cannot yet be specified in the patch');
  rejects({ mergingList: [{ name: '1' }] }, { mergingList: [{ name: '2', $patch: 'bogus' }] }, 500, 'unknown patch type: bogus in map: map[$patch:bogus name:2]');
  rejects({ simpleMap: { a: 'b' } }, { simpleMap: { $patch: 'merge', a: 'c' } }, 500, 'unknown patch type: merge in map: map[$patch:merge a:c]');
  rejects({ mergingList: [{ name: '1' }] }, { mergingList: [{ $patch: 'delete' }] }, 500, 'map: map[$patch:delete] does not contain declared merge key: name');
  rejects({ mergingIntList: [1] }, { mergingIntList: ['a'] }, 500, 'list element types are not identical: [[1] [a]]');
  rejects({ mergingIntList: [1] }, { '$setElementOrder/mergingIntList': 'x' }, 500, 'expected a []interface {}, but received a string');
  rejects({ mergingIntList: 1 }, { '$setElementOrder/mergingIntList': [1] }, 500, 'expected a []interface {}, but received a int64');
});

// ---------------------------------------------------------------------------------------------
// Kubernetes' own schemas, as skiff generates them from kubernetes-types
// ---------------------------------------------------------------------------------------------

// The product's own definitions (generated from kubernetes-types at build time), so these tests
// exercise exactly the patch metadata the server uses.
function loadDefs(): Record<string, SchemaNode> {
  return loadDefinitions() as Record<string, SchemaNode>;
}

const k8s = loadDefs();
const deploymentSchema = () => k8s['io.k8s.api.apps.v1.Deployment'];
const podSchema = () => k8s['io.k8s.api.core.v1.Pod'];

/** json.Marshal of a decoded object in Go: keys sorted at every level. */
function goJsonMarshal(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(goJsonMarshal).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${goJsonMarshal(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * kubectl's util.GetModifiedConfiguration(obj, annotate=false): the manifest with its annotations
 * (an empty map when it had none) minus the last-applied one, encoded by the unstructured JSON
 * scheme, which ends with a newline.
 */
function lastAppliedOf(manifest: any): string {
  const m = structuredClone(manifest);
  m.metadata.annotations = { ...(m.metadata.annotations ?? {}) };
  delete m.metadata.annotations[LAST_APPLIED];
  return goJsonMarshal(m) + '\n';
}

/** What the API server returns for the created object after defaulting and a rollout. */
function liveDeployment(manifest: any, extraContainers: object[] = []): any {
  const defaultsFor = (c: any) => ({
    ...c,
    ...(c.ports ? { ports: c.ports.map((p: any) => ({ ...p, protocol: 'TCP' })) } : {}),
    resources: {},
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    imagePullPolicy: 'IfNotPresent',
  });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: manifest.metadata.name,
      namespace: 'default',
      uid: '1d6b7a39-93a4-4c35-9a0c-4f0c2b1a2f3e',
      resourceVersion: '4711',
      generation: 1,
      creationTimestamp: '2024-05-01T10:00:00Z',
      labels: manifest.metadata.labels,
      annotations: { 'deployment.kubernetes.io/revision': '1', [LAST_APPLIED]: lastAppliedOf(manifest) },
      managedFields: [
        {
          manager: 'kubectl-client-side-apply',
          operation: 'Update',
          apiVersion: 'apps/v1',
          time: '2024-05-01T10:00:00Z',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:spec': { 'f:replicas': {} } },
        },
      ],
    },
    spec: {
      replicas: manifest.spec.replicas,
      selector: manifest.spec.selector,
      template: {
        metadata: { creationTimestamp: null, labels: manifest.spec.template.metadata.labels },
        spec: {
          containers: [...manifest.spec.template.spec.containers.map(defaultsFor), ...extraContainers],
          restartPolicy: 'Always',
          terminationGracePeriodSeconds: 30,
          dnsPolicy: 'ClusterFirst',
          securityContext: {},
          schedulerName: 'default-scheduler',
        },
      },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    },
    status: {
      observedGeneration: 1,
      replicas: 2,
      updatedReplicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
      conditions: [
        { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', lastUpdateTime: '2024-05-01T10:00:10Z' },
        { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', lastUpdateTime: '2024-05-01T10:00:10Z' },
      ],
    },
  };
}

const manifestV1 = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default', labels: { app: 'web', tier: 'frontend' } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          {
            name: 'nginx',
            image: 'nginx:1.25',
            ports: [
              { name: 'http', containerPort: 80 },
              { name: 'https', containerPort: 443 },
            ],
            env: [{ name: 'MODE', value: 'prod' }],
          },
          {
            name: 'sidecar',
            image: 'busybox:1.36',
            command: ['sh', '-c', 'sleep infinity'],
            ports: [{ name: 'metrics', containerPort: 9090 }],
            env: [{ name: 'LOG_LEVEL', value: 'info' }],
          },
        ],
      },
    },
  },
};

test('kubectl apply (client-side) of an edited Deployment', () => {
  // (a) `kubectl apply` created the Deployment from manifestV1; this is it as the server holds it.
  const live = liveDeployment(manifestV1);
  assert.equal(
    live.metadata.annotations[LAST_APPLIED],
    '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"annotations":{},"labels":{"app":"web","tier":"frontend"},"name":"web","namespace":"default"},' +
      '"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[' +
      '{"env":[{"name":"MODE","value":"prod"}],"image":"nginx:1.25","name":"nginx","ports":[{"containerPort":80,"name":"http"},{"containerPort":443,"name":"https"}]},' +
      '{"command":["sh","-c","sleep infinity"],"env":[{"name":"LOG_LEVEL","value":"info"}],"image":"busybox:1.36","name":"sidecar","ports":[{"containerPort":9090,"name":"metrics"}]}' +
      ']}}}}\n',
  );

  // (b) The user edits the manifest: new nginx image, one more env var, the https port and the
  // sidecar container and the tier label gone.
  const manifestV2 = structuredClone(manifestV1) as any;
  delete manifestV2.metadata.labels.tier;
  const nginx = manifestV2.spec.template.spec.containers[0];
  nginx.image = 'nginx:1.26';
  nginx.env.push({ name: 'WORKERS', value: '4' });
  nginx.ports = nginx.ports.filter((p: any) => p.name !== 'https');
  manifestV2.spec.template.spec.containers = [nginx];
  const lastAppliedV2 = lastAppliedOf(manifestV2);

  // The patch kubectl 1.30 sends (patcher.patchSimple → strategicpatch.CreateThreeWayMergePatch
  // with original = last-applied, modified = manifestV2 + its new last-applied, current = live):
  //  - deletions (original → modified): tier: null; ports [{$patch: delete, containerPort: 443}]
  //    with $setElementOrder/ports; the sidecar as {$patch: delete, name} with
  //    $setElementOrder/containers;
  //  - delta (live → modified, additions and changes only): the annotation, the image, the new
  //    env var with $setElementOrder/env, and $setElementOrder/ports because the live port list
  //    has a different length;
  //  - merged with mergeMap (no parallel-list merging), so both $setElementOrder/containers agree
  //    and the nginx entries of the two patches are merged into one.
  const wire = JSON.stringify({
    metadata: { annotations: { [LAST_APPLIED]: lastAppliedV2 }, labels: { tier: null } },
    spec: {
      template: {
        spec: {
          '$setElementOrder/containers': [{ name: 'nginx' }],
          containers: [
            {
              '$setElementOrder/env': [{ name: 'MODE' }, { name: 'WORKERS' }],
              '$setElementOrder/ports': [{ containerPort: 80 }],
              env: [{ name: 'WORKERS', value: '4' }],
              image: 'nginx:1.26',
              name: 'nginx',
              ports: [{ $patch: 'delete', containerPort: 443 }],
            },
            { $patch: 'delete', name: 'sidecar' },
          ],
        },
      },
    },
  });

  const liveBefore = structuredClone(live);
  const out = applyStrategicMergePatch(live, JSON.parse(wire), deploymentSchema(), k8s) as any;
  assert.deepEqual(live, liveBefore, 'the live object must not be modified');

  // What StrategicMergeMapPatch gives for it: everything the server set (status, uid, defaulted
  // fields, the revision annotation, protocol and imagePullPolicy) stays.
  const expected = structuredClone(live);
  expected.metadata.annotations[LAST_APPLIED] = lastAppliedV2;
  expected.metadata.labels = { app: 'web' };
  expected.spec.template.spec.containers = [
    {
      name: 'nginx',
      image: 'nginx:1.26',
      ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }],
      env: [
        { name: 'MODE', value: 'prod' },
        { name: 'WORKERS', value: '4' },
      ],
      resources: {},
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
      imagePullPolicy: 'IfNotPresent',
    },
  ];
  assert.deepEqual(out, expected);
});

test('kubectl apply inserting a container keeps the manifest order and a container nobody applied', () => {
  const manifest = structuredClone(manifestV1) as any;
  manifest.spec.template.spec.containers = [
    { name: 'app', image: 'app:1' },
    { name: 'web', image: 'nginx:1' },
  ];
  // Someone else (say a mutating webhook) added a container that is not in last-applied.
  const injected = { name: 'proxy-injected', image: 'proxy:1', imagePullPolicy: 'IfNotPresent' };
  const live = liveDeployment(manifest, [injected]);

  const edited = structuredClone(manifest);
  edited.spec.template.spec.containers.splice(1, 0, { name: 'cache', image: 'redis:7' });
  // Three-way diff: no deletions; the delta adds "cache" (sorted comparison of live [app,
  // proxy-injected, web] with modified [app, cache, web]) and orders the list as the manifest.
  const patch = {
    metadata: { annotations: { [LAST_APPLIED]: lastAppliedOf(edited) } },
    spec: {
      template: {
        spec: {
          '$setElementOrder/containers': [{ name: 'app' }, { name: 'cache' }, { name: 'web' }],
          containers: [{ image: 'redis:7', name: 'cache' }],
        },
      },
    },
  };
  const out = applyStrategicMergePatch(live, patch, deploymentSchema(), k8s) as any;
  assert.deepEqual(
    out.spec.template.spec.containers.map((c: any) => c.name),
    ['app', 'cache', 'web', 'proxy-injected'],
  );
  assert.deepEqual(out.spec.template.spec.containers[1], { name: 'cache', image: 'redis:7' });
  assert.equal(out.spec.template.spec.containers[0].terminationMessagePath, '/dev/termination-log');
});

test('kubectl apply replacing a container next to one it does not manage', () => {
  // Manifest [app, log] → [app, metrics] while a mesh proxy was injected between them; the three-way
  // patch deletes "log" and adds "metrics". Upstream puts metrics where log was, after the proxy.
  const live = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd' },
    spec: { template: { spec: { containers: [{ name: 'app', image: 'a' }, { name: 'mesh-proxy', image: 'p' }, { name: 'log', image: 'l' }] } } },
  };
  const patch = {
    spec: {
      template: {
        spec: {
          '$setElementOrder/containers': [{ name: 'app' }, { name: 'metrics' }],
          containers: [{ name: 'metrics', image: 'm' }, { name: 'log', $patch: 'delete' }],
        },
      },
    },
  };
  const out = applyStrategicMergePatch(live, patch, deploymentSchema(), k8s) as any;
  assert.deepEqual(
    out.spec.template.spec.containers.map((c: any) => c.name),
    ['app', 'mesh-proxy', 'metrics'],
  );
});

test('kubectl patch, the Kubernetes docs example: new container first, tolerations replaced', () => {
  const live = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'patch-demo' },
    spec: {
      template: {
        spec: {
          containers: [{ name: 'patch-demo-ctr', image: 'nginx', imagePullPolicy: 'Always' }],
          tolerations: [{ effect: 'NoSchedule', key: 'dedicated', value: 'test-team' }],
        },
      },
    },
  };
  const out = applyStrategicMergePatch(
    live,
    { spec: { template: { spec: { containers: [{ name: 'patch-demo-ctr-2', image: 'redis' }] } } } },
    deploymentSchema(),
    k8s,
  ) as any;
  assert.deepEqual(
    out.spec.template.spec.containers.map((c: any) => c.name),
    ['patch-demo-ctr-2', 'patch-demo-ctr'],
  );
  const out2 = applyStrategicMergePatch(
    out,
    { spec: { template: { spec: { tolerations: [{ effect: 'NoSchedule', key: 'disktype', value: 'ssd' }] } } } },
    deploymentSchema(),
    k8s,
  ) as any;
  assert.deepEqual(out2.spec.template.spec.tolerations, [{ effect: 'NoSchedule', key: 'disktype', value: 'ssd' }]);
});

test('$retainKeys: a Deployment strategy switching from RollingUpdate to Recreate', () => {
  const live = liveDeployment(manifestV1);
  // kubectl's three-way patch when the manifest goes from a RollingUpdate strategy with
  // rollingUpdate set to {type: Recreate}: strategy carries patchStrategy retainKeys.
  const kubectlPatch = { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: null, type: 'Recreate' } } };
  const out = applyStrategicMergePatch(live, kubectlPatch, deploymentSchema(), k8s) as any;
  assert.deepEqual(out.spec.strategy, { type: 'Recreate' });

  // The directive alone clears the defaulted rollingUpdate; without it, it would stay.
  const handWritten = applyStrategicMergePatch(live, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } }, deploymentSchema(), k8s) as any;
  assert.deepEqual(handWritten.spec.strategy, { type: 'Recreate' });
  const plain = applyStrategicMergePatch(live, { spec: { strategy: { type: 'Recreate' } } }, deploymentSchema(), k8s) as any;
  assert.deepEqual(plain.spec.strategy, { type: 'Recreate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });

  assert.throws(
    () => applyStrategicMergePatch(live, { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: { maxSurge: 1 } } } }, deploymentSchema(), k8s),
    (e: unknown) => e instanceof ApiError && e.code === 400 && e.message === 'invalid patch format of retainKeys',
  );
});

test('$retainKeys in a merge,retainKeys list: a volume changing its source', () => {
  const live = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p' },
    spec: {
      containers: [{ name: 'c', image: 'i', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
      volumes: [
        { name: 'data', emptyDir: {} },
        { name: 'cfg', configMap: { name: 'cfg', defaultMode: 420 } },
      ],
    },
  };
  const patch = {
    spec: {
      '$setElementOrder/volumes': [{ name: 'data' }, { name: 'cfg' }],
      volumes: [{ $retainKeys: ['hostPath', 'name'], hostPath: { path: '/srv' }, name: 'data' }],
    },
  };
  const out = applyStrategicMergePatch(live, patch, podSchema(), k8s) as any;
  assert.deepEqual(out.spec.volumes, [
    { name: 'data', hostPath: { path: '/srv' } },
    { name: 'cfg', configMap: { name: 'cfg', defaultMode: 420 } },
  ]);
});

test('$patch: replace on a list and on a map, $patch: delete on a list item and a map', () => {
  const live = liveDeployment(manifestV1);
  const out = applyStrategicMergePatch(
    live,
    {
      metadata: { labels: { $patch: 'replace', owner: 'team-a' } },
      spec: {
        template: {
          spec: {
            containers: [
              { name: 'nginx', env: [{ name: 'ONLY', value: 'x' }, { $patch: 'replace' }] },
              { name: 'sidecar', $patch: 'delete' },
            ],
          },
        },
      },
    },
    deploymentSchema(),
    k8s,
  ) as any;
  assert.deepEqual(out.metadata.labels, { owner: 'team-a' });
  assert.deepEqual(out.spec.template.spec.containers.map((c: any) => c.name), ['nginx']);
  assert.deepEqual(out.spec.template.spec.containers[0].env, [{ name: 'ONLY', value: 'x' }]);
  assert.equal(out.spec.template.spec.containers[0].image, 'nginx:1.25');

  const emptied = applyStrategicMergePatch(live, { spec: { template: { spec: { containers: [{ $patch: 'replace' }] } } } }, deploymentSchema(), k8s) as any;
  assert.deepEqual(emptied.spec.template.spec.containers, []);

  const noSelector = applyStrategicMergePatch(live, { spec: { selector: { $patch: 'delete' } } }, deploymentSchema(), k8s) as any;
  assert.deepEqual(noSelector.spec.selector, {});
});

test('finalizers: a primitive list with the merge strategy is a set', () => {
  const live = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', finalizers: ['a.example.com/x', 'b.example.com/y'] }, spec: {} };
  const add = (finalizers: string[]) =>
    (applyStrategicMergePatch(live, { metadata: { finalizers } }, podSchema(), k8s) as any).metadata.finalizers;
  assert.deepEqual(add(['c.example.com/z']), ['c.example.com/z', 'a.example.com/x', 'b.example.com/y']);
  assert.deepEqual(add(['a.example.com/x']), ['a.example.com/x', 'b.example.com/y']);
  assert.deepEqual(add(['c.example.com/z', 'a.example.com/x']), ['c.example.com/z', 'a.example.com/x', 'b.example.com/y']);

  // kubectl's shape for "remove a finalizer from the manifest".
  const removed = applyStrategicMergePatch(
    live,
    { metadata: { '$setElementOrder/finalizers': ['b.example.com/y'], '$deleteFromPrimitiveList/finalizers': ['a.example.com/x'] } },
    podSchema(),
    k8s,
  ) as any;
  assert.deepEqual(removed.metadata.finalizers, ['b.example.com/y']);
  assert.deepEqual(live.metadata.finalizers, ['a.example.com/x', 'b.example.com/y']);
});

test('$deleteFromPrimitiveList on a list without a merge strategy (container args)', () => {
  const live = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i', args: ['--a', '--b', '--c'] }] } };
  const out = applyStrategicMergePatch(
    live,
    { spec: { containers: [{ name: 'c', '$deleteFromPrimitiveList/args': ['--b'] }] } },
    podSchema(),
    k8s,
  ) as any;
  assert.deepEqual(out.spec.containers[0].args, ['--a', '--c']);
});

test('lists with no merge key are replaced: args, command, tolerations, imagePullSecrets merge by name', () => {
  const live = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p' },
    spec: {
      containers: [{ name: 'c', image: 'i', args: ['--a', '--b'], command: ['run'] }],
      tolerations: [
        { key: 'k1', operator: 'Exists' },
        { key: 'k2', operator: 'Exists' },
      ],
      imagePullSecrets: [{ name: 'one' }],
    },
  };
  const out = applyStrategicMergePatch(
    live,
    {
      spec: {
        containers: [{ name: 'c', args: ['--z'] }],
        tolerations: [{ key: 'k3', operator: 'Exists' }],
        imagePullSecrets: [{ name: 'two' }],
      },
    },
    podSchema(),
    k8s,
  ) as any;
  assert.deepEqual(out.spec.containers, [{ name: 'c', image: 'i', args: ['--z'], command: ['run'] }]);
  assert.deepEqual(out.spec.tolerations, [{ key: 'k3', operator: 'Exists' }]);
  assert.deepEqual(out.spec.imagePullSecrets, [{ name: 'two' }, { name: 'one' }]);
});

test('ports merge by containerPort (numbers), ownerReferences by uid', () => {
  const live = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u1', controller: true }] },
    spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80, protocol: 'TCP' }] }] },
  };
  const out = applyStrategicMergePatch(
    live,
    {
      metadata: { ownerReferences: [{ uid: 'u1', blockOwnerDeletion: true }] },
      spec: { containers: [{ name: 'c', ports: [{ containerPort: 80, name: 'http' }] }] },
    },
    podSchema(),
    k8s,
  ) as any;
  assert.deepEqual(out.spec.containers[0].ports, [{ containerPort: 80, protocol: 'TCP', name: 'http' }]);
  assert.deepEqual(out.metadata.ownerReferences, [
    { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u1', controller: true, blockOwnerDeletion: true },
  ]);
});
