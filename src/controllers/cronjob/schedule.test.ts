import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cronScheduleError, parseCronSchedule } from '../../api/validation/cron.js';
import { mostRecentScheduleTime, nextActivation, nextScheduleDelay, unmetScheduleTime } from './schedule.js';
import { formatRFC1123Z, formatRFC3339, instantOf, zoneOf } from './zoned-time.js';

const UTC = zoneOf('UTC');
const NY = zoneOf('America/New_York');
const BERLIN = zoneOf('Europe/Berlin');

function next(schedule: string, from: string, zone = UTC): string | undefined {
  const t = nextActivation(parseCronSchedule(schedule), Date.parse(from), zone);
  return t === undefined ? undefined : new Date(t).toISOString();
}

/** The first `n` activations after `from`. */
function series(schedule: string, from: string, n: number, zone = UTC): string[] {
  const s = parseCronSchedule(schedule);
  const out: string[] = [];
  let t = Date.parse(from);
  for (let i = 0; i < n; i++) {
    t = nextActivation(s, t, zone)!;
    out.push(new Date(t).toISOString());
  }
  return out;
}

describe('cron schedule: next activation (robfig semantics)', () => {
  it('steps every minute, on the minute, strictly after the given time', () => {
    assert.equal(next('* * * * *', '2024-05-01T10:00:30.250Z'), '2024-05-01T10:01:00.000Z');
    assert.equal(next('* * * * *', '2024-05-01T10:01:00.000Z'), '2024-05-01T10:02:00.000Z');
    assert.equal(next('*/15 * * * *', '2024-05-01T10:00:00Z'), '2024-05-01T10:15:00.000Z');
    assert.equal(next('5 4 * * *', '2024-12-31T05:00:00Z'), '2025-01-01T04:05:00.000Z');
  });

  it('reads ranges, steps, lists and names', () => {
    assert.deepEqual(series('0 9-17/4 * * mon-fri', '2024-05-03T12:00:00Z', 4), [
      '2024-05-03T13:00:00.000Z',
      '2024-05-03T17:00:00.000Z',
      '2024-05-06T09:00:00.000Z', // Friday, then Monday
      '2024-05-06T13:00:00.000Z',
    ]);
    assert.deepEqual(series('0 0 1 jan,jul *', '2024-02-01T00:00:00Z', 2), ['2024-07-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z']);
  });

  it('matches day-of-month OR day-of-week when both are restricted, AND when either is *', () => {
    // The 13th, or any Friday.
    assert.deepEqual(series('0 0 13 * 5', '2024-09-01T00:00:00Z', 3), ['2024-09-06T00:00:00.000Z', '2024-09-13T00:00:00.000Z', '2024-09-20T00:00:00.000Z']);
    // Any day of the month, but only Fridays.
    assert.deepEqual(series('0 0 * * 5', '2024-09-01T00:00:00Z', 2), ['2024-09-06T00:00:00.000Z', '2024-09-13T00:00:00.000Z']);
    // "*/1" keeps the star; "1-31" does not: then Friday OR any day matches every day.
    assert.equal(next('0 0 1-31 * 5', '2024-09-01T00:00:00Z'), '2024-09-02T00:00:00.000Z');
  });

  it('knows the descriptors', () => {
    const from = '2024-05-15T10:30:00Z'; // a Wednesday
    assert.equal(next('@yearly', from), '2025-01-01T00:00:00.000Z');
    assert.equal(next('@annually', from), '2025-01-01T00:00:00.000Z');
    assert.equal(next('@monthly', from), '2024-06-01T00:00:00.000Z');
    assert.equal(next('@weekly', from), '2024-05-19T00:00:00.000Z');
    assert.equal(next('@daily', from), '2024-05-16T00:00:00.000Z');
    assert.equal(next('@midnight', from), '2024-05-16T00:00:00.000Z');
    assert.equal(next('@hourly', from), '2024-05-15T11:00:00.000Z');
    assert.equal(next('@every 90s', '2024-05-15T10:30:00.700Z'), '2024-05-15T10:31:30.000Z');
  });

  it('never fires a schedule whose day does not exist', () => {
    assert.equal(next('0 0 31 2 *', '2024-01-01T00:00:00Z'), undefined);
  });

  it('reads the schedule in its time zone, and TZ= prefixes name it', () => {
    // 09:00 in New York is 14:00Z in winter (EST) and 13:00Z in summer (EDT).
    assert.equal(next('0 9 * * *', '2024-01-10T00:00:00Z', NY), '2024-01-10T14:00:00.000Z');
    assert.equal(next('0 9 * * *', '2024-07-10T00:00:00Z', NY), '2024-07-10T13:00:00.000Z');
    assert.equal(next('TZ=America/New_York 0 9 * * *', '2024-07-10T00:00:00Z', zoneOf(parseCronSchedule('TZ=America/New_York 0 9 * * *').location!)), '2024-07-10T13:00:00.000Z');
    // Half-hour offsets: midnight in Kolkata is 18:30Z the day before.
    assert.equal(next('0 0 * * *', '2024-07-10T00:00:00Z', zoneOf('Asia/Kolkata')), '2024-07-10T18:30:00.000Z');
  });

  it('skips a time the spring-forward gap swallows (New York, 2024-03-10 02:30 does not exist)', () => {
    assert.deepEqual(series('30 2 * * *', '2024-03-09T12:00:00Z', 2, NY), [
      '2024-03-11T06:30:00.000Z', // 02:30 EDT on the 11th: the 10th is skipped
      '2024-03-12T06:30:00.000Z',
    ]);
    // 01:30 (before the gap) and 03:30 (after it) happen as usual.
    assert.equal(next('30 1 * * *', '2024-03-09T12:00:00Z', NY), '2024-03-10T06:30:00.000Z');
    assert.equal(next('30 3 * * *', '2024-03-09T12:00:00Z', NY), '2024-03-10T07:30:00.000Z');
    // Berlin's gap is 02:00-03:00 on 2024-03-31.
    assert.equal(next('30 2 * * *', '2024-03-30T12:00:00Z', BERLIN), '2024-04-01T00:30:00.000Z');
  });

  it('fires twice in the hour the fall-back repeats (New York, 2024-11-03 01:30 EDT and EST)', () => {
    assert.deepEqual(series('30 1 * * *', '2024-11-02T12:00:00Z', 3, NY), [
      '2024-11-03T05:30:00.000Z', // 01:30 EDT
      '2024-11-03T06:30:00.000Z', // 01:30 EST, an hour later
      '2024-11-04T06:30:00.000Z',
    ]);
    // Hourly schedules see the repeated hour as an hour like any other.
    assert.deepEqual(series('0 * * * *', '2024-11-03T04:30:00Z', 3, NY), ['2024-11-03T05:00:00.000Z', '2024-11-03T06:00:00.000Z', '2024-11-03T07:00:00.000Z']);
  });
});

