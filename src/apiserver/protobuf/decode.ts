/**
 * Request bodies in Kubernetes' protobuf encoding (application/vnd.kubernetes.protobuf), as
 * client-go's typed clients send them: the 4-byte magic "k8s\0", then a runtime.Unknown whose
 * typeMeta names the kind and whose raw bytes are the object's message. The object is decoded by
 * the kind's schema table into exactly the JSON the same request would have carried.
 */
import { ApiError, errors } from '../../api/errors.js';
import { PROTOBUF_KINDS } from './kinds.js';
import { isMap, isMessage, type FieldSchema, type MessageSchema, type Scalar } from './schema.js';
import { WIRE_BYTES, WIRE_VARINT, WireError, WireReader } from './wire.js';

export const KUBERNETES_PROTOBUF = 'application/vnd.kubernetes.protobuf';

const MAGIC = [0x6b, 0x38, 0x73, 0x00];

/** A field the schema does not know, carrying a value: refused (415) rather than dropped. */
class UnsupportedField extends Error {}

export interface Envelope {
  apiVersion: string;
  kind: string;
  raw: Uint8Array;
  contentEncoding: string;
  contentType: string;
}

/** The envelope only: magic and runtime.Unknown. Throws WireError when malformed. */
export function readEnvelope(body: Uint8Array): Envelope {
  if (body.length < MAGIC.length || MAGIC.some((b, i) => body[i] !== b)) {
    throw new WireError('provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]');
  }
  const env: Envelope = { apiVersion: '', kind: '', raw: new Uint8Array(0), contentEncoding: '', contentType: '' };
  const r = new WireReader(body, MAGIC.length);
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field > 4 || wire !== WIRE_BYTES) {
      r.skip(wire);
      continue;
    }
    const [s, e] = r.bytes();
    if (field === 1) {
      const t = new WireReader(body, s, e);
      while (!t.done()) {
        const tag = t.tag();
        if (tag.wire !== WIRE_BYTES || tag.field > 2) {
          t.skip(tag.wire);
          continue;
        }
        const [ts, te] = t.bytes();
        if (tag.field === 1) env.apiVersion = utf8(body, ts, te);
        else env.kind = utf8(body, ts, te);
      }
    } else if (field === 2) env.raw = body.subarray(s, e);
    else if (field === 3) env.contentEncoding = utf8(body, s, e);
    else env.contentType = utf8(body, s, e);
  }
  return env;
}

/**
 * Decodes a protobuf request body into the JSON object it stands for. 400 for malformed bytes, 415
 * for a kind (or a field of one) skiff has no table for.
 */
export function decodeKubernetesProtobuf(body: Uint8Array, contentType = KUBERNETES_PROTOBUF): Record<string, unknown> {
  try {
    const env = readEnvelope(body);
    if (!env.kind) throw new WireError('the protobuf envelope names no kind');
    const schema = PROTOBUF_KINDS.get(`${env.apiVersion}/${env.kind}`);
    if (!schema || env.contentEncoding !== '') throw errors.unsupportedMediaType(contentType);
    const obj = decodeMessage(schema, new WireReader(env.raw));
    return { apiVersion: env.apiVersion, kind: env.kind, ...obj };
  } catch (err) {
    if (err instanceof ApiError) throw err;
    if (err instanceof UnsupportedField) throw errors.unsupportedMediaType(contentType);
    if (err instanceof WireError || err instanceof RangeError || err instanceof SyntaxError) {
      throw errors.badRequest(`error decoding protobuf body: ${(err as Error).message}`);
    }
    throw err;
  }
}

