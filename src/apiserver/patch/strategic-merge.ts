/**
 * Strategic merge patch (application/strategic-merge-patch+json) as kube-apiserver 1.30 applies it:
 * k8s.io/apimachinery/pkg/util/strategicpatch StrategicMergeMapPatch, i.e. mergeMap with
 * MergeParallelList and IgnoreUnmatchedNulls, with the patch metadata (x-kubernetes-patch-strategy,
 * x-kubernetes-patch-merge-key) read from OpenAPI v3 schemas the way PatchMetaFromOpenAPIV3 reads
 * them. The order of list elements is part of the result, so the ordering steps (normalizeElementOrder,
 * mergeSortedSlice, $setElementOrder) are followed step by step, quirks included, down to the effect
 * of Go editing the live slice in place (liveOrderAsUpstreamSeesIt). Checked against the Go code on
 * randomized patches and on kubectl's three-way patches for random Deployment edits.
 *
 * Where upstream's result then goes through a typed decode (which drops nulls and unknown keys from
 * values copied out of the patch), we drop null members and leftover directive keys from those
 * values, so what we store is what upstream would have stored.
 *
 * Deliberate departures, all on paths where upstream fails or is undefined:
 *  - a field the schema does not know, or a map's additionalProperties, is merged without metadata
 *    (upstream's struct lookup errors there); no schema at all means no metadata anywhere;
 *  - a $setElementOrder for a list that has no elements at all is ignored (upstream: 500);
 *  - Go iterates maps in random order; we use the patch's key order.
 * x-kubernetes-list-type/-list-map-keys are not read: strategic merge patch never used them.
 */
import { errors } from '../../api/errors.js';
import { patchErrors } from './patch-errors.js';
import { cloneJson, getOwn, goFormat, goFormatS, goTypeName, hasOwn, isMap, jsonKindName, setOwn, type JsonMap } from './json-value.js';

/** An OpenAPI v3 schema object in upstream's shape (components.schemas values). */
export type SchemaNode = Record<string, any>;

const DIRECTIVE_MARKER = '$patch';
const DELETE_DIRECTIVE = 'delete';
const REPLACE_DIRECTIVE = 'replace';
const MERGE_DIRECTIVE = 'merge';
const RETAIN_KEYS_STRATEGY = 'retainKeys';
const RETAIN_KEYS_DIRECTIVE = '$retainKeys';
const DELETE_FROM_PRIMITIVE_LIST_PREFIX = '$deleteFromPrimitiveList';
const SET_ELEMENT_ORDER_PREFIX = '$setElementOrder';

const MAP_TYPE = 'map[string]interface {}';
const SLICE_TYPE = '[]interface {}';

/*
 * Upstream's error values and how handlers/patch.go interpretStrategicMergePatchError answers them:
 * a few sentinels are 400 or 422, everything else is a plain error and so a reasonless 500.
 */
const errBadPatchFormatForPrimitiveList = () => patchErrors.badRequest('invalid patch format of primitive list');
const errBadPatchFormatForRetainKeys = () => patchErrors.badRequest('invalid patch format of retainKeys');
const errBadPatchFormatForSetElementOrderList = () => patchErrors.badRequest('invalid patch format of setElementOrder list');
const errNoListOfLists = () => patchErrors.unprocessable('lists of lists are not supported');
const errNoMergeKey = (m: unknown, key: string) => patchErrors.server(`map: ${goFormat(m)} does not contain declared merge key: ${key}`);
const errBadArgType = (expected: string, actual: unknown) =>
  patchErrors.server(`expected a ${expected}, but received a ${goTypeName(actual)}`);
const errBadPatchType = (t: unknown, m: JsonMap) => patchErrors.server(`unknown patch type: ${goFormatS(t)} in map: ${goFormat(m)}`);

/**
 * Applies `patch` to a copy of `original`. `schema` is the kind's root schema; `defs` resolves its
 * `$ref`s. Neither input is modified.
 */