describe('cron schedule: zoned time', () => {
  it('builds instants from wall-clock fields as Go time.Date does in gaps and overlaps', () => {
    // In the gap, Go's lookup lands on the offset in force after it: 02:30 at -04:00 is 01:30 EST.
    assert.equal(new Date(instantOf(NY, 2024, 3, 10, 2, 30)).toISOString(), '2024-03-10T06:30:00.000Z');
    // East of UTC it lands on the offset before it: 02:30 at +01:00 is 03:30 CEST.
    assert.equal(new Date(instantOf(BERLIN, 2024, 3, 31, 2, 30)).toISOString(), '2024-03-31T01:30:00.000Z');
    // In the overlap, the first (daylight) 01:30.
    assert.equal(new Date(instantOf(NY, 2024, 11, 3, 1, 30)).toISOString(), '2024-11-03T05:30:00.000Z');
    // Fields out of range normalize.
    assert.equal(new Date(instantOf(UTC, 2024, 13, 1)).toISOString(), '2025-01-01T00:00:00.000Z');
  });

  it('formats RFC 3339 in a zone and RFC 1123Z in UTC', () => {
    const t = Date.parse('2024-07-10T13:00:00Z');
    assert.equal(formatRFC3339(t, UTC), '2024-07-10T13:00:00Z');
    assert.equal(formatRFC3339(t, NY), '2024-07-10T09:00:00-04:00');
    assert.equal(formatRFC3339(t, zoneOf('Asia/Kolkata')), '2024-07-10T18:30:00+05:30');
    assert.equal(formatRFC1123Z(t), 'Wed, 10 Jul 2024 13:00:00 +0000');
  });
});

