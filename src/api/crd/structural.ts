/**
 * The checks upstream's CRD validation makes on one version's openAPIV3Schema
 * (validateCustomResourceDefinitionValidation with the v1 options: structural schemas, pruned
 * defaults, atomic set items, map-list key rules):
 *
 * - the structural-schema rules (apiserver/schema ValidateStructural: invariants and
 *   completeness), sorted by their text as upstream sorts them;
 * - if the schema is structural, that defaults are pruned and valid (defaulting.ValidateDefaults);
 * - the OpenAPI subset a CRD may use (ValidateCustomResourceDefinitionOpenAPISchema: unsupported
 *   keywords, defaults in metadata, list and map types, x-kubernetes-validations' non-CEL rules).
 *
 * x-kubernetes-validations rules are not compiled here (CEL lives in src/api/cel/); the CRD
 * strategy calls its rule-compilation hook once the schema passes these checks.
 *
 * The other three exported functions (validation, defaulting, pruning of custom resources) are
 * re-exported so this module is the one entry point for a schema's behaviour.
 */
import type { StatusCause } from '../errors.js';
import { compileGoRegexp, compileSchema, type JSONSchemaProps, type SchemaNode } from './compile.js';
import { causeText, fieldForbidden, fieldInvalid, fieldNotSupported, fieldRequired } from './gofmt.js';
import { Pruner } from './pruning.js';
import { validateAgainstSchema, validateEmbeddedResources } from './validate.js';

export type { JSONSchemaProps } from './compile.js';
export { validateCustomResource } from './validate.js';
export { applyDefaults } from './defaulting.js';
export { pruneUnknownFields } from './pruning.js';

type Obj = Record<string, any>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const child = (p: string, k: string): string => (p ? `${p}.${k}` : k);
const key = (p: string, k: string): string => `${p}[${k}]`;
const index = (p: string, i: number): string => `${p}[${i}]`;

function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isObj(v)) return Object.fromEntries(Object.keys(v).sort().filter((k) => v[k] !== undefined).map((k) => [k, sortKeys(v[k])]));
  return v;
}

// ---- what NewStructural refuses ----

const UNSUPPORTED: [string, string][] = [
  ['id', 'id'],
  ['$schema', 'schema'],
  ['$ref', '$ref'],
  ['patternProperties', 'patternProperties'],
  ['dependencies', 'dependencies'],
  ['additionalItems', 'additionalItems'],
  ['definitions', 'definitions'],
];

/** NewStructural's error for a schema it cannot convert, or undefined. */
function structuralInitError(s: unknown): string | undefined {
  if (!isObj(s)) return undefined;
  for (const [k, name] of UNSUPPORTED) if (s[k] !== undefined && s[k] !== null && s[k] !== '') return `OpenAPIV3Schema '${name}' is not supported`;
  if (s['x-kubernetes-preserve-unknown-fields'] === false) return "internal error: 'x-kubernetes-preserve-unknown-fields' must be true or undefined";
  if (Array.isArray(s.items)) return "OpenAPIV3Schema 'items' must be a schema, but is an array";
  const subs: unknown[] = [s.items, s.not, s.additionalProperties, ...(Array.isArray(s.allOf) ? s.allOf : []), ...(Array.isArray(s.anyOf) ? s.anyOf : []), ...(Array.isArray(s.oneOf) ? s.oneOf : [])];
  if (isObj(s.properties)) subs.push(...Object.values(s.properties));
  for (const sub of subs) {
    const e = structuralInitError(sub);
    if (e) return e;
  }
  return undefined;
}

// ---- structural invariants (apiserver/schema/validation.go) and completeness (complete.go) ----

const enum Level {
  Root,
  Item,
  Field,
}

const VALUE_VALIDATION_KEYS = [
  'format',
  'maximum',
  'exclusiveMaximum',
  'minimum',
  'exclusiveMinimum',
  'maxLength',
  'minLength',
  'pattern',
  'maxItems',
  'minItems',
  'uniqueItems',
  'multipleOf',
  'enum',
  'maxProperties',
  'minProperties',
  'required',
  'allOf',
  'oneOf',
  'anyOf',
  'not',
];

