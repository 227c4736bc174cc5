/**
 * Schema tables for the protobuf decoder: for each message, field number → JSON name and type.
 * Field numbers follow upstream's generated.proto files; JSON names follow the Go types' json tags.
 */

/**
 * Leaf types. Some are messages on the wire with a scalar JSON form: 'time' (metav1.Time
 * {seconds, nanos} → RFC 3339), 'intstr' (intstr.IntOrString), 'quantity' (resource.Quantity
 * {string}), 'rawjson' (metav1.FieldsV1 {Raw}), 'stringlist' (the ExtraValue wrapper of []string).
 */
export type Scalar = 'string' | 'bytes' | 'int32' | 'int64' | 'bool' | 'time' | 'intstr' | 'quantity' | 'rawjson' | 'stringlist';

export interface MessageSchema {
  name: string;
  fields: ReadonlyMap<number, FieldSchema>;
}

export interface MapOf {
  /** Map values (keys are always strings in the Kubernetes API). */
  mapOf: Scalar | MessageSchema;
}

export interface FieldSchema {
  json: string;
  type: Scalar | MessageSchema | MapOf;
  repeated: boolean;
  /**
   * Emit the field even when it holds its zero value: pointer fields (present on the wire only when
   * set, so 0/false/"" is meaningful) and fields without `omitempty`. Others are dropped when zero,
   * as gogo-protobuf writes every non-pointer field and encoding/json would have left them out.
   */
  keep: boolean;
  /** An embedded Go struct whose fields JSON inlines into the parent (e.g. LocalObjectReference). */
  inline: boolean;
}

/** Field flags: r = repeated, k = keep zero values, i = inline. */
type FieldSpec = [json: string, type: Scalar | MessageSchema | MapOf, flags?: string];

export function message(name: string, spec: Record<number, FieldSpec>): MessageSchema {
  const fields = new Map<number, FieldSchema>();
  for (const [num, [json, type, flags = '']] of Object.entries(spec)) {
    fields.set(Number(num), { json, type, repeated: flags.includes('r'), keep: flags.includes('k'), inline: flags.includes('i') });
  }
  return { name, fields };
}

export const mapOf = (v: Scalar | MessageSchema): MapOf => ({ mapOf: v });

export function isMessage(t: FieldSchema['type']): t is MessageSchema {
  return typeof t === 'object' && 'fields' in t;
}

export function isMap(t: FieldSchema['type']): t is MapOf {
  return typeof t === 'object' && 'mapOf' in t;
}
