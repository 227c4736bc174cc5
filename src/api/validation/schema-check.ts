/**
 * Decoding checks for built-in kinds, done the way upstream's JSON decoder (sigs.k8s.io/json on
 * the Go types) does them, driven by the OpenAPI v3 definitions instead of Go structs:
 *
 * - type mismatches and integer overflow, reported in Go's words
 *   (`json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container`);
 * - Quantity, IntOrString, Time/MicroTime and []byte (base64) values, with their decoders' errors;
 * - unknown fields, as dotted paths (`spec.containers[0].bogus`), dropped from the object since the
 *   decoder never keeps them;
 * - the normalizations a decode/encode round trip implies: quantities and timestamps re-printed in
 *   canonical form, JSON nulls removed (Go leaves the zero value, which marshals as absent), and
 *   empty lists and maps removed from optional fields (omitempty drops them on the way out).
 *
 * Each definition is compiled once into a small tree of nodes (cached per definitions object),
 * so a check is a single walk over the object with a Map lookup per field.
 */
import { parseGoTime } from './go-time.js';
import { canonicalQuantity, ERR_FORMAT_WRONG } from './quantity.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface SchemaCheckOptions {
  fieldValidation: FieldValidation;
}

export interface SchemaCheckResult {
  /**
   * The decoding error, if any: at most one entry, the one upstream's decoder reports (it keeps
   * only the first type error, and an error from a type's own decoder, like a bad quantity, wins).
   * Upstream answers 400 BadRequest: `<Kind> in version "<v>" cannot be handled as a <Kind>: <error>`.
   */
  typeErrors: string[];
  /** Paths of unknown fields (at most 100, as upstream), in document order. Empty with fieldValidation=Ignore. */
  unknownFields: string[];
  /** The checked object itself, modified in place: unknown fields and nulls removed, values canonical. */
  pruned: object;
}

/** OpenAPI v3 `components.schemas`, keyed by definition name. */
export type SchemaDefs = Record<string, any>;

/** The 400 message for fieldValidation=Strict (upstream's "strict decoding error: ..."). */
export function strictDecodingMessage(unknownFields: string[]): string {
  return `strict decoding error: ${unknownFields.map((f) => `unknown field "${f}"`).join(', ')}`;
}

/** The Warning header texts for fieldValidation=Warn. */
export function unknownFieldWarnings(unknownFields: string[]): string[] {
  return unknownFields.map((f) => `unknown field "${f}"`);
}

const enum K {
  Any,
  Obj,
  Map,
  Arr,
  Str,
  Bool,
  Int32,
  Int64,
  Float,
  Bytes,
  Time,
  MicroTime,
  Quantity,
  IntOrStr,
}

interface Node {
  k: K;
  /** The Go type named in decoder errors, e.g. "[]v1.Container", "map[string]string", "int32". */
  goType: string;
  /** For struct nodes: the Go struct name used as the error context ("PodSpec"). */
  struct: string;
  props: Map<string, Node> | undefined;
  /** Struct fields whose empty list or map is kept: the required ones (Go fields without omitempty). */
  keepEmpty: Set<string> | undefined;
  elem: Node | undefined;
}

const MAX_UNKNOWN = 100;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
/** 2^63 as a double; anything at or beyond it overflows int64 (2^63-1 rounds up to it, and Go accepts that literal). */
const INT64_LIMIT = 9223372036854775808;

function node(k: K, goType: string, struct = ''): Node {
  return { k, goType, struct, props: undefined, keepEmpty: undefined, elem: undefined };
}

const ANY = node(K.Any, 'interface {}');

// ---- compilation ----

class Compiler {
  readonly byName = new Map<string, Node>();
  constructor(readonly defs: SchemaDefs) {}

  def(name: string): Node {
    const cached = this.byName.get(name);
    if (cached) return cached;
    const special = specialDefinition(name);
    if (special) {
      this.byName.set(name, special);
      return special;
    }
    const schema = this.defs[name];
    if (!schema || typeof schema !== 'object') return ANY;
    // Register before compiling children so recursive definitions (JSONSchemaProps) close the loop.
    const n = node(K.Any, goTypeName(name), name.slice(name.lastIndexOf('.') + 1));
    this.byName.set(name, n);
    const compiled = this.schema(schema, name);
    n.k = compiled.k;
    n.props = compiled.props;
    n.keepEmpty = compiled.keepEmpty;
    n.elem = compiled.elem;
    if (compiled.k !== K.Obj) n.goType = compiled.goType;
    return n;
  }

