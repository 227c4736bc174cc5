/**
 * Walks over objects with their types, as structured-merge-diff's typed values do: the fields an
 * object sets (toFieldSet), what changed between two versions (compare), an applied configuration
 * merged into a live object (merge), and the removal of what an applier stopped applying (prune).
 */
import { deepEqual } from '../objects.js';
import { FieldSetBuilder, SELF, fieldElement, isMember, keyElement, valueElement, type Fields } from './field-set.js';
import { fieldType, resolveType, type ListType, type MapType, type TypeNode } from './schema-types.js';

/** A value that cannot be typed (a keyed list item without its key, duplicates in a set…): upstream's ValidationError. */
export class TypedError extends Error {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
  }
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function emptyish(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isObj(v)) {
    for (const _ in v) return false;
    return true;
  }
  return false;
}

function printable(path: readonly string[]): string {
  return path.map((p) => (p.startsWith('f:') ? '.' + p.slice(2) : `[${p.slice(2)}]`)).join('');
}

/** The path element of a list item: `k:{...}` for map lists, `v:<value>` for sets. */
export function itemElement(t: ListType, item: unknown, path: readonly string[]): string {
  if (t.relationship === 'map') {
    if (item === null) throw new TypedError(printable(path), 'associative list with keys may not have a null element');
    if (!isObj(item)) throw new TypedError(printable(path), 'associative list with keys may not have non-map elements');
    const key: [string, unknown][] = [];
    for (const k of t.keys) {
      if (item[k] !== undefined) key.push([k, item[k]]);
      else if (t.keyDefaults[k] !== undefined) key.push([k, t.keyDefaults[k]]);
    }
    if (t.keys.length > 0 && key.length === 0) {
      throw new TypedError(
        printable(path),
        `associative list with keys has an element that omits all key fields ${JSON.stringify(t.keys)} (and doesn't have default values for any key fields)`,
      );
    }
    return keyElement(key);
  }
  if (isObj(item)) throw new TypedError(printable(path), "associative list without keys has an element that's a map type");
  if (Array.isArray(item)) throw new TypedError(printable(path), 'not supported: associative list with lists as elements');
  if (item === null) throw new TypedError(printable(path), "associative list without keys has an element that's an explicit null");
  return valueElement(item);
}

// ---- toFieldSet ---------------------------------------------------------------------------------

/** Every field the object sets: leaves, atomic lists and maps, and the items of keyed lists and sets. */
export function toFieldSet(obj: unknown, t: TypeNode): Fields {
  const b = new FieldSetBuilder();
  collect(obj, t, [], b);
  return b.build();
}

function collect(v: unknown, t: TypeNode, path: string[], b: FieldSetBuilder): void {
  const rt = resolveType(t, v);
  if (rt.kind === 'scalar' || (rt.kind === 'map' && rt.atomic) || (rt.kind === 'list' && rt.relationship === 'atomic')) {
    b.insert(path);
    return;
  }
  if (rt.kind === 'map') {
    if (!isObj(v)) return;
    for (const k in v) {
      path.push(fieldElement(k));
      collect(v[k], fieldType(rt, k), path, b);
      path.pop();
    }
    return;
  }
  if (!Array.isArray(v)) return;
  const seen = new Set<string>();
  for (const item of v) {
    const pe = itemElement(rt, item, path);
    if (seen.has(pe)) throw new TypedError(printable(path), `duplicate entries for key ${pe.slice(2)}`);
    seen.add(pe);
    path.push(pe);
    collect(item, rt.elem, path, b);
    b.insert(path);
    path.pop();
  }
}

// ---- compare ------------------------------------------------------------------------------------

export interface Comparison {
  added: Fields;
  modified: Fields;
  removed: Fields;
}

interface Collector {
  added: FieldSetBuilder;
  modified: FieldSetBuilder;
  removed: FieldSetBuilder;
}

/** What changed from `lhs` to `rhs`, as upstream's TypedValue.Compare. */
export function compare(lhs: unknown, rhs: unknown, t: TypeNode): Comparison {
  const c: Collector = { added: new FieldSetBuilder(), modified: new FieldSetBuilder(), removed: new FieldSetBuilder() };
  compareValue(lhs, rhs, t, [], c);
  return { added: c.added.build(), modified: c.modified.build(), removed: c.removed.build() };
}