export function applyStrategicMergePatch(
  original: object,
  patch: object,
  schema: SchemaNode | undefined,
  defs: Record<string, any>,
): object {
  if (!isMap(original)) throw errors.internal('strategic merge patch: the object to patch is not a JSON object');
  // Upstream decodes the body into a map first: null leaves it empty, anything else but an object fails.
  if (patch === null || patch === undefined) return cloneJson(original);
  if (!isMap(patch)) {
    throw errors.badRequest(`json: cannot unmarshal ${jsonKindName(patch)} into Go value of type map[string]interface {}`);
  }
  const merged = mergeMap(cloneJson(original), cloneJson(patch), new PatchSchema(schema, defs ?? {}));
  return cleanAppendedItems(merged);
}

// ---------------------------------------------------------------------------------------------
// Patch metadata from OpenAPI v3 schemas
// ---------------------------------------------------------------------------------------------

interface FieldMeta {
  schema: PatchSchema;
  strategies: string[];
  mergeKey: string;
}

class PatchSchema {
  constructor(
    private readonly node: SchemaNode | undefined,
    private readonly defs: Record<string, any>,
  ) {}

  /** The element kind upstream names in "cannot merge lists without merge key for ..." */
  name(): string {
    return 'struct';
  }

  lookupStruct(key: string): FieldMeta {
    const field = this.field(key);
    return { ...meta(field), schema: new PatchSchema(this.resolve(field), this.defs) };
  }

  lookupSlice(key: string): FieldMeta {
    const field = this.field(key);
    const list = field && !field.items ? this.resolve(field) : field;
    // Like PatchMetaFromOpenAPIV3, a field without `items` describes its elements itself.
    return { ...meta(field), schema: new PatchSchema(this.resolve(list?.items ?? list), this.defs) };
  }

  private field(key: string): SchemaNode | undefined {
    const node = this.resolve(this.node);
    if (!node) return undefined;
    const props = node.properties;
    if (isMap(props) && hasOwn(props, key) && isMap(props[key])) return props[key] as SchemaNode;
    return isMap(node.additionalProperties) ? (node.additionalProperties as SchemaNode) : undefined;
  }

  /** Follows `allOf: [{$ref}]` wrappers and `$ref`s to the schema that has the properties. */
  private resolve(node: SchemaNode | undefined): SchemaNode | undefined {
    let cur = node;
    for (let depth = 0; cur && depth < 64; depth++) {
      if (Array.isArray(cur.allOf) && cur.allOf.length > 0 && !cur.properties && !cur.items) {
        cur = cur.allOf[0];
      } else if (typeof cur.$ref === 'string') {
        const name = cur.$ref.slice(cur.$ref.lastIndexOf('/') + 1);
        cur = hasOwn(this.defs, name) ? this.defs[name] : undefined;
      } else {
        return cur;
      }
    }
    return cur;
  }
}

function meta(field: SchemaNode | undefined): { strategies: string[]; mergeKey: string } {
  const strategy = field?.['x-kubernetes-patch-strategy'];
  const mergeKey = field?.['x-kubernetes-patch-merge-key'];
  return {
    strategies: typeof strategy === 'string' ? strategy.split(',') : [],
    mergeKey: typeof mergeKey === 'string' ? mergeKey : '',
  };
}

/** Splits "merge,retainKeys" into (has retainKeys, the other strategy). */
function extractRetainKeysPatchStrategy(strategies: string[]): [boolean, string] {
  switch (strategies.length) {
    case 0:
      return [false, ''];
    case 1:
      return strategies[0] === RETAIN_KEYS_STRATEGY ? [true, ''] : [false, strategies[0]];
    case 2:
      if (strategies[0] === RETAIN_KEYS_STRATEGY) return [true, strategies[1]];
      if (strategies[1] === RETAIN_KEYS_STRATEGY) return [true, strategies[0]];
  }
  throw patchErrors.server(`unexpected patch strategy: [${strategies.join(' ')}]`);
}

