/**
 * Sets of field paths, held in the very shape of upstream's FieldsV1 JSON: an object whose keys are
 * path elements (`f:<name>`, `k:<json object>`, `v:<json value>`, `i:<index>`) and whose values are
 * the sets below them, with `.` marking that the element itself is a member. A leaf member is `{}`.
 *
 * Keeping the wire shape as the in-memory shape means a managedFields entry nobody touches is never
 * parsed or re-serialized; only the sets an operation changes are rebuilt. Sets are immutable once
 * built: operations share unchanged subtrees between their inputs and outputs.
 */

export type Fields = { [element: string]: Fields };

export const SELF = '.';

/** Whether the element a node hangs under is itself a member of the set. */
export function isMember(node: Fields | undefined): boolean {
  if (node === undefined) return false;
  for (const k in node) return k === SELF || SELF in node;
  return true;
}

function hasChildren(node: Fields): boolean {
  for (const k in node) if (k !== SELF) return true;
  return false;
}

export function isEmpty(set: Fields | undefined): boolean {
  if (set === undefined) return true;
  for (const _ in set) return false;
  return true;
}

/** A node from its membership and children, keys in upstream's order; undefined when it would be empty. */
function node(member: boolean, children: [string, Fields][]): Fields | undefined {
  if (children.length === 0) return member ? {} : undefined;
  children.sort((a, b) => compareElements(a[0], b[0]));
  const out: Fields = {};
  if (member) out[SELF] = {};
  for (const [k, v] of children) out[k] = v;
  return out;
}

/** The members and subsets of both sets. A root set is never a member itself. */
export function union(a: Fields | undefined, b: Fields | undefined): Fields {
  return unionNode(a, b, false) ?? {};
}

function unionNode(a: Fields | undefined, b: Fields | undefined, withSelf: boolean): Fields | undefined {
  if (a === undefined || isEmptyNonMember(a, withSelf)) return b;
  if (b === undefined || isEmptyNonMember(b, withSelf)) return a;
  const children: [string, Fields][] = [];
  for (const k in a) {
    if (k === SELF) continue;
    const u = b[k] === undefined ? a[k] : unionNode(a[k], b[k], true);
    if (u !== undefined) children.push([k, u]);
  }
  for (const k in b) if (k !== SELF && a[k] === undefined) children.push([k, b[k]]);
  return node(withSelf && (isMember(a) || isMember(b)), children);
}

function isEmptyNonMember(n: Fields, withSelf: boolean): boolean {
  return !withSelf && isEmpty(n);
}

/** What `a` holds that `b` does not: members removed one by one, never whole subtrees (upstream's Difference). */
export function difference(a: Fields | undefined, b: Fields | undefined): Fields {
  if (a === undefined) return {};
  return differenceNode(a, b, false) ?? {};
}

function differenceNode(a: Fields, b: Fields | undefined, withSelf: boolean): Fields | undefined {
  if (b === undefined || (!withSelf && isEmpty(b))) return withSelf || !isEmpty(a) ? a : undefined;
  const children: [string, Fields][] = [];
  let changed = withSelf && isMember(a) && isMember(b);
  for (const k in a) {
    if (k === SELF) continue;
    const d = b[k] === undefined ? a[k] : differenceNode(a[k], b[k], true);
    if (d !== a[k]) changed = true;
    if (d !== undefined) children.push([k, d]);
  }
  if (!changed) return withSelf || !isEmpty(a) ? a : undefined;
  return node(withSelf && isMember(a) && !isMember(b), children);
}

/** What both sets hold. */
export function intersection(a: Fields | undefined, b: Fields | undefined): Fields {
  if (a === undefined || b === undefined) return {};
  return intersectionNode(a, b, false) ?? {};
}

