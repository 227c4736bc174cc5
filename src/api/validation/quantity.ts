/**
 * resource.Quantity as upstream parses and prints it (k8s.io/apimachinery/pkg/api/resource).
 * Parsing follows ParseQuantity's scanner so the same strings are accepted and the same error is
 * reported; printing follows CanonicalizeBytes, because the API stores and returns the canonical
 * form ("1.5" is read back as "1500m", "1024Mi" as "1Gi"). Values are held exactly as a count of
 * nano-units in a bigint, which is what upstream rounds to.
 */

export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

export const ERR_FORMAT_WRONG = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
export const ERR_NUMERIC = 'unable to parse numeric part of quantity';
export const ERR_SUFFIX = "unable to parse quantity's suffix";

export interface Quantity {
  /** The value in units of 1e-9, rounded away from zero; undefined when too large to hold (absurd exponents). */
  nano: bigint | undefined;
  format: QuantityFormat;
}

const NANO = 1_000_000_000n;

const DEC_SUFFIX: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BIN_SUFFIX: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DEC_BY_EXP: Record<number, string> = { [-9]: 'n', [-6]: 'u', [-3]: 'm', 0: '', 3: 'k', 6: 'M', 9: 'G', 12: 'T', 15: 'P', 18: 'E' };
const BIN_BY_EXP = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
const SUFFIX_CHARS = 'eEinumkKMGTP';
/** Beyond this many decimal places we keep the text as written instead of materializing 10^n. */
const MAX_EXPONENT = 400;

const isDigit = (c: string) => c >= '0' && c <= '9';

interface Scanned {
  positive: boolean;
  value: string;
  num: string;
  denom: string;
  suffix: string;
}

/** parseQuantityString, character for character. */
function scan(str: string): Scanned | string {
  let positive = true;
  let pos = 0;
  const end = str.length;
  if (pos < end) {
    if (str[0] === '-') {
      positive = false;
      pos++;
    } else if (str[0] === '+') {
      pos++;
    }
  }
  for (let i = pos; ; i++) {
    if (i >= end) return { positive, value: '0', num: '0', denom: '', suffix: '' };
    if (str[i] === '0') pos++;
    else break;
  }
  let num = '';
  let i = pos;
  for (; ; i++) {
    if (i >= end) return { positive, value: str, num: str.slice(pos), denom: '', suffix: '' };
    if (!isDigit(str[i])) break;
  }
  num = str.slice(pos, i);
  pos = i;
  if (num.length === 0) num = '0';
  let denom = '';
  if (pos < end && str[pos] === '.') {
    pos++;
    let j = pos;
    for (; ; j++) {
      if (j >= end) return { positive, value: str, num, denom: str.slice(pos), suffix: '' };
      if (!isDigit(str[j])) break;
    }
    denom = str.slice(pos, j);
    pos = j;
  }
  const value = str.slice(0, pos);
  const suffixStart = pos;
  for (let k = pos; ; k++) {
    if (k >= end) return { positive, value, num, denom, suffix: str.slice(suffixStart) };
    if (!SUFFIX_CHARS.includes(str[k])) {
      pos = k;
      break;
    }
  }
  if (pos < end && (str[pos] === '-' || str[pos] === '+')) pos++;
  for (let k = pos; ; k++) {
    if (k >= end) return { positive, value, num, denom, suffix: str.slice(suffixStart) };
    if (!isDigit(str[k])) break;
  }
  return ERR_FORMAT_WRONG;
}

function interpret(suffix: string): { base: 10 | 2; exp: number; format: QuantityFormat } | undefined {
  if (suffix in DEC_SUFFIX) return { base: 10, exp: DEC_SUFFIX[suffix], format: 'DecimalSI' };
  if (suffix in BIN_SUFFIX) return { base: 2, exp: BIN_SUFFIX[suffix], format: 'BinarySI' };
  if (suffix.length > 1 && (suffix[0] === 'e' || suffix[0] === 'E')) {
    if (!/^[+-]?\d+$/.test(suffix.slice(1))) return undefined;
    return { base: 10, exp: Number(suffix.slice(1)), format: 'DecimalExponent' };
  }
  return undefined;
}