// ---------------------------------------------------------------------------------------------
// Maps
// ---------------------------------------------------------------------------------------------

/** Merges `patch` into `original`, which it may modify and return, or replace. */
function mergeMap(original: JsonMap, patch: JsonMap, schema: PatchSchema): JsonMap {
  if (hasOwn(patch, DIRECTIVE_MARKER)) return handleDirectiveInMergeMap(patch[DIRECTIVE_MARKER], patch);

  applyRetainKeysDirective(original, patch);
  // Lists with a $setElementOrder are merged and ordered here and leave the patch.
  mergePatchIntoOriginal(original, patch, schema);

  for (const patchKey of Object.keys(patch)) {
    if (!hasOwn(patch, patchKey)) continue;
    const patchV = patch[patchKey];
    let k = patchKey;
    let isDeleteList = false;
    if (patchKey.startsWith(DELETE_FROM_PRIMITIVE_LIST_PREFIX)) {
      k = extractKey(patchKey, DELETE_FROM_PRIMITIVE_LIST_PREFIX);
      isDeleteList = true;
    }

    if (patchV === null) {
      delete original[k];
      continue;
    }
    if (!hasOwn(original, k)) {
      if (!isDeleteList) setFromPatch(original, k, patchV);
      continue;
    }
    const originalV = original[k];
    const kind = kindOf(originalV);
    if (kind !== kindOf(patchV)) {
      if (!isDeleteList) setFromPatch(original, k, patchV);
      continue;
    }
    switch (kind) {
      case 'map': {
        const field = schema.lookupStruct(k);
        const [, strategy] = extractRetainKeysPatchStrategy(field.strategies);
        setOwn(original, k, mergeMapHandler(originalV as JsonMap, patchV as JsonMap, field.schema, strategy));
        break;
      }
      case 'slice': {
        const field = schema.lookupSlice(k);
        const [, strategy] = extractRetainKeysPatchStrategy(field.strategies);
        setOwn(original, k, mergeSliceHandler(originalV as unknown[], patchV as unknown[], field.schema, strategy, field.mergeKey, isDeleteList));
        break;
      }
      default:
        setOwn(original, k, patchV);
    }
  }
  return original;
}

function handleDirectiveInMergeMap(directive: unknown, patch: JsonMap): JsonMap {
  if (directive === REPLACE_DIRECTIVE) {
    delete patch[DIRECTIVE_MARKER];
    return cleanForStorage(patch);
  }
  if (directive === DELETE_DIRECTIVE) return {};
  // "$patch: merge" included: upstream only knows replace and delete on maps.
  throw errBadPatchType(directive, patch);
}

function mergeMapHandler(original: JsonMap, patch: JsonMap, schema: PatchSchema, strategy: string): JsonMap {
  return strategy !== REPLACE_DIRECTIVE ? mergeMap(original, patch, schema) : cleanForStorage(patch);
}

/**
 * $retainKeys: every key the patch sets must be listed, and keys of the original not listed are
 * cleared. This is how a union such as a Deployment's strategy switches members.
 */