function isSet(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === '' || v === 0) return false;
  if (Array.isArray(v)) return v.length > 0;
  return true;
}

function isIntOrStringAnyOf(anyOf: unknown): boolean {
  return (
    Array.isArray(anyOf) &&
    anyOf.length === 2 &&
    isObj(anyOf[0]) &&
    isObj(anyOf[1]) &&
    jsonEqual(anyOf[0], { type: 'integer' }) &&
    jsonEqual(anyOf[1], { type: 'string' })
  );
}

function validateInvariants(s: Obj, lvl: Level, path: string, errs: StatusCause[]): void {
  const type = typeof s.type === 'string' ? s.type : '';
  if (type === 'array' && !isObj(s.items)) errs.push(fieldRequired(child(path, 'items'), 'must be specified'));
  if (isObj(s.items)) validateInvariants(s.items, Level.Item, child(path, 'items'), errs);
  if (isObj(s.properties)) for (const [k, v] of Object.entries(s.properties)) if (isObj(v)) validateInvariants(v, Level.Field, key(child(path, 'properties'), k), errs);
  const hasAdditional = s.additionalProperties !== undefined && s.additionalProperties !== null;
  if (hasAdditional) {
    if (lvl === Level.Root) errs.push(fieldForbidden(child(path, 'additionalProperties'), 'must not be used at the root'));
    if (isObj(s.additionalProperties)) validateInvariants(s.additionalProperties, Level.Field, child(path, 'additionalProperties'), errs);
  }
  const preserve = s['x-kubernetes-preserve-unknown-fields'] === true;
  const embedded = s['x-kubernetes-embedded-resource'] === true;
  const intOrString = s['x-kubernetes-int-or-string'] === true;
  if (intOrString && preserve) errs.push(fieldInvalid(child(path, 'x-kubernetes-preserve-unknown-fields'), true, 'must be false if x-kubernetes-int-or-string is true'));
  if (intOrString && embedded) errs.push(fieldInvalid(child(path, 'x-kubernetes-embedded-resource'), true, 'must be false if x-kubernetes-int-or-string is true'));

  const skipAnyOf = isIntOrStringAnyOf(s.anyOf);
  const skipFirstAllOfAnyOf = Array.isArray(s.allOf) && s.allOf.length >= 1 && isObj(s.allOf[0]) && isIntOrStringAnyOf(s.allOf[0].anyOf);
  validateValueValidation(s, skipAnyOf, skipFirstAllOfAnyOf, path, errs);

  const checkMetadata = lvl === Level.Root || embedded;
  if (embedded && type !== 'object') {
    if (type === '') errs.push(fieldRequired(child(path, 'type'), 'must be object if x-kubernetes-embedded-resource is true'));
    else errs.push(fieldInvalid(child(path, 'type'), type, 'must be object if x-kubernetes-embedded-resource is true'));
  } else if (type === '' && !intOrString && !preserve) {
    const detail =
      lvl === Level.Root ? 'must not be empty at the root' : lvl === Level.Item ? 'must not be empty for specified array items' : 'must not be empty for specified object fields';
    errs.push(fieldRequired(child(path, 'type'), detail));
  }
  if (embedded && hasAdditional) errs.push(fieldForbidden(child(path, 'additionalProperties'), 'must not be used if x-kubernetes-embedded-resource is set'));
  if (lvl === Level.Root && type !== '' && type !== 'object') errs.push(fieldInvalid(child(path, 'type'), type, 'must be object at the root'));
  const props: Obj = isObj(s.properties) ? s.properties : {};
  for (const meta of ['kind', 'apiVersion']) {
    if (checkMetadata && isObj(props[meta])) {
      const t = typeof props[meta].type === 'string' ? props[meta].type : '';
      if (t !== 'string') errs.push(fieldInvalid(child(key(child(path, 'properties'), meta), 'type'), t, 'must be string'));
    }
  }
  if (isObj(props.metadata)) validateMetadataInvariants(props.metadata, checkMetadata, lvl, key(child(path, 'properties'), 'metadata'), errs);
  if (embedded && !preserve && Object.keys(props).length === 0) {
    errs.push(fieldRequired(child(path, 'properties'), 'must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields'));
  }
}

