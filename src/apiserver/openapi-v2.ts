/**
 * OpenAPI v2 (Swagger 2.0) at /openapi/v2, as JSON or as the gnostic `openapi.v2.Document`
 * protobuf that client-go asks for. kubectl still reads it where v3 has nothing to say: it
 * validates a `kind: List` (what `kubectl get -o yaml` prints for several objects) against the v2
 * definitions only, looking each item's kind up by the definitions' x-kubernetes-group-version-kind.
 *
 * The document is derived from the OpenAPI v3 documents (openapi.ts), so paths and definitions have
 * one source: the union of every v3 document's paths and component schemas, rewritten to v2 shapes
 * (`allOf: [{$ref}]` → `$ref`, requestBody → body parameter, response content → produces/schema).
 * The protobuf is written by hand below; field numbers and wire types follow gnostic's
 * openapiv2/OpenAPIv2.proto, and vendor extensions, defaults and enums travel as YAML text in
 * `Any.yaml`, as gnostic's compiler writes them.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { stringify as toYaml } from 'yaml';
import { REF_PREFIX, type Definitions } from '../api/schema.js';
import type { ResourceEntry } from '../api/types.js';
import { errors } from '../api/errors.js';
import { buildOpenApiV3, type OpenApiV3 } from './openapi.js';

type Json = Record<string, any>;

/** What client-go's discovery asks for (gnostic's original media type)… */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
/**
 * …and what the answer must be labelled, whichever was asked: `@` is no token character, so Go's
 * mime.ParseMediaType (which client-go runs on every response's Content-Type) rejects the original
 * name and kubectl fails with "mime: unexpected content after media subtype". kube-openapi answers so too.
 */
export const OPENAPI_V2_PROTOBUF_DOTTED = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

const DEFINITIONS_PREFIX = '#/definitions/';

// ---- v3 → v2 ------------------------------------------------------------------------------------

/** Swagger 2.0 schema keywords; anything else from v3 (oneOf, anyOf, not, nullable, …) is dropped. */
const SCHEMA_KEYS = new Set([
  'format', 'title', 'description', 'default', 'multipleOf', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum',
  'maxLength', 'minLength', 'pattern', 'maxItems', 'minItems', 'uniqueItems', 'maxProperties', 'minProperties',
  'required', 'enum', 'type', 'discriminator', 'readOnly', 'example',
]);

function v2Ref(ref: string): string {
  return ref.startsWith(REF_PREFIX) ? DEFINITIONS_PREFIX + ref.slice(REF_PREFIX.length) : ref;
}

/**
 * One v3 schema as v2. A reference wrapped as `allOf: [{$ref}]` (v3 allows no siblings beside a
 * bare $ref) becomes a bare `$ref` again, keeping its description and default beside it as upstream's
 * v2 does. `oneOf` has no v2 form: IntOrString and Quantity are `type: string` in upstream's v2.
 */
export function schemaToV2(s: Json): Json {
  const out: Json = {};
  const wrapped = Array.isArray(s.allOf) && s.allOf.length === 1 && typeof s.allOf[0]?.$ref === 'string' && Object.keys(s.allOf[0]).length === 1;
  if (typeof s.$ref === 'string') out.$ref = v2Ref(s.$ref);
  else if (wrapped) out.$ref = v2Ref(s.allOf[0].$ref);
  for (const [k, v] of Object.entries(s)) {
    if (SCHEMA_KEYS.has(k) || k.startsWith('x-')) out[k] = v;
    else if (k === 'properties') out.properties = Object.fromEntries(Object.entries(v as Json).map(([n, p]) => [n, schemaToV2(p)]));
    else if (k === 'items') out.items = Array.isArray(v) ? v.map(schemaToV2) : schemaToV2(v);
    else if (k === 'additionalProperties') out.additionalProperties = typeof v === 'boolean' ? v : schemaToV2(v);
    else if (k === 'allOf' && !wrapped) out.allOf = (v as Json[]).map(schemaToV2);
  }
  const alternatives = s.oneOf ?? s.anyOf;
  if (out.type === undefined && out.$ref === undefined && Array.isArray(alternatives) && alternatives.some((a: Json) => a?.type === 'string')) {
    out.type = 'string';
  }
  return out;
}

/** A v3 parameter (`schema: {type}`) as a v2 non-body parameter (type beside the name). */
function parameterToV2(p: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(p)) {
    if (k === 'schema') Object.assign(out, v);
    else out[k] = v;
  }
  return out;
}

