/**
 * Custom resource validation as the apiextensions-apiserver does it on create and update:
 *
 * 1. the openAPIV3Schema checked by kube-openapi's SchemaValidator (validators per node in its
 *    order: type, allOf/anyOf/oneOf/not, string, format, number, array, enum, object), its
 *    errors turned into field errors by kubeOpenAPIResultToFieldErrors;
 * 2. embedded resources (x-kubernetes-embedded-resource): apiVersion and kind, and their metadata
 *    (schemaobjectmeta.Validate);
 * 3. x-kubernetes-list-type set/map uniqueness (listtype.ValidateListSetsAndMaps).
 *
 * kube-openapi names fields by joining with "." (map keys too: "spec.labels.foo"), and the field
 * error's path is that name; the embedded-resource and list-type checks use field.Path
 * ("spec.labels[foo]", "spec.items[0]").
 */
import type { StatusCause } from '../errors.js';
import { nameIsPathSegment } from '../validation/names.js';
import { validateObjectMetaCreate } from '../validation/meta.js';
import { isDNS1035Label } from '../validation/names.js';
import { compileSchema, type JSONSchemaProps, type SchemaNode } from './compile.js';
import { fieldDuplicate, fieldInvalid, fieldNotSupported, fieldRequired, fieldTooLong, fieldTooMany, fieldTypeInvalid, goNumber } from './gofmt.js';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function has(o: Obj, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k) && o[k] !== undefined;
}

/** One run of the schema validator: its field errors and how many checks it ran (kube-openapi's MatchCount). */
interface Run {
  errs: StatusCause[];
  count: number;
  /** The fldPath errors are reported under (field.Path given to ValidateCustomResource). */
  prefix: string;
}

/** fldPath.Child(name without its leading "."), as kubeOpenAPIResultToFieldErrors builds it. */
function errField(run: Run, name: string): string {
  const n = name.startsWith('.') ? name.slice(1) : name;
  if (n === '') return run.prefix;
  return run.prefix ? `${run.prefix}.${n}` : n;
}

/** Composite errors (anyOf, oneOf, allOf, not) are not kube-openapi Validation errors: upstream reports them at fldPath. */
function composite(run: Run, message: string): void {
  run.errs.push(fieldInvalid(run.prefix, '', message));
}

/** JSON type and Go format of a decoded value, as kube-openapi's schemaInfoForType infers them. */
function schemaInfo(v: unknown): [string, string] {
  switch (typeof v) {
    case 'boolean':
      return ['boolean', ''];
    case 'string':
      return ['string', ''];
    case 'number':
      return Number.isInteger(v) ? ['integer', 'int64'] : ['number', 'float64'];
    default:
      return Array.isArray(v) ? ['array', ''] : ['object', ''];
  }
}

function typeMessage(name: string, typeName: string, value: string): string {
  return `${name} in body must be of type ${typeName}: ${JSON.stringify(value)}`;
}

function checkType(n: SchemaNode, v: unknown, name: string, run: Run): void {
  const types = n.types;
  if (v === null || v === undefined) {
    // The type validator runs on null even when the schema names no type.
    run.count++;
    if (types.length > 0 && !n.nullable) run.errs.push(fieldTypeInvalid(errField(run, name), 'null', typeMessage(name, types.join(','), 'null')));
    return;
  }
  if (types.length === 0 && n.format === '') return;
  run.count++;
  const [schType, dataFormat] = schemaInfo(v);
  const strOrSlice = typeof v === 'string' || Array.isArray(v);
  const isIntFloat = schType === 'integer' && types.includes('number');
  if (!strOrSlice && n.format !== '' && !(types.includes(schType) || dataFormat === n.format || isIntFloat)) {
    run.errs.push(fieldTypeInvalid(errField(run, name), dataFormat, typeMessage(name, n.format, dataFormat)));
    return;
  }
  if (!(types.includes('number') || types.includes('integer')) && n.format !== '' && strOrSlice) return;
  if (!(types.includes(schType) || isIntFloat)) {
    run.errs.push(fieldTypeInvalid(errField(run, name), schType, typeMessage(name, types.join(','), schType)));
  }
}

function subRun(run: Run): Run {
  return { errs: [], count: 0, prefix: run.prefix };
}

function merge(into: Run, from: Run): void {
  for (const e of from.errs) into.errs.push(e);
  into.count += from.count;
}