function applyRetainKeysDirective(original: JsonMap, patch: JsonMap): void {
  if (!hasOwn(patch, RETAIN_KEYS_DIRECTIVE)) return;
  const retainKeys = patch[RETAIN_KEYS_DIRECTIVE];
  delete patch[RETAIN_KEYS_DIRECTIVE];
  if (!Array.isArray(retainKeys)) throw errBadPatchFormatForRetainKeys();

  const keep = new Set<unknown>(retainKeys);
  for (const k of Object.keys(patch)) {
    if (patch[k] === null || k.startsWith(DELETE_FROM_PRIMITIVE_LIST_PREFIX) || k.startsWith(SET_ELEMENT_ORDER_PREFIX)) continue;
    if (!keep.has(k)) throw errBadPatchFormatForRetainKeys();
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
}

/** "$setElementOrder/containers" → "containers", with the prefix-specific 400 when malformed. */
function extractKey(s: string, prefix: string): string {
  const slash = s.indexOf('/');
  if (slash < 0 || s.slice(0, slash) !== prefix) {
    throw prefix === DELETE_FROM_PRIMITIVE_LIST_PREFIX ? errBadPatchFormatForPrimitiveList() : errBadPatchFormatForSetElementOrderList();
  }
  return s.slice(slash + 1);
}

/**
 * Handles each `$setElementOrder/<list>` with its list: merges the patch's list into the original's
 * and orders the result by the directive, keeping server-only items near their old neighbours.
 * Precedence: $setElementOrder, then the order in the patch list, then the live order.
 */
function mergePatchIntoOriginal(original: JsonMap, patch: JsonMap, schema: PatchSchema): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ELEMENT_ORDER_PREFIX)) continue;
    const setOrder = patch[key];
    delete patch[key];
    if (!Array.isArray(setOrder)) throw errBadArgType(SLICE_TYPE, setOrder);
    const listKey = extractKey(key, SET_ELEMENT_ORDER_PREFIX);

    const foundOriginal = hasOwn(original, listKey);
    const foundPatch = hasOwn(patch, listKey);
    const originalList = foundOriginal ? original[listKey] : undefined;
    const patchList = foundPatch ? patch[listKey] : undefined;
    if (foundOriginal && !Array.isArray(originalList)) throw errBadArgType(SLICE_TYPE, originalList);
    if (foundPatch && !Array.isArray(patchList)) throw errBadArgType(SLICE_TYPE, patchList);
    const originalItems = (originalList as unknown[] | undefined) ?? [];
    const patchItems = (patchList as unknown[] | undefined) ?? [];

    const field = schema.lookupSlice(listKey);
    const [, strategy] = extractRetainKeysPatchStrategy(field.strategies);
    const mergeKey = field.mergeKey;
    validatePatchWithSetOrderList(patchItems, setOrder, mergeKey);

    let merged: unknown[];
    if (foundOriginal && !foundPatch) {
      merged = originalItems;
    } else if (!foundOriginal && foundPatch) {
      merged = cleanForStorage(removeDirectives(patchItems)[0] as unknown[]);
    } else if (foundOriginal && foundPatch) {
      merged = mergeSliceHandler(originalItems, patchItems, field.schema, strategy, mergeKey, false);
    } else {
      continue;
    }

    const [inOrder, serverOnly] = mergeKey
      ? partitionMapsByPresentInList(merged, setOrder, mergeKey)
      : partitionPrimitivesByPresentInList(merged, setOrder);
    const kind = sliceElementKind(originalItems, patchItems);
    const serverOrder =
      foundOriginal && foundPatch && strategy === MERGE_DIRECTIVE && kind === 'map' && mergeKey
        ? liveOrderAsUpstreamSeesIt(originalItems, patchItems, mergeKey)
        : originalItems;
    setOwn(
      original,
      listKey,
      kind === undefined ? merged : normalizeElementOrder(inOrder, serverOnly, setOrder, serverOrder, mergeKey, kind),
    );
    delete patch[listKey];
  }
}

/**
 * The live list as upstream's final ordering step reads it. There the live list is a Go slice that
 * the merge has just edited in place: each `$patch: delete` shifted the later items left within the
 * same backing array (leaving the old last item behind at the end), and each new item was appended
 * into the slots that freed. So a new item takes the live position of a deleted one, and a
 * server-only item stays ahead of it when it was ahead of the deleted one; e.g. live [a, x, b],
 * delete b and add c, order [a, c]: upstream gives [a, x, c] where a plain reading gives [a, c, x].
 * Only maps merged by key are edited this way (lists of scalars are rebuilt, not edited in place).
 */