/** One v3 operation as v2: requestBody → a `body` parameter plus `consumes`, response content → `produces` and `schema`. */
function operationToV2(method: string, op: Json): Json {
  const out: Json = {};
  if (op.description !== undefined) out.description = op.description;
  const body = op.requestBody?.content as Json | undefined;
  if (body) out.consumes = Object.keys(body);
  const produces: string[] = [];
  const responses: Json = {};
  for (const [code, r] of Object.entries((op.responses ?? {}) as Json)) {
    const response: Json = { description: r.description ?? '' };
    for (const [mime, media] of Object.entries((r.content ?? {}) as Json)) {
      if (!produces.includes(mime)) produces.push(mime);
      if (response.schema === undefined && media?.schema) response.schema = schemaToV2(media.schema);
    }
    responses[code] = response;
  }
  if (produces.length > 0) out.produces = produces;
  out.schemes = ['https'];
  if (op.tags) out.tags = op.tags;
  if (op.operationId !== undefined) out.operationId = op.operationId;
  const parameters = ((op.parameters ?? []) as Json[]).map(parameterToV2);
  if (body) {
    const schema = Object.values(body).find((m: Json) => m?.schema)?.schema;
    const param: Json = { in: 'body', name: 'body' };
    // Upstream marks the body of writes required; DeleteOptions on delete is optional.
    if (op.requestBody.required === true || method !== 'delete') param.required = true;
    if (schema) param.schema = schemaToV2(schema);
    parameters.unshift(param);
  }
  if (parameters.length > 0) out.parameters = parameters;
  out.responses = responses;
  for (const [k, v] of Object.entries(op)) if (k.startsWith('x-')) out[k] = v;
  return out;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'] as const;

function pathItemToV2(item: Json): Json {
  const out: Json = {};
  for (const m of METHODS) if (item[m]) out[m] = operationToV2(m, item[m]);
  if (Array.isArray(item.parameters) && item.parameters.length > 0) out.parameters = item.parameters.map(parameterToV2);
  for (const [k, v] of Object.entries(item)) if (k.startsWith('x-')) out[k] = v;
  return out;
}

function sortedKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The Swagger 2.0 document for everything the v3 documents describe: all their paths, and every
 * definition any of them reaches (placeholders for kinds without a schema included).
 */
export function swaggerFromV3(v3: OpenApiV3): Json {
  const paths: Json = {};
  const definitions: Json = {};
  const securityDefinitions: Json = {};
  let info: Json = { title: 'Kubernetes', version: 'unversioned' };
  for (const doc of v3.documents.values()) {
    const d = JSON.parse(doc.body.toString('utf8')) as Json;
    if (d.info) info = d.info;
    for (const [path, item] of Object.entries((d.paths ?? {}) as Json)) paths[path] ??= pathItemToV2(item);
    for (const [name, schema] of Object.entries((d.components?.schemas ?? {}) as Json)) definitions[name] ??= schemaToV2(schema);
    for (const [name, scheme] of Object.entries((d.components?.securitySchemes ?? {}) as Json)) {
      if (scheme.type === 'apiKey') securityDefinitions[name] ??= { description: scheme.description, in: scheme.in, name: scheme.name, type: 'apiKey' };
    }
  }
  const out: Json = { swagger: '2.0', info: { title: info.title, version: info.version }, paths: sortedKeys(paths), definitions: sortedKeys(definitions) };
  if (Object.keys(securityDefinitions).length > 0) {
    out.securityDefinitions = securityDefinitions;
    out.security = Object.keys(securityDefinitions).map((name) => ({ [name]: [] }));
  }
  return out;
}

// ---- protobuf -----------------------------------------------------------------------------------

const VARINT = 0;
const FIXED64 = 1;
const BYTES = 2;

/**
 * A protobuf message being written into one growing buffer. A nested message is written on its own
 * and then copied in behind its length: a few copies per nesting level, far cheaper than the garbage
 * of a chunk per field.
 */
class ProtoWriter {
  private buf = Buffer.allocUnsafe(64);
  private pos = 0;

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  private rawVarint(n: number): void {
    this.reserve(10);
    if (n >= 0 && n <= 0x7fffffff) {
      while (n >= 0x80) {
        this.buf[this.pos++] = (n & 0x7f) | 0x80;
        n >>>= 7;
      }
      this.buf[this.pos++] = n;
      return;
    }
    // Large or negative: two's complement over 64 bits, as int64 is written.
    let v = BigInt.asUintN(64, BigInt(n));
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  private key(field: number, wire: number): void {
    this.rawVarint((field << 3) | wire);
  }

  private bytes(field: number, s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.key(field, BYTES);
    this.rawVarint(n);
    this.reserve(n);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** proto3: an empty string is the default and is not written. */
  string(field: number, s: unknown): void {
    if (typeof s === 'string' && s !== '') this.bytes(field, s);
  }

  /** Each element is written, even an empty one: repeated fields have no default to skip. */
  strings(field: number, list: unknown): void {
    if (Array.isArray(list)) for (const s of list) this.bytes(field, String(s));
  }

  /** `always` for a bool inside a oneof, where false is a value and must be present. */
  bool(field: number, v: unknown, always = false): void {
    if (typeof v !== 'boolean' || (!v && !always)) return;
    this.key(field, VARINT);
    this.rawVarint(v ? 1 : 0);
  }

  int64(field: number, v: unknown): void {
    if (typeof v !== 'number' || !Number.isInteger(v) || v === 0) return;
    this.key(field, VARINT);
    this.rawVarint(v);
  }

  double(field: number, v: unknown): void {
    if (typeof v !== 'number' || v === 0) return;
    this.key(field, FIXED64);
    this.reserve(8);
    this.pos = this.buf.writeDoubleLE(v, this.pos);
  }

  /** A nested message; written even when empty, since a message's presence is information. */
  message(field: number, m: ProtoWriter): void {
    this.key(field, BYTES);
    this.rawVarint(m.pos);
    this.reserve(m.pos);
    m.buf.copy(this.buf, this.pos, 0, m.pos);
    this.pos += m.pos;
  }

  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}

// Field numbers of gnostic's openapi.v2 messages, by message.
const F = {
  Document: { swagger: 1, info: 2, paths: 8, definitions: 9, security: 12, securityDefinitions: 13, vendorExtension: 16 },
  Info: { title: 1, version: 2, description: 3 },
  Any: { yaml: 2 },
  Named: { name: 1, value: 2 },
  /** Definitions, Properties, SecurityDefinitions, SecurityRequirement: `repeated Named… additional_properties = 1`. */
  Map: { additionalProperties: 1 },
  Paths: { vendorExtension: 1, path: 2 },
  PathItem: { ref: 1, get: 2, put: 3, post: 4, delete: 5, options: 6, head: 7, patch: 8, parameters: 9, vendorExtension: 10 },
  Operation: { tags: 1, summary: 2, description: 3, operationId: 5, produces: 6, consumes: 7, parameters: 8, responses: 9, schemes: 10, deprecated: 11, vendorExtension: 13 },
  ParametersItem: { parameter: 1 },
  Parameter: { body: 1, nonBody: 2 },
  BodyParameter: { description: 1, name: 2, in: 3, required: 4, schema: 5, vendorExtension: 6 },
  NonBodyParameter: { header: 1, formData: 2, query: 3, path: 4 },
  Responses: { responseCode: 1, vendorExtension: 2 },
  ResponseValue: { response: 1 },
  Response: { description: 1, schema: 2, vendorExtension: 5 },
  SchemaItem: { schema: 1 },
  Schema: {
    ref: 1, format: 2, title: 3, description: 4, default: 5, multipleOf: 6, maximum: 7, exclusiveMaximum: 8, minimum: 9,
    exclusiveMinimum: 10, maxLength: 11, minLength: 12, pattern: 13, maxItems: 14, minItems: 15, uniqueItems: 16,
    maxProperties: 17, minProperties: 18, required: 19, enum: 20, additionalProperties: 21, type: 22, items: 23,
    allOf: 24, properties: 25, discriminator: 26, readOnly: 27, example: 30, vendorExtension: 31,
  },
  AdditionalPropertiesItem: { schema: 1, boolean: 2 },
  /** TypeItem, ItemsItem, StringArray: one repeated field numbered 1. */
  List: { value: 1 },
  SecurityDefinitionsItem: { apiKey: 2 },
  ApiKeySecurity: { type: 1, name: 2, in: 3, description: 4 },
} as const;

/**
 * Fields of the non-body parameter messages that skiff writes. Header and path parameters number
 * them from `type = 5`; query and formData ones have `allow_empty_value = 5` and shift the rest by one.
 */
const NON_BODY_FIELDS = {
  shifted: { required: 1, in: 2, description: 3, name: 4, allowEmptyValue: 5, type: 6, format: 7, uniqueItems: 20, enum: 21, vendorExtension: 23 },
  plain: { required: 1, in: 2, description: 3, name: 4, type: 5, format: 6, uniqueItems: 19, enum: 20, vendorExtension: 22 },
} as const;

/** YAML texts by the JSON of their value: the same few ({}, "", "merge", a GVK) recur thousands of times. */
const yamlTexts = new Map<string, string>();

/** gnostic's Any: the value as YAML text (go-yaml writes YAML 1.1, so quote what 1.1 would misread). */
function anyMessage(value: unknown): ProtoWriter {
  const key = JSON.stringify(value);
  let text = yamlTexts.get(key);
  if (text === undefined) {
    text = toYaml(value, { version: '1.1', lineWidth: 0 });
    if (yamlTexts.size < 10_000) yamlTexts.set(key, text);
  }
  const w = new ProtoWriter();
  w.string(F.Any.yaml, text);
  return w;
}

function named(name: string, value: ProtoWriter): ProtoWriter {
  const w = new ProtoWriter();
  w.string(F.Named.name, name);
  w.message(F.Named.value, value);
  return w;
}

function vendorExtensions(w: ProtoWriter, field: number, o: Json): void {
  for (const [k, v] of Object.entries(o)) if (k.startsWith('x-') && v !== undefined) w.message(field, named(k, anyMessage(v)));
}

function stringList(values: unknown): ProtoWriter {
  const w = new ProtoWriter();
  w.strings(F.List.value, Array.isArray(values) ? values : [values]);
  return w;
}

function schemaMessage(s: Json): ProtoWriter {
  const f = F.Schema;
  const w = new ProtoWriter();
  w.string(f.ref, s.$ref);
  w.string(f.format, s.format);
  w.string(f.title, s.title);
  w.string(f.description, s.description);
  if (s.default !== undefined) w.message(f.default, anyMessage(s.default));
  w.double(f.multipleOf, s.multipleOf);
  w.double(f.maximum, s.maximum);
  w.bool(f.exclusiveMaximum, s.exclusiveMaximum);
  w.double(f.minimum, s.minimum);
  w.bool(f.exclusiveMinimum, s.exclusiveMinimum);
  w.int64(f.maxLength, s.maxLength);
  w.int64(f.minLength, s.minLength);
  w.string(f.pattern, s.pattern);
  w.int64(f.maxItems, s.maxItems);
  w.int64(f.minItems, s.minItems);
  w.bool(f.uniqueItems, s.uniqueItems);
  w.int64(f.maxProperties, s.maxProperties);
  w.int64(f.minProperties, s.minProperties);
  w.strings(f.required, s.required);
  if (Array.isArray(s.enum)) for (const e of s.enum) w.message(f.enum, anyMessage(e));
  if (s.additionalProperties !== undefined) {
    const a = new ProtoWriter();
    if (typeof s.additionalProperties === 'boolean') a.bool(F.AdditionalPropertiesItem.boolean, s.additionalProperties, true);
    else a.message(F.AdditionalPropertiesItem.schema, schemaMessage(s.additionalProperties));
    w.message(f.additionalProperties, a);
  }
  if (s.type !== undefined) w.message(f.type, stringList(s.type));
  if (s.items !== undefined) {
    const items = new ProtoWriter();
    for (const i of Array.isArray(s.items) ? s.items : [s.items]) items.message(F.List.value, schemaMessage(i));
    w.message(f.items, items);
  }
  if (Array.isArray(s.allOf)) for (const a of s.allOf) w.message(f.allOf, schemaMessage(a));
  if (s.properties !== undefined) {
    const props = new ProtoWriter();
    for (const [name, p] of Object.entries(s.properties as Json)) props.message(F.Map.additionalProperties, named(name, schemaMessage(p)));
    w.message(f.properties, props);
  }
  w.string(f.discriminator, s.discriminator);
  w.bool(f.readOnly, s.readOnly);
  if (s.example !== undefined) w.message(f.example, anyMessage(s.example));
  vendorExtensions(w, f.vendorExtension, s);
  return w;
}

function parameterMessage(p: Json): ProtoWriter {
  const param = new ProtoWriter();
  if (p.in === 'body') {
    const f = F.BodyParameter;
    const b = new ProtoWriter();
    b.string(f.description, p.description);
    b.string(f.name, p.name);
    b.string(f.in, p.in);
    b.bool(f.required, p.required);
    if (p.schema) b.message(f.schema, schemaMessage(p.schema));
    vendorExtensions(b, f.vendorExtension, p);
    param.message(F.Parameter.body, b);
  } else {
    const which = ({ header: F.NonBodyParameter.header, formData: F.NonBodyParameter.formData, query: F.NonBodyParameter.query, path: F.NonBodyParameter.path } as Record<string, number>)[p.in];
    if (which === undefined) throw new Error(`OpenAPI v2: parameter ${p.name} in unknown place ${p.in}`);
    const f = which === F.NonBodyParameter.query || which === F.NonBodyParameter.formData ? NON_BODY_FIELDS.shifted : NON_BODY_FIELDS.plain;
    const sub = new ProtoWriter();
    sub.bool(f.required, p.required);
    sub.string(f.in, p.in);
    sub.string(f.description, p.description);
    sub.string(f.name, p.name);
    if ('allowEmptyValue' in f) sub.bool(f.allowEmptyValue, p.allowEmptyValue);
    sub.string(f.type, p.type);
    sub.string(f.format, p.format);
    sub.bool(f.uniqueItems, p.uniqueItems);
    if (Array.isArray(p.enum)) for (const e of p.enum) sub.message(f.enum, anyMessage(e));
    vendorExtensions(sub, f.vendorExtension, p);
    const nonBody = new ProtoWriter();
    nonBody.message(which, sub);
    param.message(F.Parameter.nonBody, nonBody);
  }
  const item = new ProtoWriter();
  item.message(F.ParametersItem.parameter, param);
  return item;
}

function operationMessage(op: Json): ProtoWriter {
  const f = F.Operation;
  const w = new ProtoWriter();
  w.strings(f.tags, op.tags);
  w.string(f.summary, op.summary);
  w.string(f.description, op.description);
  w.string(f.operationId, op.operationId);
  w.strings(f.produces, op.produces);
  w.strings(f.consumes, op.consumes);
  for (const p of (op.parameters ?? []) as Json[]) w.message(f.parameters, parameterMessage(p));
  const responses = new ProtoWriter();
  for (const [code, r] of Object.entries((op.responses ?? {}) as Json)) {
    const response = new ProtoWriter();
    response.string(F.Response.description, r.description);
    if (r.schema) {
      const item = new ProtoWriter();
      item.message(F.SchemaItem.schema, schemaMessage(r.schema));
      response.message(F.Response.schema, item);
    }
    vendorExtensions(response, F.Response.vendorExtension, r);
    const value = new ProtoWriter();
    value.message(F.ResponseValue.response, response);
    responses.message(F.Responses.responseCode, named(code, value));
  }
  w.message(f.responses, responses);
  w.strings(f.schemes, op.schemes);
  w.bool(f.deprecated, op.deprecated);
  vendorExtensions(w, f.vendorExtension, op);
  return w;
}

function pathItemMessage(item: Json): ProtoWriter {
  const f = F.PathItem;
  const w = new ProtoWriter();
  w.string(f.ref, item.$ref);
  for (const m of METHODS) if (item[m]) w.message(f[m], operationMessage(item[m]));
  for (const p of (item.parameters ?? []) as Json[]) w.message(f.parameters, parameterMessage(p));
  vendorExtensions(w, f.vendorExtension, item);
  return w;
}

/** A Swagger 2.0 document (as swaggerFromV3 makes it) as a gnostic `openapi.v2.Document`. */
export function encodeSwaggerProtobuf(doc: Json): Buffer {
  const f = F.Document;
  const w = new ProtoWriter();
  w.string(f.swagger, doc.swagger);
  if (doc.info) {
    const info = new ProtoWriter();
    info.string(F.Info.title, doc.info.title);
    info.string(F.Info.version, doc.info.version);
    info.string(F.Info.description, doc.info.description);
    w.message(f.info, info);
  }
  if (doc.paths) {
    const paths = new ProtoWriter();
    vendorExtensions(paths, F.Paths.vendorExtension, doc.paths);
    for (const [path, item] of Object.entries(doc.paths as Json)) {
      if (!path.startsWith('x-')) paths.message(F.Paths.path, named(path, pathItemMessage(item)));
    }
    w.message(f.paths, paths);
  }
  if (doc.definitions) {
    const defs = new ProtoWriter();
    for (const [name, s] of Object.entries(doc.definitions as Json)) defs.message(F.Map.additionalProperties, named(name, schemaMessage(s)));
    w.message(f.definitions, defs);
  }
  for (const requirement of (doc.security ?? []) as Json[]) {
    const req = new ProtoWriter();
    for (const [name, scopes] of Object.entries(requirement)) req.message(F.Map.additionalProperties, named(name, stringList(scopes)));
    w.message(f.security, req);
  }
  if (doc.securityDefinitions) {
    const defs = new ProtoWriter();
    for (const [name, d] of Object.entries(doc.securityDefinitions as Json)) {
      if (d.type !== 'apiKey') continue;
      const key = new ProtoWriter();
      key.string(F.ApiKeySecurity.type, d.type);
      key.string(F.ApiKeySecurity.name, d.name);
      key.string(F.ApiKeySecurity.in, d.in);
      key.string(F.ApiKeySecurity.description, d.description);
      const item = new ProtoWriter();
      item.message(F.SecurityDefinitionsItem.apiKey, key);
      defs.message(F.Map.additionalProperties, named(name, item));
    }
    w.message(f.securityDefinitions, defs);
  }
  vendorExtensions(w, f.vendorExtension, doc);
  return w.finish();
}

// ---- serving ------------------------------------------------------------------------------------

export interface EncodedDocument {
  body: Buffer;
  /** Quoted, as it goes in the Etag header: sha512 of the body, hex upper case (as upstream). */
  etag: string;
}

function encoded(body: Buffer): EncodedDocument {
  return { body, etag: `"${createHash('sha512').update(body).digest('hex').toUpperCase()}"` };
}

/** The v2 document of one registry state; each encoding is made on first use and kept. */
export class OpenApiV2 {
  private jsonDoc: EncodedDocument | undefined;
  private protoDoc: EncodedDocument | undefined;

  constructor(readonly swagger: Json) {}

  json(): EncodedDocument {
    return (this.jsonDoc ??= encoded(Buffer.from(JSON.stringify(this.swagger), 'utf8')));
  }

  protobuf(): EncodedDocument {
    return (this.protoDoc ??= encoded(encodeSwaggerProtobuf(this.swagger)));
  }
}

/** Builds the v2 document for these catalog entries (through the v3 documents it derives from). */
export function buildOpenApiV2(entries: ResourceEntry[], defs: Definitions): OpenApiV2 {
  return new OpenApiV2(swaggerFromV3(buildOpenApiV3(entries, defs)));
}

/**
 * Which encoding an Accept header asks for, taking its media ranges in order of preference
 * (q, then order): 'json', 'protobuf' (with the media type to answer with), or undefined for 406.
 */
export function negotiateOpenApiV2(accept: string | undefined): { format: 'json' | 'protobuf'; contentType: string } | undefined {
  const ranges = (accept || '*/*')
    .split(',')
    .map((clause, i) => {
      const [type, ...params] = clause.split(';').map((s) => s.trim());
      const q = params.map((p) => /^q=([0-9.]+)$/i.exec(p)).find(Boolean);
      return { type: type.toLowerCase(), q: q ? Number(q[1]) : 1, i };
    })
    .filter((r) => r.type !== '' && r.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  for (const { type } of ranges) {
    if (type === OPENAPI_V2_PROTOBUF || type === OPENAPI_V2_PROTOBUF_DOTTED) return { format: 'protobuf', contentType: OPENAPI_V2_PROTOBUF_DOTTED };
    if (type === 'application/json' || type === 'application/*' || type === '*/*') return { format: 'json', contentType: 'application/json' };
  }
  return undefined;
}

function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((t) => {
    const tag = t.trim().replace(/^W\//, '');
    return tag === '*' || tag === etag;
  });
}

/** GET/HEAD /openapi/v2: JSON or protobuf by Accept, 304 when If-None-Match names the current body. */
export function serveOpenApiV2(req: IncomingMessage, res: ServerResponse, doc: OpenApiV2): void {
  const want = negotiateOpenApiV2(req.headers.accept);
  if (!want) throw errors.notAcceptable(`only application/json and ${OPENAPI_V2_PROTOBUF} are available at /openapi/v2`);
  const { body, etag } = want.format === 'protobuf' ? doc.protobuf() : doc.json();
  const headers: Record<string, string> = { 'Content-Type': want.contentType, Etag: etag, Vary: 'Accept', 'Cache-Control': 'no-cache, private' };
  if (matchesEtag(req.headers['if-none-match'], etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  headers['Content-Length'] = String(body.length);
  res.writeHead(200, headers);
  res.end(body);
}
