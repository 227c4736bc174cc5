/** The pods suite's goals and its tables (Markdown, also readable in a terminal). */
import { fmt, markdownTable } from './report.js';
import type { CpuShare } from './phases.js';
import type { LatencySummary } from './stats.js';
import type { Overhead, PodsGoalRow, PodsResult } from './pods.js';

export function evaluatePodsGoals(r: PodsResult): PodsGoalRow[] {
  const judged = r.config.size === 'default';
  const row = (metric: string, unit: string, value: number | undefined, goal: number | undefined, note?: string): PodsGoalRow => {
    const v = value ?? NaN;
    let met: boolean | null = null;
    if (goal !== undefined) met = !Number.isFinite(v) ? false : judged ? v <= goal : null;
    const notes = [note, goal !== undefined && !judged && Number.isFinite(v) ? 'quick run: not judged' : undefined].filter(Boolean).join('; ');
    return { metric, unit, value: v, goal: goal !== undefined ? `≤ ${fmt(goal)}` : undefined, met, ...(notes ? { note: notes } : {}) };
  };
  const b = r.burst;
  const s = r.short;
  const rows: PodsGoalRow[] = [
    row(`p50 pod startup, ${b?.pods ?? r.config.burstPods}-pod burst (create acknowledged → Running seen)`, 'ms', b?.ackToSeenMs.p50, 1000, b ? `creationTimestamp → startedAt p50 ${fmt(b.createdToStartedMs.p50)} ms (whole seconds)` : undefined),
    row(`p99 pod startup, ${b?.pods ?? r.config.burstPods}-pod burst (create acknowledged → Running seen)`, 'ms', b?.ackToSeenMs.p99, 2000, b ? `creationTimestamp → startedAt p99 ${fmt(b.createdToStartedMs.p99)} ms` : undefined),
    row(`${s?.pods ?? r.config.shortPods} short-lived pods: first create → all Succeeded`, 's', s?.allSucceededSeconds, 30, s ? `${s.succeeded} Succeeded, ${s.failed} Failed; per pod p50 ${fmt(s.ackToSucceededMs.p50)} ms, p99 ${fmt(s.ackToSucceededMs.p99)} ms` : undefined),
  ];
  if (r.overhead) {
    const o = r.overhead;
    rows.push(row(`skiff RSS per running pod (${o.atN.pods} pods)`, 'KiB', o.perPod.skiffRssKiB, undefined, `${fmt(o.at0.skiffRssMiB)} → ${fmt(o.atN.skiffRssMiB)} MiB`));
    rows.push(row('conmon RSS per running pod', 'KiB', o.perPod.conmonRssKiB, undefined, `${o.atN.conmons} conmons, ${fmt(o.atN.conmonRssMiB)} MiB in all`));
    rows.push(row('skiff idle CPU per running pod', '% of a core', o.perPod.skiffCpuPercent, undefined, `${fmt(o.at0.skiffCpuPercent)}% → ${fmt(o.atN.skiffCpuPercent)}% over ${o.atN.idleSeconds} s`));
  }
  if (r.pull) {
    const p = r.pull;
    rows.push(row('image pull through the agent', 'MB/s', p.agentMBps, undefined, `${fmt(p.transferBytes / 1e6)} MB in ${fmt(p.agentMs)} ms; skopeo ${fmt(p.skopeoMBps)} MB/s = ${fmt(p.ratio)}× the agent`));
  }
  return rows;
}

/** A difference with its sign (+0.5, -0.01). */
function signed(n: number): string {
  return `${n >= 0 ? '+' : ''}${fmt(n)}`;
}

function mark(met: boolean | null): string {
  return met === null ? 'n/a' : met ? 'PASS' : 'SHORT';
}

function lat(l: LatencySummary | undefined): string[] {
  if (!l || !l.count) return ['—', '—', '—', '—'];
  return [fmt(Math.round(l.p50)), fmt(Math.round(l.p90)), fmt(Math.round(l.p99)), fmt(Math.round(l.max))];
}

function cpuText(c: CpuShare): string {
  return `skiff ${Math.round(c.server)}%, bench ${Math.round(c.bench)}%, others (crun, conmon, CNI, …) ${Math.round(c.others)}%`;
}

function overheadRow(o: Overhead): string[] {
  return [
    fmt(o.pods),
    fmt(o.skiffRssMiB),
    `${fmt(o.conmonRssMiB)} (${o.conmons})`,
    o.podsCgroupMiB !== undefined ? fmt(o.podsCgroupMiB) : '—',
    `${fmt(o.skiffCpuPercent)}%`,
  ];
}

