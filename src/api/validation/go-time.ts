/**
 * metav1.Time and metav1.MicroTime decoding: Go's time.Parse with the RFC 3339 layouts upstream
 * uses, with Go's error texts, and the value re-printed the way those types marshal (UTC; whole
 * seconds for Time, microseconds for MicroTime).
 */

const RFC3339 = '2006-01-02T15:04:05Z07:00';
const RFC3339_MICRO = '2006-01-02T15:04:05.000000Z07:00';

type Elem =
  | { lit: string }
  | { std: 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second' | 'frac6' | 'tz'; text: string };

const TIME_LAYOUT: Elem[] = [
  { std: 'year', text: '2006' },
  { lit: '-' },
  { std: 'month', text: '01' },
  { lit: '-' },
  { std: 'day', text: '02' },
  { lit: 'T' },
  { std: 'hour', text: '15' },
  { lit: ':' },
  { std: 'minute', text: '04' },
  { lit: ':' },
  { std: 'second', text: '05' },
  { std: 'tz', text: 'Z07:00' },
];
const MICRO_LAYOUT: Elem[] = [...TIME_LAYOUT.slice(0, 11), { std: 'frac6', text: '.000000' }, { std: 'tz', text: 'Z07:00' }];

const isDigit = (s: string, i: number) => i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57;

function quote(s: string): string {
  return JSON.stringify(s);
}

function daysIn(month: number, year: number): number {
  if (month === 2) return (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) ? 29 : 28;
  return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

/** Go's getnum: one or two digits (exactly two when fixed). */
function getnum(s: string, fixed: boolean): [number, string] | undefined {
  if (!isDigit(s, 0)) return undefined;
  if (!isDigit(s, 1)) {
    if (fixed) return undefined;
    return [s.charCodeAt(0) - 48, s.slice(1)];
  }
  return [(s.charCodeAt(0) - 48) * 10 + (s.charCodeAt(1) - 48), s.slice(2)];
}

/** Returns the normalized text, or Go's error message. */
export function parseGoTime(input: string, micro: boolean): { value: string } | { error: string } {
  const layout = micro ? MICRO_LAYOUT : TIME_LAYOUT;
  const layoutText = micro ? RFC3339_MICRO : RFC3339;
  const cannot = (valueElem: string, layoutElem: string) => ({
    error: `parsing time ${quote(input)} as ${quote(layoutText)}: cannot parse ${quote(valueElem)} as ${quote(layoutElem)}`,
  });
  const outOfRange = (what: string) => ({ error: `parsing time ${quote(input)}: ${what} out of range` });

  let value = input;
  let year = 0;
  let month = 1;
  let day = 1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let nsec = 0;
  let offsetMin = 0;

  const frac = (v: string, n: number): number | undefined => {
    if (v[0] !== '.' && v[0] !== ',') return undefined;
    let digits = v.slice(1, Math.min(n, 10));
    if (!/^\d+$/.test(digits)) return undefined;
    digits = digits.padEnd(9, '0');
    return Number(digits);
  };

  for (let li = 0; li < layout.length; li++) {
    const el = layout[li];
    if ('lit' in el) {
      if (value[0] !== el.lit) return cannot(value, el.lit);
      value = value.slice(1);
      continue;
    }
    const hold = value;
    let bad = false;
    let range = '';
    switch (el.std) {
      case 'year': {
        if (value.length < 4 || !/^\d{4}/.test(value)) bad = true;
        else {
          year = Number(value.slice(0, 4));
          value = value.slice(4);
        }
        break;
      }
      case 'month':
      case 'day':
      case 'minute':
      case 'second':
      case 'hour': {
        const r = getnum(value, el.std !== 'hour');
        if (!r) {
          bad = true;
          break;
        }
        const n = r[0];
        value = r[1];
        if (el.std === 'month') {
          month = n;
          if (n <= 0 || n > 12) range = 'month';
        } else if (el.std === 'day') {
          day = n;
        } else if (el.std === 'hour') {
          hour = n;
          if (n >= 24) range = 'hour';
        } else if (el.std === 'minute') {
          minute = n;
          if (n >= 60) range = 'minute';
        } else {
          second = n;
          if (n >= 60) {
            range = 'second';
            break;
          }
          // Go accepts a fraction after the seconds even when the layout has none.
          const next = layout[li + 1];
          if (value.length >= 2 && (value[0] === '.' || value[0] === ',') && isDigit(value, 1) && !('std' in next && next.std === 'frac6')) {
            let k = 2;
            while (k < value.length && isDigit(value, k)) k++;
            nsec = frac(value, k) ?? 0;
            value = value.slice(k);
          }
        }
        break;
      }
      case 'frac6': {
        if (value.length < 7) {
          bad = true;
          break;
        }
        const f = frac(value, 7);
        if (f === undefined) bad = true;
        else {
          nsec = f;
          value = value.slice(7);
        }
        break;
      }
      case 'tz': {
        if (value.length >= 1 && value[0] === 'Z') {
          value = value.slice(1);
          offsetMin = 0;
          break;
        }
        if (value.length < 6 || value[3] !== ':') {
          bad = true;
          break;
        }
        const sign = value[0];
        const hh = getnum(value.slice(1, 3), true);
        const mm = getnum(value.slice(4, 6), true);
        if (!hh || !mm || (sign !== '+' && sign !== '-')) {
          bad = true;
          break;
        }
        if (hh[0] > 24) range = 'time zone offset hour';
        if (mm[0] > 60) range = 'time zone offset minute';
        offsetMin = (sign === '-' ? -1 : 1) * (hh[0] * 60 + mm[0]);
        value = value.slice(6);
        break;
      }
    }
    if (range) return outOfRange(range);
    if (bad) return cannot(hold, el.text);
  }
  if (value.length > 0) return { error: `parsing time ${quote(input)}: extra text: ${quote(value)}` };
  if (day < 1 || day > daysIn(month, year)) return outOfRange('day');

  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  const ms = d.getTime() - offsetMin * 60_000;
  const u = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const base = `${pad(u.getUTCFullYear(), 4)}-${pad(u.getUTCMonth() + 1)}-${pad(u.getUTCDate())}T${pad(u.getUTCHours())}:${pad(u.getUTCMinutes())}:${pad(u.getUTCSeconds())}`;
  if (micro) return { value: `${base}.${pad(Math.floor(nsec / 1000), 6)}Z` };
  return { value: `${base}Z` };
}