function checkSchemaProps(n: SchemaNode, v: unknown, name: string, run: Run): void {
  run.count++;
  const quoted = JSON.stringify(name);
  if (n.anyOf.length > 0) {
    let best: Run | undefined;
    let ok = false;
    for (const alt of n.anyOf) {
      const r = subRun(run);
      validateNode(alt, v, name, r);
      if (r.errs.length === 0) {
        ok = true;
        best = r;
        break;
      }
      if (!best || r.count > best.count) best = r;
    }
    if (!ok) composite(run, `${quoted} must validate at least one schema (anyOf)`);
    if (best) merge(run, best);
  }
  if (n.oneOf.length > 0) {
    let best: Run | undefined;
    let first: Run | undefined;
    let validated = 0;
    for (const alt of n.oneOf) {
      const r = subRun(run);
      validateNode(alt, v, name, r);
      if (r.errs.length === 0) {
        validated++;
        best = undefined;
        first ??= r;
        continue;
      }
      if (validated === 0 && (!best || r.count > best.count)) best = r;
    }
    if (validated !== 1) {
      composite(run, `${quoted} must validate one and only one schema (oneOf). ${validated === 0 ? 'Found none valid' : `Found ${validated} valid alternatives`}`);
      if (best) merge(run, best);
    } else if (first) merge(run, first);
  }
  if (n.allOf.length > 0) {
    let validated = 0;
    for (const part of n.allOf) {
      const r = subRun(run);
      validateNode(part, v, name, r);
      if (r.errs.length === 0) validated++;
      merge(run, r);
    }
    if (validated !== n.allOf.length) composite(run, `${quoted} must validate all the schemas (allOf)${validated === 0 ? '. None validated' : ''}`);
  }
  if (n.not) {
    const r = subRun(run);
    validateNode(n.not, v, name, r);
    if (r.errs.length === 0) composite(run, `${quoted} must not validate the schema (not)`);
  }
}

function runeCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++;
  }
  return n;
}

function checkString(n: SchemaNode, v: string, name: string, run: Run): void {
  run.count++;
  if (n.maxLength !== undefined && runeCount(v) > n.maxLength) {
    run.errs.push(fieldTooLong(errField(run, name), n.maxLength));
    return;
  }
  if (n.minLength !== undefined && runeCount(v) < n.minLength) {
    run.errs.push(fieldInvalid(errField(run, name), v, `${name} in body should be at least ${n.minLength} chars long`));
    return;
  }
  if (n.patternSource !== '') {
    if (n.patternError !== undefined) {
      run.errs.push(fieldInvalid(errField(run, name), v, `${name} in body should match '${n.patternSource}, but pattern is invalid: ${n.patternError}'`));
    } else if (n.pattern && !n.pattern.test(v)) {
      run.errs.push(fieldInvalid(errField(run, name), v, `${name} in body should match '${n.patternSource}'`));
    }
  }
}

/** swag.IsFloat64AJSONInteger: integral, allowing for floating-point noise. */
function isJSONInteger(f: number): boolean {
  if (!Number.isFinite(f)) return false;
  if (Number.isInteger(f)) return true;
  const g = Math.trunc(f);
  const diff = Math.abs(f - g);
  return diff / Math.min(Math.abs(f) + Math.abs(g), Number.MAX_VALUE) < 1e-9;
}

function checkNumber(n: SchemaNode, v: number, name: string, run: Run): void {
  run.count++;
  const field = errField(run, name);
  // Integer data is compared against the constraint truncated to an int64, as kube-openapi's native-type checks do.
  const intData = Number.isInteger(v);
  if (n.multipleOf !== undefined) {
    const factor = intData ? Math.trunc(n.multipleOf) : n.multipleOf;
    if (factor <= 0) {
      run.errs.push(fieldInvalid(field, factor, `factor MultipleOf declared for ${name} must be positive: ${goNumber(factor)}`));
    } else if (intData ? v % factor !== 0 : !isJSONInteger(factor < 1 ? (1 / factor) * v : v / factor)) {
      run.errs.push(fieldInvalid(field, v, `${name} in body should be a multiple of ${goNumber(factor)}`));
    }
  }
  if (n.minimum !== undefined) {
    const min = intData ? Math.trunc(n.minimum) : n.minimum;
    if (n.exclusiveMinimum ? v <= min : v < min) {
      run.errs.push(fieldInvalid(field, v, `${name} in body should be greater than ${n.exclusiveMinimum ? '' : 'or equal to '}${goNumber(min)}`));
    }
  }
  if (n.maximum !== undefined) {
    const max = intData ? Math.trunc(n.maximum) : n.maximum;
    if (n.exclusiveMaximum ? v >= max : v > max) {
      run.errs.push(fieldInvalid(field, v, `${name} in body should be less than ${n.exclusiveMaximum ? '' : 'or equal to '}${goNumber(max)}`));
    }
  }
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i]));
  }
  const ao = a as Obj;
  const bo = b as Obj;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  if (ak.length !== Object.keys(bo).filter((k) => bo[k] !== undefined).length) return false;
  return ak.every((k) => has(bo, k) && jsonEqual(ao[k], bo[k]));
}