export function podsMarkdown(r: PodsResult): string {
  const lines: string[] = [];
  const table = (head: string[], rows: string[][]) => lines.push(...markdownTable(head, rows));
  const goalsMet = r.goals.every((g) => g.met !== false);
  lines.push(`### Pods${r.config.size === 'quick' ? ' (quick smoke run — not the benchmark)' : ''}: ${goalsMet ? 'all goals met' : 'SHORT of goals'}${r.failures.length ? ' — and the run FAILED (see Failures)' : ''}`);
  lines.push('');
  lines.push(
    `\`skiff up\` with its node agent (crun under conmon, CNI bridge, SQLite), images from a docker-registry on 127.0.0.1; ` +
      `nproc ${r.machine.nproc} (${r.machine.cpuModel}), kernel ${r.machine.kernel}, Node ${r.machine.node}, ${r.machine.date.slice(0, 16).replace('T', ' ')} UTC; ` +
      `other processes used ${r.othersBeforePercent}% of a core before the run. Node Ready ${fmt(r.readyMs)} ms after spawn.`,
  );
  lines.push('');
  table(
    ['goal', 'skiff', 'goal', 'mark', 'note'],
    r.goals.map((g) => [`${g.metric} (${g.unit})`, fmt(g.value), g.goal ?? '—', mark(g.met), g.note ?? '']),
  );
  lines.push('');
  const rows: string[][] = [];
  if (r.burst) {
    const b = r.burst;
    rows.push([`burst ×${b.pods}: create sent → acknowledged`, ...lat(b.createMs), `${b.createErrors} errors`]);
    rows.push([`burst: create acknowledged → Running seen (watch)`, ...lat(b.ackToSeenMs), `${b.reached} Running, ${b.failed} Failed; all Running ${fmt(b.allSeconds)} s after the first create`]);
    rows.push([`burst: create sent → Running seen`, ...lat(b.sentToSeenMs), `${cpuText(b.cpu)}; of the others, the agent's children (crun, CNI, iptables, mount) ${Math.round(b.childrenCpuPercent)}%`]);
    rows.push([`burst: creationTimestamp → container startedAt`, ...lat(b.createdToStartedMs), 'both whole seconds: ±1 s']);
    rows.push([`burst: creationTimestamp → Running seen`, ...lat(b.createdToSeenMs), 'creationTimestamp truncated: overstates by 0–1 s']);
  }
  if (r.short) {
    const s = r.short;
    rows.push([`short ×${s.pods}: create sent → acknowledged`, ...lat(s.createMs), `${s.createErrors} errors`]);
    rows.push([`short: create acknowledged → Succeeded seen`, ...lat(s.ackToSucceededMs), `${s.succeeded} Succeeded, ${s.failed} Failed; all in ${fmt(s.allSucceededSeconds)} s; at most ${s.maxBoundAtOnce} on the node at once; ${cpuText(s.cpu)}; the agent's children ${Math.round(s.childrenCpuPercent)}%`]);
    rows.push([`short: creationTimestamp → container finishedAt`, ...lat(s.createdToFinishedMs), 'whole seconds']);
  }
  if (rows.length) {
    table(['phase', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'note'], rows);
    lines.push('');
  }
  if (r.overhead) {
    table(['running pods', 'skiff RSS MiB', 'conmon RSS MiB (processes)', "pods' memory cgroup MiB", `skiff CPU idle (${r.overhead.atN.idleSeconds} s)`, ], [overheadRow(r.overhead.at0), overheadRow(r.overhead.atN)]);
    const p = r.overhead.perPod;
    lines.push('');
    lines.push(
      `Per running pod: skiff ${signed(p.skiffRssKiB)} KiB RSS, conmon ${fmt(p.conmonRssKiB)} KiB, skiff ${signed(p.skiffCpuPercent)}% of a core at idle` +
        `${p.podsCgroupKiB !== undefined ? `, the pod's own processes ${fmt(p.podsCgroupKiB)} KiB (memory cgroup)` : ''}.`,
    );
    lines.push('');
  }
  if (r.pull) {
    const p = r.pull;
    lines.push(
      `Pull: ${p.image}, ${p.layers} layers, ${fmt(p.transferBytes / 1e6)} MB compressed${p.imageSizeBytes ? `, ${fmt(p.imageSizeBytes / 1e6)} MB unpacked` : ''}. ` +
        `Agent (imagePullPolicy Always, the Pulled event's duration: fetch, verify, unpack): ${fmt(p.agentMs)} ms = **${fmt(p.agentMBps)} MB/s** (skiff used ${fmt(p.serverCpuSeconds)} CPU-s over the pod's run). ` +
        `\`skopeo copy … dir:\` (fetch and verify only): ${p.skopeoMs.map((x) => `${fmt(x)} ms`).join(', ')} = **${fmt(p.skopeoMBps)} MB/s**; skopeo ÷ agent = ${fmt(p.ratio)}×.`,
    );
    lines.push('');
  }
  lines.push(
    `Pre-pull: ${r.prepull.message ?? 'no Pulled event'}; pod Running ${fmt(r.prepull.runningMs)} ms after its create. ` +
      `Cleanup between phases (pods gone from the API + node teardown after): ${r.cleanups.map((c) => `${c.phase} ${c.pods} pods ${fmt(c.seconds)} + ${fmt(c.teardownSeconds)} s`).join(', ')}.`,
  );
  const warn = [r.burst && ['burst', r.burst.warnings], r.short && ['short', r.short.warnings]].filter(Boolean) as [string, Record<string, number>][];
  const warnText = warn.filter(([, w]) => Object.keys(w).length).map(([ph, w]) => `${ph}: ${Object.entries(w).map(([k, v]) => `${k} ×${v}`).join(', ')}`);
  if (warnText.length) lines.push(`Warning events: ${warnText.join('; ')}${r.short?.warningSamples.length ? ` (e.g. ${r.short.warningSamples[0]})` : ''}.`);
  if (r.hostProblems.length) lines.push(`Host cleanup: ${r.hostProblems.join('; ')}.`);
  if (r.failures.length) {
    lines.push('');
    lines.push('Failures:');
    for (const f of r.failures) lines.push(`- ${f}`);
  }
  return lines.join('\n');
}