function compareValue(l: unknown, r: unknown, t: TypeNode, path: string[], c: Collector): void {
  if (l === undefined && r === undefined) return;
  if (l === r && (l === null || typeof l !== 'object')) return;
  const rt = resolveType(t, r === undefined || r === null ? l : r);
  const leaf =
    rt.kind === 'scalar' ||
    (rt.kind === 'map' && (rt.atomic || !(isObj(l) || l == null) || !(isObj(r) || r == null))) ||
    (rt.kind === 'list' && (rt.relationship === 'atomic' || !(Array.isArray(l) || l == null) || !(Array.isArray(r) || r == null))) ||
    (emptyish(l) && emptyish(r));
  if (leaf) {
    if (l === undefined) c.added.insert(path);
    else if (r === undefined) c.removed.insert(path);
    else if (!deepEqual(l, r)) c.modified.insert(path);
    return;
  }
  if (rt.kind === 'map') {
    const lo = (l ?? {}) as Obj;
    const ro = (r ?? {}) as Obj;
    for (const k in lo) {
      path.push(fieldElement(k));
      compareValue(lo[k], ro[k], fieldType(rt, k), path, c);
      path.pop();
    }
    for (const k in ro) {
      if (k in lo) continue;
      path.push(fieldElement(k));
      compareValue(undefined, ro[k], fieldType(rt, k), path, c);
      path.pop();
    }
  } else if (rt.kind === 'list') {
    compareItems((l ?? []) as unknown[], (r ?? []) as unknown[], rt, path, c);
  }
  if (l === undefined) c.added.insert(path);
  else if (r === undefined) c.removed.insert(path);
}

function compareItems(l: unknown[], r: unknown[], t: ListType, path: string[], c: Collector): void {
  const order: string[] = [];
  const left = new Map<string, unknown[]>();
  const right = new Map<string, unknown[]>();
  for (const item of l) {
    const pe = itemElement(t, item, path);
    const seen = left.get(pe);
    if (seen) seen.push(item);
    else {
      left.set(pe, [item]);
      order.push(pe);
    }
  }
  for (const item of r) {
    const pe = itemElement(t, item, path);
    const seen = right.get(pe);
    if (seen) seen.push(item);
    else {
      right.set(pe, [item]);
      if (!left.has(pe)) order.push(pe);
    }
  }
  for (const pe of order) {
    const ll = left.get(pe) ?? [];
    const rl = right.get(pe) ?? [];
    path.push(pe);
    if (ll.length <= 1 && rl.length <= 1) {
      compareValue(ll[0], rl[0], t.elem, path, c);
    } else if (ll.length >= 2 && rl.length >= 2) {
      if (!deepEqual(ll, rl)) c.modified.insert(path);
    } else if (ll.length >= 2) {
      if (rl.length) compareValue(undefined, rl[0], t.elem, path, c);
      c.removed.insert(path);
    } else {
      if (ll.length) compareValue(ll[0], undefined, t.elem, path, c);
      c.added.insert(path);
    }
    path.pop();
  }
}

// ---- merge --------------------------------------------------------------------------------------

/** The applied configuration `rhs` merged into the live object `lhs` (upstream's Merge, keeping rhs). */
export function merge(lhs: unknown, rhs: unknown, t: TypeNode, path: string[] = []): unknown {
  if (rhs === undefined) return lhs;
  if (lhs === undefined || lhs === null) return rhs;
  const rt = resolveType(t, rhs === null ? lhs : rhs);
  if (rt.kind === 'scalar') return rhs;
  if (rt.kind === 'map') {
    if (rt.atomic || !isObj(lhs) || (!isObj(rhs) && rhs !== null) || (emptyish(lhs) && emptyish(rhs))) return rhs;
    if (rhs === null) return lhs;
    const out: Obj = {};
    for (const k in lhs) {
      path.push(fieldElement(k));
      const m = merge(lhs[k], rhs[k], fieldType(rt, k), path);
      path.pop();
      if (m !== undefined) out[k] = m;
    }
    for (const k in rhs) {
      if (k in lhs) continue;
      out[k] = rhs[k];
    }
    return out;
  }
  if (rt.relationship === 'atomic' || !Array.isArray(lhs) || (!Array.isArray(rhs) && rhs !== null) || (emptyish(lhs) && emptyish(rhs))) return rhs;
  if (rhs === null) return lhs;
  return mergeItems(lhs, rhs, rt, path);
}