function validateMetadataInvariants(s: Obj, checkMetadata: boolean, lvl: Level, path: string, errs: StatusCause[]): void {
  const type = typeof s.type === 'string' ? s.type : '';
  if (checkMetadata && type !== 'object') errs.push(fieldInvalid(child(path, 'type'), type, 'must be object'));
  if (lvl !== Level.Root) return;
  const props = isObj(s.properties) ? Object.keys(s.properties) : [];
  const onlyNames = props.every((p) => p === 'name' || p === 'generateName');
  // What the structural form of the metadata schema holds, besides type, default and name/generateName.
  const extra =
    !onlyNames ||
    s.items !== undefined ||
    (s.additionalProperties !== undefined && s.additionalProperties !== null) ||
    isSet(s.description) ||
    isSet(s.title) ||
    s.nullable === true ||
    s['x-kubernetes-preserve-unknown-fields'] === true ||
    s['x-kubernetes-embedded-resource'] === true ||
    s['x-kubernetes-int-or-string'] === true ||
    isSet(s['x-kubernetes-list-map-keys']) ||
    typeof s['x-kubernetes-list-type'] === 'string' ||
    typeof s['x-kubernetes-map-type'] === 'string' ||
    isSet(s['x-kubernetes-validations']) ||
    VALUE_VALIDATION_KEYS.some((k) => isSet(s[k]));
  if (extra) errs.push(fieldForbidden(path, 'must not specify anything other than name and generateName, but metadata is implicitly specified'));
}

function validateValueValidation(v: Obj, skipAnyOf: boolean, skipFirstAllOfAnyOf: boolean, path: string, errs: StatusCause[]): void {
  if (!skipAnyOf && Array.isArray(v.anyOf)) v.anyOf.forEach((x: unknown, i: number) => isObj(x) && validateNested(x, false, index(child(path, 'anyOf'), i), errs));
  if (Array.isArray(v.allOf)) v.allOf.forEach((x: unknown, i: number) => isObj(x) && validateNested(x, skipFirstAllOfAnyOf && i === 0, index(child(path, 'allOf'), i), errs));
  if (Array.isArray(v.oneOf)) v.oneOf.forEach((x: unknown, i: number) => isObj(x) && validateNested(x, false, index(child(path, 'oneOf'), i), errs));
  if (isObj(v.not)) validateNested(v.not, false, child(path, 'not'), errs);
  if (typeof v.pattern === 'string' && v.pattern !== '') {
    const { error } = compileGoRegexp(v.pattern);
    if (error !== undefined) errs.push(fieldInvalid(child(path, 'pattern'), v.pattern, `must be a valid regular expression, but isn't: error parsing regexp: ${error}`));
  }
}

function validateNested(v: Obj, skipAnyOf: boolean, path: string, errs: StatusCause[]): void {
  validateValueValidation(v, skipAnyOf, false, path, errs);
  if (isObj(v.items)) validateNested(v.items, false, child(path, 'items'), errs);
  if (isObj(v.properties)) for (const [k, x] of Object.entries(v.properties)) if (isObj(x)) validateNested(x, false, key(child(path, 'properties'), k), errs);
  if (isSet(v.type)) errs.push(fieldForbidden(child(path, 'type'), 'must be empty to be structural'));
  if (v.additionalProperties !== undefined && v.additionalProperties !== null) errs.push(fieldForbidden(child(path, 'additionalProperties'), 'must be undefined to be structural'));
  if (v.default !== undefined && v.default !== null) errs.push(fieldForbidden(child(path, 'default'), 'must be undefined to be structural'));
  if (isSet(v.title)) errs.push(fieldForbidden(child(path, 'title'), 'must be empty to be structural'));
  if (isSet(v.description)) errs.push(fieldForbidden(child(path, 'description'), 'must be empty to be structural'));
  if (v.nullable === true) errs.push(fieldForbidden(child(path, 'nullable'), 'must be false to be structural'));
  if (v['x-kubernetes-preserve-unknown-fields'] === true) errs.push(fieldForbidden(child(path, 'x-kubernetes-preserve-unknown-fields'), 'must be false to be structural'));
  if (v['x-kubernetes-embedded-resource'] === true) errs.push(fieldForbidden(child(path, 'x-kubernetes-embedded-resource'), 'must be false to be structural'));
  if (v['x-kubernetes-int-or-string'] === true) errs.push(fieldForbidden(child(path, 'x-kubernetes-int-or-string'), 'must be false to be structural'));
  if (isSet(v['x-kubernetes-list-map-keys'])) errs.push(fieldForbidden(child(path, 'x-kubernetes-list-map-keys'), 'must be empty to be structural'));
  if (typeof v['x-kubernetes-list-type'] === 'string') errs.push(fieldForbidden(child(path, 'x-kubernetes-list-type'), 'must be undefined to be structural'));
  if (typeof v['x-kubernetes-map-type'] === 'string') errs.push(fieldForbidden(child(path, 'x-kubernetes-map-type'), 'must be undefined to be structural'));
  if (isSet(v['x-kubernetes-validations'])) errs.push(fieldForbidden(child(path, 'x-kubernetes-validations'), 'must be empty to be structural'));
  if (isObj(v.properties) && v.properties.metadata !== undefined) {
    errs.push(fieldForbidden(key(child(path, 'properties'), 'metadata'), 'must not be specified in a nested context'));
  }
}