function intersectionNode(a: Fields, b: Fields, withSelf: boolean): Fields | undefined {
  const children: [string, Fields][] = [];
  // Walk the smaller side: change sets are small, owners' sets large.
  const [small, large] = Object.keys(a).length <= Object.keys(b).length ? [a, b] : [b, a];
  for (const k in small) {
    if (k === SELF || large[k] === undefined) continue;
    const i = intersectionNode(small[k], large[k], true);
    if (i !== undefined) children.push([k, i]);
  }
  return node(withSelf && isMember(a) && isMember(b), children);
}

/** Whether the path (a list of elements) is a member. */
export function has(set: Fields | undefined, path: readonly string[]): boolean {
  let n = set;
  for (const pe of path) {
    n = n?.[pe];
    if (n === undefined) return false;
  }
  return path.length > 0 && isMember(n);
}

/** Every member path, in upstream's Set.Iterate order: a level's members, then each child's. */
export function memberPaths(set: Fields | undefined, prefix: string[] = [], out: string[][] = []): string[][] {
  if (set === undefined) return out;
  const keys = Object.keys(set).filter((k) => k !== SELF);
  for (const k of keys) if (isMember(set[k])) out.push([...prefix, k]);
  for (const k of keys) if (hasChildren(set[k])) memberPaths(set[k], [...prefix, k], out);
  return out;
}

/**
 * A mutable set under construction (compare, toFieldSet). `build()` gives the immutable, ordered
 * set. Paths are added by element arrays the walkers keep as they descend.
 */
export class FieldSetBuilder {
  private readonly root: MutableNode = { member: false, children: new Map() };

  insert(path: readonly string[]): void {
    if (path.length === 0) return;
    let n = this.root;
    for (const pe of path) {
      let c = n.children.get(pe);
      if (!c) {
        c = { member: false, children: new Map() };
        n.children.set(pe, c);
      }
      n = c;
    }
    n.member = true;
  }

  get empty(): boolean {
    return this.root.children.size === 0;
  }

  build(): Fields {
    return freezeNode(this.root, false) ?? {};
  }
}

interface MutableNode {
  member: boolean;
  children: Map<string, MutableNode>;
}

function freezeNode(n: MutableNode, withSelf: boolean): Fields | undefined {
  const children: [string, Fields][] = [];
  for (const [k, c] of n.children) {
    const f = freezeNode(c, true);
    if (f !== undefined) children.push([k, f]);
  }
  return node(withSelf && n.member, children);
}

/** Puts a set from a client into upstream's order (and checks its shape): JSON objects all the way down. */
export function canonicalize(raw: unknown): Fields {
  return canonicalNode(raw, false) ?? {};
}

function canonicalNode(raw: unknown, withSelf: boolean): Fields | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('FieldsV1 must be an object of objects');
  const r = raw as Record<string, unknown>;
  const children: [string, Fields][] = [];
  let member = false;
  for (const k of Object.keys(r)) {
    if (k === SELF) {
      member = true;
      continue;
    }
    checkElement(k);
    const c = canonicalNode(r[k], true);
    if (c !== undefined) children.push([k, c]);
  }
  if (Object.keys(r).length === 0) member = true;
  return node(withSelf && member, children);
}

// ---- path elements ------------------------------------------------------------------------------

export const fieldElement = (name: string): string => 'f:' + name;
export const indexElement = (i: number): string => 'i:' + i;
export const valueElement = (v: unknown): string => 'v:' + JSON.stringify(v);
/** `k:{...}` with the key fields in name order, as upstream sorts them. */
export function keyElement(fields: [string, unknown][]): string {
  fields.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let s = 'k:{';
  for (let i = 0; i < fields.length; i++) s += (i ? ',' : '') + JSON.stringify(fields[i][0]) + ':' + JSON.stringify(fields[i][1]);
  return s + '}';
}

