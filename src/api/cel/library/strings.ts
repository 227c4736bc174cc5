/**
 * cel-go's strings extension (ext.Strings, version 2 as Kubernetes uses it) where cel-js lacks it:
 * charAt, replace, reverse, format, strings.quote. cel-js already has indexOf, lastIndexOf,
 * lowerAscii, upperAscii, split, substring, trim and join.
 */
import type { Environment } from '@marcbachmann/cel-js';
import { Duration } from '@marcbachmann/cel-js/evaluator';
import { charge } from '../cost.js';
import { celError } from './values.js';

/** Upstream's traversal cost factor for strings: a tenth of a unit per character. */
export function chargeString(s: string): void {
  charge(Math.ceil(s.length * 0.1) + 1);
}

function codePoints(s: string): string[] {
  return Array.from(s);
}

function replace(s: string, from: string, to: string, n: bigint): string {
  chargeString(s);
  if (n === 0n) return s;
  if (n < 0n) return s.split(from).join(to);
  let out = '';
  let rest = s;
  let count = 0n;
  while (count < n) {
    const i = from === '' ? (count === 0n ? 0 : rest.length ? 1 : -1) : rest.indexOf(from);
    if (i < 0) break;
    if (from === '') {
      out += rest.slice(0, i) + to;
      rest = rest.slice(i);
    } else {
      out += rest.slice(0, i) + to;
      rest = rest.slice(i + from.length);
    }
    count++;
  }
  return out + rest;
}

class StringsNamespace {}

function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    switch (ch) {
      case '\x07': out += '\\a'; break;
      case '\b': out += '\\b'; break;
      case '\f': out += '\\f'; break;
      case '\n': out += '\\n'; break;
      case '\r': out += '\\r'; break;
      case '\t': out += '\\t'; break;
      case '\v': out += '\\v'; break;
      case '\\': out += '\\\\'; break;
      case '"': out += '\\"'; break;
      default: out += ch;
    }
  }
  return out + '"';
}

function formatValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(v);
  if (v === null) return 'null';
  if (v instanceof Date) return v.toISOString().replace('.000Z', 'Z');
  if (v instanceof Duration) return `${Number(v.seconds) + v.nanos / 1e9}s`;
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  if (Array.isArray(v)) return `[${v.map(formatQuoted).join(', ')}]`;
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${quote(k)}: ${formatQuoted(x)}`).join(', ')}}`;
  }
  return String(v);
}

function formatQuoted(v: unknown): string {
  return typeof v === 'string' ? quote(v) : formatValue(v);
}

/** cel-go's string.format: %s %d %f %e %x %X %o %b with an optional precision, and %%. */
export function formatString(fmt: string, args: unknown[]): string {
  chargeString(fmt);
  let out = '';
  let argi = 0;
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i];
    if (c !== '%') {
      out += c;
      continue;
    }
    i++;
    if (fmt[i] === '%') {
      out += '%';
      continue;
    }
    let precision: number | undefined;
    if (fmt[i] === '.') {
      let j = i + 1;
      while (j < fmt.length && fmt[j] >= '0' && fmt[j] <= '9') j++;
      precision = Number(fmt.slice(i + 1, j));
      i = j;
    }
    const verb = fmt[i];
    if (verb === undefined) throw celError('unexpected end of format string');
    if (argi >= args.length) throw celError(`index ${argi} out of range`);
    const arg = args[argi++];
    switch (verb) {
      case 's':
        out += formatValue(arg);
        break;
      case 'd':
        if (typeof arg !== 'bigint' && !(typeof arg === 'number' && Number.isInteger(arg))) throw celError('decimal clause can only be used on integers');
        out += String(arg);
        break;
      case 'f':
      case 'e': {
        const n = typeof arg === 'bigint' ? Number(arg) : typeof arg === 'number' ? arg : typeof arg === 'string' ? Number(arg) : NaN;
        if (Number.isNaN(n) && typeof arg !== 'number' && arg !== 'NaN') throw celError(`${verb === 'f' ? 'fixed-point' : 'scientific'} clause can only be used on doubles`);
        if (!Number.isFinite(n)) out += Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity';
        else if (verb === 'f') out += n.toFixed(precision ?? 6);
        else out += n.toExponential(precision ?? 6).replace(/e([+-])(\d)$/, 'e$10$2');
        break;
      }
      case 'x':
      case 'X': {
        let t: string;
        if (typeof arg === 'bigint') t = arg < 0n ? '-' + (-arg).toString(16) : arg.toString(16);
        else if (typeof arg === 'string') t = Buffer.from(arg, 'utf8').toString('hex');
        else if (arg instanceof Uint8Array) t = Buffer.from(arg).toString('hex');
        else throw celError('only integers, byte buffers, and strings can be formatted as hex');
        out += verb === 'X' ? t.toUpperCase() : t;
        break;
      }
      case 'o':
        if (typeof arg !== 'bigint') throw celError('octal clause can only be used on integers');
        out += arg.toString(8);
        break;
      case 'b':
        if (typeof arg === 'bigint') out += arg.toString(2);
        else if (typeof arg === 'boolean') out += arg ? '1' : '0';
        else throw celError('only integers and bools can be formatted as binary');
        break;
      default:
        throw celError(`could not parse formatting clause: unrecognized formatting clause "${verb}"`);
    }
  }
  return out;
}

export function registerStrings(env: Environment): void {
  env.registerFunction('string.charAt(int): string', (s: string, i: bigint) => {
    const cps = codePoints(s);
    if (i < 0n || i > BigInt(cps.length)) throw celError(`index out of range: ${i}`);
    return cps[Number(i)] ?? '';
  });
  env.registerFunction('string.replace(string, string): string', (s: string, a: string, b: string) => replace(s, a, b, -1n));
  env.registerFunction('string.replace(string, string, int): string', (s: string, a: string, b: string, n: bigint) => replace(s, a, b, n));
  env.registerFunction('string.reverse(): string', (s: string) => {
    chargeString(s);
    return codePoints(s).reverse().join('');
  });
  env.registerFunction('string.format(list): string', (s: string, args: unknown[]) => formatString(s, args));
  env.registerType('k8s.StringsNamespace', StringsNamespace);
  env.registerConstant('strings', 'k8s.StringsNamespace', new StringsNamespace());
  env.registerFunction('k8s.StringsNamespace.quote(string): string', (_ns: unknown, s: string) => {
    chargeString(s);
    return quote(s);
  });
}
