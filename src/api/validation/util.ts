/**
 * Small helpers shared by the per-group validation files: reading loosely-typed JSON safely,
 * building field paths the way upstream's field.Path prints them, and printing values the way
 * upstream's field errors do (Go's %#v for maps and selectors), so 422 messages read the same.
 */
import type { StatusCause } from '../errors.js';
import { causes } from '../errors.js';
import { deepEqual } from '../json.js';
import type { KubeObject } from '../types.js';
import { isQualifiedName, isValidLabelValue, isValidPercent } from './names.js';

export type Obj = Record<string, any>;
export type Causes = StatusCause[];

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The object at obj[key], creating an empty one when absent (for defaulting). */
export function ensureObj(parent: Obj, key: string): Obj {
  let v = parent[key];
  if (!isObj(v)) {
    v = {};
    parent[key] = v;
  }
  return v;
}

export function arr(v: unknown): any[] {
  return Array.isArray(v) ? v : [];
}

export function objs(v: unknown): Obj[] {
  return Array.isArray(v) ? v.filter(isObj) : [];
}

export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

export function has(o: Obj, k: string): boolean {
  return o[k] !== undefined && o[k] !== null;
}

/** The object's spec, created empty when absent, for strategies that default into it. */
export function specOf(obj: KubeObject): Obj {
  return ensureObj(obj, 'spec');
}

export function metaOf(obj: KubeObject): Obj {
  return isObj(obj.metadata) ? obj.metadata : {};
}

/**
 * Upstream's apiequality.Semantic.DeepEqual treats a nil and an empty map or slice alike; the
 * JSON we hold has "absent" and "{}"/"[]" for those, so compare with empty containers folded away.
 * Scalars are compared as they are: absent and zero differ for pointer fields, which we cannot
 * tell apart from plain ones here.
 */
export function semanticEqual(a: unknown, b: unknown): boolean {
  return deepEqual(fold(a), fold(b));
}

function fold(v: unknown): unknown {
  if (Array.isArray(v)) return v.length === 0 ? undefined : v.map(fold);
  if (isObj(v)) {
    const out: Obj = {};
    let any = false;
    for (const k of Object.keys(v)) {
      const f = fold(v[k]);
      if (f !== undefined && f !== null) {
        out[k] = f;
        any = true;
      }
    }
    return any ? out : undefined;
  }
  return v;
}

export function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

// ---- field paths, printed as upstream's field.Path.String() ----

export const child = (p: string, name: string): string => (p ? `${p}.${name}` : name);
export const index = (p: string, i: number): string => `${p}[${i}]`;
export const key = (p: string, k: string): string => `${p}[${k}]`;

// ---- values printed as Go's fmt does in field errors ----

function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** map[string]string{"a":"b"} with sorted keys, or map[string]string(nil). */
export function goStringMap(m: unknown): string {
  if (!isObj(m)) return 'map[string]string(nil)';
  const keys = Object.keys(m).sort();
  return `map[string]string{${keys.map((k) => `${goQuote(k)}:${goQuote(String(m[k]))}`).join(', ')}}`;
}

export function goStringSlice(v: unknown): string {
  if (!Array.isArray(v)) return '[]string(nil)';
  return `[]string{${v.map((s) => goQuote(String(s))).join(', ')}}`;
}

/** How a *metav1.LabelSelector prints in upstream's messages (e.g. "field is immutable"). */
export function goLabelSelector(sel: unknown): string {
  const s = isObj(sel) ? sel : {};
  const exprs = Array.isArray(s.matchExpressions)
    ? `[]v1.LabelSelectorRequirement{${s.matchExpressions
        .map(
          (e: Obj) =>
            `v1.LabelSelectorRequirement{Key:${goQuote(str(e?.key))}, Operator:${goQuote(str(e?.operator))}, Values:${goStringSlice(e?.values)}}`,
        )
        .join(', ')}}`
    : '[]v1.LabelSelectorRequirement(nil)';
  return `v1.LabelSelector{MatchLabels:${goStringMap(s.matchLabels)}, MatchExpressions:${exprs}}`;
}

/** An intstr.IntOrString printed with %#v (its String method has a pointer receiver, so Go does not use it). */
export function goIntOrString(v: unknown): string {
  if (typeof v === 'string') return `intstr.IntOrString{Type:1, IntVal:0, StrVal:${goQuote(v)}}`;
  return `intstr.IntOrString{Type:0, IntVal:${typeof v === 'number' ? v : 0}, StrVal:""}`;
}

/** A FieldValueInvalid cause whose value is already printed (for Go-formatted composites). */
export function invalidRaw(field: string, printed: string, detail: string): StatusCause {
  return { reason: 'FieldValueInvalid', message: `Invalid value: ${printed}: ${detail}`, field };
}

export function notSupportedRaw(field: string, printed: string, supported: string[]): StatusCause {
  return {
    reason: 'FieldValueNotSupported',
    message: `Unsupported value: ${printed}: supported values: ${supported.map((s) => `"${s}"`).join(', ')}`,
    field,
  };
}

export function notFound(field: string, value: unknown): StatusCause {
  return { reason: 'FieldValueNotFound', message: `Not found: ${JSON.stringify(value)}`, field };
}

export const IMMUTABLE = 'field is immutable';

export function nonNegative(value: unknown, field: string, errs: Causes): void {
  if (typeof value === 'number' && value < 0) errs.push(causes.invalid(field, value, 'must be greater than or equal to 0'));
}

