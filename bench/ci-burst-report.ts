/** The CI burst benchmark's goals (issue 3, §5), upstream's figures beside them, and its Markdown. */
import { fmt, markdownTable } from './report.js';
import type { CiBurstResult, CiGoalRow } from './ci-burst.js';
import type { CpuShare } from './phases.js';

/** Other processes may use at most this much CPU (% of one core) for the figures to count as undisturbed. */
export const CI_QUIET_PERCENT = 15;

export const UPSTREAM_BURST = 'kube-scheduler v1.26, default settings: 1,080 pods on 100 nodes bound in 19.8 s = 54 pods/s (client rate limit)';
export const UPSTREAM_PERF_FLOOR = 'scheduler_perf CI floor, 5,000 nodes / 10,000 pods: 270 pods/s';

export function evaluateCiGoals(r: CiBurstResult): CiGoalRow[] {
  const judged = r.config.size !== 'quick';
  const burst = r.config.size === 'default';
  const lostOrStuck =
    r.counts.unitsWithoutPod +
    r.counts.unitsWithExtraPods +
    r.counts.jobsLeft +
    r.counts.podsLeft +
    (r.config.mode === 'jobs' ? r.counts.unitsCreated - r.counts.jobsComplete : 0) +
    r.createErrors;
  const rows: CiGoalRow[] = [
    {
      metric: 'scheduler throughput (first bind → last bind)',
      unit: 'pods/s',
      value: r.podsPerSecond,
      goal: '≥ 500',
      met: judged ? r.podsPerSecond >= 500 : null,
      upstream: r.config.size === 'large' ? '270 (scheduler_perf CI floor, 5k nodes / 10k pods)' : '54 (v1.26 defaults, 19.8 s for 1,080 pods / 100 nodes)',
      note: `${fmt(r.bound)} bound in ${fmt(r.bindWindowSeconds)} s; ${fmt(r.podsPerSecondFromFirstCreate)} pods/s from the first create; busiest second ${fmt(r.peakPodsPerSecond)}`,
    },
    {
      metric: `p99 pod startup (create acknowledged → Running), all ${fmt(r.units)} pods`,
      unit: 'ms',
      value: Math.round(r.startupMs.p99),
      goal: '≤ 2,000',
      met: burst ? r.startupMs.p99 <= 2000 : null,
      upstream: '5,000 (upstream SLO: p99 ≤ 5 s, stateless pods, image pull excluded)',
      note: `p50 ${fmt(Math.round(r.startupMs.p50))} ms, max ${fmt(Math.round(r.startupMs.max))} ms${burst ? '' : '; goal is for the 1,080-pod burst: not judged here'}`,
    },
    {
      metric: 'lost or stuck (Jobs/pods)',
      unit: 'objects',
      value: lostOrStuck + r.failures.length,
      goal: '= 0',
      met: lostOrStuck === 0 && r.failures.length === 0,
      note: `${fmt(r.counts.unitsCreated)} created, ${r.config.mode === 'jobs' ? `${fmt(r.counts.jobsComplete)} Complete, ${fmt(r.counts.jobsGone)} Jobs and ` : ''}${fmt(r.counts.podsGone)} pods deleted; ${fmt(r.counts.jobsLeft)} Jobs / ${fmt(r.counts.podsLeft)} pods left`,
    },
  ];
  return rows;
}

function cpuText(c: CpuShare): string {
  return `server ${Math.round(c.server)}%, bench ${Math.round(c.bench)}%, others ${Math.round(c.others)}%`;
}

export function ciMaxOthers(r: CiBurstResult): number {
  return Math.max(r.cpuBurst.others, r.cpuWhole.others);
}