function liveOrderAsUpstreamSeesIt(live: unknown[], patch: unknown[], mergeKey: string): unknown[] {
  const backing = live.slice();
  let length = backing.length;
  const sameKey = (item: unknown, key: unknown) => isMap(item) && hasOwn(item, mergeKey) && item[mergeKey] === key;
  const additions: JsonMap[] = [];
  let replace = false;
  for (const v of patch) {
    const item = v as JsonMap;
    if (!hasOwn(item, DIRECTIVE_MARKER)) additions.push(item);
    else if (item[DIRECTIVE_MARKER] === REPLACE_DIRECTIVE) replace = true;
    else if (item[DIRECTIVE_MARKER] === DELETE_DIRECTIVE) {
      for (let i = 0; i < length; ) {
        if (sameKey(backing[i], item[mergeKey])) {
          backing.copyWithin(i, i + 1, length);
          length--;
        } else i++;
      }
    }
  }
  // A `$patch: replace` item swaps in a new list, so nothing is appended to the live one.
  if (replace) return backing;
  const current = backing.slice(0, length);
  for (const item of additions) {
    if (current.some((c) => sameKey(c, item[mergeKey]))) continue;
    if (length < backing.length) backing[length] = item;
    length++;
    current.push(item);
  }
  return backing;
}

/**
 * The patch list, without its `$patch` items, must follow the $setElementOrder list's order and be
 * contained in it.
 */
