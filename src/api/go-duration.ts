/**
 * Go's time.Duration as text, both ways: the kubelet's messages print durations with Go's
 * Duration.String() ("back-off 20s …", "in 1.5s"), and cron's `@every`, flags and parsed events read
 * them with time.ParseDuration's grammar.
 */

/** Go's time.Duration String() for whole milliseconds: "0s", "523ms", "1.5s", "5m0s", "1h2m3s". */
export function goDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms));
  if (total === 0) return '0s';
  if (total < 1000) return `${total}ms`;
  const h = Math.floor(total / 3_600_000);
  const m = Math.floor((total % 3_600_000) / 60_000);
  const rest = total % 60_000;
  const secs = (rest / 1000).toFixed(3).replace(/\.?0+$/, '');
  return `${h > 0 ? `${h}h` : ''}${h > 0 || m > 0 ? `${m}m` : ''}${secs}s`;
}

/** time.ParseDuration's grammar: signed sequences of decimal numbers with units, or a bare 0. */
export const GO_DURATION_RE = /^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$|^[-+]?0$/;
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** The milliseconds of a duration that matches GO_DURATION_RE (check it first: this does not validate). */
export function goDurationMs(d: string): number {
  const sign = d.startsWith('-') ? -1 : 1;
  let total = 0;
  for (const m of d.replace(/^[-+]/, '').matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) total += Number(m[1]) * UNIT_MS[m[2]];
  return sign * total;
}