  schema(s: any, defName?: string): Node {
    if (!s || typeof s !== 'object') return ANY;
    const ref = refOf(s);
    if (ref) return this.def(ref);
    if (s['x-kubernetes-int-or-string'] === true || s.format === 'int-or-string') return node(K.IntOrStr, 'intstr.IntOrString');
    if (s.format === 'quantity') return node(K.Quantity, 'resource.Quantity');
    const type = Array.isArray(s.type) ? undefined : s.type;
    switch (type) {
      case 'object': {
        if (s.properties && typeof s.properties === 'object') {
          if (s['x-kubernetes-preserve-unknown-fields'] === true) return ANY;
          const struct = defName ? defName.slice(defName.lastIndexOf('.') + 1) : '';
          const n = node(K.Obj, defName ? goTypeName(defName) : 'struct {}', struct);
          n.props = new Map();
          for (const [k, v] of Object.entries(s.properties)) n.props.set(k, this.schema(v));
          n.keepEmpty = new Set(Array.isArray(s.required) ? s.required : []);
          for (const k of NOT_OMITEMPTY[defName ?? ''] ?? []) n.keepEmpty.add(k);
          return n;
        }
        if (s.additionalProperties && typeof s.additionalProperties === 'object') {
          const elem = this.schema(s.additionalProperties);
          const n = node(K.Map, `map[string]${elem.goType}`);
          n.elem = elem;
          return n;
        }
        if (s.additionalProperties === true) {
          const n = node(K.Map, 'map[string]interface {}');
          n.elem = ANY;
          return n;
        }
        return ANY;
      }
      case 'array': {
        const elem = this.schema(s.items);
        const n = node(K.Arr, `[]${elem.goType}`);
        n.elem = elem;
        return n;
      }
      case 'string':
        if (s.format === 'byte') return node(K.Bytes, '[]uint8');
        if (s.format === 'date-time') return node(K.Time, 'v1.Time');
        return node(K.Str, 'string');
      case 'integer':
        if (s.format === 'int32') return node(K.Int32, 'int32');
        return node(K.Int64, s.format === 'int64' ? 'int64' : 'int');
      case 'number':
        return node(K.Float, 'float64');
      case 'boolean':
        return node(K.Bool, 'bool');
      default:
        return ANY;
    }
  }
}

/** Optional fields that Go still marshals when empty (no omitempty), so an empty value is kept. */
const NOT_OMITEMPTY: Record<string, string[]> = {
  'io.k8s.api.rbac.v1.Role': ['rules'],
  'io.k8s.api.rbac.v1.ClusterRole': ['rules'],
};

function refOf(s: any): string | undefined {
  let r: unknown = s.$ref;
  if (typeof r !== 'string' && Array.isArray(s.allOf) && s.allOf.length === 1) r = s.allOf[0]?.$ref;
  if (typeof r !== 'string') return undefined;
  return r.slice(r.lastIndexOf('/') + 1);
}

/** Types whose Go decoders are hand-written, recognized by definition name. */
function specialDefinition(name: string): Node | undefined {
  if (name.endsWith('.apis.meta.v1.Time')) return node(K.Time, 'v1.Time');
  if (name.endsWith('.apis.meta.v1.MicroTime')) return node(K.MicroTime, 'v1.MicroTime');
  if (name.endsWith('.api.resource.Quantity')) return node(K.Quantity, 'resource.Quantity');
  if (name.endsWith('.util.intstr.IntOrString')) return node(K.IntOrStr, 'intstr.IntOrString');
  // Raw JSON holders: anything goes.
  if (name.endsWith('.apis.meta.v1.FieldsV1') || name.endsWith('.pkg.runtime.RawExtension') || name.endsWith('.apiextensions.v1.JSON')) return ANY;
  return undefined;
}

/** "io.k8s.api.core.v1.PodSpec" → "v1.PodSpec" (Go's package-qualified type name). */
function goTypeName(defName: string): string {
  const parts = defName.split('.');
  return parts.length >= 2 ? `${parts[parts.length - 2]}.${parts[parts.length - 1]}` : defName;
}

const compilers = new WeakMap<object, Compiler>();
const roots = new WeakMap<object, Node>();

function compileRoot(rootSchema: object, defs: SchemaDefs): Node {
  let n = roots.get(rootSchema);
  if (n) return n;
  let c = compilers.get(defs);
  if (!c) {
    c = new Compiler(defs);
    compilers.set(defs, c);
  }
  // Name the root after its definition so errors say "Go struct field Pod.spec ...".
  let rootName: string | undefined;
  for (const [name, s] of Object.entries(defs)) {
    if (s === rootSchema) {
      rootName = name;
      break;
    }
  }
  n = rootName ? c.def(rootName) : c.schema(rootSchema);
  roots.set(rootSchema, n);
  return n;
}