function validatePatchWithSetOrderList(patchList: unknown[], setOrder: unknown[], mergeKey: string): void {
  if (setOrder.length === 0 || patchList.length === 0) return;
  const items = mergeKey ? extractToDeleteItems(patchList)[0] : patchList;
  let p = 0;
  let s = 0;
  while (p < items.length && s < setOrder.length) {
    if (containsDirectiveMarker(items[p])) {
      p++;
      continue;
    }
    if (mergeKeyValueEqual(items[p], setOrder[s], mergeKey)) p++;
    s++;
  }
  if (p < items.length && s >= setOrder.length) {
    throw patchErrors.server(
      `The order in patch list:\n${goFormat(patchList)}\n doesn't match ${SET_ELEMENT_ORDER_PREFIX} list:\n${goFormat(setOrder)}\n`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Lists
// ---------------------------------------------------------------------------------------------

function mergeSliceHandler(
  original: unknown[],
  patch: unknown[],
  schema: PatchSchema,
  strategy: string,
  mergeKey: string,
  isDeleteList: boolean,
): unknown[] {
  // A $deleteFromPrimitiveList list deletes whatever the field's strategy is.
  if (strategy === MERGE_DIRECTIVE || isDeleteList) return mergeSlice(original, patch, schema, mergeKey, isDeleteList);
  return cleanForStorage(patch);
}

function mergeSlice(original: unknown[], patch: unknown[], schema: PatchSchema, mergeKey: string, isDeleteList: boolean): unknown[] {
  if (original.length === 0 && patch.length === 0) return original;
  const kind = sliceElementKind(original, patch) as ElementKind;

  let merged: unknown[];
  let patchOrder: unknown[] = patch;
  let serverOrder: unknown[] = original;
  if (kind !== 'map') {
    if (isDeleteList) return deleteFromSlice(original, patch);
    merged = deduplicateScalars([...original, ...patch]);
  } else {
    if (!mergeKey) throw patchErrors.server(`cannot merge lists without merge key for ${schema.name()}`);
    [serverOrder, patchOrder] = mergeSliceWithSpecialElements(original, patch, mergeKey);
    merged = mergeSliceWithoutSpecialElements(serverOrder, patchOrder, mergeKey, schema);
  }

  const [inPatch, serverOnly] = mergeKey
    ? partitionMapsByPresentInList(merged, patchOrder, mergeKey)
    : partitionPrimitivesByPresentInList(merged, patchOrder);
  return normalizeElementOrder(inPatch, serverOnly, patchOrder, serverOrder, mergeKey, kind);
}

/**
 * Applies the list items that carry `$patch`: delete removes every original item with that merge
 * key; replace makes the rest of the patch list the whole list. Returns (original, rest of patch).
 */
function mergeSliceWithSpecialElements(original: unknown[], patch: unknown[], mergeKey: string): [unknown[], unknown[]] {
  const rest: unknown[] = [];
  let replace = false;
  let current = original;
  for (const v of patch) {
    const item = v as JsonMap;
    if (!hasOwn(item, DIRECTIVE_MARKER)) {
      rest.push(v);
      continue;
    }
    const directive = item[DIRECTIVE_MARKER];
    if (directive === DELETE_DIRECTIVE) {
      if (!hasOwn(item, mergeKey)) throw errNoMergeKey(item, mergeKey);
      current = deleteMatchingEntries(current, mergeKey, item[mergeKey]);
    } else if (directive === REPLACE_DIRECTIVE) {
      replace = true;
    } else if (directive === MERGE_DIRECTIVE) {
      throw patchErrors.server('merging lists cannot yet be specified in the patch');
    } else {
      throw errBadPatchType(directive, item);
    }
  }
  if (replace) return [cleanForStorage(rest), []];
  return [current, rest];
}

function deleteMatchingEntries(original: unknown[], mergeKey: string, value: unknown): unknown[] {
  const out = original.slice();
  for (;;) {
    const found = findMapInSliceBasedOnKeyValue(out, mergeKey, value);
    if (found < 0) return out;
    out.splice(found, 1);
  }
}

/** Merges patch items into the original items with the same merge key; new ones are appended. */
function mergeSliceWithoutSpecialElements(original: unknown[], patch: unknown[], mergeKey: string, schema: PatchSchema): unknown[] {
  const out = original.slice();
  for (const v of patch) {
    const item = v as JsonMap;
    if (!hasOwn(item, mergeKey)) throw errNoMergeKey(item, mergeKey);
    const found = findMapInSliceBasedOnKeyValue(out, mergeKey, item[mergeKey]);
    if (found >= 0) {
      out[found] = mergeMap(out[found] as JsonMap, item, schema);
    } else {
      // Appended as sent, directives and nulls included: a later item of the same patch with the
      // same key merges into it as upstream does. cleanAppendedItems tidies it at the end.
      appendedFromPatch.add(item);
      out.push(item);
    }
  }
  return out;
}

function deleteFromSlice(current: unknown[], toDelete: unknown[]): unknown[] {
  const drop = new Set(toDelete);
  return current.filter((v) => !drop.has(v));
}

/** Index of the first map whose `key` equals `value`; every element must be a map. */
function findMapInSliceBasedOnKeyValue(list: unknown[], key: string, value: unknown): number {
  for (let i = 0; i < list.length; i++) {
    const m = list[i];
    if (!isMap(m)) throw patchErrors.server(`value for key ${i} is not a map`);
    if (hasOwn(m, key) && m[key] === value) return i;
  }
  return -1;
}

/**
 * Upstream's in-place de-duplication, which moves the last element into a duplicate's slot. The
 * order it leaves is normalized afterwards, but we keep the same steps so the result is the same.
 */
function deduplicateScalars(s: unknown[]): unknown[] {
  let length = s.length - 1;
  for (let i = 0; i < length; i++) {
    for (let j = i + 1; j <= length; j++) {
      if (s[i] === s[j]) {
        s[j] = s[length];
        s.length = length;
        length--;
        j--;
      }
    }
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Ordering
// ---------------------------------------------------------------------------------------------

type ElementKind = 'map' | 'slice' | 'string' | 'number' | 'bool' | 'null';

function kindOf(v: unknown): ElementKind {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'slice';
  if (typeof v === 'object') return 'map';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'bool';
  return 'string';
}

/** The one element kind of all the lists' elements; undefined when they are all empty. */
function sliceElementKind(...slices: unknown[][]): ElementKind | undefined {
  let prev: ElementKind | undefined;
  for (const s of slices) {
    for (const v of s) {
      const k = kindOf(v);
      if (prev === undefined) {
        prev = k;
        if (k === 'slice') throw errNoListOfLists();
      } else if (prev !== k) {
        throw patchErrors.server(`list element types are not identical: ${goFormat(slices)}`);
      }
    }
  }
  return prev;
}

/**
 * Sorts the patch items by the patch order and the server-only items by the live order, then
 * interleaves them: a server-only item goes before a patch item only when both are in the live
 * list and it came first there.
 */
function normalizeElementOrder(
  inPatch: unknown[],
  serverOnly: unknown[],
  patchOrder: unknown[],
  serverOrder: unknown[],
  mergeKey: string,
  kind: ElementKind,
): unknown[] {
  const sortedPatch = normalizeSliceOrder(inPatch, patchOrder, mergeKey, kind);
  const sortedServer = normalizeSliceOrder(serverOnly, serverOrder, mergeKey, kind);
  return mergeSortedSlice(sortedServer, sortedPatch, serverOrder, mergeKey, kind);
}

function mergeSortedSlice(left: unknown[], right: unknown[], serverOrder: unknown[], mergeKey: string, kind: ElementKind): unknown[] {
  const index = indexer(serverOrder, mergeKey, kind);
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = index(left[i]);
      const ri = index(right[j]);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

/** Sorts `toSort` by position in `order`; `$patch: delete` items go last. */
function normalizeSliceOrder(toSort: unknown[], order: unknown[], mergeKey: string, kind: ElementKind): unknown[] {
  let items = toSort;
  let toDelete: unknown[] = [];
  if (kind === 'map') {
    validateMergeKeyInLists(mergeKey, toSort, order);
    [items, toDelete] = extractToDeleteItems(toSort);
  }
  const index = indexer(order, mergeKey, kind);
  // Upstream's comparator says "less" whenever either item is missing from `order`, which is not a
  // consistent order. sort.SliceStable runs insertion sort on lists of up to 20 items, so we run
  // insertion sort too: identical there, and identical to any stable sort when all items are found.
  const sorted = items.slice();
  const less = (a: unknown, b: unknown) => {
    const ia = index(a);
    if (ia >= 0) {
      const ib = index(b);
      if (ib >= 0) return ia < ib;
    }
    return true;
  };
  for (let i = 1; i < sorted.length; i++) {
    for (let j = i; j > 0 && less(sorted[j], sorted[j - 1]); j--) {
      const t = sorted[j];
      sorted[j] = sorted[j - 1];
      sorted[j - 1] = t;
    }
  }
  return [...sorted, ...toDelete];
}

/** Position of an item in `list`: by merge key value for maps, by value otherwise; -1 if absent. */
function indexer(list: unknown[], mergeKey: string, kind: ElementKind): (item: unknown) => number {
  const valueOf = kind === 'map' ? (item: unknown) => (isMap(item) ? (getOwn(item, mergeKey) ?? null) : null) : (item: unknown) => item;
  const positions = new Map<unknown, number>();
  list.forEach((item, i) => {
    const v = valueOf(item);
    if (!positions.has(v)) positions.set(v, i);
  });
  return (item) => positions.get(valueOf(item)) ?? -1;
}

function validateMergeKeyInLists(mergeKey: string, ...lists: unknown[][]): void {
  for (const list of lists) {
    for (const item of list) {
      if (!isMap(item)) throw errBadArgType(MAP_TYPE, item);
      if (!hasOwn(item, mergeKey)) throw errNoMergeKey(item, mergeKey);
    }
  }
}

function extractToDeleteItems(list: unknown[]): [unknown[], unknown[]] {
  const keep: unknown[] = [];
  const toDelete: unknown[] = [];
  for (const v of list) {
    if (!isMap(v)) throw errBadArgType(MAP_TYPE, v);
    if (hasOwn(v, DIRECTIVE_MARKER) && v[DIRECTIVE_MARKER] === DELETE_DIRECTIVE) toDelete.push(v);
    else keep.push(v);
  }
  return [keep, toDelete];
}

function containsDirectiveMarker(item: unknown): boolean {
  return isMap(item) && hasOwn(item, DIRECTIVE_MARKER);
}

function mergeKeyValueEqual(left: unknown, right: unknown, mergeKey: string): boolean {
  if (!mergeKey) return left === right;
  if (!isMap(left)) throw errBadArgType(MAP_TYPE, left);
  if (!isMap(right)) throw errBadArgType(MAP_TYPE, right);
  if (!hasOwn(left, mergeKey)) throw errNoMergeKey(left, mergeKey);
  if (!hasOwn(right, mergeKey)) throw errNoMergeKey(right, mergeKey);
  return left[mergeKey] === right[mergeKey];
}

function partitionPrimitivesByPresentInList(list: unknown[], partitionBy: unknown[]): [unknown[], unknown[]] {
  const present = new Set(partitionBy);
  const inList: unknown[] = [];
  const others: unknown[] = [];
  for (const v of list) (present.has(v) ? inList : others).push(v);
  return [inList, others];
}

function partitionMapsByPresentInList(list: unknown[], partitionBy: unknown[], mergeKey: string): [unknown[], unknown[]] {
  const inList: unknown[] = [];
  const others: unknown[] = [];
  for (const v of list) {
    if (!isMap(v)) throw errBadArgType(MAP_TYPE, v);
    if (!hasOwn(v, mergeKey)) throw errNoMergeKey(v, mergeKey);
    (findMapInSliceBasedOnKeyValue(partitionBy, mergeKey, v[mergeKey]) >= 0 ? inList : others).push(v);
  }
  return [inList, others];
}

// ---------------------------------------------------------------------------------------------
// Values copied from the patch
// ---------------------------------------------------------------------------------------------

/** List items appended verbatim from the patch, to be cleaned once the whole patch is merged. */
const appendedFromPatch = new WeakSet<object>();

function cleanAppendedItems<T>(v: T): T {
  if (Array.isArray(v)) {
    for (const x of v) cleanAppendedItems(x);
  } else if (isMap(v)) {
    if (appendedFromPatch.has(v)) {
      appendedFromPatch.delete(v);
      // Upstream's typed decode drops what is not a field; a null merge key goes with the rest.
      return cleanForStorage(v);
    }
    for (const k of Object.keys(v)) cleanAppendedItems(v[k]);
  }
  return v;
}

/** A value for a key the original lacks (or holds with another type): without nulls and directives. */
function setFromPatch(original: JsonMap, k: string, patchV: unknown): void {
  const [v, keep] = removeDirectives(patchV);
  if (keep) setOwn(original, k, cleanForStorage(v));
  else delete original[k];
}

/** Upstream's removeDirectives: a map carrying `$patch` is dropped wherever it sits. */
function removeDirectives(v: unknown): [unknown, boolean] {
  if (isMap(v)) {
    if (hasOwn(v, DIRECTIVE_MARKER)) return [null, false];
    for (const k of Object.keys(v)) {
      const [nv, keep] = removeDirectives(v[k]);
      if (keep) setOwn(v, k, nv);
      else delete v[k];
    }
    return [v, true];
  }
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    for (const x of v) {
      const [nx, keep] = removeDirectives(x);
      if (keep) out.push(nx);
    }
    return [out, true];
  }
  return [v, true];
}

function isDirectiveKey(k: string): boolean {
  return (
    k === DIRECTIVE_MARKER ||
    k === RETAIN_KEYS_DIRECTIVE ||
    k.startsWith(SET_ELEMENT_ORDER_PREFIX) ||
    k.startsWith(DELETE_FROM_PRIMITIVE_LIST_PREFIX)
  );
}

/**
 * What upstream's typed decode leaves of a value taken verbatim from the patch: members that are
 * null or named like a directive are not fields, so they vanish. List elements are kept.
 */
function cleanForStorage<T>(v: T): T {
  if (isMap(v)) {
    for (const k of Object.keys(v)) {
      if (v[k] === null || isDirectiveKey(k)) delete v[k];
      else cleanForStorage(v[k]);
    }
  } else if (Array.isArray(v)) {
    for (const x of v) cleanForStorage(x);
  }
  return v;
}