/** Decodes one message (the reader spans exactly its bytes) by its schema. */
export function decodeMessage(schema: MessageSchema, r: WireReader): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  while (!r.done()) {
    const { field, wire } = r.tag();
    const f = schema.fields.get(field);
    if (!f) {
      skipUnknown(schema, field, wire, r);
      continue;
    }
    if (isMap(f.type)) {
      expectWire(schema, f, wire, WIRE_BYTES);
      const [s, e] = r.bytes();
      const [k, v] = decodeMapEntry(f.type.mapOf, new WireReader(r.buf, s, e));
      const m = (out[f.json] ??= {}) as Record<string, unknown>;
      m[k] = v;
      continue;
    }
    if (f.repeated && wire === WIRE_BYTES && (f.type === 'int32' || f.type === 'int64' || f.type === 'bool')) {
      // Packed numbers: one payload holding the varints back to back.
      const [s, e] = r.bytes();
      const p = new WireReader(r.buf, s, e);
      const list = (out[f.json] ??= []) as unknown[];
      while (!p.done()) list.push(readVarintScalar(f.type, p));
      continue;
    }
    const value = decodeValue(schema, f, wire, r);
    if (f.inline) {
      Object.assign(out, value as Record<string, unknown>);
    } else if (f.repeated) {
      ((out[f.json] ??= []) as unknown[]).push(value);
    } else if (value !== undefined && (f.keep || !isZero(value))) {
      out[f.json] = value;
    } else {
      delete out[f.json];
    }
  }
  return out;
}

function decodeValue(schema: MessageSchema, f: FieldSchema, wire: number, r: WireReader): unknown {
  const t = f.type;
  if (isMessage(t)) {
    expectWire(schema, f, wire, WIRE_BYTES);
    const [s, e] = r.bytes();
    return decodeMessage(t, new WireReader(r.buf, s, e));
  }
  if (t === 'int32' || t === 'int64' || t === 'bool') {
    expectWire(schema, f, wire, WIRE_VARINT);
    return readVarintScalar(t, r);
  }
  expectWire(schema, f, wire, WIRE_BYTES);
  const [s, e] = r.bytes();
  return decodeLengthDelimited(t as Scalar, r.buf, s, e);
}

function readVarintScalar(t: 'int32' | 'int64' | 'bool', r: WireReader): number | boolean {
  if (t === 'bool') return r.varint() !== 0n;
  return t === 'int32' ? r.int32() : r.int64();
}

/** A length-delimited scalar: strings, bytes, and the small messages with a scalar JSON form. */
function decodeLengthDelimited(t: Scalar, buf: Uint8Array, s: number, e: number): unknown {
  switch (t) {
    case 'string':
      return utf8(buf, s, e);
    case 'bytes':
      return Buffer.from(buf.buffer, buf.byteOffset + s, e - s).toString('base64');
    case 'time':
      return decodeTime(new WireReader(buf, s, e));
    case 'intstr':
      return decodeIntOrString(new WireReader(buf, s, e));
    case 'quantity':
      return decodeSingleString(new WireReader(buf, s, e), 1) ?? '0';
    case 'rawjson': {
      const raw = decodeSingleString(new WireReader(buf, s, e), 1);
      return raw === undefined || raw === '' ? {} : (JSON.parse(raw) as unknown);
    }
    case 'stringlist': {
      const r = new WireReader(buf, s, e);
      const items: string[] = [];
      while (!r.done()) {
        const { field, wire } = r.tag();
        if (field === 1 && wire === WIRE_BYTES) {
          const [a, b] = r.bytes();
          items.push(utf8(buf, a, b));
        } else r.skip(wire);
      }
      return items;
    }
    default:
      throw new WireError(`field of type ${t} is not length-delimited`);
  }
}

