/**
 * When a CronJob runs: robfig/cron's Next over a parsed schedule, in the schedule's zone, and
 * upstream's cronjob controller arithmetic on top of it (the most recent unmet time, missed-start
 * counting, when to look again).
 */
import type { CronField, CronSchedule } from '../../api/validation/cron.js';
import { addDate, instantOf, wallOf, type WallTime, type Zone } from './zoned-time.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
/** Upstream requeues this long after a scheduled time, so a slightly early clock still finds it due. */
export const NEXT_SCHEDULE_DELTA_MS = 100;
/** More missed start times than this get a warning, as upstream. */
export const MANY_MISSED = 100;

function has(f: CronField, v: number): boolean {
  return f.values.has(v);
}

function truncate(ms: number, unit: number): number {
  return ms - (((ms % unit) + unit) % unit);
}

function dayMatches(s: Extract<CronSchedule, { kind: 'fields' }>, w: WallTime): boolean {
  const domMatch = has(s.dom, w.day);
  const dowMatch = has(s.dow, w.weekday);
  if (s.dom.star || s.dow.star) return domMatch && dowMatch;
  return domMatch || dowMatch;
}

/**
 * The first activation strictly after `t` (ms since the epoch), or undefined when none comes within
 * five years (robfig's zero time). Wall-clock fields are read in `zone`; the field-by-field search,
 * including its handling of days that do not start at midnight, is robfig's SpecSchedule.Next.
 */
export function nextActivation(s: CronSchedule, t: number, zone: Zone): number | undefined {
  if (s.kind === 'every') return truncate(t, SECOND) + s.delayMs;
  t = truncate(t, SECOND) + SECOND;
  let added = false;
  const yearLimit = wallOf(t, zone).year + 5;
  wrap: for (;;) {
    let w = wallOf(t, zone);
    if (w.year > yearLimit) return undefined;

    while (!has(s.month, w.month)) {
      if (!added) {
        added = true;
        t = instantOf(zone, w.year, w.month, 1);
      }
      t = addDate(t, zone, 0, 1, 0);
      w = wallOf(t, zone);
      if (w.month === 1) continue wrap;
    }

    while (!dayMatches(s, w)) {
      if (!added) {
        added = true;
        t = instantOf(zone, w.year, w.month, w.day);
      }
      t = addDate(t, zone, 0, 0, 1);
      w = wallOf(t, zone);
      // A day that starts at 1am or 11pm (DST at midnight) is put back on midnight.
      if (w.hour !== 0) {
        t += w.hour > 12 ? (24 - w.hour) * HOUR : -w.hour * HOUR;
        w = wallOf(t, zone);
      }
      if (w.day === 1) continue wrap;
    }

    while (!has(s.hour, w.hour)) {
      if (!added) {
        added = true;
        t = instantOf(zone, w.year, w.month, w.day, w.hour);
      }
      t += HOUR;
      w = wallOf(t, zone);
      if (w.hour === 0) continue wrap;
    }

    while (!has(s.minute, w.minute)) {
      if (!added) {
        added = true;
        t = truncate(t, MINUTE);
      }
      t += MINUTE;
      w = wallOf(t, zone);
      if (w.minute === 0) continue wrap;
    }

    while (!has(s.second, w.second)) {
      if (!added) {
        added = true;
        t = truncate(t, SECOND);
      }
      t += SECOND;
      w = wallOf(t, zone);
      if (w.second === 0) continue wrap;
    }
    return t;
  }
}

/** What the schedule arithmetic needs of a CronJob. */
export interface ScheduleState {
  /** metadata.creationTimestamp, ms. */
  createdAt: number;
  /** status.lastScheduleTime, ms. */
  lastScheduleTime?: number;
  startingDeadlineSeconds?: number;
}

export type Missed = 'none' | 'few' | 'many';

export interface MostRecent {
  /** The last schedule time, or the creation time (or the starting deadline, if later and asked for). */
  earliest: number;
  /** The latest activation at or before now, if any since `earliest`. */
  mostRecent?: number;
  missed: Missed;
  /** A schedule that parses but never fires twice in a row (Feb 31st). */
  error?: string;
}

type Next = (t: number) => number | undefined;

/** Upstream's mostRecentScheduleTime. */
export function mostRecentScheduleTime(cj: ScheduleState, now: number, next: Next, includeStartingDeadline: boolean): MostRecent {
  let earliest = cj.lastScheduleTime ?? cj.createdAt;
  if (includeStartingDeadline && cj.startingDeadlineSeconds !== undefined) {
    // Nothing before this point will be started any more.
    const deadline = now - cj.startingDeadlineSeconds * SECOND;
    if (deadline > earliest) earliest = deadline;
  }
  const t1 = next(earliest);
  if (t1 !== undefined && now < t1) return { earliest, missed: 'none' };
  const t2 = t1 === undefined ? undefined : next(t1);
  if (t1 !== undefined && t2 !== undefined && now < t2) return { earliest, mostRecent: t1, missed: 'none' };
  const between = t1 === undefined || t2 === undefined ? 0 : Math.round((t2 - t1) / SECOND);
  if (between < 1) return { earliest, missed: 'none', error: 'time difference between two schedules is less than 1 second' };
  // A rough count of the activations between the first unmet one and now; then the last one is
  // found by stepping from just before where the count puts it, which suits @every schedules too.
  const elapsed = Math.trunc((now - t1!) / SECOND);
  const missedCount = Math.floor(elapsed / between) + 1;
  let mostRecent: number | undefined;
  const from = t1! + (missedCount - 2) * between * SECOND;
  for (let t = next(from); t !== undefined && t <= now; t = next(t)) mostRecent = t;
  const missed: Missed = missedCount > MANY_MISSED ? 'many' : missedCount > 0 ? 'few' : 'none';
  return mostRecent === undefined ? { earliest, missed } : { earliest, mostRecent, missed };
}

/** Upstream's nextScheduleTimeDuration: how long until the controller should look again (ms). */
export function nextScheduleDelay(cj: ScheduleState, now: number, next: Next): number | undefined {
  const r = mostRecentScheduleTime(cj, now, next, false);
  let from: number;
  if (r.error) from = now;
  else if (r.mostRecent !== undefined) from = r.mostRecent;
  else from = r.missed === 'none' ? r.earliest : now;
  const at = next(from);
  return at === undefined ? undefined : at + NEXT_SCHEDULE_DELTA_MS - now;
}

/** Upstream's nextScheduleTime: the unmet activation to start now, if any. */
export function unmetScheduleTime(cj: ScheduleState, now: number, next: Next): { time?: number; missed: Missed; error?: string } {
  const r = mostRecentScheduleTime(cj, now, next, true);
  if (r.mostRecent === undefined || r.mostRecent > now) return { missed: r.missed, error: r.error };
  return { time: r.mostRecent, missed: r.missed };
}