function checkArray(n: SchemaNode, v: unknown[], name: string, run: Run): void {
  run.count++;
  if (n.items) for (let i = 0; i < v.length; i++) validateNode(n.items, v[i], `${name}[${i}]`, run);
  const field = errField(run, name);
  if (n.minItems !== undefined && v.length < n.minItems) run.errs.push(fieldInvalid(field, v.length, `${name} in body should have at least ${n.minItems} items`));
  if (n.maxItems !== undefined && v.length > n.maxItems) run.errs.push(fieldTooMany(field, v.length, n.maxItems));
  if (n.uniqueItems) {
    outer: for (let i = 1; i < v.length; i++) {
      for (let j = 0; j < i; j++) {
        if (jsonEqual(v[i], v[j])) {
          run.errs.push(fieldInvalid(field, '', `${name} in body shouldn't contain duplicates`));
          break outer;
        }
      }
    }
  }
}

function checkEnum(n: SchemaNode, v: unknown, name: string, run: Run): void {
  run.count++;
  const values = n.enumValues;
  if (!values) return;
  if (v !== null && v !== undefined) for (const e of values) if (e !== null && jsonEqual(v, e)) return;
  const supported = values.map((e) => (typeof e === 'string' ? e : JSON.stringify(e)));
  run.errs.push(fieldNotSupported(errField(run, name), v ?? null, supported));
}

function checkObject(n: SchemaNode, v: Obj, name: string, run: Run): void {
  run.count++;
  const keys = Object.keys(v).filter((k) => v[k] !== undefined);
  const field = errField(run, name);
  if (n.minProperties !== undefined && keys.length < n.minProperties) {
    run.errs.push(fieldInvalid(field, keys.length, `${name} in body should have at least ${n.minProperties} properties`));
  }
  if (n.maxProperties !== undefined && keys.length > n.maxProperties) run.errs.push(fieldTooMany(field, keys.length, n.maxProperties));
  const props = n.properties;
  if (n.additional && !n.additional.allows) {
    for (const k of keys) if (!props?.has(k)) run.errs.push(fieldInvalid(field, k, `${name}.${k} in body is a forbidden property`));
  } else if (n.additional?.schema) {
    const extra = n.additional.schema;
    for (const k of keys) if (!props?.has(k)) validateNode(extra, v[k], `${name}.${k}`, run);
  }
  if (props) {
    for (const [p, ps] of props) if (has(v, p)) validateNode(ps, v[p], name ? `${name}.${p}` : p, run);
  }
  for (const r of n.required) if (!has(v, r)) run.errs.push(fieldRequired(errField(run, `${name}.${r}`)));
}

/** kube-openapi's SchemaValidator.Validate for one value at `name`. */
function validateNode(n: SchemaNode, v: unknown, name: string, run: Run): void {
  if (v === null || v === undefined) {
    checkType(n, v, name, run);
    checkEnum(n, v, name, run);
    return;
  }
  checkType(n, v, name, run);
  checkSchemaProps(n, v, name, run);
  if (typeof v === 'string') {
    checkString(n, v, name, run);
    if (n.checkFormat) {
      run.count++;
      if (!n.checkFormat(v)) run.errs.push(fieldTypeInvalid(errField(run, name), v, typeMessage(name, n.raw.format as string, v)));
    }
  } else if (typeof v === 'number') {
    checkNumber(n, v, name, run);
  } else if (Array.isArray(v)) {
    checkArray(n, v, name, run);
  }
  checkEnum(n, v, name, run);
  if (isObj(v)) checkObject(n, v, name, run);
}

/**
 * The openAPIV3Schema check alone (upstream's apiservervalidation.ValidateCustomResource), with
 * errors under `fldPath` (empty for a custom resource, "...default" for a CRD's default values).
 */
export function validateAgainstSchema(obj: unknown, schema: JSONSchemaProps, fldPath = ''): StatusCause[] {
  const run: Run = { errs: [], count: 0, prefix: fldPath };
  validateNode(compileSchema(schema), obj, '', run);
  return run.errs;
}