/** Every field or array a junctor (allOf, anyOf, oneOf, not) at the root speaks of must be specified structurally. */
function validateCompleteness(s: Obj, path: string, errs: StatusCause[]): void {
  completenessOf(s, s, path, path, errs);
}

function completenessOf(v: Obj, s: Obj | undefined, sPath: string, vPath: string, errs: StatusCause[]): void {
  if (isObj(v.not)) nestedCompleteness(v.not, s, sPath, child(vPath, 'not'), errs);
  for (const j of ['allOf', 'anyOf', 'oneOf']) {
    if (Array.isArray(v[j])) v[j].forEach((x: unknown, i: number) => isObj(x) && nestedCompleteness(x, s, sPath, index(child(vPath, j), i), errs));
  }
}

function nestedCompleteness(v: Obj, s: Obj | undefined, sPath: string, vPath: string, errs: StatusCause[]): void {
  if (!s) {
    errs.push(fieldRequired(sPath, `because it is defined in ${vPath}`));
    return;
  }
  completenessOf(v, s, sPath, vPath, errs);
  if (isObj(v.items)) nestedCompleteness(v.items, isObj(s.items) ? s.items : undefined, child(sPath, 'items'), child(vPath, 'items'), errs);
  if (isObj(v.properties)) {
    const sProps: Obj = isObj(s.properties) ? s.properties : {};
    for (const [k, x] of Object.entries(v.properties)) {
      if (!isObj(x)) continue;
      const sp = key(child(sPath, 'properties'), k);
      const vp = key(child(vPath, 'properties'), k);
      if (!isObj(sProps[k])) errs.push(fieldRequired(sp, `because it is defined in ${vp}`));
      else nestedCompleteness(x, sProps[k], sp, vp, errs);
    }
  }
}

// ---- defaults (defaulting/validation.go ValidateDefaults) ----

const META_FIELDS = new Set(['metadata', 'apiVersion', 'kind']);

function validateDefaults(n: SchemaNode, path: string, asEmbedded: boolean, insideMeta: boolean, errs: StatusCause[]): void {
  const embedded = n.embeddedResource || asEmbedded;
  if (embedded) insideMeta = false;
  if (n.hasDefault) {
    const dflt = n.default;
    const dpath = child(path, 'default');
    if (insideMeta) {
      errs.push(...validateAgainstSchema(dflt, n.raw, dpath));
    } else {
      const pruned = structuredClone(dflt);
      new Pruner().prune(pruned, n, embedded, '');
      if (!jsonEqual(pruned, dflt)) errs.push(fieldInvalid(dpath, dflt, 'must not have unknown fields'));
      const coerceErr = embedded && isObj(dflt) ? embeddedTypeMetaError(dflt, dpath) : undefined;
      if (coerceErr) errs.push(coerceErr);
      else {
        const metaErrs: StatusCause[] = [];
        validateEmbeddedResources(dpath, dflt, n, embedded, metaErrs);
        if (metaErrs.length > 0) errs.push(...metaErrs);
        else errs.push(...validateAgainstSchema(dflt, n.raw, dpath));
      }
    }
  }
  if (n.items) validateDefaults(n.items, child(path, 'items'), false, insideMeta, errs);
  if (n.properties) {
    for (const [k, sub] of n.properties) {
      validateDefaults(sub, key(child(path, 'properties'), k), false, insideMeta || (embedded && META_FIELDS.has(k)), errs);
    }
  }
}