export function ciMarkdown(r: CiBurstResult): string {
  const lines: string[] = [];
  const table = (head: string[], rows: string[][]) => lines.push(...markdownTable(head, rows));
  const c = r.config;
  const goalsMet = r.goals.every((g) => g.met !== false);
  const title = c.size === 'large' ? 'CI burst, large' : c.size === 'quick' ? 'CI burst (quick smoke run — not the benchmark)' : 'CI burst';
  lines.push(`### ${title}: ${goalsMet ? 'all goals met' : 'SHORT of goals'}${r.failures.length ? ' — and the run FAILED (see Failures)' : ''}`);
  lines.push('');
  const what =
    c.mode === 'jobs'
      ? `${c.pipelines} pipelines × ${c.perPipeline} Jobs (${c.burstPerPipeline} each at the same instant, the rest within ${c.trailingMs / 1000} s) = ${fmt(r.units)} Jobs, one pod each (${c.podCpu} CPU / ${c.podMemory}, restartPolicy Never, simulated run ${c.runMs.min / 1000}–${c.runMs.max / 1000} s, ttlSecondsAfterFinished ${c.ttlSeconds})`
      : `${c.pipelines} namespaces × ${fmt(c.perPipeline)} bare pods = ${fmt(r.units)} pods (${c.podCpu} CPU / ${c.podMemory}, long-running), all created at once; then the namespaces are deleted`;
  lines.push(
    `\`skiff up --simulated-nodes ${fmt(c.nodes)}\` (8 CPU / 32 GiB each, SQLite); ${what}; ${c.pipelines} keep-alive HTTPS agents of ${c.connectionsPerPipeline} connections. ` +
      `${r.machine.cpus} cores, Node ${r.machine.node}, ${r.machine.date.slice(0, 16).replace('T', ' ')} UTC, attempt ${r.attempt}.`,
  );
  if (r.disturbed) {
    lines.push('');
    lines.push(`**Disturbed run:** other processes used up to ${Math.round(ciMaxOthers(r))}% of a core; these figures understate skiff.`);
  }
  lines.push('');
  table(
    ['goal', 'skiff', 'goal', 'mark', 'upstream', 'note'],
    r.goals.map((g) => [`${g.metric} (${g.unit})`, fmt(g.value), g.goal ?? '—', g.met === null ? 'n/a' : g.met ? 'PASS' : 'SHORT', g.upstream ?? '—', g.note ?? '']),
  );
  lines.push('');
  const ms = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '—' : `${fmt(Math.round(x))} ms`);
  const s = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)} s` : 'not reached');
  table(
    ['stage (from the first create)', 'time', 'note'],
    [
      ['every create acknowledged', s(r.createSeconds), `create latency p50 ${fmt(r.createLatencyMs.p50)} ms, p99 ${fmt(r.createLatencyMs.p99)} ms (${fmt(r.units)} in flight at once, queued in the clients)`],
      ...(c.mode === 'jobs'
        ? [['every pod created (Job controller)', s(r.allPodsCreatedSeconds), `${fmt(r.podsCreatedPerSecond)} pods/s; Job acknowledged → its pod created: p50 ${ms(r.stagesMs.jobToPod?.p50)}, p99 ${ms(r.stagesMs.jobToPod?.p99)}`]]
        : []),
      ['first pod bound', s(r.firstBindSeconds), `pod created → bound: p50 ${ms(r.stagesMs.podToBound.p50)}, p99 ${ms(r.stagesMs.podToBound.p99)}`],
      ['every pod bound', s(r.allBoundSeconds), `${fmt(r.bound)} binds over ${fmt(r.bindWindowSeconds)} s`],
      ['every pod Running', s(r.allRunningSeconds), `bound → Running: p50 ${ms(r.stagesMs.boundToRunning.p50)}, p99 ${ms(r.stagesMs.boundToRunning.p99)}; startup from the create's send: p50 ${fmt(Math.round(r.startupFromSendMs.p50))} ms, p99 ${fmt(Math.round(r.startupFromSendMs.p99))} ms`],
      ...(c.mode === 'jobs' ? [['every Job Complete', s(r.allCompleteSeconds), `runs last ${c.runMs.min / 1000}–${c.runMs.max / 1000} s`]] : []),
      [
        c.mode === 'jobs' ? 'every Job and pod deleted (TTL + GC)' : 'every pod deleted (namespace deletion)',
        s(r.allGoneSeconds),
        `cleanup ${s(r.cleanupSeconds)}${c.mode === 'jobs' ? ` after the last Job finished (this includes the ${c.ttlSeconds} s TTL, which counts from the Complete condition's lastTransitionTime, truncated to the second)` : ' after the namespace deletes'}`,
      ],
    ],
  );
  lines.push('');
  lines.push(
    `Server CPU: burst (first create → every pod Running, ${fmt(r.cpuBurst.seconds)} s) ${cpuText(r.cpuBurst)}; whole run (${fmt(r.cpuWhole.seconds)} s) ${cpuText(r.cpuWhole)}; ` +
      `${fmt(r.serverCpuSeconds)} CPU-seconds in all (100% = one core).`,
  );
  lines.push(
    `Server memory (RSS): ${fmt(r.idleRssMiB)} MiB idle with ${fmt(c.nodes)} nodes, ${fmt(r.rssAtAllRunningMiB)} MiB with every pod Running, peak ${fmt(r.rssPeakMiB)} MiB (sampled every 250 ms), ${fmt(r.rssEndMiB)} MiB at the end. ` +
      `Ready (spawn → ${fmt(c.nodes)} nodes Ready): ${fmt(r.readyMs)} ms.`,
  );
  const w = r.writes;
  const evTotal = Object.values(w.events).reduce((a, b) => a + b, 0);
  lines.push(
    `Store writes (revisions): ${fmt(w.toAllRunning)} until every pod Running${c.mode === 'jobs' ? `, ${fmt(w.toAllComplete)} until every Job Complete` : ''}, ${fmt(w.whole)} in all = ${fmt(Math.round((w.whole / r.units) * 10) / 10)} per ${c.mode === 'jobs' ? 'Job' : 'pod'}; ` +
      `of them ${fmt(evTotal)} Events still held in the pipelines' namespaces: ${Object.entries(w.events)
        .sort((a, b) => b[1] - a[1])
        .map(([k2, n]) => `${k2} ${fmt(n)}`)
        .join(', ')}.`,
  );
  const k = r.counts;
  lines.push(
    `Counts: ${fmt(k.unitsCreated)} ${c.mode === 'jobs' ? 'Jobs' : 'pods'} created; pods seen ${fmt(k.podsSeen)}, bound ${fmt(k.podsBound)}, seen Running ${fmt(k.podsRunningSeen)}` +
      `${k.podsSkippedRunning ? ` (+${fmt(k.podsSkippedRunning)} whose Running status was coalesced into their final one)` : ''}` +
      `${c.mode === 'jobs' ? `, Succeeded ${fmt(k.podsSucceeded)}, Failed ${fmt(k.podsFailed)}; Jobs Complete ${fmt(k.jobsComplete)}, Failed ${fmt(k.jobsFailed)}, deleted ${fmt(k.jobsGone)}` : ''}; ` +
      `pods deleted ${fmt(k.podsGone)}; left at the end ${fmt(k.jobsLeft)} Jobs, ${fmt(k.podsLeft)} pods; Jobs without a pod ${fmt(k.unitsWithoutPod)}, with more than one ${fmt(k.unitsWithExtraPods)}; ` +
      `${fmt(k.nodesUsed)} nodes used, at most ${fmt(k.maxPodsOnANode)} pods on one; ${fmt(k.podEvents)} pod and ${fmt(k.jobEvents)} Job watch events; watch reopens ${k.watchReopens}.`,
  );
  if (r.schedulerAlone?.length) {
    lines.push('');
    lines.push(
      `The scheduler alone (\`bench/scheduler.ts\`: API server, in-process client, scheduler and the GC / namespace / service-account controllers in the bench's own process; no simulated kubelets, no Job controller): ` +
        r.schedulerAlone
          .map((s) => `${s.mode === 'precreate' ? 'pods created first, then the scheduler started' : 'pods created while it runs'}: ${fmt(s.bound)} of ${fmt(s.pods)} pods on ${fmt(s.nodes)} nodes in ${fmt(s.seconds)} s = **${fmt(s.podsPerSecond)} pods/s** (create → bound p99 ${fmt(s.p99Ms)} ms)`)
          .join('; ') +
        '.',
    );
  }
  if (r.timeline.length) {
    lines.push('');
    lines.push('<details><summary>Timeline (one row per second, thinned for long runs)</summary>');
    lines.push('');
    const step = Math.max(1, Math.ceil(r.timeline.length / 40));
    table(
      ['t (s)', 'server CPU %', 'RSS MiB', 'acked', 'bound', 'Running', c.mode === 'jobs' ? 'finished' : '—', 'pods alive', c.mode === 'jobs' ? 'Jobs deleted' : 'pods deleted'],
      r.timeline
        .filter((_t, i) => i % step === 0 || i === r.timeline.length - 1)
        .map((t) => [fmt(t.t), String(t.serverCpuPercent), fmt(t.rssMiB), fmt(t.acked), fmt(t.bound), fmt(t.running), c.mode === 'jobs' ? fmt(t.complete) : '—', fmt(t.podsLive), fmt(t.unitsGone)]),
    );
    lines.push('');
    lines.push('</details>');
  }
  if (r.failures.length) {
    lines.push('');
    lines.push('Failures:');
    for (const f of r.failures) lines.push(`- ${f}`);
  }
  return lines.join('\n');
}