// ---- embedded resources (schemaobjectmeta.Validate) ----

const p = {
  child: (base: string, k: string): string => (base ? `${base}.${k}` : k),
  key: (base: string, k: string): string => `${base}[${k}]`,
  index: (base: string, i: number): string => `${base}[${i}]`,
};

/** schema.ParseGroupVersion's error, or undefined. */
function parseGroupVersionError(gv: string): string | undefined {
  if (gv === '' || gv === '/') return undefined;
  const n = gv.split('/').length - 1;
  if (n <= 1) return undefined;
  return `unexpected GroupVersion string: ${gv}`;
}

const STRING_META = ['name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp'];
const STRING_MAPS = ['labels', 'annotations'];

/** What decoding metadata into ObjectMeta would reject, in encoding/json's words (the common cases). */
function objectMetaDecodeError(meta: unknown): string | undefined {
  if (meta === null) return undefined;
  if (!isObj(meta)) return `json: cannot unmarshal ${jsonKind(meta)} into Go value of type v1.ObjectMeta`;
  for (const k of STRING_META) {
    const v = meta[k];
    if (v !== undefined && v !== null && typeof v !== 'string') return `json: cannot unmarshal ${jsonKind(v)} into Go struct field ObjectMeta.${k} of type string`;
  }
  for (const k of STRING_MAPS) {
    const v = meta[k];
    if (v === undefined || v === null) continue;
    if (!isObj(v)) return `json: cannot unmarshal ${jsonKind(v)} into Go struct field ObjectMeta.${k} of type map[string]string`;
    for (const x of Object.values(v)) {
      if (x !== null && typeof x !== 'string') return `json: cannot unmarshal ${jsonKind(x)} into Go struct field ObjectMeta.${k} of type string`;
    }
  }
  if (meta.finalizers !== undefined && meta.finalizers !== null) {
    if (!Array.isArray(meta.finalizers)) return `json: cannot unmarshal ${jsonKind(meta.finalizers)} into Go struct field ObjectMeta.finalizers of type []string`;
    for (const x of meta.finalizers) if (x !== null && typeof x !== 'string') return `json: cannot unmarshal ${jsonKind(x)} into Go struct field ObjectMeta.finalizers of type string`;
  }
  return undefined;
}

function jsonKind(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'bool';
  return Array.isArray(v) ? 'array' : 'object';
}

function validateEmbeddedResource(pth: string, x: Obj, errs: StatusCause[]): void {
  if (!has(x, 'apiVersion')) errs.push(fieldRequired(p.child(pth, 'apiVersion')));
  if (!has(x, 'kind')) errs.push(fieldRequired(p.child(pth, 'kind')));
  for (const k of Object.keys(x)) {
    const v = x[k];
    if (k === 'apiVersion') {
      const f = p.child(pth, 'apiVersion');
      if (typeof v !== 'string') errs.push(fieldInvalid(f, v, 'must be a string'));
      else if (v === '') errs.push(fieldInvalid(f, v, 'must not be empty'));
      else {
        const e = parseGroupVersionError(v);
        if (e) errs.push(fieldInvalid(f, v, e));
      }
    } else if (k === 'kind') {
      const f = p.child(pth, 'kind');
      if (typeof v !== 'string') errs.push(fieldInvalid(f, v, 'must be a string'));
      else if (v === '') errs.push(fieldInvalid(f, v, 'must not be empty'));
      else {
        const e = isDNS1035Label(v.toLowerCase());
        if (e.length > 0) errs.push(fieldInvalid(f, v, 'may have mixed case, but should otherwise match: ' + e.join(',')));
      }
    } else if (k === 'metadata') {
      const f = p.child(pth, 'metadata');
      const decodeErr = objectMetaDecodeError(v);
      if (decodeErr) {
        errs.push(fieldInvalid(f, v, decodeErr));
        continue;
      }
      const meta: Obj = isObj(v) ? { ...v } : {};
      if (typeof meta.name !== 'string' || meta.name === '') meta.name = 'fakename';
      const namespaced = typeof meta.namespace === 'string' && meta.namespace !== '';
      for (const c of validateObjectMetaCreate({ metadata: meta }, { namespaced, nameFn: nameIsPathSegment })) {
        errs.push({ ...c, field: c.field?.startsWith('metadata') ? f + c.field.slice('metadata'.length) : c.field });
      }
    }
  }
}

/**
 * schemaobjectmeta.Validate: every embedded resource below `n` (and `x` itself when `asEmbedded`,
 * as for a default value of an embedded-resource schema) must carry valid apiVersion, kind and metadata.
 */