/** schemaobjectmeta.Coerce's complaint about an embedded resource's apiVersion or kind that is not a string. */
function embeddedTypeMetaError(x: Obj, path: string): StatusCause | undefined {
  for (const k of ['apiVersion', 'kind']) {
    if (x[k] !== undefined && typeof x[k] !== 'string') return fieldInvalid(child(path, k), x[k], 'must be a string');
  }
  return undefined;
}

// ---- the OpenAPI subset a CRD may use (ValidateCustomResourceDefinitionOpenAPISchema) ----

const OPENAPI_V3_TYPES = ['array', 'boolean', 'integer', 'number', 'object', 'string'];
const VALIDATION_REASONS = ['FieldValueDuplicate', 'FieldValueForbidden', 'FieldValueInvalid', 'FieldValueRequired'];

interface Ssv {
  allowDefaults: boolean;
  disallowReason: string;
  insideResourceMeta: boolean;
}

function ssvValidate(s: Obj, path: string, ssv: Ssv, errs: StatusCause[]): void {
  const type = typeof s.type === 'string' ? s.type : '';
  if (type !== '' && !OPENAPI_V3_TYPES.includes(type)) errs.push(fieldNotSupported(child(path, 'type'), type, OPENAPI_V3_TYPES));
  if (s.default !== undefined && s.default !== null && !ssv.allowDefaults) {
    errs.push(fieldForbidden(child(path, 'default'), 'must not be set' + (ssv.disallowReason ? ' ' + ssv.disallowReason : '')));
  }
  if (isSet(s.id)) errs.push(fieldForbidden(child(path, 'id'), 'id is not supported'));
  if (s.additionalItems !== undefined && s.additionalItems !== null) errs.push(fieldForbidden(child(path, 'additionalItems'), 'additionalItems is not supported'));
  if (isObj(s.patternProperties) && Object.keys(s.patternProperties).length > 0) errs.push(fieldForbidden(child(path, 'patternProperties'), 'patternProperties is not supported'));
  if (isObj(s.definitions) && Object.keys(s.definitions).length > 0) errs.push(fieldForbidden(child(path, 'definitions'), 'definitions is not supported'));
  if (s.dependencies !== undefined && s.dependencies !== null) errs.push(fieldForbidden(child(path, 'dependencies'), 'dependencies is not supported'));
  if (s.$ref !== undefined && s.$ref !== null) errs.push(fieldForbidden(child(path, '$ref'), '$ref is not supported'));
  if (type === 'null') errs.push(fieldForbidden(child(path, 'type'), 'type cannot be set to null, use nullable as an alternative'));
  if (Array.isArray(s.items) && s.items.length > 0) errs.push(fieldForbidden(child(path, 'items'), 'items must be a schema object and not an array'));
  if (ssv.insideResourceMeta && s['x-kubernetes-embedded-resource'] === true) {
    errs.push(fieldForbidden(child(path, 'x-kubernetes-embedded-resource'), 'must not be used inside of resource meta'));
  }
}