function checkElement(k: string): void {
  const kind = k.slice(0, 2);
  if (kind === 'f:') return;
  try {
    if (kind === 'k:') {
      const v = JSON.parse(k.slice(2)) as unknown;
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) return;
    } else if (kind === 'v:') {
      JSON.parse(k.slice(2));
      return;
    } else if (kind === 'i:' && /^\d+$/.test(k.slice(2))) return;
  } catch {
    // fall through to the error below
  }
  throw new Error(`invalid path element ${JSON.stringify(k)}`);
}

const RANK: Record<string, number> = { 'f:': 0, 'k:': 1, 'v:': 2, 'i:': 3 };

/** Upstream's PathElement.Compare on serialized elements: field names, then keys, values, indices. */
export function compareElements(a: string, b: string): number {
  const ra = RANK[a.slice(0, 2)] ?? 4;
  const rb = RANK[b.slice(0, 2)] ?? 4;
  if (ra !== rb) return ra - rb;
  if (ra === 0) return byteCompare(a, b);
  if (ra === 3) return Number(a.slice(2)) - Number(b.slice(2));
  if (a === b) return 0;
  const va = JSON.parse(a.slice(2)) as unknown;
  const vb = JSON.parse(b.slice(2)) as unknown;
  return ra === 1 ? compareFieldLists(va as Record<string, unknown>, vb as Record<string, unknown>) : compareValues(va, vb);
}

function byteCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareFieldLists(a: Record<string, unknown>, b: Record<string, unknown>): number {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  for (let i = 0; ; i++) {
    if (i >= ka.length && i >= kb.length) return 0;
    if (i >= ka.length) return -1;
    if (i >= kb.length) return 1;
    const c = byteCompare(ka[i], kb[i]) || compareValues(a[ka[i]], b[kb[i]]);
    if (c !== 0) return c;
  }
}

function valueRank(v: unknown): number {
  if (typeof v === 'number') return 0;
  if (typeof v === 'string') return 1;
  if (typeof v === 'boolean') return 2;
  if (Array.isArray(v)) return 3;
  if (v !== null && typeof v === 'object') return 4;
  return 5; // null sorts last, as upstream's value.Compare has it
}

/** Upstream's value.Compare: numbers, strings, booleans, lists, maps, null. */
export function compareValues(a: unknown, b: unknown): number {
  const ra = valueRank(a);
  const rb = valueRank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 0:
      return (a as number) - (b as number);
    case 1:
      return byteCompare(a as string, b as string);
    case 2:
      return a === b ? 0 : a ? 1 : -1;
    case 3: {
      const la = a as unknown[];
      const lb = b as unknown[];
      for (let i = 0; i < Math.min(la.length, lb.length); i++) {
        const c = compareValues(la[i], lb[i]);
        if (c !== 0) return c;
      }
      return la.length - lb.length;
    }
    case 4:
      return compareFieldLists(a as Record<string, unknown>, b as Record<string, unknown>);
    default:
      return 0;
  }
}

/** A path as upstream prints it in conflicts: `.spec.containers[name="nginx"].image`. */
export function pathString(path: readonly string[]): string {
  let s = '';
  for (const pe of path) {
    const kind = pe.slice(0, 2);
    const rest = pe.slice(2);
    if (kind === 'f:') s += '.' + rest;
    else if (kind === 'i:') s += `[${rest}]`;
    else if (kind === 'v:') s += `[=${valueString(JSON.parse(rest))}]`;
    else if (kind === 'k:') {
      const key = JSON.parse(rest) as Record<string, unknown>;
      s += '[' + Object.keys(key).sort().map((k) => `${k}=${valueString(key[k])}`).join(',') + ']';
    } else s += '{{invalid path element}}';
  }
  return s;
}

/** Upstream's value.ToString: Go's %q for strings, %v for the rest. */
function valueString(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return '[' + v.map(valueString).join(',') + ']';
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return '{' + Object.keys(o).sort().map((k) => `${k}=${valueString(o[k])}`).join(',') + '}';
  }
  return String(v);
}