function decodeMapEntry(valueType: Scalar | MessageSchema, r: WireReader): [string, unknown] {
  let key = '';
  let value: unknown;
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_BYTES) {
      const [s, e] = r.bytes();
      key = utf8(r.buf, s, e);
    } else if (field === 2) {
      if (isMessage(valueType)) {
        if (wire !== WIRE_BYTES) throw new WireError('map value: wrong wire type');
        const [s, e] = r.bytes();
        value = decodeMessage(valueType, new WireReader(r.buf, s, e));
      } else if (valueType === 'int32' || valueType === 'int64' || valueType === 'bool') {
        if (wire !== WIRE_VARINT) throw new WireError('map value: wrong wire type');
        value = readVarintScalar(valueType, r);
      } else {
        if (wire !== WIRE_BYTES) throw new WireError('map value: wrong wire type');
        const [s, e] = r.bytes();
        value = decodeLengthDelimited(valueType, r.buf, s, e);
      }
    } else r.skip(wire);
  }
  return [key, value ?? zeroOf(valueType)];
}

function zeroOf(t: Scalar | MessageSchema): unknown {
  if (isMessage(t)) return {};
  switch (t) {
    case 'int32':
    case 'int64':
      return 0;
    case 'bool':
      return false;
    case 'quantity':
      return '0';
    case 'stringlist':
      return [];
    default:
      return '';
  }
}

/** metav1.Time: RFC 3339 at second precision, as it marshals to JSON; the zero time is null (left out). */
function decodeTime(r: WireReader): string | undefined {
  let seconds = 0;
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_VARINT) seconds = r.int64();
    else r.skip(wire);
  }
  if (seconds === 0) return undefined;
  const ms = seconds * 1000;
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) throw new WireError(`time out of range: ${seconds} seconds`);
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function decodeIntOrString(r: WireReader): number | string {
  let type = 0;
  let intVal = 0;
  let strVal = '';
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_VARINT) type = r.int64();
    else if (field === 2 && wire === WIRE_VARINT) intVal = r.int32();
    else if (field === 3 && wire === WIRE_BYTES) {
      const [s, e] = r.bytes();
      strVal = utf8(r.buf, s, e);
    } else r.skip(wire);
  }
  return type === 1 ? strVal : intVal;
}

function decodeSingleString(r: WireReader, num: number): string | undefined {
  let v: string | undefined;
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === num && wire === WIRE_BYTES) {
      const [s, e] = r.bytes();
      v = utf8(r.buf, s, e);
    } else r.skip(wire);
  }
  return v;
}

/** A field missing from the table is fine while it holds a zero value (gogo writes those); else 415. */
function skipUnknown(schema: MessageSchema, field: number, wire: number, r: WireReader): void {
  if (wire === WIRE_VARINT) {
    if (r.varint() === 0n) return;
  } else if (wire === WIRE_BYTES) {
    const [s, e] = r.bytes();
    if (holdsOnlyZeros(r.buf, s, e, 0)) return;
  } else {
    r.skip(wire);
  }
  throw new UnsupportedField(`${schema.name}: field ${field} is not supported`);
}

/**
 * Whether a payload is empty or a message of nothing but zero values, nested (an empty status such
 * as SelfSubjectReview's {userInfo: {}} is written as zeros inside zeros).
 */
function holdsOnlyZeros(buf: Uint8Array, s: number, e: number, depth: number): boolean {
  if (s === e) return true;
  if (depth > 8) return false;
  try {
    const r = new WireReader(buf, s, e);
    while (!r.done()) {
      const { wire } = r.tag();
      if (wire === WIRE_VARINT) {
        if (r.varint() !== 0n) return false;
      } else if (wire === WIRE_BYTES) {
        const [a, b] = r.bytes();
        if (!holdsOnlyZeros(buf, a, b, depth + 1)) return false;
      } else return false;
    }
    return true;
  } catch {
    return false;
  }
}

function expectWire(schema: MessageSchema, f: FieldSchema, wire: number, want: number): void {
  if (wire !== want) throw new WireError(`${schema.name}.${f.json || 'inline'}: wire type ${wire}, expected ${want}`);
}

function isZero(v: unknown): boolean {
  return v === '' || v === 0 || v === false;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function utf8(buf: Uint8Array, s: number, e: number): string {
  try {
    return decoder.decode(buf.subarray(s, e));
  } catch {
    throw new WireError('invalid UTF-8 in a string field');
  }
}