// ---- the walk ----

interface State {
  /** Strict-decoding path: field names and map keys as strings, list indices as numbers. */
  path: (string | number)[];
  /** The decoder's error context: struct field names only. */
  goPath: string[];
  struct: string;
  typeErrors: string[];
  fatal: string | undefined;
  unknown: string[] | undefined;
}

function kindOf(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'bool';
    default:
      return Array.isArray(v) ? 'array' : 'object';
  }
}

function numberText(n: number): string {
  return String(n).replace('e+', 'e');
}

function typeError(st: State, value: string, goType: string): string {
  return st.goPath.length > 0
    ? `json: cannot unmarshal ${value} into Go struct field ${st.struct}.${st.goPath.join('.')} of type ${goType}`
    : `json: cannot unmarshal ${value} into Go value of type ${goType}`;
}

function saveTypeError(st: State, value: string, goType: string): void {
  st.typeErrors.push(typeError(st, value, goType));
}

/** Errors from a type's own decoder abort decoding in Go, so they win over earlier saved ones. */
function fatal(st: State, message: string): void {
  if (st.fatal === undefined) st.fatal = message;
}

function joinPath(path: (string | number)[], key: string): string {
  let s = '';
  for (const seg of path) s += typeof seg === 'number' ? `[${seg}]` : s === '' ? seg : `.${seg}`;
  return s === '' ? key : `${s}.${key}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function walkObj(n: Node, o: Record<string, unknown>, st: State): void {
  const props = n.props!;
  for (const key in o) {
    const child = props.get(key);
    if (child === undefined) {
      if (st.unknown !== undefined && st.unknown.length < MAX_UNKNOWN) st.unknown.push(joinPath(st.path, key));
      delete o[key];
      continue;
    }
    const v = o[key];
    if (v === null || v === undefined) {
      if (child.k !== K.Any) delete o[key];
      continue;
    }
    if (child.k === K.Any) continue;
    const prevStruct = st.struct;
    st.struct = n.struct;
    st.path.push(key);
    st.goPath.push(key);
    check(child, v, o, key, st);
    st.goPath.pop();
    st.path.pop();
    st.struct = prevStruct;
    if ((child.k === K.Arr || child.k === K.Map) && isEmpty(v) && !n.keepEmpty!.has(key)) delete o[key];
  }
}

function isEmpty(v: unknown): boolean {
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v !== 'object' || v === null) return false;
  for (const _ in v) return false;
  return true;
}

function zeroOf(n: Node): unknown {
  switch (n.k) {
    case K.Obj:
      return {};
    case K.Str:
      return '';
    case K.Bool:
      return false;
    case K.Int32:
    case K.Int64:
    case K.Float:
      return 0;
    case K.Quantity:
      return '0';
    default:
      return null;
  }
}

function check(n: Node, v: unknown, parent: any, key: string | number, st: State): void {
  switch (n.k) {
    case K.Str:
      if (typeof v !== 'string') saveTypeError(st, kindOf(v), 'string');
      return;
    case K.Bool:
      if (typeof v !== 'boolean') saveTypeError(st, kindOf(v), 'bool');
      return;
    case K.Int32:
      if (typeof v !== 'number') saveTypeError(st, kindOf(v), 'int32');
      else if (!Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) saveTypeError(st, `number ${numberText(v)}`, 'int32');
      return;
    case K.Int64:
      if (typeof v !== 'number') saveTypeError(st, kindOf(v), n.goType);
      else if (!Number.isInteger(v) || v >= INT64_LIMIT || v < -INT64_LIMIT) saveTypeError(st, `number ${numberText(v)}`, n.goType);
      return;
    case K.Float:
      if (typeof v !== 'number') saveTypeError(st, kindOf(v), 'float64');
      return;
    case K.Obj:
      if (isPlainObject(v)) walkObj(n, v, st);
      else saveTypeError(st, kindOf(v), n.goType);
      return;
    case K.Arr: {
      if (!Array.isArray(v)) {
        saveTypeError(st, kindOf(v), n.goType);
        return;
      }
      const elem = n.elem!;
      if (elem.k === K.Any) return;
      for (let i = 0; i < v.length; i++) {
        const item = v[i];
        if (item === null || item === undefined) {
          v[i] = zeroOf(elem);
          continue;
        }
        st.path.push(i);
        check(elem, item, v, i, st);
        st.path.pop();
      }
      return;
    }
    case K.Map: {
      if (!isPlainObject(v)) {
        saveTypeError(st, kindOf(v), n.goType);
        return;
      }
      const elem = n.elem!;
      if (elem.k === K.Any) return;
      for (const k in v) {
        const item = v[k];
        if (item === null || item === undefined) {
          v[k] = zeroOf(elem);
          continue;
        }
        st.path.push(k);
        check(elem, item, v, k, st);
        st.path.pop();
      }
      return;
    }
    case K.Time:
    case K.MicroTime: {
      if (typeof v !== 'string') {
        fatal(st, typeError(st, kindOf(v), 'string'));
        return;
      }
      const t = parseGoTime(v, n.k === K.MicroTime);
      if ('error' in t) fatal(st, t.error);
      else if (t.value !== v) parent[key] = t.value;
      return;
    }
    case K.Quantity: {
      if (typeof v !== 'string' && typeof v !== 'number') {
        fatal(st, ERR_FORMAT_WRONG);
        return;
      }
      const q = canonicalQuantity(v);
      if ('error' in q) fatal(st, q.error);
      else if (q.value !== v) parent[key] = q.value;
      return;
    }
    case K.IntOrStr:
      if (typeof v === 'string') return;
      if (typeof v === 'number') {
        if (!Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) fatal(st, typeError(st, `number ${numberText(v)}`, 'int32'));
        return;
      }
      fatal(st, typeError(st, kindOf(v), 'int32'));
      return;
    case K.Bytes:
      if (typeof v === 'string') {
        const bad = base64ErrorOffset(v);
        if (bad >= 0) st.typeErrors.push(`illegal base64 data at input byte ${bad}`);
        // Go skips line breaks when decoding and never writes them back.
        else if (v.includes('\n') || v.includes('\r')) parent[key] = v.replace(/[\r\n]/g, '');
      } else if (Array.isArray(v) && v.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
        // encoding/json accepts []byte as a list of numbers too; it is stored as base64 either way.
        parent[key] = Buffer.from(v as number[]).toString('base64');
      } else {
        saveTypeError(st, kindOf(v), '[]uint8');
      }
      return;
    default:
      return;
  }
}

const B64 = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') B64[c.charCodeAt(0)] = 1;

/**
 * Where Go's base64.StdEncoding.Decode would fail (-1 when it would not): padded quanta of four,
 * '\r' and '\n' skipped anywhere. Offsets are byte offsets, as Go reports them; every character
 * before the first bad one is ASCII, so string indices are byte offsets.
 */
export function base64ErrorOffset(s: string): number {
  const len = s.length;
  let si = 0;
  const isNL = (i: number) => s.charCodeAt(i) === 10 || s.charCodeAt(i) === 13;
  for (;;) {
    let j = 0;
    for (; j < 4; j++) {
      if (si === len) {
        if (j === 0) return -1;
        return si - j;
      }
      const c = s.charCodeAt(si);
      si++;
      if (c < 128 && B64[c] === 1) continue;
      if (c === 10 || c === 13) {
        j--;
        continue;
      }
      if (c !== 61 /* = */) return si - 1;
      if (j === 0 || j === 1) return si - 1;
      if (j === 2) {
        while (si < len && isNL(si)) si++;
        if (si === len) return len;
        if (s.charCodeAt(si) !== 61) return si - 1;
        si++;
      }
      while (si < len && isNL(si)) si++;
      return si < len ? si : -1;
    }
  }
}

/**
 * Checks `obj` against the schema of its kind. `rootSchema` is the kind's definition (an entry of
 * `defs`); `defs` holds every definition it refers to. The object is modified in place.
 */
export function checkAgainstSchema(obj: object, rootSchema: object, defs: SchemaDefs, opts: SchemaCheckOptions): SchemaCheckResult {
  const root = compileRoot(rootSchema, defs);
  const st: State = {
    path: [],
    goPath: [],
    struct: root.struct,
    typeErrors: [],
    fatal: undefined,
    unknown: opts.fieldValidation === 'Ignore' ? undefined : [],
  };
  if (root.k === K.Obj && isPlainObject(obj)) walkObj(root, obj, st);
  const first = st.fatal ?? st.typeErrors[0];
  const typeErrors = first === undefined ? [] : [first];
  return { typeErrors, unknownFields: st.unknown ?? [], pruned: obj };
}