export function immutable(newVal: unknown, oldVal: unknown, field: string, errs: Causes, printed?: string): void {
  if (semanticEqual(newVal, oldVal)) return;
  if (printed !== undefined) errs.push(invalidRaw(field, printed, IMMUTABLE));
  else errs.push(causes.invalid(field, newVal === undefined ? null : newVal, IMMUTABLE));
}

// ---- labels and selectors (metav1 validation) ----

/** One cause per problem with a qualified name ("[prefix/]name"): label keys, condition types, controller names. */
export function validateQualifiedName(value: string, field: string, errs: Causes): void {
  for (const m of isQualifiedName(value)) errs.push(causes.invalid(field, value, m));
}

/** Label keys are qualified names. */
export const validateLabelName = validateQualifiedName;

export function validateLabels(labels: unknown, field: string, errs: Causes): void {
  if (!isObj(labels)) return;
  for (const k of Object.keys(labels)) {
    validateLabelName(k, field, errs);
    const v = labels[k];
    if (typeof v !== 'string') continue;
    for (const m of isValidLabelValue(v)) errs.push(causes.invalid(field, v, m));
  }
}

/**
 * The operator and values of one selector requirement at `p`, as upstream's
 * ValidateLabelSelectorRequirement checks them; node selectors (`numeric`) also allow Gt and Lt
 * with a single value, as its validateNodeSelectorRequirement does.
 */
export function validateRequirementOperator(operator: unknown, values: unknown[], p: string, errs: Causes, numeric = false): void {
  if (operator === 'In' || operator === 'NotIn') {
    if (values.length === 0) errs.push(causes.required(child(p, 'values'), "Required value: must be specified when `operator` is 'In' or 'NotIn'"));
  } else if (operator === 'Exists' || operator === 'DoesNotExist') {
    if (values.length > 0) errs.push(causes.forbidden(child(p, 'values'), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
  } else if (numeric && (operator === 'Gt' || operator === 'Lt')) {
    if (values.length !== 1) errs.push(causes.required(child(p, 'values'), "Required value: must be specified single value when `operator` is 'Lt' or 'Gt'"));
  } else {
    errs.push(causes.invalid(child(p, 'operator'), str(operator), 'not a valid selector operator'));
  }
}

export function validateLabelSelector(sel: unknown, field: string, errs: Causes): void {
  if (!isObj(sel)) return;
  objs(sel.matchExpressions).forEach((e, i) => {
    const p = index(child(field, 'matchExpressions'), i);
    const values = arr(e.values);
    validateRequirementOperator(e.operator, values, p, errs);
    validateLabelName(str(e.key), child(p, 'key'), errs);
    values.forEach((v, j) => {
      if (typeof v !== 'string') return;
      for (const m of isValidLabelValue(v)) errs.push(causes.invalid(index(child(p, 'values'), j), v, m));
    });
  });
  validateLabels(sel.matchLabels, child(field, 'matchLabels'), errs);
}

/**
 * Whether a label selector matches a label set (metav1.LabelSelectorAsSelector semantics).
 * A missing selector matches nothing; an empty one matches everything.
 */
export function selectorMatches(sel: unknown, labels: unknown): boolean {
  if (!isObj(sel)) return false;
  const ls: Obj = isObj(labels) ? labels : {};
  if (isObj(sel.matchLabels)) {
    for (const [k, v] of Object.entries(sel.matchLabels)) if (ls[k] !== v) return false;
  }
  for (const e of objs(sel.matchExpressions)) {
    const k = str(e.key);
    const present = Object.prototype.hasOwnProperty.call(ls, k);
    const values = arr(e.values);
    switch (e.operator) {
      case 'In':
        if (!present || !values.includes(ls[k])) return false;
        break;
      case 'NotIn':
        if (present && values.includes(ls[k])) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

export function selectorIsEmpty(sel: unknown): boolean {
  return !isObj(sel) || (Object.keys(isObj(sel.matchLabels) ? sel.matchLabels : {}).length === 0 && arr(sel.matchExpressions).length === 0);
}

/** Map selectors (Service, ReplicationController): every key=value must be in labels. */
export function mapSelectorMatches(sel: Obj, labels: unknown): boolean {
  const ls: Obj = isObj(labels) ? labels : {};
  for (const [k, v] of Object.entries(sel)) if (ls[k] !== v) return false;
  return true;
}

// ---- int-or-percent (rolling update parameters, PDB) ----

export function validatePositiveIntOrPercent(v: unknown, field: string, errs: Causes): void {
  if (typeof v === 'string') {
    for (const m of isValidPercent(v)) errs.push(invalidRaw(field, goIntOrString(v), m));
  } else if (typeof v === 'number') {
    if (v < 0) errs.push(causes.invalid(field, v, 'must be greater than or equal to 0'));
  }
}

export function intOrPercentValue(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const m = /^(\d+)%$/.exec(v);
    return m ? Number(m[1]) : NaN;
  }
  return 0;
}

export function isNotMoreThan100Percent(v: unknown, field: string, errs: Causes): void {
  if (typeof v !== 'string') return;
  const m = /^(\d+)%$/.exec(v);
  if (m && Number(m[1]) > 100) errs.push(invalidRaw(field, goIntOrString(v), 'must not be greater than 100%'));
}
