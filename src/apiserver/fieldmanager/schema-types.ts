/**
 * The typed view structured-merge-diff takes of objects, compiled from OpenAPI v3 schemas the way
 * kube-openapi's schemaconv does: lists are atomic unless `x-kubernetes-list-type` says `set` or
 * `map` (keyed by `x-kubernetes-list-map-keys`), or, failing that, a `merge` patch strategy makes
 * them a map list keyed by the patch merge key (a set when there is no key); maps and structs are
 * granular unless `x-kubernetes-map-type: atomic`. Schemaless parts are "deduced": objects are
 * granular maps, lists atomic.
 */
import { refName } from '../../api/schema.js';

export type TypeNode = ScalarType | MapType | ListType | DeducedType;

export interface ScalarType {
  kind: 'scalar';
}

export interface DeducedType {
  kind: 'deduced';
}

export interface MapType {
  kind: 'map';
  atomic: boolean;
  /** A struct's declared fields (their names are "named fields" to upstream). */
  fields: Map<string, TypeNode>;
  /** The type of keys not declared (a map's values); deduced when absent. */
  elem: TypeNode;
  /** Go's zero value of the struct as upstream's runtime converter renders it (see zeroOf). */
  zero?: () => Record<string, unknown>;
}

export interface ListType {
  kind: 'list';
  relationship: 'atomic' | 'set' | 'map';
  keys: string[];
  /** Defaults of key fields, used for an item that leaves a key out (e.g. a port's protocol). */
  keyDefaults: Record<string, unknown>;
  elem: TypeNode;
}

export const SCALAR: ScalarType = { kind: 'scalar' };
export const DEDUCED: DeducedType = { kind: 'deduced' };
const DEDUCED_MAP: MapType = { kind: 'map', atomic: false, fields: new Map(), elem: DEDUCED };
const ATOMIC_LIST: ListType = { kind: 'list', relationship: 'atomic', keys: [], keyDefaults: {}, elem: DEDUCED };

/** The concrete type of a value where the schema says nothing (or DEDUCED). */
export function resolveType(t: TypeNode, v: unknown): ScalarType | MapType | ListType {
  if (t.kind !== 'deduced') return t;
  if (Array.isArray(v)) return ATOMIC_LIST;
  if (v !== null && typeof v === 'object') return DEDUCED_MAP;
  return SCALAR;
}

export function fieldType(t: MapType, name: string): TypeNode {
  return t.fields.get(name) ?? t.elem;
}

const SCALAR_TYPES = new Set(['string', 'integer', 'number', 'boolean']);

/**
 * Compiles schemas, remembering each schema object it has seen (definitions are shared, and some
 * are recursive, e.g. JSONSchemaProps). One compiler per set of definitions.
 */
export class TypeCompiler {
  private readonly memo = new WeakMap<object, TypeNode>();

  constructor(private readonly defs: Record<string, any>) {}

  compile(schema: unknown): TypeNode {
    if (!schema || typeof schema !== 'object') return DEDUCED;
    const s = schema as Record<string, any>;
    const known = this.memo.get(s);
    if (known) return known;
    const target = this.resolve(s);
    // Extensions beside a reference describe the field; the referenced definition is the default.
    const ext = (name: string): any => s[name] ?? target[name];
    let out: TypeNode;
    if (target['x-kubernetes-int-or-string'] || SCALAR_TYPES.has(target.type)) {
      out = SCALAR;
    } else if (target.type === 'array' || target.items !== undefined) {
      const list: ListType = { kind: 'list', relationship: 'atomic', keys: [], keyDefaults: {}, elem: DEDUCED };
      this.memo.set(s, list);
      const listType = ext('x-kubernetes-list-type');
      const strategy = ext('x-kubernetes-patch-strategy');
      if (listType === 'set') list.relationship = 'set';
      else if (listType === 'map') {
        list.relationship = 'map';
        list.keys = Array.isArray(ext('x-kubernetes-list-map-keys')) ? [...ext('x-kubernetes-list-map-keys')] : [];
      } else if (listType === undefined && typeof strategy === 'string' && strategy.split(',').includes('merge')) {
        const key = ext('x-kubernetes-patch-merge-key');
        if (typeof key === 'string' && key) {
          list.relationship = 'map';
          list.keys = [key];
        } else list.relationship = 'set';
      }
      list.elem = this.compile(target.items);
      if (list.relationship === 'map') {
        const itemProps = this.resolve(target.items ?? {}).properties ?? {};
        for (const k of list.keys) if (itemProps[k]?.default !== undefined) list.keyDefaults[k] = itemProps[k].default;
      }
      return list;
    } else if (target.type === 'object' || target.properties !== undefined || target.additionalProperties !== undefined) {
      const map: MapType = { kind: 'map', atomic: ext('x-kubernetes-map-type') === 'atomic', fields: new Map(), elem: DEDUCED };
      this.memo.set(s, map);
      // A struct by reference shares its definition's fields; compile them once, on that object.
      const fieldsFrom = target !== s ? this.compile(target) : undefined;
      if (fieldsFrom && fieldsFrom.kind === 'map') {
        map.fields = fieldsFrom.fields;
        map.elem = fieldsFrom.elem;
        map.zero = fieldsFrom.zero;
        return map;
      }
      for (const [name, prop] of Object.entries<any>(target.properties ?? {})) map.fields.set(name, this.compile(prop));
      const ap = target.additionalProperties;
      if (ap && typeof ap === 'object') map.elem = this.compile(ap);
      if (target.properties) map.zero = () => this.zeroOf(target);
      return map;
    } else {
      out = DEDUCED;
    }
    this.memo.set(s, out);
    return out;
  }

  private resolve(s: Record<string, any>): Record<string, any> {
    let t = s;
    for (let hops = 0; hops < 32; hops++) {
      const name = refName(t);
      if (name === undefined || !this.defs[name]) return t;
      t = this.defs[name];
    }
    return t;
  }

  /**
   * Go's zero value of a struct as upstream's field manager sees it when an object is created: fields
   * without omitempty (OpenAPI `required`) are present, as null unless they are structs held by value
   * (whose `default` is `{}`), and structs held by value are never omitted. Only the shape matters:
   * it decides which parents a create marks as added in its own right (the `.` entries).
   */
  zeroOf(def: Record<string, any>, depth = 0): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (depth > 8) return out;
    const required = new Set<string>(Array.isArray(def.required) ? def.required : []);
    for (const [name, prop] of Object.entries<any>(def.properties ?? {})) {
      const byValue = prop.default !== undefined && typeof prop.default === 'object' && prop.default !== null && !Array.isArray(prop.default);
      if (!byValue && !required.has(name)) continue;
      const target = this.resolve(prop);
      if (byValue && target.properties) out[name] = this.zeroOf(target, depth + 1);
      else if (byValue || !SCALAR_TYPES.has(target.type)) out[name] = null;
      else out[name] = prop.default ?? (target.type === 'string' ? '' : target.type === 'boolean' ? false : 0);
    }
    return out;
  }
}
