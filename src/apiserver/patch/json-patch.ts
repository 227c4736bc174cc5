/**
 * RFC 6902 JSON patch (application/json-patch+json) as kube-apiserver 1.30 applies it, which is
 * github.com/evanphx/json-patch v4.12.0 (Patch.Apply) behind the checks in apiserver's
 * handlers/patch.go (applyJSPatch). Where that library departs from the RFC we follow the library,
 * since that is what clients of a real cluster see:
 *  - negative array indices count from the end (SupportNegativeIndices defaults to true);
 *  - "replace" of a missing object member adds it (the library only checks arrays' bounds);
 *  - "copy" from a missing object member copies null;
 *  - a path's first segment is never read, so "a/b" means "/b"; "" is the whole document only for
 *    "replace" and "test" ("add" and "remove" there fail);
 *  - an absent "value" is null.
 * Errors: a body that does not decode as a list of operations is 400 BadRequest with Go's decoding
 * message; an operation that does not apply is 422 Invalid with upstream's generic message; more
 * than 10000 operations is 413.
 * Unlike upstream, an operation that would nest the document deeper than MAX_NESTING_DEPTH fails
 * (422 like any other): copies and moves into a subtree could otherwise double the depth each time,
 * past what the code that walks the result can recurse through.
 */
import { errors } from '../../api/errors.js';
import { MAX_NESTING_DEPTH, nestsDeeperThan } from '../nesting.js';
import { patchErrors } from './patch-errors.js';
import { cloneJson, getOwn, hasOwn, isMap, jsonEqual, jsonKindName, setOwn, type JsonMap } from './json-value.js';

