/**
 * Wall-clock time in an IANA time zone, with the arithmetic robfig/cron's schedules do on Go's
 * time.Time: read a wall-clock field, build an instant from wall-clock fields (time.Date, whose
 * choice in a DST gap or overlap is reproduced here), add days by the calendar. Offsets come from
 * Intl, so any zone the runtime knows works; UTC takes a fast path.
 */

/** Wall-clock fields of an instant in a zone (month 1-12, weekday 0 = Sunday). */
export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number;
}

export interface Zone {
  readonly name: string;
  /** The zone's offset from UTC at instant `ms`, in milliseconds (east positive). */
  offsetMs(ms: number): number;
}

const UTC_ZONE: Zone = { name: 'UTC', offsetMs: () => 0 };
const HOUR_MS = 3_600_000;
const HOUR_CACHE_MAX = 100_000;
const zones = new Map<string, Zone>();

/** The zone named `name` ('UTC', or an IANA name the runtime knows); throws RangeError if unknown. */
export function zoneOf(name: string): Zone {
  if (name === 'UTC' || name === 'Etc/UTC') return UTC_ZONE;
  let z = zones.get(name);
  if (z) return z;
  const fmt = new Intl.DateTimeFormat('en-US', {
    timeZone: name,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
    era: 'short',
  });
  const exact = (ms: number): number => {
    const whole = Math.floor(ms / 1000) * 1000;
    const f: Record<string, string> = {};
    for (const p of fmt.formatToParts(whole)) f[p.type] = p.value;
    const year = f.era === 'BC' || f.era === 'B' ? 1 - Number(f.year) : Number(f.year);
    const wall = Date.UTC(year, Number(f.month) - 1, Number(f.day), Number(f.hour), Number(f.minute), Number(f.second));
    return wall - whole;
  };
  // Intl is slow and schedules read offsets many times. No zone changes its offset twice within an
  // hour, so an hour whose two ends agree has that offset throughout; only hours with a change in
  // them are asked again, instant by instant.
  const hours = new Map<number, number | null>();
  const offsetMs = (ms: number): number => {
    const hour = Math.floor(ms / HOUR_MS);
    let cached = hours.get(hour);
    if (cached === undefined) {
      if (hours.size >= HOUR_CACHE_MAX) hours.clear();
      const start = exact(hour * HOUR_MS);
      cached = start === exact(hour * HOUR_MS + HOUR_MS - 1000) ? start : null;
      hours.set(hour, cached);
    }
    return cached ?? exact(ms);
  };
  z = { name, offsetMs };
  zones.set(name, z);
  return z;
}

/** The process's own zone: what Go calls time.Local. */
export function localZone(): Zone {
  return zoneOf(Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC');
}

export function wallOf(ms: number, zone: Zone): WallTime {
  const d = new Date(ms + zone.offsetMs(ms));
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    weekday: d.getUTCDay(),
  };
}

/**
 * The instant with these wall-clock fields in `zone`, as Go's time.Date: out-of-range fields
 * normalize (month 13 is next January), and a wall time a DST change skips or repeats takes the
 * offset in force just before the change.
 */
export function instantOf(zone: Zone, year: number, month: number, day: number, hour = 0, minute = 0, second = 0): number {
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  const utcGuess = wall - zone.offsetMs(wall);
  return wall - zone.offsetMs(utcGuess);
}

/** Go's t.AddDate(years, months, days): calendar arithmetic on the wall clock. */
export function addDate(ms: number, zone: Zone, years: number, months: number, days: number): number {
  const w = wallOf(ms, zone);
  const sub = ms - Math.floor(ms / 1000) * 1000;
  return instantOf(zone, w.year + years, w.month + months, w.day + days, w.hour, w.minute, w.second) + sub;
}

function pad(n: number, width = 2): string {
  return String(Math.abs(n)).padStart(width, '0');
}

function offsetText(offsetMs: number, colon: boolean): string {
  const mins = Math.round(offsetMs / 60000);
  const sign = mins < 0 ? '-' : '+';
  return `${sign}${pad(Math.floor(Math.abs(mins) / 60))}${colon ? ':' : ''}${pad(Math.abs(mins) % 60)}`;
}

/** Go's time.RFC3339 in `zone`: "2006-01-02T15:04:05Z07:00" ("Z" when the offset is zero). */
export function formatRFC3339(ms: number, zone: Zone): string {
  const off = zone.offsetMs(ms);
  const w = wallOf(ms, zone);
  const date = `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`;
  return date + (off === 0 ? 'Z' : offsetText(off, true));
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Go's time.RFC1123Z in UTC: "Mon, 02 Jan 2006 15:04:05 +0000". */
export function formatRFC1123Z(ms: number): string {
  const w = wallOf(ms, UTC_ZONE);
  return `${DAYS[w.weekday]}, ${pad(w.day)} ${MONTHS[w.month - 1]} ${pad(w.year, 4)} ${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)} +0000`;
}
