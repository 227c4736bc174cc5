/**
 * CronJob schedules as upstream parses them (robfig/cron/v3 ParseStandard): five fields or a
 * descriptor, optionally after a `TZ=` / `CRON_TZ=` location. Validation only asks whether a
 * schedule parses (robfig's error texts go verbatim into the 422); the CronJob controller asks for
 * the parsed schedule itself, so both read one parser.
 */
import { GO_DURATION_RE, goDurationMs } from '../go-duration.js';

interface Bounds {
  min: number;
  max: number;
  names?: Record<string, number>;
}

const SECONDS: Bounds = { min: 0, max: 59 };
const MINUTES: Bounds = { min: 0, max: 59 };
const HOURS: Bounds = { min: 0, max: 23 };
const DOM: Bounds = { min: 1, max: 31 };
const MONTHS: Bounds = {
  min: 1,
  max: 12,
  names: { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 },
};
const DOW: Bounds = { min: 0, max: 6, names: { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 } };

/**
 * The values a field matches, and robfig's "star bit": whether the field was written `*` or `?`
 * (with no step above 1). It matters only for days: when either day field is starred, a day must
 * match both; otherwise either suffices.
 */
export interface CronField {
  values: ReadonlySet<number>;
  star: boolean;
}

/** A parsed schedule. `location` is the `TZ=` zone, or undefined for the process's local zone. */
export type CronSchedule =
  | {
      kind: 'fields';
      second: CronField;
      minute: CronField;
      hour: CronField;
      dom: CronField;
      month: CronField;
      dow: CronField;
      location: string | undefined;
    }
  | { kind: 'every'; delayMs: number; location: string | undefined };

function mustParseInt(expr: string): number {
  if (!/^[+-]?\d+$/.test(expr)) throw new Error(`failed to parse int from ${expr}: strconv.Atoi: parsing ${JSON.stringify(expr)}: invalid syntax`);
  const n = Number(expr);
  if (n < 0) throw new Error(`negative number (${n}) not allowed: ${expr}`);
  return n;
}

function parseIntOrName(expr: string, names?: Record<string, number>): number {
  const named = names?.[expr.toLowerCase()];
  return named ?? mustParseInt(expr);
}

/** One comma-separated part of a field: robfig's getRange. */
function parseRange(expr: string, r: Bounds, into: Set<number>): boolean {
  const rangeAndStep = expr.split('/');
  const lowAndHigh = rangeAndStep[0].split('-');
  let start: number;
  let end: number;
  let star = false;
  if (lowAndHigh[0] === '*' || lowAndHigh[0] === '?') {
    start = r.min;
    end = r.max;
    star = true;
  } else {
    start = parseIntOrName(lowAndHigh[0], r.names);
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) end = parseIntOrName(lowAndHigh[1], r.names);
    else throw new Error(`too many hyphens: ${expr}`);
  }
  let step = 1;
  if (rangeAndStep.length === 2) {
    step = mustParseInt(rangeAndStep[1]);
    // "N/step" means "N-max/step".
    if (lowAndHigh.length === 1) end = r.max;
    if (step > 1) star = false;
  } else if (rangeAndStep.length > 2) {
    throw new Error(`too many slashes: ${expr}`);
  }
  if (start < r.min) throw new Error(`beginning of range (${start}) below minimum (${r.min}): ${expr}`);
  if (end > r.max) throw new Error(`end of range (${end}) above maximum (${r.max}): ${expr}`);
  if (start > end) throw new Error(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  if (step === 0) throw new Error(`step of range should be a positive number: ${expr}`);
  for (let v = start; v <= end; v += step) into.add(v);
  return star;
}

function parseField(field: string, r: Bounds): CronField {
  const values = new Set<number>();
  let star = false;
  for (const expr of field.split(',')) star = parseRange(expr, r, values) || star;
  return { values, star };
}

function only(v: number): CronField {
  return { values: new Set([v]), star: false };
}

function all(r: Bounds): CronField {
  const values = new Set<number>();
  for (let v = r.min; v <= r.max; v++) values.add(v);
  return { values, star: true };
}

function parseDescriptor(spec: string, location: string | undefined): CronSchedule {
  const fields = (minute: CronField, hour: CronField, dom: CronField, month: CronField, dow: CronField): CronSchedule => ({
    kind: 'fields',
    second: only(0),
    minute,
    hour,
    dom,
    month,
    dow,
    location,
  });
  switch (spec) {
    case '@yearly':
    case '@annually':
      return fields(only(0), only(0), only(1), only(1), all(DOW));
    case '@monthly':
      return fields(only(0), only(0), only(1), all(MONTHS), all(DOW));
    case '@weekly':
      return fields(only(0), only(0), all(DOM), all(MONTHS), only(0));
    case '@daily':
    case '@midnight':
      return fields(only(0), only(0), all(DOM), all(MONTHS), all(DOW));
    case '@hourly':
      return fields(only(0), all(HOURS), all(DOM), all(MONTHS), all(DOW));
  }
  if (spec.startsWith('@every ')) {
    const d = spec.slice('@every '.length);
    if (!GO_DURATION_RE.test(d)) throw new Error(`failed to parse duration ${spec}: time: invalid duration ${JSON.stringify(d)}`);
    // robfig runs at least every second, in whole seconds.
    const ms = Math.max(1000, goDurationMs(d));
    return { kind: 'every', delayMs: ms - (ms % 1000), location };
  }
  throw new Error(`unrecognized descriptor: ${spec}`);
}

/** Parses a schedule as robfig's ParseStandard does; throws an Error with robfig's message. */
export function parseCronSchedule(input: string): CronSchedule {
  let spec = input;
  if (spec.length === 0) throw new Error('empty spec string');
  let location: string | undefined;
  if (spec.startsWith('TZ=') || spec.startsWith('CRON_TZ=')) {
    const i = spec.indexOf(' ');
    const eq = spec.indexOf('=');
    const loc = spec.slice(eq + 1, i === -1 ? undefined : i);
    if (!isKnownTimeZone(loc)) throw new Error(`provided bad location ${loc}: unknown time zone ${loc}`);
    location = loc;
    spec = i === -1 ? '' : spec.slice(i).trim();
  }
  if (spec.startsWith('@')) return parseDescriptor(spec, location);
  const fields = spec.split(/\s+/).filter((f) => f !== '');
  if (fields.length !== 5) throw new Error(`expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]`);
  return {
    kind: 'fields',
    second: only(SECONDS.min),
    minute: parseField(fields[0], MINUTES),
    hour: parseField(fields[1], HOURS),
    dom: parseField(fields[2], DOM),
    month: parseField(fields[3], MONTHS),
    dow: parseField(fields[4], DOW),
    location,
  };
}

/** Returns robfig's error message, or undefined when the schedule parses. */
export function cronScheduleError(input: string): string | undefined {
  try {
    parseCronSchedule(input);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Whether `name` is an IANA time zone this runtime knows (upstream asks Go's tz database). */
export function isKnownTimeZone(name: string): boolean {
  if (name === '' || name === 'Local') return false;
  if (name === 'UTC') return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