function validateOpenAPISchema(s: Obj, path: string, ssv: Ssv, isRoot: boolean, errs: StatusCause[]): void {
  ssvValidate(s, path, ssv, errs);
  if (s.uniqueItems === true) errs.push(fieldForbidden(child(path, 'uniqueItems'), 'uniqueItems cannot be set to true since the runtime complexity becomes quadratic'));
  const props: Obj = isObj(s.properties) ? s.properties : {};
  const hasProps = Object.keys(props).length > 0;
  if (s.additionalProperties !== undefined && s.additionalProperties !== null) {
    if (hasProps && (s.additionalProperties === false || isObj(s.additionalProperties))) {
      errs.push(fieldForbidden(child(path, 'additionalProperties'), 'additionalProperties and properties are mutual exclusive'));
    }
    const sub = ssv.insideResourceMeta ? { ...ssv, allowDefaults: false, disallowReason: 'inside additionalProperties applying to object metadata' } : ssv;
    if (isObj(s.additionalProperties)) validateOpenAPISchema(s.additionalProperties, child(path, 'additionalProperties'), sub, false, errs);
  }
  for (const [k, v] of Object.entries(props)) {
    if (!isObj(v)) continue;
    let sub = ssv;
    if ((isRoot || s['x-kubernetes-embedded-resource'] === true) && META_FIELDS.has(k)) {
      sub = { ...sub, insideResourceMeta: true };
      if (isRoot) sub = { ...sub, allowDefaults: false, disallowReason: `in top-level ${k}` };
    }
    validateOpenAPISchema(v, key(child(path, 'properties'), k), sub, false, errs);
  }
  if (isObj(s.not)) validateOpenAPISchema(s.not, child(path, 'not'), ssv, false, errs);
  for (const j of ['allOf', 'oneOf', 'anyOf']) {
    if (Array.isArray(s[j])) s[j].forEach((x: unknown, i: number) => isObj(x) && validateOpenAPISchema(x, index(child(path, j), i), ssv, false, errs));
  }
  if (isObj(s.definitions)) for (const [k, v] of Object.entries(s.definitions)) if (isObj(v)) validateOpenAPISchema(v, key(child(path, 'definitions'), k), ssv, false, errs);
  if (isObj(s.items)) validateOpenAPISchema(s.items, child(path, 'items'), ssv, false, errs);
  else if (Array.isArray(s.items)) s.items.forEach((x: unknown, i: number) => isObj(x) && validateOpenAPISchema(x, index(child(path, 'items'), i), ssv, false, errs));
  if (isObj(s.dependencies)) {
    for (const [k, v] of Object.entries(s.dependencies)) if (isObj(v)) validateOpenAPISchema(v, key(child(path, 'dependencies'), k), ssv, false, errs);
  }

  if (s['x-kubernetes-preserve-unknown-fields'] === false) errs.push(fieldInvalid(child(path, 'x-kubernetes-preserve-unknown-fields'), false, 'must be true or undefined'));
  validateListAndMapTypes(s, path, errs);
  validateMapListKeysMapSet(s, path, errs);
  validateRuleShapes(s, path, errs);
}