function divRoundUp(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

/** Parses like resource.ParseQuantity; a string result is upstream's error text. */
export function parseQuantity(input: string): Quantity | string {
  const str = input.trim();
  if (str.length === 0) return ERR_FORMAT_WRONG;
  if (str === '0') return { nano: 0n, format: 'DecimalSI' };
  const s = scan(str);
  if (typeof s === 'string') return s;
  const suf = interpret(s.suffix);
  if (!suf) return ERR_SUFFIX;

  // Upstream only parses `value` as a decimal on its slow path; a sign or dot with no digits fails there.
  const slowPath =
    suf.format === 'BinarySI' ? s.denom.length > 0 : 18 - (s.num.length + s.denom.length) < 0 || suf.exp - s.denom.length < -9;
  if (slowPath && !/\d/.test(s.value)) return ERR_NUMERIC;

  const digits = BigInt(s.num + s.denom);
  const scale10 = -s.denom.length;
  let mag: bigint | undefined;
  if (suf.base === 10) {
    const e = scale10 + suf.exp + 9;
    if (Math.abs(e) > MAX_EXPONENT) mag = undefined;
    else mag = e >= 0 ? digits * 10n ** BigInt(e) : divRoundUp(digits, 10n ** BigInt(-e));
  } else {
    const e = scale10 + 9;
    const scaled = digits * (1n << BigInt(suf.exp));
    mag = e >= 0 ? scaled * 10n ** BigInt(e) : divRoundUp(scaled, 10n ** BigInt(-e));
  }
  const nano = mag === undefined ? undefined : s.positive ? mag : -mag;
  return { nano, format: suf.format };
}

/** The canonical text of a parsed quantity (Quantity.String()). */
export function formatQuantity(q: Quantity, original?: string): string {
  if (q.nano === undefined) return original ?? '0';
  if (q.nano === 0n) return '0';
  const neg = q.nano < 0n;
  const a = neg ? -q.nano : q.nano;
  const sign = neg ? '-' : '';
  let format = q.format;
  // Binary suffixes only for whole values of at least 1Ki; anything else prints as decimal.
  if (format === 'BinarySI' && (a < 1024n * NANO || a % NANO !== 0n)) format = 'DecimalSI';
  if (format === 'BinarySI') {
    let v = a / NANO;
    let e = 0;
    while (v % 1024n === 0n && e < BIN_BY_EXP.length - 1) {
      v /= 1024n;
      e++;
    }
    return `${sign}${v}${BIN_BY_EXP[e]}`;
  }
  let m = a;
  let e = -9;
  while (m % 10n === 0n) {
    m /= 10n;
    e++;
  }
  while (((e % 3) + 3) % 3 !== 0) {
    m *= 10n;
    e--;
  }
  if (format === 'DecimalSI' && e in DEC_BY_EXP) return `${sign}${m}${DEC_BY_EXP[e]}`;
  return `${sign}${m}${e === 0 ? '' : `e${e}`}`;
}

const FAST_BINARY = /^([1-9]\d{0,14})(Ki|Mi|Gi|Ti|Pi)$/;
const FAST_DECIMAL = /^([1-9]\d{0,14})(n|u|m|k|M|G|T|P)?$/;

/**
 * The canonical form of a quantity given as JSON (string or number), or upstream's error text.
 * Already-canonical strings (the common "100m", "128Mi", "2") skip the bigint work.
 */
export function canonicalQuantity(v: string | number): { value: string } | { error: string } {
  if (typeof v === 'string') {
    if (v === '0') return { value: v };
    let m = FAST_BINARY.exec(v);
    if (m && Number(m[1]) % 1024 !== 0) return { value: v };
    m = FAST_DECIMAL.exec(v);
    if (m && Number(m[1]) % 1000 !== 0) return { value: v };
  }
  const text = typeof v === 'number' ? numberText(v) : v;
  const q = parseQuantity(text);
  if (typeof q === 'string') return { error: q };
  return { value: formatQuantity(q, text.trim()) };
}

/** A JSON number as its literal would read (Go parses the raw bytes of a numeric quantity). */
function numberText(n: number): string {
  return String(n).replace('e+', 'e');
}

/** Values of recently seen quantity strings: the same few ("100m", "128Mi") recur on every pod. */
const valueCache = new Map<string, bigint>();
const VALUE_CACHE_MAX = 4096;

/** Parses, treating invalid text as zero (callers that reach here have passed the schema check). */
export function quantityNano(v: unknown): bigint {
  if (typeof v !== 'string' && typeof v !== 'number') return 0n;
  const text = typeof v === 'number' ? numberText(v) : v;
  const hit = valueCache.get(text);
  if (hit !== undefined) return hit;
  const q = parseQuantity(text);
  const nano = typeof q === 'string' || q.nano === undefined ? 0n : q.nano;
  if (valueCache.size >= VALUE_CACHE_MAX) valueCache.clear();
  valueCache.set(text, nano);
  return nano;
}

export function compareQuantity(a: unknown, b: unknown): number {
  const x = quantityNano(a);
  const y = quantityNano(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

const WHOLE_MILLI_OR_MORE = /^[1-9]\d{0,14}(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

/** Quantity.RoundUp(-3): what core/v1 defaulting does to every ResourceList value. */
export function roundUpToMilli(v: string): string {
  // Whole numbers of milli or larger units need no rounding (the usual "100m", "2", "128Mi").
  if (WHOLE_MILLI_OR_MORE.test(v)) return v;
  const q = parseQuantity(v);
  if (typeof q === 'string' || q.nano === undefined) return v;
  const step = 1_000_000n;
  const r = q.nano % step;
  if (r === 0n) return v;
  const mag = q.nano < 0n ? -q.nano : q.nano;
  const up = ((mag + step - 1n) / step) * step;
  return formatQuantity({ nano: q.nano < 0n ? -up : up, format: q.format });
}

/** The printed value as Quantity.String() would show it, for messages. */
export function quantityString(v: unknown): string {
  if (typeof v !== 'string' && typeof v !== 'number') return '0';
  const c = canonicalQuantity(v);
  return 'value' in c ? c.value : String(v);
}