export function validateEmbeddedResources(pth: string, x: unknown, n: SchemaNode | undefined, asEmbedded: boolean, errs: StatusCause[]): void {
  if (!n || (!n.embeddedBelow && !asEmbedded)) return;
  if (isObj(x)) {
    if (n.embeddedResource || asEmbedded) validateEmbeddedResource(pth, x, errs);
    for (const k of Object.keys(x)) {
      const prop = n.properties?.get(k);
      if (prop) validateEmbeddedResources(p.child(pth, k), x[k], prop, false, errs);
      else if (n.additional) validateEmbeddedResources(p.key(pth, k), x[k], n.additional.schema, false, errs);
    }
  } else if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) validateEmbeddedResources(p.index(pth, i), x[i], n.items, false, errs);
  }
}

// ---- list types (listtype.ValidateListSetsAndMaps) ----

const UNSPECIFIED = Symbol('unspecified');

/** A comparable key for set membership: scalars by type and value, compounds by their JSON. */
function setKey(v: unknown): string {
  if (v === UNSPECIFIED) return 'u:';
  if (v === null || v === undefined) return 'n:';
  if (typeof v === 'object') return 'j:' + JSON.stringify(v);
  return `${typeof v}:${String(v)}`;
}

/** Indices of the second appearance of each duplicated element. */
function nonUnique(values: unknown[]): number[] {
  if (values.length <= 1) return [];
  const seen = new Map<string, number>();
  const out: number[] = [];
  values.forEach((v, i) => {
    const k = setKey(v);
    const times = seen.get(k) ?? 0;
    if (times === 1) out.push(i);
    seen.set(k, times + 1);
  });
  return out;
}

function validateListMap(pth: string, n: SchemaNode, list: unknown[], errs: StatusCause[]): void {
  for (let i = 0; i < list.length; i++) {
    const x = list[i];
    if (x !== null && !isObj(x)) {
      errs.push(fieldInvalid(p.index(pth, i), x, 'must be an object for an array of list-type map'));
      return;
    }
  }
  if (list.length <= 1) return;
  if (n.listMapKeys.length === 1) {
    const kf = n.listMapKeys[0];
    const keys = list.map((x) => (isObj(x) && has(x, kf) ? x[kf] : UNSPECIFIED));
    for (const i of nonUnique(keys)) errs.push(fieldDuplicate(p.index(pth, i), keys[i] === UNSPECIFIED ? {} : { [kf]: keys[i] }));
    return;
  }
  const keys = list.map((x) => {
    const key: Obj = {};
    if (isObj(x)) for (const kf of n.listMapKeys) if (has(x, kf)) key[kf] = x[kf];
    return key;
  });
  // Marshalled maps have sorted keys, so key order in the list-map-keys does not matter.
  const sorted = keys.map((k) => Object.fromEntries(Object.entries(k).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
  for (const i of nonUnique(sorted)) errs.push(fieldDuplicate(p.index(pth, i), keys[i]));
}

export function validateListsIn(pth: string, n: SchemaNode, x: unknown, errs: StatusCause[]): void {
  if (!n.listTypesBelow) return;
  if (Array.isArray(x)) {
    if (n.listType === 'set') for (const i of nonUnique(x)) errs.push(fieldDuplicate(p.index(pth, i), x[i]));
    else if (n.listType === 'map') validateListMap(pth, n, x, errs);
    if (n.items) for (let i = 0; i < x.length; i++) validateListsIn(p.index(pth, i), n.items, x[i], errs);
  } else if (isObj(x)) {
    const extra = n.additional?.schema;
    if (extra) for (const k of Object.keys(x)) validateListsIn(p.key(pth, k), extra, x[k], errs);
    if (n.properties) {
      for (const k of Object.keys(x)) {
        const prop = n.properties.get(k);
        if (prop) validateListsIn(p.child(pth, k), prop, x[k], errs);
      }
    }
  }
}

/**
 * Upstream's custom resource validation against the openAPIV3Schema: the schema itself, then
 * embedded resources, then list-type uniqueness (in that order, as the CR strategy appends them).
 */
export function validateCustomResource(obj: unknown, schema: JSONSchemaProps): StatusCause[] {
  const errs = validateAgainstSchema(obj, schema);
  const root = compileSchema(schema);
  if (root.embeddedBelow) validateEmbeddedResources('', obj, root, false, errs);
  if (root.listTypesBelow && isObj(obj)) validateListsIn('', root, obj, errs);
  return errs;
}