describe('cron schedule: unmet times (upstream mostRecentScheduleTime)', () => {
  const everyMinute = parseCronSchedule('* * * * *');
  const nextOf = (t: number) => nextActivation(everyMinute, t, UTC);
  const created = Date.parse('2024-05-01T10:00:10Z');

  it('has nothing to do before the first activation, and says when that is (+100 ms)', () => {
    const now = Date.parse('2024-05-01T10:00:50Z');
    assert.equal(unmetScheduleTime({ createdAt: created }, now, nextOf).time, undefined);
    assert.equal(nextScheduleDelay({ createdAt: created }, now, nextOf), 10_100);
  });

  it('finds the most recent unmet time and counts what was missed', () => {
    const now = Date.parse('2024-05-01T10:03:20Z');
    const r = unmetScheduleTime({ createdAt: created }, now, nextOf);
    assert.equal(new Date(r.time!).toISOString(), '2024-05-01T10:03:00.000Z');
    assert.equal(r.missed, 'few');
    // Once that time is recorded, nothing is due until the next minute.
    const last = Date.parse('2024-05-01T10:03:00Z');
    assert.equal(unmetScheduleTime({ createdAt: created, lastScheduleTime: last }, now, nextOf).time, undefined);
    assert.equal(nextScheduleDelay({ createdAt: created, lastScheduleTime: last }, now, nextOf), 40_100);
  });

  it('calls more than 100 missed starts many, unless startingDeadlineSeconds bounds the look back', () => {
    const now = created + 3 * 3600_000;
    const many = mostRecentScheduleTime({ createdAt: created }, now, nextOf, true);
    assert.equal(many.missed, 'many');
    assert.equal(new Date(many.mostRecent!).toISOString(), '2024-05-01T13:00:00.000Z');
    const bounded = mostRecentScheduleTime({ createdAt: created, startingDeadlineSeconds: 200 }, now, nextOf, true);
    assert.equal(bounded.missed, 'few');
    assert.equal(new Date(bounded.mostRecent!).toISOString(), '2024-05-01T13:00:00.000Z');
  });

  it('reports a schedule that never fires as an error', () => {
    const never = parseCronSchedule('0 0 31 2 *');
    const r = unmetScheduleTime({ createdAt: created }, created + 86400_000, (t) => nextActivation(never, t, UTC));
    assert.equal(r.time, undefined);
    assert.equal(r.error, 'time difference between two schedules is less than 1 second');
  });

  it('leaves validation messages as robfig words them', () => {
    assert.equal(cronScheduleError('61 * * * *'), 'end of range (61) above maximum (59): 61');
    assert.equal(cronScheduleError('* * * *'), 'expected exactly 5 fields, found 4: [* * * *]');
    assert.equal(cronScheduleError('@fortnightly'), 'unrecognized descriptor: @fortnightly');
    assert.equal(cronScheduleError('*/0 * * * *'), 'step of range should be a positive number: */0');
    assert.equal(cronScheduleError('TZ=Mars/Base * * * * *'), 'provided bad location Mars/Base: unknown time zone Mars/Base');
    assert.equal(cronScheduleError('0 0 1 1 *'), undefined);
  });
});