export interface JsonPatchOperation {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

/** apiserver's maxJSONPatchOperations. */
export const MAX_JSON_PATCH_OPERATIONS = 10000;
/** apiserver's default JSONPatchMaxCopyBytes, fed to the library's AccumulatedCopySizeLimit. */
export const MAX_JSON_PATCH_COPY_BYTES = 3 * 1024 * 1024;

/** Applies `ops` to a copy of `doc`; `doc` and `ops` are left untouched. */
export function applyJsonPatch(doc: object, ops: unknown): object {
  const operations = decodeOperations(ops);
  if (operations.length > MAX_JSON_PATCH_OPERATIONS) {
    throw errors.tooLarge(
      `Request entity too large: The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${operations.length}`,
    );
  }
  const state: ApplyState = { root: cloneJson(doc) as Container, copiedBytes: 0 };
  for (const op of operations) {
    const failure = applyOperation(state, op);
    if (failure !== undefined) throw patchErrors.unprocessable(failure);
  }
  return state.root;
}

/**
 * The decoding upstream does before applying: with fieldValidation Warn (the default) or Strict it
 * decodes into []jsonPatchOp{op, path, from string; value any}, so a non-list body or a non-string
 * op/path/from is a 400 worded by Go's encoding/json.
 */
function decodeOperations(ops: unknown): (JsonMap | null)[] {
  if (ops === null || ops === undefined) return [];
  if (!Array.isArray(ops)) {
    throw errors.badRequest(`error decoding patch: json: cannot unmarshal ${jsonKindName(ops)} into Go value of type []handlers.jsonPatchOp`);
  }
  return ops.map((op) => {
    if (op === null) return null;
    if (!isMap(op)) {
      throw errors.badRequest(`error decoding patch: json: cannot unmarshal ${jsonKindName(op)} into Go value of type handlers.jsonPatchOp`);
    }
    for (const field of ['op', 'path', 'from']) {
      const v = getOwn(op, field);
      if (v !== undefined && v !== null && typeof v !== 'string') {
        throw errors.badRequest(
          `error decoding patch: json: cannot unmarshal ${jsonKindName(v)} into Go struct field jsonPatchOp.${field} of type string`,
        );
      }
    }
    return op;
  });
}

type Container = JsonMap | unknown[];

interface ApplyState {
  root: Container;
  copiedBytes: number;
}

/** Returns a failure message, or undefined when the operation applied. */
function applyOperation(state: ApplyState, op: JsonMap | null): string | undefined {
  const kind = op && typeof op.op === 'string' ? op.op : 'unknown';
  if (op === null) return `Unexpected kind: ${kind}`;
  switch (kind) {
    case 'add':
      return opAdd(state, op);
    case 'remove':
      return opRemove(state, op);
    case 'replace':
      return opReplace(state, op);
    case 'move':
      return opMove(state, op);
    case 'test':
      return opTest(state, op);
    case 'copy':
      return opCopy(state, op);
    default:
      return `Unexpected kind: ${kind}`;
  }
}

function stringField(op: JsonMap, field: 'path' | 'from'): string | undefined {
  const v = getOwn(op, field);
  return typeof v === 'string' ? v : undefined;
}

function valueOf(op: JsonMap): unknown {
  const v = getOwn(op, 'value');
  return v === undefined ? null : cloneJson(v);
}

function opAdd(state: ApplyState, op: JsonMap): string | undefined {
  const path = stringField(op, 'path');
  if (path === undefined) return 'add operation failed to decode path: missing value';
  const target = findContainer(state.root, path);
  if (!target) return `add operation does not apply: doc is missing path: "${path}": missing value`;
  const value = valueOf(op);
  if (tooDeepAt(target, value)) return `add operation does not apply: ${TOO_DEEP}`;
  const err = containerAdd(target.container, target.key, value);
  return err && `error in add for path: '${path}': ${err}`;
}

function opRemove(state: ApplyState, op: JsonMap): string | undefined {
  const path = stringField(op, 'path');
  if (path === undefined) return 'remove operation failed to decode path: missing value';
  const target = findContainer(state.root, path);
  if (!target) return `remove operation does not apply: doc is missing path: "${path}": missing value`;
  const err = containerRemove(target.container, target.key);
  return err && `error in remove for path: '${path}': ${err}`;
}

function opReplace(state: ApplyState, op: JsonMap): string | undefined {
  const path = stringField(op, 'path');
  if (path === undefined) return 'replace operation failed to decode path: missing value';
  if (path === '') {
    const v = valueOf(op);
    if (!isMap(v) && !Array.isArray(v)) return 'replace operation value must be object or array';
    if (nestsDeeperThan(v, MAX_NESTING_DEPTH)) return `replace operation does not apply: ${TOO_DEEP}`;
    state.root = v;
    return undefined;
  }
  const target = findContainer(state.root, path);
  if (!target) return `replace operation does not apply: doc is missing path: ${path}: missing value`;
  const got = containerGet(target.container, target.key);
  if (got.error) return `replace operation does not apply: doc is missing key: ${path}: missing value`;
  const value = valueOf(op);
  if (tooDeepAt(target, value)) return `replace operation does not apply: ${TOO_DEEP}`;
  const err = containerSet(target.container, target.key, value);
  return err && `error in remove for path: '${path}': ${err}`;
}

function opMove(state: ApplyState, op: JsonMap): string | undefined {
  const from = stringField(op, 'from');
  if (from === undefined) return 'move operation failed to decode from: operation, missing from field: missing value';
  const source = findContainer(state.root, from);
  if (!source) return `move operation does not apply: doc is missing from path: ${from}: missing value`;
  const got = containerGet(source.container, source.key);
  if (got.error) return `error in move for path: '${source.key}': ${got.error}`;
  const removeErr = containerRemove(source.container, source.key);
  if (removeErr) return `error in move for path: '${source.key}': ${removeErr}`;
  const path = stringField(op, 'path');
  if (path === undefined) return 'move operation failed to decode path: missing value';
  const target = findContainer(state.root, path);
  if (!target) return `move operation does not apply: doc is missing destination path: ${path}: missing value`;
  if (tooDeepAt(target, got.value)) return `move operation does not apply: ${TOO_DEEP}`;
  const err = containerAdd(target.container, target.key, got.value ?? null);
  return err && `error in move for path: '${path}': ${err}`;
}

function opTest(state: ApplyState, op: JsonMap): string | undefined {
  const path = stringField(op, 'path');
  if (path === undefined) return 'test operation failed to decode path: missing value';
  const expected = getOwn(op, 'value') ?? null;
  if (path === '') return jsonEqual(state.root, expected) ? undefined : `testing value ${path} failed: test failed`;
  const target = findContainer(state.root, path);
  if (!target) return `test operation does not apply: is missing path: ${path}: missing value`;
  const got = containerGet(target.container, target.key);
  if (got.error) return `error in test for path: '${path}': ${got.error}`;
  // The library reads a missing member and a JSON null alike, so testing either against null passes.
  const actual = got.value ?? null;
  if (actual === null || expected === null) return actual === expected ? undefined : `testing value ${path} failed: test failed`;
  return jsonEqual(actual, expected) ? undefined : `testing value ${path} failed: test failed`;
}

function opCopy(state: ApplyState, op: JsonMap): string | undefined {
  const from = stringField(op, 'from');
  if (from === undefined) return 'copy operation failed to decode from: operation, missing from field: missing value';
  const source = findContainer(state.root, from);
  if (!source) return `copy operation does not apply: doc is missing from path: ${from}: missing value`;
  const got = containerGet(source.container, source.key);
  if (got.error) return `error in copy for from: '${from}': ${got.error}`;
  const path = stringField(op, 'path');
  if (path === undefined) return 'copy operation failed to decode path: missing value';
  const target = findContainer(state.root, path);
  if (!target) return `copy operation does not apply: doc is missing destination path: ${path}: missing value`;
  // Checked before the copy: cloning a value too deep would itself run out of stack.
  if (tooDeepAt(target, got.value)) return `copy operation does not apply: ${TOO_DEEP}`;
  const value = got.value === undefined ? null : cloneJson(got.value);
  if (value !== null) {
    state.copiedBytes += Buffer.byteLength(JSON.stringify(value));
    if (state.copiedBytes > MAX_JSON_PATCH_COPY_BYTES) {
      return `Unable to complete the copy, the accumulated size increase of copy is ${state.copiedBytes}, exceeding the limit ${MAX_JSON_PATCH_COPY_BYTES}`;
    }
  }
  const err = containerAdd(target.container, target.key, value);
  return err && `error while adding value during copy: ${err}`;
}

const TOO_DEEP = `the result would be nested deeper than ${MAX_NESTING_DEPTH} levels`;

/** Whether `value`, put where `target` points, would nest the document deeper than the limit. */
function tooDeepAt(target: Target, value: unknown): boolean {
  return nestsDeeperThan(value, MAX_NESTING_DEPTH - target.levelsAbove);
}

/** RFC 6901 unescaping: "~1" before "~0", so "~01" stays "~1". */
function decodeToken(token: string): string {
  return token.replace(/~1|~0/g, (m) => (m === '~1' ? '/' : '~'));
}

interface Target {
  container: Container;
  key: string;
  /** How many levels of the document enclose the value at `key` (the root's own is one). */
  levelsAbove: number;
}

/**
 * The library's findObject: walks every segment but the first and the last, and returns the
 * container that holds the last one. Null, scalars and missing members end the walk.
 */
function findContainer(root: Container, path: string): Target | undefined {
  const split = path.split('/');
  if (split.length < 2) return undefined;
  let doc: Container = root;
  for (const part of split.slice(1, -1)) {
    const next = containerGet(doc, decodeToken(part));
    if (next.error || next.value === null || next.value === undefined) return undefined;
    if (Array.isArray(next.value) || isMap(next.value)) doc = next.value;
    else return undefined;
  }
  return { container: doc, key: decodeToken(split[split.length - 1]), levelsAbove: split.length - 1 };
}

/** Go's strconv.Atoi: optional sign, decimal digits, within int64. */
function atoi(key: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(key)) return undefined;
  const n = Number(key);
  return Math.abs(n) < 2 ** 63 ? n : undefined;
}

