/**
 * A CRD version's openAPIV3Schema compiled once into a tree of nodes that validation, defaulting
 * and pruning walk. Compiling resolves what each walk would otherwise look up per value: property
 * maps, the regular expression of `pattern`, the format checker, and whether anything below a
 * node has defaults, list types or embedded resources (so walks skip subtrees with nothing to do).
 * Nodes are cached per schema object: the same schema object always yields the same tree.
 */
import { formatChecker } from './formats.js';

export type JSONSchemaProps = Record<string, any>;

export interface SchemaNode {
  raw: JSONSchemaProps;
  /** The declared type ('' when unset); int-or-string nodes are checked as "integer,string". */
  type: string;
  types: string[];
  nullable: boolean;
  /** The format kube-openapi keeps after stripping unsupported ones ('' otherwise). */
  format: string;
  checkFormat: ((s: string) => boolean) | undefined;
  properties: Map<string, SchemaNode> | undefined;
  /** additionalProperties: undefined when unset; `schema` when a schema is given. */
  additional: { allows: boolean; schema: SchemaNode | undefined } | undefined;
  items: SchemaNode | undefined;
  required: string[];
  enumValues: unknown[] | undefined;
  pattern: RegExp | undefined;
  patternSource: string;
  patternError: string | undefined;
  minimum: number | undefined;
  maximum: number | undefined;
  exclusiveMinimum: boolean;
  exclusiveMaximum: boolean;
  multipleOf: number | undefined;
  minLength: number | undefined;
  maxLength: number | undefined;
  minItems: number | undefined;
  maxItems: number | undefined;
  uniqueItems: boolean;
  minProperties: number | undefined;
  maxProperties: number | undefined;
  allOf: SchemaNode[];
  anyOf: SchemaNode[];
  oneOf: SchemaNode[];
  not: SchemaNode | undefined;
  hasDefault: boolean;
  default: unknown;
  preserveUnknownFields: boolean;
  embeddedResource: boolean;
  intOrString: boolean;
  listType: string | undefined;
  listMapKeys: string[];
  /** Something at or below this node (in the structural part) has a default. */
  defaultsBelow: boolean;
  /** Something at or below has x-kubernetes-list-type set or map. */
  listTypesBelow: boolean;
  /** Something at or below is an embedded resource. */
  embeddedBelow: boolean;
}

const cache = new WeakMap<object, SchemaNode>();

function isObj(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * Go's RE2 syntax as a JavaScript RegExp. Most CRD patterns are plain; the differences handled
 * are a leading (?i)/(?s)/(?m) flag group and \A / \z anchors. Unicode mode is tried first (Go
 * patterns are Unicode-aware) and dropped for patterns that only parse without it (e.g. `\-`).
 */
export function compileGoRegexp(pattern: string): { re?: RegExp; error?: string } {
  let src = pattern;
  let flags = '';
  const m = /^\(\?([ims]+)\)/.exec(src);
  if (m) {
    src = src.slice(m[0].length);
    flags = [...new Set(m[1].split(''))].join('');
  }
  src = src.replace(/\\A/g, '^').replace(/\\z/g, '$');
  try {
    return { re: new RegExp(src, flags + 'u') };
  } catch {
    try {
      return { re: new RegExp(src, flags) };
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e) };
    }
  }
}

/** The compiled tree of a schema, built once per schema object. */
export function compileSchema(schema: JSONSchemaProps): SchemaNode {
  let n = cache.get(schema);
  if (!n) {
    n = build(schema);
    cache.set(schema, n);
  }
  return n;
}

function build(s: JSONSchemaProps): SchemaNode {
  const intOrString = s['x-kubernetes-int-or-string'] === true;
  const type = typeof s.type === 'string' ? s.type : '';
  const types = intOrString ? ['integer', 'string'] : type ? [type] : [];
  const checkFormat = formatChecker(s.format);
  const patternSource = typeof s.pattern === 'string' ? s.pattern : '';
  const compiled = patternSource ? compileGoRegexp(patternSource) : {};
  const node: SchemaNode = {
    raw: s,
    type,
    types,
    nullable: s.nullable === true,
    format: checkFormat ? (s.format as string) : '',
    checkFormat,
    properties: undefined,
    additional: undefined,
    items: undefined,
    required: Array.isArray(s.required) ? s.required.filter((r: unknown): r is string => typeof r === 'string') : [],
    enumValues: Array.isArray(s.enum) && s.enum.length > 0 ? s.enum : undefined,
    pattern: compiled.re,
    patternSource,
    patternError: compiled.error,
    minimum: num(s.minimum),
    maximum: num(s.maximum),
    exclusiveMinimum: s.exclusiveMinimum === true,
    exclusiveMaximum: s.exclusiveMaximum === true,
    multipleOf: num(s.multipleOf),
    minLength: num(s.minLength),
    maxLength: num(s.maxLength),
    minItems: num(s.minItems),
    maxItems: num(s.maxItems),
    uniqueItems: s.uniqueItems === true,
    minProperties: num(s.minProperties),
    maxProperties: num(s.maxProperties),
    allOf: Array.isArray(s.allOf) ? s.allOf.filter(isObj).map(compileSchema) : [],
    anyOf: Array.isArray(s.anyOf) ? s.anyOf.filter(isObj).map(compileSchema) : [],
    oneOf: Array.isArray(s.oneOf) ? s.oneOf.filter(isObj).map(compileSchema) : [],
    not: isObj(s.not) ? compileSchema(s.not) : undefined,
    hasDefault: s.default !== undefined && s.default !== null,
    default: s.default,
    preserveUnknownFields: s['x-kubernetes-preserve-unknown-fields'] === true,
    embeddedResource: s['x-kubernetes-embedded-resource'] === true,
    intOrString,
    listType: typeof s['x-kubernetes-list-type'] === 'string' ? s['x-kubernetes-list-type'] : undefined,
    listMapKeys: Array.isArray(s['x-kubernetes-list-map-keys']) ? s['x-kubernetes-list-map-keys'].filter((k: unknown) => typeof k === 'string') : [],
    defaultsBelow: false,
    listTypesBelow: false,
    embeddedBelow: false,
  };
  if (isObj(s.properties)) {
    node.properties = new Map();
    for (const [k, v] of Object.entries(s.properties)) if (isObj(v)) node.properties.set(k, compileSchema(v));
  }
  if (s.additionalProperties === false) node.additional = { allows: false, schema: undefined };
  else if (s.additionalProperties === true) node.additional = { allows: true, schema: undefined };
  else if (isObj(s.additionalProperties)) node.additional = { allows: true, schema: compileSchema(s.additionalProperties) };
  if (isObj(s.items)) node.items = compileSchema(s.items);

  const children: SchemaNode[] = [];
  if (node.properties) children.push(...node.properties.values());
  if (node.additional?.schema) children.push(node.additional.schema);
  if (node.items) children.push(node.items);
  node.defaultsBelow = node.hasDefault || children.some((c) => c.defaultsBelow);
  node.listTypesBelow = node.listType === 'set' || node.listType === 'map' || children.some((c) => c.listTypesBelow);
  node.embeddedBelow = node.embeddedResource || children.some((c) => c.embeddedBelow);
  return node;
}

/** The node a field of an object value is governed by: its property, else additionalProperties' schema. */
export function fieldSchema(n: SchemaNode | undefined, k: string): SchemaNode | undefined {
  if (!n) return undefined;
  const p = n.properties?.get(k);
  if (p) return p;
  return n.additional?.schema;
}