/**
 * Keyed lists and sets merge item by item. The result keeps the applied items in the applied order,
 * with live items the configuration does not mention staying where they were relative to them.
 */
function mergeItems(lhs: unknown[], rhs: unknown[], t: ListType, path: string[]): unknown[] {
  const lpe = lhs.map((item) => itemElement(t, item, path));
  const rpe = rhs.map((item) => itemElement(t, item, path));
  const lval = new Map<string, unknown>();
  for (let i = 0; i < lhs.length; i++) lval.set(lpe[i], lval.has(lpe[i]) ? null : lhs[i]);
  const rval = new Map<string, unknown>();
  for (let i = 0; i < rhs.length; i++) {
    if (rval.has(rpe[i])) throw new TypedError(printable(path), `duplicate entries for key ${rpe[i].slice(2)}`);
    rval.set(rpe[i], rhs[i]);
  }
  const shared = rpe.filter((pe) => lval.has(pe));
  let sharedAt = 0;
  let nextShared: string | undefined = shared[sharedAt++];
  const merged = new Set<string>();
  const out: unknown[] = [];
  const mergeOne = (pe: string, l: unknown, r: unknown) => {
    path.push(pe);
    const m = merge(l, r, t.elem, path);
    path.pop();
    if (m !== undefined) out.push(m);
  };
  for (let li = 0, ri = 0; li < lpe.length || ri < rpe.length; ) {
    if (li < lpe.length && ri < rpe.length) {
      const pe = lpe[li];
      if (pe === rpe[ri]) {
        merged.add(pe);
        mergeOne(pe, lval.get(pe), rval.get(pe));
        li++;
        ri++;
        nextShared = shared[sharedAt++];
        continue;
      }
      if (rval.has(pe) && nextShared !== undefined && nextShared !== pe) {
        li++;
        continue;
      }
    }
    if (li < lpe.length) {
      const pe = lpe[li];
      if (!rval.has(pe)) {
        mergeOne(pe, lhs[li], undefined);
        li++;
        continue;
      } else if (merged.has(pe)) li++;
    }
    if (ri < rpe.length) {
      const pe = rpe[ri];
      merged.add(pe);
      mergeOne(pe, lval.get(pe), rval.get(pe));
      ri++;
      if (nextShared === pe) nextShared = shared[sharedAt++];
    }
  }
  return out;
}

// ---- prune --------------------------------------------------------------------------------------

/**
 * Removes from `merged` what the applier applied last time (`last`) and nobody manages any more
 * (`managed`: every manager's set, the applier's new one included). Struct fields count as managed
 * when anything under them is, as upstream's EnsureNamedFieldsAreMembers has it; removing an item
 * removes all of it.
 */
export function prune(merged: unknown, t: TypeNode, last: Fields, managed: Fields | undefined): unknown {
  const rt = resolveType(t, merged);
  if (rt.kind === 'map' && !rt.atomic && isObj(merged)) return pruneMap(merged, rt, last, managed);
  if (rt.kind === 'list' && rt.relationship !== 'atomic' && Array.isArray(merged)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < merged.length; i++) {
      const item = merged[i];
      const pe = itemElement(rt, item, []);
      const lc = last[pe];
      let next: unknown = item;
      if (lc !== undefined) {
        const mc = managed?.[pe];
        if (isMember(lc) && !isMember(mc)) next = undefined;
        else if (hasChildren(lc)) next = prune(item, rt.elem, lc, mc);
      }
      if (next !== item && !out) out = merged.slice(0, i);
      if (out && next !== undefined) out.push(next);
    }
    return out ?? merged;
  }
  return merged;
}

function pruneMap(v: Obj, t: MapType, last: Fields, managed: Fields | undefined): Obj {
  let out: Obj | undefined;
  for (const k in v) {
    const pe = fieldElement(k);
    const lc = last[pe];
    if (lc === undefined) continue;
    const named = t.fields.has(k);
    const mc = managed?.[pe];
    const inManaged = mc !== undefined && (named || isMember(mc));
    if ((named || isMember(lc)) && !inManaged) {
      out ??= { ...v };
      delete out[k];
    } else if (hasChildren(lc)) {
      const p = prune(v[k], fieldType(t, k), lc, mc);
      if (p !== v[k]) {
        out ??= { ...v };
        out[k] = p;
      }
    }
  }
  return out ?? v;
}

function hasChildren(n: Fields): boolean {
  for (const k in n) if (k !== SELF) return true;
  return false;
}