function invalidIndex(idx: number): string {
  return `Unable to access invalid index: ${idx}: invalid index referenced`;
}

function containerGet(c: Container, key: string): { value?: unknown; error?: string } {
  if (!Array.isArray(c)) return { value: getOwn(c, key) };
  let idx = atoi(key);
  if (idx === undefined) return { error: `strconv.Atoi: parsing "${key}": invalid syntax` };
  if (idx < 0) {
    if (idx < -c.length) return { error: invalidIndex(idx) };
    idx += c.length;
  }
  if (idx >= c.length) return { error: invalidIndex(idx) };
  return { value: c[idx] };
}

function containerSet(c: Container, key: string, value: unknown): string | undefined {
  if (!Array.isArray(c)) {
    setOwn(c, key, value);
    return undefined;
  }
  let idx = atoi(key);
  if (idx === undefined) return `strconv.Atoi: parsing "${key}": invalid syntax`;
  if (idx < 0) {
    if (idx < -c.length) return invalidIndex(idx);
    idx += c.length;
  }
  c[idx] = value;
  return undefined;
}

function containerAdd(c: Container, key: string, value: unknown): string | undefined {
  if (!Array.isArray(c)) {
    setOwn(c, key, value);
    return undefined;
  }
  if (key === '-') {
    c.push(value);
    return undefined;
  }
  let idx = atoi(key);
  if (idx === undefined) return `value was not a proper array index: '${key}': strconv.Atoi: parsing "${key}": invalid syntax`;
  const size = c.length + 1;
  if (idx >= size) return invalidIndex(idx);
  if (idx < 0) {
    if (idx < -size) return invalidIndex(idx);
    idx += size;
  }
  c.splice(idx, 0, value);
  return undefined;
}

function containerRemove(c: Container, key: string): string | undefined {
  if (!Array.isArray(c)) {
    if (!hasOwn(c, key)) return `Unable to remove nonexistent key: ${key}: missing value`;
    delete c[key];
    return undefined;
  }
  let idx = atoi(key);
  if (idx === undefined) return `strconv.Atoi: parsing "${key}": invalid syntax`;
  if (idx >= c.length) return invalidIndex(idx);
  if (idx < 0) {
    if (idx < -c.length) return invalidIndex(idx);
    idx += c.length;
  }
  c.splice(idx, 1);
  return undefined;
}
