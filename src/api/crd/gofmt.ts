/**
 * Field errors as upstream's apimachinery field.Error prints them for values decoded into
 * unstructured JSON: scalars with %v (strings %q), maps and lists with Go's %#v
 * (`map[string]interface {}{"a":1}`, `[]interface {}{"x"}`). kube-openapi's messages print
 * schema numbers (maximum, multipleOf) with %v of a float64 or int64; goNumber does that.
 */
import type { StatusCause } from '../errors.js';

/** Go's %v of a float64 (shortest representation, exponent below 1e-4 and from 1e21). */
export function goNumber(n: number): string {
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN';
  if (n === 0 || Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1e-4 && abs < 1e21) return String(n);
  // JS prints 1e-7 and 1e+21; Go pads the exponent to two digits (1e-07, 1e+21).
  const [mant, exp] = n.toExponential().split('e');
  const sign = exp[0] === '-' ? '-' : '+';
  const digits = exp.replace(/^[-+]/, '');
  return `${mant}e${sign}${digits.length < 2 ? '0' + digits : digits}`;
}

function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** Go's %#v of a JSON value held in an interface{} (map keys sorted, as fmt does). */
export function goSyntax(v: unknown): string {
  if (v === null || v === undefined) return 'interface {}(nil)';
  if (typeof v === 'string') return goQuote(v);
  if (typeof v === 'number') return goNumber(v);
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[]interface {}{${v.map(goSyntax).join(', ')}}`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).sort();
    return `map[string]interface {}{${keys.map((k) => `${goQuote(k)}:${goSyntax(o[k])}`).join(', ')}}`;
  }
  return String(v);
}

/** How field.Error prints a bad value: null, %v for scalars, %q for strings, %#v otherwise. */
export function goValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return goQuote(v);
  if (typeof v === 'number') return goNumber(v);
  if (typeof v === 'boolean') return String(v);
  return goSyntax(v);
}

// ---- field error builders (upstream's field.* constructors, with Go-printed values) ----

export function fieldInvalid(field: string, value: unknown, detail: string): StatusCause {
  return { reason: 'FieldValueInvalid', message: `Invalid value: ${goValue(value)}${detail ? ': ' + detail : ''}`, field };
}

export function fieldTypeInvalid(field: string, value: unknown, detail: string): StatusCause {
  return { reason: 'FieldValueTypeInvalid', message: `Invalid value: ${goValue(value)}${detail ? ': ' + detail : ''}`, field };
}

export function fieldRequired(field: string, detail = ''): StatusCause {
  return { reason: 'FieldValueRequired', message: detail ? `Required value: ${detail}` : 'Required value', field };
}

export function fieldForbidden(field: string, detail: string): StatusCause {
  return { reason: 'FieldValueForbidden', message: detail ? `Forbidden: ${detail}` : 'Forbidden', field };
}

export function fieldDuplicate(field: string, value: unknown): StatusCause {
  return { reason: 'FieldValueDuplicate', message: `Duplicate value: ${goValue(value)}`, field };
}

export function fieldNotSupported(field: string, value: unknown, supported: string[]): StatusCause {
  const detail = supported.length > 0 ? `: supported values: ${supported.map(goQuote).join(', ')}` : '';
  return { reason: 'FieldValueNotSupported', message: `Unsupported value: ${goValue(value)}${detail}`, field };
}

/** field.TooLong (v1.32): the value itself is not printed. */
export function fieldTooLong(field: string, max: number): StatusCause {
  return { reason: 'FieldValueTooLong', message: `Too long: ${max >= 0 ? `may not be more than ${max} bytes` : 'value is too long'}`, field };
}

export function fieldTooMany(field: string, actual: number, max: number): StatusCause {
  const detail = max >= 0 ? `must have at most ${max} items` : 'has too many items';
  return { reason: 'FieldValueTooMany', message: actual >= 0 ? `Too many: ${actual}: ${detail}` : `Too many: ${detail}`, field };
}

/** The text of a cause as field.Error.Error() prints it ("<field>: <body>"), used to sort like upstream. */
export function causeText(c: StatusCause): string {
  return `${c.field ?? ''}: ${c.message ?? ''}`;
}
