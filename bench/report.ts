/** Goals from the issue, upstream's figures, and the tables (terminal and Markdown) that compare them. */
import { cpus, release, totalmem } from 'node:os';
import type { LatencySummary } from './stats.js';
import type { CpuShare, ListResult, LoadResult, WatchResult } from './phases.js';

export interface Machine {
  cpus: number;
  /** `etcd --version` of the etcd the benchmark started (etcd backend only). */
  etcd?: string;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  kernel: string;
  date: string;
}

export function machine(): Machine {
  const c = cpus();
  return {
    cpus: c.length,
    cpuModel: c[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: release(),
    date: new Date().toISOString(),
  };
}

export interface MemorySample {
  serverMiB: number;
  etcdMiB?: number;
}

export interface BackendResult {
  backend: 'sqlite' | 'etcd';
  quick: boolean;
  client: string;
  machine: Machine;
  config: { objects: number; concurrency: number; getSeconds: number; patches: number; listReps: number; watchers: number; watchUpdates: number; watchIntervalMs: number; objectBytes: number };
  /** Spawn → first 200 from /readyz, fresh data dir (includes generating the PKI). */
  readyMs: number;
  idle: MemorySample;
  create: LoadResult;
  holding: MemorySample & { objects: number };
  get: LoadResult;
  patch: LoadResult;
  listCache: ListResult;
  listConsistent: ListResult;
  watch: WatchResult;
  end: MemorySample & { serverPeakMiB: number };
  /** Server RSS (and peak so far) right after each phase. */
  rssTrail: { phase: string; serverMiB: number; serverPeakMiB: number }[];
  /** Stop, then start again on the same data dir holding every object (watch cache refill). */
  restart: { objects: number; stopMs: number; readyMs: number; error?: string };
  profiles: string[];
  /** CPU other processes used (% of one core) just before the run. */
  othersBeforePercent: number;
  /** Other processes used noticeable CPU during a phase: the figures understate skiff. */
  disturbed: boolean;
  /** Which attempt this is (disturbed runs are repeated). */
  attempt: number;
  goals: GoalRow[];
  failures: string[];
  passed: boolean;
}

export interface GoalRow {
  metric: string;
  unit: string;
  value: number;
  better: 'higher' | 'lower';
  goal?: number;
  /** true = PASS, false = SHORT, null = not judged (e.g. a quick run). */
  met: boolean | null;
  upstream?: string;
  /** skiff ÷ upstream's best figure. */
  ratio?: number;
  note?: string;
}

interface GoalSpec {
  metric: string;
  unit: string;
  better: 'higher' | 'lower';
  goal?: number;
  upstream?: string;
  upstreamBest?: number;
  /** Only meaningful at full size (10,000 objects). */
  fullSizeOnly?: boolean;
  value(r: BackendResult): number;
  note?(r: BackendResult): string | undefined;
}

const GOALS: GoalSpec[] = [
  { metric: 'create throughput', unit: 'ops/s', better: 'higher', goal: 3500, upstream: '1,740–1,840', upstreamBest: 1840, value: (r) => r.create.opsPerSec },
  { metric: 'create p99', unit: 'ms', better: 'lower', goal: 25, upstream: '49–54', upstreamBest: 49, value: (r) => r.create.latencyMs.p99 },
  { metric: 'get throughput', unit: 'ops/s', better: 'higher', goal: 8000, upstream: '3,400–3,800', upstreamBest: 3800, value: (r) => r.get.opsPerSec },
  { metric: 'get p99', unit: 'ms', better: 'lower', goal: 25, value: (r) => r.get.latencyMs.p99 },
  { metric: 'merge-patch throughput', unit: 'ops/s', better: 'higher', goal: 3000, upstream: '1,440–1,590', upstreamBest: 1590, value: (r) => r.patch.opsPerSec },
  { metric: 'merge-patch p99', unit: 'ms', better: 'lower', goal: 25, value: (r) => r.patch.latencyMs.p99 },
  {
    metric: 'list 10k, resourceVersion=0 (p50)',
    unit: 'ms',
    better: 'lower',
    goal: 100,
    upstream: '236',
    upstreamBest: 236,
    fullSizeOnly: true,
    value: (r) => r.listCache.latencyMs.p50,
    note: (r) => `p99 ${fmt(r.listCache.latencyMs.p99)} ms`,
  },
  {
    metric: 'list 10k, consistent (p50)',
    unit: 'ms',
    better: 'lower',
    goal: 150,
    upstream: '206',
    upstreamBest: 206,
    fullSizeOnly: true,
    value: (r) => r.listConsistent.latencyMs.p50,
    note: (r) => `p99 ${fmt(r.listConsistent.latencyMs.p99)} ms`,
  },
  {
    metric: 'watch p99, 100 watchers',
    unit: 'ms',
    better: 'lower',
    goal: 10,
    upstream: '9–12',
    upstreamBest: 9,
    value: (r) => r.watch.latencyMs.p99,
    note: (r) => `p50 ${fmt(r.watch.latencyMs.p50)} ms`,
  },
  { metric: 'watch events lost', unit: 'events', better: 'lower', goal: 0, value: (r) => r.watch.lost, note: (r) => `of ${r.watch.expected.toLocaleString('en-US')}` },
  { metric: 'ready after start', unit: 'ms', better: 'lower', goal: 1000, upstream: '5,000', upstreamBest: 5000, value: (r) => r.readyMs },
  {
    metric: 'idle RSS',
    unit: 'MiB',
    better: 'lower',
    goal: 120,
    value: (r) => r.idle.serverMiB,
    note: (r) => (r.idle.etcdMiB !== undefined ? `+ etcd ${fmt(r.idle.etcdMiB)} MiB` : undefined),
  },
  {
    metric: 'RSS holding 10k ConfigMaps',
    unit: 'MiB',
    better: 'lower',
    goal: 300,
    upstream: '~1,000 (15k objects, with etcd)',
    upstreamBest: 1000,
    fullSizeOnly: true,
    value: (r) => r.holding.serverMiB + (r.holding.etcdMiB ?? 0),
    note: (r) => (r.holding.etcdMiB !== undefined ? `skiff ${fmt(r.holding.serverMiB)} + etcd ${fmt(r.holding.etcdMiB)}` : undefined),
  },
];

export function evaluateGoals(r: BackendResult): GoalRow[] {
  return GOALS.map((g) => {
    const value = g.value(r);
    let met: boolean | null = null;
    if (g.goal !== undefined && !(g.fullSizeOnly && r.quick) && Number.isFinite(value)) met = g.better === 'higher' ? value >= g.goal : value <= g.goal;
    if (!Number.isFinite(value)) met = false;
    const row: GoalRow = { metric: g.metric, unit: g.unit, value, better: g.better, goal: g.goal, met, upstream: g.upstream };
    if (g.upstreamBest !== undefined && Number.isFinite(value)) row.ratio = Math.round((value / g.upstreamBest) * 100) / 100;
    const note = g.note?.(r);
    if (note) row.note = note;
    if (g.fullSizeOnly && r.quick) row.note = [row.note, 'quick run: not judged'].filter(Boolean).join('; ');
    return row;
  });
}

export function fmt(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '—';
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

function mark(met: boolean | null): string {
  return met === null ? 'n/a' : met ? 'PASS' : 'SHORT';
}

function goalText(g: GoalRow): string {
  if (g.goal === undefined) return '—';
  if (g.unit === 'events') return `= ${g.goal}`;
  return `${g.better === 'higher' ? '≥' : '≤'} ${fmt(g.goal)}`;
}

function cpuText(c: CpuShare): string {
  return `server ${Math.round(c.server)}%${c.etcd !== undefined ? `, etcd ${Math.round(c.etcd)}%` : ''}, bench ${Math.round(c.bench)}%, others ${Math.round(c.others)}%`;
}

function latRow(name: string, ops: string, l: LatencySummary, errors: number, cpu: CpuShare): string[] {
  return [name, ops, fmt(l.p50), fmt(l.p90), fmt(l.p99), fmt(l.max), String(errors), cpuText(cpu)];
}

/** A Markdown table: the first and last columns left-aligned, numbers between right-aligned. */
export function markdownTable(head: string[], rows: string[][]): string[] {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map((_h, i) => (i === 0 || i === head.length - 1 ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ];
}

/** The goal table and the detail table, as Markdown (also readable in a terminal). */
export function markdown(r: BackendResult): string {
  const lines: string[] = [];
  const table = (head: string[], rows: string[][]) => lines.push(...markdownTable(head, rows));
  const goalsMet = r.goals.every((g) => g.met !== false);
  const verdict = `${goalsMet ? 'all goals met' : 'SHORT of goals'}${r.failures.length ? ' — and the run FAILED (see Failures)' : ''}`;
  lines.push(`### ${r.backend}${r.quick ? ' (quick smoke run — not the benchmark)' : ''}: ${verdict}`);
  lines.push('');
  lines.push(
    `${r.config.objects.toLocaleString('en-US')} ConfigMaps of ${r.config.objectBytes} bytes, ${r.config.concurrency} keep-alive HTTPS clients with the admin client certificate (${r.client} client), ` +
      `${r.machine.cpus} cores, Node ${r.machine.node}${r.machine.etcd ? `, etcd ${r.machine.etcd} on loopback` : ''}, ${r.machine.date.slice(0, 10)}.`,
  );
  if (r.disturbed) {
    lines.push('');
    lines.push('**Disturbed run:** other processes used noticeable CPU during some phases (the `others` column below); these figures understate skiff.');
  }
  lines.push('');
  table(
    ['goal', 'skiff', 'goal', 'mark', 'upstream v1.26', 'skiff / upstream', 'note'],
    r.goals.map((g) => [`${g.metric} (${g.unit})`, fmt(g.value), goalText(g), mark(g.met), g.upstream ?? '—', g.ratio !== undefined ? `${g.ratio.toFixed(2)}×` : '—', g.note ?? '']),
  );
  lines.push('');
  table(
    ['phase', 'ops/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'errors', 'CPU (100% = one core)'],
    [
      latRow(`create ×${r.create.ops.toLocaleString('en-US')}`, fmt(r.create.opsPerSec), r.create.latencyMs, r.create.errors, r.create.cpu),
      latRow(`get ×${r.get.ops.toLocaleString('en-US')} (${r.get.seconds} s)`, fmt(r.get.opsPerSec), r.get.latencyMs, r.get.errors, r.get.cpu),
      latRow(`merge-patch ×${r.patch.ops.toLocaleString('en-US')}`, fmt(r.patch.opsPerSec), r.patch.latencyMs, r.patch.errors, r.patch.cpu),
      latRow(`list rv=0 ×${r.listCache.latencyMs.count} (${fmt(r.listCache.bytes / 2 ** 20)} MiB)`, '—', r.listCache.latencyMs, r.listCache.errors, r.listCache.cpu),
      latRow(`list consistent ×${r.listConsistent.latencyMs.count}`, '—', r.listConsistent.latencyMs, r.listConsistent.errors, r.listConsistent.cpu),
      latRow(`watch: ${r.watch.updates} writes → ${r.watch.watchers} watchers`, '—', r.watch.latencyMs, r.watch.lost + r.watch.writeErrors, r.watch.cpu),
      latRow('watch: send → first watcher', '—', r.watch.firstWatcherMs, 0, r.watch.cpu),
      latRow('watch: send → last watcher', '—', r.watch.lastWatcherMs, 0, r.watch.cpu),
      latRow('watch: the writes themselves', '—', r.watch.writeMs, r.watch.writeErrors, r.watch.cpu),
    ],
  );
  lines.push('');
  const etcd = (m: { etcdMiB?: number }) => (m.etcdMiB !== undefined ? `; etcd ${fmt(m.etcdMiB)} MiB` : '');
  lines.push(
    `Memory (RSS): idle ${fmt(r.idle.serverMiB)} MiB${etcd(r.idle)}; holding ${r.holding.objects.toLocaleString('en-US')} ConfigMaps ${fmt(r.holding.serverMiB)} MiB${etcd(r.holding)}; ` +
      `at the end ${fmt(r.end.serverMiB)} MiB${etcd(r.end)} (server peak ${fmt(r.end.serverPeakMiB)} MiB).`,
  );
  lines.push(`Server RSS after each phase (peak so far): ${r.rssTrail.map((t) => `${t.phase} ${fmt(t.serverMiB)} (${fmt(t.serverPeakMiB)})`).join(', ')} MiB.`);
  lines.push(
    `Start: ready ${fmt(r.readyMs)} ms after spawn (fresh data dir). Restart holding ${r.restart.objects.toLocaleString('en-US')} objects: stopped in ${fmt(r.restart.stopMs)} ms, ${r.restart.error ? 'did NOT start again (see failures)' : `ready again in ${fmt(r.restart.readyMs)} ms`}.`,
  );
  lines.push(
    `Watch: ${r.watch.received.toLocaleString('en-US')} of ${r.watch.expected.toLocaleString('en-US')} events arrived, ${r.watch.lost} lost, ${r.watch.duplicates} duplicated, ${r.watch.outOfOrder} out of order, ${r.watch.watchesEnded} streams ended early; writes every ${r.watch.intervalMs} ms.`,
  );
  if (r.failures.length) {
    lines.push('');
    lines.push('Failures:');
    for (const f of r.failures) lines.push(`- ${f}`);
  }
  return lines.join('\n');
}