function validateListAndMapTypes(s: Obj, path: string, errs: StatusCause[]): void {
  const type = typeof s.type === 'string' ? s.type : '';
  const mapType = s['x-kubernetes-map-type'];
  const listType = s['x-kubernetes-list-type'];
  const mapKeys: unknown[] = Array.isArray(s['x-kubernetes-list-map-keys']) ? s['x-kubernetes-list-map-keys'] : [];
  if (typeof mapType === 'string' && type !== 'object') {
    if (type === '') errs.push(fieldRequired(child(path, 'type'), 'must be object if x-kubernetes-map-type is specified'));
    else errs.push(fieldInvalid(child(path, 'type'), type, 'must be object if x-kubernetes-map-type is specified'));
  }
  if (typeof mapType === 'string' && mapType !== 'atomic' && mapType !== 'granular') errs.push(fieldNotSupported(child(path, 'x-kubernetes-map-type'), mapType, ['atomic', 'granular']));
  const items = isObj(s.items) ? s.items : undefined;
  if (typeof listType === 'string' && type !== 'array') {
    if (type === '') errs.push(fieldRequired(child(path, 'type'), 'must be array if x-kubernetes-list-type is specified'));
    else errs.push(fieldInvalid(child(path, 'type'), type, 'must be array if x-kubernetes-list-type is specified'));
  } else if (listType === 'set' && items) {
    if (items.type === 'array') {
      const lt = items['x-kubernetes-list-type'];
      if (typeof lt === 'string' && lt !== 'atomic') errs.push(fieldInvalid(child(child(path, 'items'), 'x-kubernetes-list-type'), lt, 'must be atomic as item of a list with x-kubernetes-list-type=set'));
    } else if (items.type === 'object') {
      // Upstream prints the items' list type here (nil), not the map type.
      if (items['x-kubernetes-map-type'] !== 'atomic') {
        errs.push(fieldInvalid(child(child(path, 'items'), 'x-kubernetes-map-type'), items['x-kubernetes-list-type'] ?? null, 'must be atomic as item of a list with x-kubernetes-list-type=set'));
      }
    }
  }
  if (typeof listType === 'string' && !['atomic', 'set', 'map'].includes(listType)) errs.push(fieldNotSupported(child(path, 'x-kubernetes-list-type'), listType, ['atomic', 'set', 'map']));
  if (mapKeys.length > 0) {
    if (typeof listType !== 'string') errs.push(fieldRequired(child(path, 'x-kubernetes-list-type'), 'must be map if x-kubernetes-list-map-keys is non-empty'));
    else if (listType !== 'map') errs.push(fieldInvalid(child(path, 'x-kubernetes-list-type'), listType, 'must be map if x-kubernetes-list-map-keys is non-empty'));
  }
  if (listType === 'map') {
    if (mapKeys.length === 0) errs.push(fieldRequired(child(path, 'x-kubernetes-list-map-keys'), 'must not be empty if x-kubernetes-list-type is map'));
    if (s.items === undefined || s.items === null) errs.push(fieldRequired(child(path, 'items'), 'must have a schema if x-kubernetes-list-type is map'));
    if (Array.isArray(s.items)) errs.push(fieldInvalid(child(path, 'items'), s.items, 'must only have a single schema if x-kubernetes-list-type is map'));
    if (items && items.type !== 'object') errs.push(fieldInvalid(child(child(path, 'items'), 'type'), items.type ?? '', "must be object if parent array's x-kubernetes-list-type is map"));
    if (items && items.type === 'object') {
      const seen = new Set<unknown>();
      const itemProps: Obj = isObj(items.properties) ? items.properties : {};
      for (const k of mapKeys) {
        const ks = String(k);
        if (isObj(itemProps[ks])) {
          const t = itemProps[ks].type;
          if (t === 'array' || t === 'object') {
            errs.push(fieldInvalid(child(key(child(child(path, 'items'), 'properties'), ks), 'type'), items.type, "must be a scalar type if parent array's x-kubernetes-list-type is map"));
          }
        } else {
          errs.push(fieldInvalid(child(path, 'x-kubernetes-list-map-keys'), mapKeys, 'entries must all be names of item properties'));
        }
        if (seen.has(k)) errs.push(fieldInvalid(child(path, 'x-kubernetes-list-map-keys'), mapKeys, 'must not contain duplicate entries'));
        seen.add(k);
      }
    }
  }
}

function validateMapListKeysMapSet(s: Obj, path: string, errs: StatusCause[]): void {
  const items = isObj(s.items) ? s.items : undefined;
  const listType = s['x-kubernetes-list-type'];
  if (!items || (listType !== 'set' && listType !== 'map')) return;
  if (items.nullable === true) errs.push(fieldForbidden(child(child(path, 'items'), 'nullable'), `cannot be nullable when x-kubernetes-list-type is ${listType}`));
  if (listType !== 'map') return;
  const required = new Set(Array.isArray(items.required) ? items.required : []);
  const itemProps: Obj = isObj(items.properties) ? items.properties : {};
  for (const k of Array.isArray(s['x-kubernetes-list-map-keys']) ? s['x-kubernetes-list-map-keys'] : []) {
    const prop = itemProps[k];
    if (!isObj(prop)) continue;
    const ppath = key(child(child(path, 'items'), 'properties'), String(k));
    if (!required.has(k) && (prop.default === undefined || prop.default === null)) {
      errs.push(fieldRequired(child(ppath, 'default'), 'this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property'));
    }
    if (prop.nullable === true) errs.push(fieldForbidden(child(ppath, 'nullable'), 'this property is in x-kubernetes-list-map-keys, so it cannot be nullable'));
  }
}

/** The shape of x-kubernetes-validations entries (everything but compiling the rules, which CEL does). */
function validateRuleShapes(s: Obj, path: string, errs: StatusCause[]): void {
  const rules = s['x-kubernetes-validations'];
  if (!Array.isArray(rules)) return;
  rules.forEach((r: unknown, i: number) => {
    const rule: Obj = isObj(r) ? r : {};
    const p = index(child(path, 'x-kubernetes-validations'), i);
    const text = typeof rule.rule === 'string' ? rule.rule : '';
    const msg = typeof rule.message === 'string' ? rule.message : '';
    const msgExpr = typeof rule.messageExpression === 'string' ? rule.messageExpression : '';
    const trimmedRule = text.trim();
    const trimmedMsg = msg.trim();
    if (trimmedRule === '') errs.push(fieldRequired(child(p, 'rule'), 'rule is not specified'));
    else if (msg.length > 0 && trimmedMsg === '') errs.push(fieldInvalid(child(p, 'message'), msg, 'message must be non-empty if specified'));
    else if (/[\n\r]/.test(trimmedMsg)) errs.push(fieldInvalid(child(p, 'message'), msg, 'message must not contain line breaks'));
    else if (/[\n\r]/.test(trimmedRule) && trimmedMsg === '') errs.push(fieldRequired(child(p, 'message'), 'message must be specified if rule contains line breaks'));
    if (msgExpr.length > 0 && msgExpr.trim() === '') errs.push(fieldRequired(child(p, 'messageExpression'), 'messageExpression must be non-empty if specified'));
    if (typeof rule.reason === 'string' && !VALIDATION_REASONS.includes(rule.reason)) errs.push(fieldNotSupported(child(p, 'reason'), rule.reason, VALIDATION_REASONS));
    const fp = typeof rule.fieldPath === 'string' ? rule.fieldPath : '';
    if (fp.length > 0 && fp.trim() === '') errs.push(fieldInvalid(child(p, 'fieldPath'), fp, 'fieldPath must be non-empty if specified'));
    if (/[\n\r]/.test(fp)) errs.push(fieldInvalid(child(p, 'fieldPath'), fp, 'fieldPath must not contain line breaks'));
  });
}

// ---- the entry point ----

/** Whether the schema passes the structural rules alone (what upstream needs before compiling CEL rules or serving). */
export function isStructural(schema: JSONSchemaProps): boolean {
  if (!isObj(schema) || structuralInitError(schema) !== undefined) return false;
  const errs: StatusCause[] = [];
  validateInvariants(schema, Level.Root, '', errs);
  validateCompleteness(schema, '', errs);
  return errs.length === 0;
}

/**
 * The structural-schema rules and the other schema checks upstream's CRD validation makes for a
 * version's openAPIV3Schema; `fieldPath` is where the schema sits, e.g.
 * "spec.versions[0].schema.openAPIV3Schema" (or "spec.validation.openAPIV3Schema" where upstream
 * reports a schema shared by all versions).
 */
export function validateStructuralSchema(schema: JSONSchemaProps, fieldPath: string): StatusCause[] {
  if (!isObj(schema)) return [fieldRequired(fieldPath, 'schemas are required')];
  const errs: StatusCause[] = [];
  if (schema.nullable === true) errs.push(fieldForbidden(child(fieldPath, 'nullable'), 'nullable cannot be true at the root'));

  const initErr = structuralInitError(schema);
  if (initErr === undefined) {
    const structural: StatusCause[] = [];
    validateInvariants(schema, Level.Root, fieldPath, structural);
    validateCompleteness(schema, fieldPath, structural);
    if (structural.length > 0) {
      const texts = new Map(structural.map((c) => [c, causeText(c)]));
      structural.sort((a, b) => (texts.get(a)! < texts.get(b)! ? -1 : texts.get(a)! > texts.get(b)! ? 1 : 0));
      errs.push(...structural);
    } else {
      validateDefaults(compileSchema(schema), fieldPath, true, false, errs);
    }
  }
  validateOpenAPISchema(schema, fieldPath, { allowDefaults: true, disallowReason: '', insideResourceMeta: false }, true, errs);
  if (errs.length === 0 && initErr !== undefined) errs.push(fieldInvalid(fieldPath, '', initErr));
  return errs;
}
