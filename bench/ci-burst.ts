/**
 * The CI burst benchmark (issue 3, §5): a CI cluster — `skiff up --simulated-nodes 100` (8 CPU /
 * 32 GiB each) as a real child process — takes 6 pipelines arriving together, each 180 Jobs of
 * which 170 are created at the same instant and the other 10 within the next second, over
 * keep-alive HTTPS clients (one agent of 8 connections per pipeline). Each Job runs one pod
 * (500m CPU / 1 GiB, restartPolicy Never, a simulated run of 2–4 s) and has
 * ttlSecondsAfterFinished 5, so the TTL controller and the garbage collector clean everything up.
 *
 * Two watches (pods, Jobs; all namespaces, by label) timestamp every event on arrival. From them:
 * first create → all pods Running; per-pod startup latency (Job create acknowledged → the pod first
 * seen Running); scheduler throughput (first-bind events per second); all Jobs Complete; all Jobs
 * and pods gone. The server's CPU (user+sys from /proc) and RSS (sampled) are recorded alongside
 * what everything else on the machine used, and a final consistent list checks nothing is left.
 *
 * The large run (`--large`): 5,000 simulated nodes and 30,000 bare pods (6 namespaces of 5,000,
 * created at once over the same 48 connections, long-running), until every pod is Running; then
 * the namespaces are deleted and the cleanup is timed. Bare pods keep the run bounded: 30,000 Jobs
 * would add some 300,000 controller writes (Job status, finalizers, TTL deletes, GC) to a run that
 * is about the scheduler and the server at 5,000 nodes.
 */
import { cpus } from 'node:os';
import type { Client } from './http-client.js';
import { makeClientFactory, Pool, RawConnection } from './http-client.js';
import { BurstTracker, ResumableWatch } from './ci-tracker.js';
import { CpuMeter, type CpuShare } from './phases.js';
import { ServerUnderTest, sleep, type ProcSample } from './server.js';
import { summarize, type LatencySummary } from './stats.js';
import type { BenchSchedulerResult } from './scheduler.js';

export const LABEL = 'skiff-bench';
export const LABEL_VALUE = 'ci-burst';
const SELECTOR = `labelSelector=${LABEL}%3D${LABEL_VALUE}`;

export interface CiBurstConfig {
  size: 'default' | 'quick' | 'large';
  nodes: number;
  /** Jobs (default, quick) or bare long-running pods (large). */
  mode: 'jobs' | 'pods';
  pipelines: number;
  perPipeline: number;
  /** Of each pipeline's units, this many are created at the same instant; the rest follow, spread over `trailingMs`. */
  burstPerPipeline: number;
  trailingMs: number;
  connectionsPerPipeline: number;
  podCpu: string;
  podMemory: string;
  /** Simulated run of each pod, spread evenly over [min, max] (jobs mode). */
  runMs: { min: number; max: number };
  ttlSeconds: number;
  /** From the first create: give up on everything after this long (the run's watchdog). */
  deadlineMs: number;
  /** Waiting for the simulated nodes to register. */
  nodesReadyTimeoutMs: number;
  nodeFlags?: string[];
}

export const CI_DEFAULT: CiBurstConfig = {
  size: 'default',
  nodes: 100,
  mode: 'jobs',
  pipelines: 6,
  perPipeline: 180,
  burstPerPipeline: 170,
  trailingMs: 1000,
  connectionsPerPipeline: 8,
  podCpu: '500m',
  podMemory: '1Gi',
  runMs: { min: 2000, max: 4000 },
  ttlSeconds: 5,
  deadlineMs: 120_000,
  nodesReadyTimeoutMs: 60_000,
};

export const CI_QUICK: CiBurstConfig = { ...CI_DEFAULT, size: 'quick', nodes: 20, pipelines: 2, perPipeline: 60, burstPerPipeline: 55, runMs: { min: 500, max: 1000 }, ttlSeconds: 1, deadlineMs: 60_000 };

export const CI_LARGE: CiBurstConfig = {
  ...CI_DEFAULT,
  size: 'large',
  nodes: 5000,
  mode: 'pods',
  perPipeline: 5000,
  burstPerPipeline: 5000,
  trailingMs: 0,
  deadlineMs: 480_000,
  nodesReadyTimeoutMs: 180_000,
  nodeFlags: ['--max-old-space-size=6144'],
};

export interface Timeline {
  /** Seconds since the first create. */
  t: number;
  serverCpuPercent: number;
  rssMiB: number;
  acked: number;
  bound: number;
  running: number;
  complete: number;
  podsLive: number;
  unitsGone: number;
}

export interface CiBurstResult {
  suite: 'ci-burst';
  config: CiBurstConfig;
  machine: { cpus: number; date: string; node: string };
  /** Spawn → every simulated node registered. */
  readyMs: number;
  idleRssMiB: number;
  units: number;
  createErrors: number;
  createErrorSamples: string[];
  /** First create sent → last create acknowledged, and the creates' own latencies. */
  createSeconds: number;
  createLatencyMs: LatencySummary;
  /** First create sent → every unit's pod seen Running. */
  allRunningSeconds: number;
  /** Job create acknowledged → its pod first seen Running (or finished, if Running was never seen). */
  startupMs: LatencySummary;
  /** The same, counted from when the create was sent. */
  startupFromSendMs: LatencySummary;
  /** First create → last pod seen created; pods created ÷ (last − first pod seen). */
  allPodsCreatedSeconds: number;
  podsCreatedPerSecond: number;
  /** Where each pod's startup went: Job acknowledged → pod created (Job controller), created → bound (scheduler), bound → Running (simulated kubelet and its status write). */
  stagesMs: { jobToPod?: LatencySummary; podToBound: LatencySummary; boundToRunning: LatencySummary };
  /** Bind throughput: pods bound ÷ (last bind − first bind), ÷ (last bind − first create), and the busiest second. */
  bound: number;
  firstBindSeconds: number;
  allBoundSeconds: number;
  bindWindowSeconds: number;
  podsPerSecond: number;
  podsPerSecondFromFirstCreate: number;
  peakPodsPerSecond: number;
  /** First create → every Job Complete (jobs mode). */
  allCompleteSeconds: number;
  /** First create → every Job and pod gone. */
  allGoneSeconds: number;
  /** The cleanup alone: last Job Complete (jobs) or namespace delete (pods) → everything gone. */
  cleanupSeconds: number;
  cpuBurst: CpuShare & { seconds: number };
  cpuWhole: CpuShare & { seconds: number };
  serverCpuSeconds: number;
  rssPeakMiB: number;
  rssAtAllRunningMiB: number;
  rssEndMiB: number;
  counts: {
    unitsCreated: number;
    podsSeen: number;
    podsBound: number;
    podsRunningSeen: number;
    podsSkippedRunning: number;
    podsSucceeded: number;
    podsFailed: number;
    jobsComplete: number;
    jobsFailed: number;
    jobsGone: number;
    podsGone: number;
    unitsWithoutPod: number;
    unitsWithExtraPods: number;
    /** From a final consistent list: what is left. */
    jobsLeft: number;
    podsLeft: number;
    nodesUsed: number;
    maxPodsOnANode: number;
    unknownPods: number;
    podEvents: number;
    jobEvents: number;
    watchReopens: number;
  };
  /**
   * Store writes (revisions) from the first create to every pod Running, to every Job Complete and
   * to the end, and the Events the pipelines' namespaces hold at the end, by component/reason.
   */
  writes: { toAllRunning: number; toAllComplete: number; whole: number; events: Record<string, number> };
  timeline: Timeline[];
  /** bench/scheduler.ts: the scheduler in one process with the API server, no agents or other controllers' load. */
  schedulerAlone?: BenchSchedulerResult[];
  profiles: string[];
  disturbed: boolean;
  attempt: number;
  failures: string[];
  goals: CiGoalRow[];
  passed: boolean;
}

export interface CiGoalRow {
  metric: string;
  unit: string;
  value: number;
  goal?: string;
  met: boolean | null;
  upstream?: string;
  note?: string;
}

const mib = (kib: number) => Math.round((kib / 1024) * 10) / 10;
const r3 = (ms: number) => Math.round(ms) / 1000;

function jobBody(name: string, pipeline: string, runMs: number, cfg: CiBurstConfig): string {
  const labels = { [LABEL]: LABEL_VALUE, pipeline };
  return JSON.stringify({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, labels },
    spec: {
      ttlSecondsAfterFinished: cfg.ttlSeconds,
      backoffLimit: 0,
      template: {
        metadata: { labels, annotations: { 'skiff.dev/simulated-run-ms': String(runMs) } },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'step',
              image: 'registry.example.com/ci/runner:1.0',
              command: ['/bin/sh', '-c', 'make test'],
              env: [{ name: 'CI', value: 'true' }, { name: 'CI_PIPELINE', value: pipeline }],
              resources: { requests: { cpu: cfg.podCpu, memory: cfg.podMemory } },
            },
          ],
        },
      },
    },
  });
}

function podBody(name: string, pipeline: string, cfg: CiBurstConfig): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { [LABEL]: LABEL_VALUE, pipeline } },
    spec: {
      containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.9', resources: { requests: { cpu: cfg.podCpu, memory: cfg.podMemory } } }],
    },
  });
}

async function requestOk(pool: Pool, method: string, path: string, expect: number[], body?: string): Promise<Buffer | undefined> {
  const r = await pool.request(method, path, body, undefined, true);
  if (!expect.includes(r.status)) throw new Error(`${method} ${path}: ${r.status} ${r.body?.toString('utf8', 0, 300) ?? ''}`);
  return r.body;
}

/** The store's current revision: what a consistent list reports. */
async function currentRevision(pool: Pool): Promise<number> {
  return Number((await listRv(pool, '/api/v1/namespaces?limit=1')).rv);
}

async function listRv(pool: Pool, path: string): Promise<{ rv: string; items: any[] }> {
  const body = await requestOk(pool, 'GET', path, [200]);
  const l = JSON.parse(body!.toString('utf8'));
  return { rv: l.metadata.resourceVersion, items: l.items };
}

/** Polls (bounded) until `count` simulated nodes are registered and Ready. */
async function waitForNodes(pool: Pool, count: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const { items } = await listRv(pool, '/api/v1/nodes?labelSelector=skiff.dev%2Fsimulated%3Dtrue&resourceVersion=0');
      const ready = items.filter((n) => (n.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True')).length;
      if (ready >= count) return;
      last = `${items.length} registered, ${ready} Ready`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (performance.now() >= deadline) throw new Error(`${count} simulated nodes were not Ready in ${timeoutMs} ms (${last})`);
    await sleep(200);
  }
}

export interface CiBurstRunOptions {
  cfg: CiBurstConfig;
  profile: boolean;
  profileDir: string;
  say(msg: string): void;
  /** The caller's registry of live servers, for its watchdog. */
  live: Set<ServerUnderTest>;
}

export async function runCiBurst(opts: CiBurstRunOptions): Promise<CiBurstResult> {
  const { cfg, say } = opts;
  const tag = `ci-burst${cfg.size === 'default' ? '' : `-${cfg.size}`}`;
  const srv = new ServerUnderTest({
    backend: 'sqlite',
    profile: opts.profile,
    extraArgs: ['--simulated-nodes', String(cfg.nodes), '--sim-node-cpu', '8', '--sim-node-memory', '32Gi'],
    nodeFlags: cfg.nodeFlags,
  });
  opts.live.add(srv);
  const failures: string[] = [];
  const profiles: string[] = [];
  const clients: { close(): void }[] = [];
  const watches: ResumableWatch[] = [];
  try {
    await srv.prepare();
    say(`${tag}: starting skiff up --simulated-nodes ${cfg.nodes} on 127.0.0.1:${srv.port}`);
    const t0Spawn = performance.now();
    await srv.start();
    await srv.waitForOutput(/simulated node\(s\) registered/, cfg.nodesReadyTimeoutMs);
    const pool = new Pool(() => new RawConnection(srv.endpoint), 4);
    clients.push(pool);
    await waitForNodes(pool, cfg.nodes, cfg.nodesReadyTimeoutMs);
    const readyMs = performance.now() - t0Spawn;
    say(`${tag}: ${cfg.nodes} nodes Ready ${Math.round(readyMs)} ms after spawn`);
    await sleep(1000);
    const idleRssMiB = mib(srv.sample().rssKiB);

    const namespaces = Array.from({ length: cfg.pipelines }, (_, p) => `ci-${p}`);
    for (const ns of namespaces) {
      await requestOk(pool, 'POST', '/api/v1/namespaces', [201, 409], JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { [LABEL]: LABEL_VALUE } } }));
    }

    // Everything the burst sends is built before the clock starts.
    const tracker = new BurstTracker(cfg.mode);
    const plan = namespaces.map((ns, p) => {
      const path = cfg.mode === 'jobs' ? `/apis/batch/v1/namespaces/${ns}/jobs` : `/api/v1/namespaces/${ns}/pods`;
      const items = Array.from({ length: cfg.perPipeline }, (_, i) => {
        const name = cfg.mode === 'jobs' ? `p${p}-step-${String(i).padStart(4, '0')}` : `p${p}-pod-${String(i).padStart(5, '0')}`;
        // Run lengths spread evenly over [min, max] (7 is prime to the counts used, so they mix).
        const runMs = cfg.runMs.min + Math.round(((i * 7) % cfg.perPipeline) / Math.max(1, cfg.perPipeline - 1) * (cfg.runMs.max - cfg.runMs.min));
        const body = cfg.mode === 'jobs' ? jobBody(name, `p${p}`, runMs, cfg) : podBody(name, `p${p}`, cfg);
        tracker.unit(ns, name);
        return { name, body };
      });
      return { ns, path, items };
    });

    // One keep-alive agent per pipeline (a CI runner each), connected and warmed before the clock starts.
    const runners = plan.map((pl) => {
      const f = makeClientFactory('https', srv.endpoint, cfg.connectionsPerPipeline);
      clients.push(f);
      return { ...pl, client: f.newClient() as Client };
    });
    await Promise.all(runners.flatMap((r) => Array.from({ length: cfg.connectionsPerPipeline }, () => r.client.request('GET', `/api/v1/namespaces/${r.ns}`))));

    // The watches start from a list's resourceVersion, so nothing of the burst can be missed.
    const podList = await listRv(pool, `/api/v1/pods?${SELECTOR}&limit=1`);
    const podWatch = new ResumableWatch(srv.endpoint, `/api/v1/pods?${SELECTOR}`, podList.rv, (type, obj, at) => tracker.onPodEvent(type, obj, at));
    watches.push(podWatch);
    await podWatch.open();
    if (cfg.mode === 'jobs') {
      const jobList = await listRv(pool, `/apis/batch/v1/jobs?${SELECTOR}&limit=1`);
      const jobWatch = new ResumableWatch(srv.endpoint, `/apis/batch/v1/jobs?${SELECTOR}`, jobList.rv, (type, obj, at) => tracker.onJobEvent(type, obj, at));
      watches.push(jobWatch);
      await jobWatch.open();
    }
    await sleep(500);

    const units = cfg.pipelines * cfg.perPipeline;
    say(`${tag}: ${cfg.pipelines} pipelines × ${cfg.perPipeline} ${cfg.mode === 'jobs' ? 'Jobs' : 'pods'} (${cfg.burstPerPipeline} each at once), ${units} in all`);
    const profiled = opts.profile;
    if (profiled) await srv.startProfile();
    const rvStart = await currentRevision(pool);
    const meterWhole = new CpuMeter(srv);
    const meterBurst = new CpuMeter(srv);
    const cpuStart: ProcSample = srv.sample();
    let createErrors = 0;
    const createErrorSamples: string[] = [];
    const createLat: number[] = [];
    let acked = 0;
    const t0 = performance.now();
    const deadline = t0 + cfg.deadlineMs;

    const send = (r: (typeof runners)[number], item: { name: string; body: string }): Promise<void> => {
      const u = tracker.units.get(`${r.ns}/${item.name}`)!;
      u.sentAt = performance.now();
      return r.client.request('POST', r.path, item.body).then(
        (res) => {
          u.ackAt = performance.now();
          u.createStatus = res.status;
          createLat.push(u.ackAt - u.sentAt);
          acked++;
          if (res.status !== 201) {
            createErrors++;
            if (createErrorSamples.length < 5) createErrorSamples.push(`POST ${r.path} ${item.name}: ${res.status} ${res.body?.toString('utf8', 0, 300) ?? ''}`);
          }
        },
        (err) => {
          u.createStatus = 0;
          createErrors++;
          acked++;
          if (createErrorSamples.length < 5) createErrorSamples.push(`POST ${r.path} ${item.name}: ${(err as Error).message}`);
        },
      );
    };
    const creates: Promise<void>[] = [];
    for (const r of runners) for (const item of r.items.slice(0, cfg.burstPerPipeline)) creates.push(send(r, item));
    // The rest of each pipeline trickles in over the next `trailingMs`.
    const trailing = runners.flatMap((r) => r.items.slice(cfg.burstPerPipeline).map((item) => ({ r, item })));
    const trailingDone = (async () => {
      for (let k = 0; k < trailing.length; k++) {
        const due = t0 + ((k + 1) * cfg.trailingMs) / trailing.length;
        const wait = due - performance.now();
        if (wait > 1) await sleep(wait);
        creates.push(send(trailing[k].r, trailing[k].item));
      }
    })();

    // The bench's own loop: samples the server every 250 ms, keeps the watches open, decides when each stage is over.
    const timeline: Timeline[] = [];
    let rssPeakKiB = 0;
    let lastSample = { at: t0, cpu: cpuStart.cpuSeconds };
    let nextTimeline = t0 + 1000;
    let allRunningAt: number | undefined;
    let allCompleteAt: number | undefined;
    let cleanupFrom: number | undefined;
    let rvAllComplete = NaN;
    let allGoneAt: number | undefined;
    const sample = () => {
      const s = srv.sample();
      rssPeakKiB = Math.max(rssPeakKiB, s.rssKiB);
      const now = performance.now();
      if (now >= nextTimeline) {
        timeline.push({
          t: Math.round((now - t0) / 100) / 10,
          serverCpuPercent: Math.round((100 * (s.cpuSeconds - lastSample.cpu)) / ((now - lastSample.at) / 1000)),
          rssMiB: mib(s.rssKiB),
          acked,
          bound: tracker.binds.length,
          running: tracker.unitsRunning,
          complete: tracker.unitsComplete + tracker.unitsFailed,
          podsLive: tracker.podsLive(),
          unitsGone: tracker.unitsGone,
        });
        lastSample = { at: now, cpu: s.cpuSeconds };
        nextTimeline += 1000;
      }
      return s;
    };
    const waitUntil = async (what: string, done: () => boolean): Promise<boolean> => {
      while (!done()) {
        if (performance.now() >= deadline) {
          failures.push(`${what}: not reached within the run's deadline (${cfg.deadlineMs / 1000} s after the first create)`);
          return false;
        }
        sample();
        for (const w of watches) await w.check();
        await sleep(250);
      }
      sample();
      return true;
    };

    const allAcked = () => acked === units;
    const runningReached = await waitUntil('every pod Running', () => allAcked() && tracker.unitsRunning >= units - createErrors);
    await trailingDone;
    await Promise.all(creates);
    if (runningReached) {
      allRunningAt = Math.max(...[...tracker.units.values()].map((u) => u.runningAt ?? -Infinity));
      say(`${tag}: every pod Running ${((allRunningAt - t0) / 1000).toFixed(2)} s after the first create; ${tracker.binds.length} bound`);
    }
    const burstCpu: CpuShare & { seconds: number } = { ...meterBurst.read(), seconds: r3(performance.now() - t0) };
    const rssAtAllRunning = mib(srv.sample().rssKiB);
    const rvAllRunning = await currentRevision(pool);
    if (profiled) {
      const f = await srv.stopProfile(`${opts.profileDir}/${tag}-start.cpuprofile`);
      if (f) profiles.push(f);
      await srv.startProfile();
    }

    if (cfg.mode === 'jobs') {
      if (await waitUntil('every Job Complete', () => tracker.unitsComplete + tracker.unitsFailed >= units - createErrors)) {
        allCompleteAt = Math.max(...[...tracker.units.values()].map((u) => u.completeAt ?? u.failedAt ?? -Infinity));
        say(`${tag}: every Job finished ${((allCompleteAt - t0) / 1000).toFixed(2)} s after the first create (${tracker.unitsFailed} failed)`);
      }
      cleanupFrom = allCompleteAt;
      rvAllComplete = await currentRevision(pool);
    } else {
      // Bare pods run until their namespaces go: the CI system's cleanup.
      cleanupFrom = performance.now();
      for (const ns of namespaces) await requestOk(pool, 'DELETE', `/api/v1/namespaces/${ns}`, [200, 202]);
      say(`${tag}: namespaces deleted`);
    }
    if (await waitUntil('every Job and pod gone', () => tracker.unitsGone >= units - createErrors && tracker.podsLive() === 0 && (cfg.mode === 'pods' || allCompleteAt !== undefined))) {
      allGoneAt = performance.now();
      const lastGone = Math.max(...[...tracker.units.values()].map((u) => u.goneAt ?? -Infinity), ...[...tracker.pods.values()].map((p) => p.goneAt ?? -Infinity));
      if (Number.isFinite(lastGone)) allGoneAt = lastGone;
      say(`${tag}: every ${cfg.mode === 'jobs' ? 'Job and ' : ''}pod gone ${((allGoneAt - t0) / 1000).toFixed(2)} s after the first create`);
    }
    const wholeCpu = { ...meterWhole.read(), seconds: r3(performance.now() - t0) };
    const cpuEnd = srv.sample();
    if (profiled) {
      const f = await srv.stopProfile(`${opts.profileDir}/${tag}-rest.cpuprofile`);
      if (f) profiles.push(f);
    }
    for (const w of watches) {
      for (const f of w.failures) failures.push(f);
      w.close();
    }

    // What a consistent list still finds (should be nothing).
    const rvEnd = await currentRevision(pool);
    // Events recorded in the pipelines' namespaces, by component and reason (they are writes too).
    const eventsByReason: Record<string, number> = {};
    for (const ns of cfg.mode === 'jobs' ? namespaces : []) {
      for (const e of (await listRv(pool, `/api/v1/namespaces/${ns}/events`)).items) {
        const k = `${e.source?.component ?? e.reportingComponent ?? '?'}/${e.reason ?? '?'}`;
        eventsByReason[k] = (eventsByReason[k] ?? 0) + 1;
      }
    }
    const jobsLeft = cfg.mode === 'jobs' ? (await listRv(pool, `/apis/batch/v1/jobs?${SELECTOR}`)).items.length : 0;
    const podsLeft = (await listRv(pool, `/api/v1/pods?${SELECTOR}`)).items.length;

    const all = [...tracker.units.values()];
    const pods = [...tracker.pods.values()];
    const startup = all.filter((u) => u.runningAt !== undefined && u.ackAt !== undefined).map((u) => u.runningAt! - u.ackAt!);
    const startupFromSend = all.filter((u) => u.runningAt !== undefined).map((u) => u.runningAt! - u.sentAt);
    const binds = tracker.binds;
    const firstBind = binds[0] ?? NaN;
    const lastBind = binds[binds.length - 1] ?? NaN;
    const bindWindow = (lastBind - firstBind) / 1000;
    let peak = 0;
    for (let i = 0, j = 0; i < binds.length; i++) {
      while (binds[i] - binds[j] > 1000) j++;
      peak = Math.max(peak, i - j + 1);
    }
    const created = tracker.podsCreated;
    const podWindow = (created[created.length - 1] - created[0]) / 1000;
    const stagesMs: CiBurstResult['stagesMs'] = {
      podToBound: summarize(pods.filter((p) => p.boundAt !== undefined).map((p) => p.boundAt! - p.seenAt)),
      boundToRunning: summarize(pods.filter((p) => p.boundAt !== undefined && p.runningAt !== undefined).map((p) => p.runningAt! - p.boundAt!)),
    };
    if (cfg.mode === 'jobs') stagesMs.jobToPod = summarize(all.filter((u) => u.ackAt !== undefined && u.podSeenAt !== undefined).map((u) => u.podSeenAt! - u.ackAt!));
    const perNode = new Map<string, number>();
    for (const p of pods) if (p.node) perNode.set(p.node, (perNode.get(p.node) ?? 0) + 1);
    const lastAck = Math.max(...all.map((u) => u.ackAt ?? -Infinity));
    const counts: CiBurstResult['counts'] = {
      unitsCreated: all.filter((u) => u.createStatus === 201).length,
      podsSeen: pods.length,
      podsBound: pods.filter((p) => p.boundAt !== undefined).length,
      podsRunningSeen: pods.filter((p) => p.runningAt !== undefined).length,
      podsSkippedRunning: pods.filter((p) => p.skippedRunning).length,
      podsSucceeded: pods.filter((p) => p.phase === 'Succeeded').length,
      podsFailed: pods.filter((p) => p.phase === 'Failed').length,
      jobsComplete: tracker.unitsComplete,
      jobsFailed: tracker.unitsFailed,
      jobsGone: cfg.mode === 'jobs' ? all.filter((u) => u.goneAt !== undefined).length : 0,
      podsGone: tracker.podsGone,
      unitsWithoutPod: all.filter((u) => u.createStatus === 201 && u.pods === 0).length,
      unitsWithExtraPods: all.filter((u) => u.pods > 1).length,
      jobsLeft,
      podsLeft,
      nodesUsed: perNode.size,
      maxPodsOnANode: Math.max(0, ...perNode.values()),
      unknownPods: tracker.unknownPods,
      podEvents: tracker.podEvents,
      jobEvents: tracker.jobEvents,
      watchReopens: watches.reduce((n, w) => n + w.reopened, 0),
    };
    if (createErrors) failures.push(`${createErrors} creates failed, e.g. ${createErrorSamples[0]}`);
    for (const e of tracker.errors) failures.push(e);
    if (counts.unitsWithoutPod) failures.push(`${counts.unitsWithoutPod} ${cfg.mode === 'jobs' ? 'Jobs' : 'units'} never got a pod`);
    if (counts.unitsWithExtraPods) failures.push(`${counts.unitsWithExtraPods} Jobs had more than one pod`);
    if (counts.jobsLeft || counts.podsLeft) failures.push(`left behind at the end: ${counts.jobsLeft} Jobs, ${counts.podsLeft} pods`);
    if (cfg.mode === 'jobs' && counts.jobsComplete !== counts.unitsCreated) failures.push(`${counts.unitsCreated - counts.jobsComplete} Jobs did not complete`);

    const r: CiBurstResult = {
      suite: 'ci-burst',
      config: cfg,
      machine: { cpus: cpus().length, date: new Date().toISOString(), node: process.version },
      readyMs: Math.round(readyMs),
      idleRssMiB,
      units,
      createErrors,
      createErrorSamples,
      createSeconds: r3(lastAck - t0),
      createLatencyMs: summarize(createLat),
      allRunningSeconds: allRunningAt !== undefined ? r3(allRunningAt - t0) : NaN,
      startupMs: summarize(startup),
      startupFromSendMs: summarize(startupFromSend),
      allPodsCreatedSeconds: r3(created[created.length - 1] - t0),
      podsCreatedPerSecond: Math.round(created.length / podWindow),
      stagesMs,
      bound: binds.length,
      firstBindSeconds: r3(firstBind - t0),
      allBoundSeconds: r3(lastBind - t0),
      bindWindowSeconds: Math.round(bindWindow * 1000) / 1000,
      podsPerSecond: Math.round(binds.length / bindWindow),
      podsPerSecondFromFirstCreate: Math.round(binds.length / ((lastBind - t0) / 1000)),
      peakPodsPerSecond: peak,
      allCompleteSeconds: allCompleteAt !== undefined ? r3(allCompleteAt - t0) : NaN,
      allGoneSeconds: allGoneAt !== undefined ? r3(allGoneAt - t0) : NaN,
      cleanupSeconds: allGoneAt !== undefined && cleanupFrom !== undefined ? r3(allGoneAt - cleanupFrom) : NaN,
      cpuBurst: burstCpu,
      cpuWhole: wholeCpu,
      serverCpuSeconds: Math.round((cpuEnd.cpuSeconds - cpuStart.cpuSeconds) * 100) / 100,
      rssPeakMiB: mib(Math.max(rssPeakKiB, cpuEnd.rssKiB)),
      rssAtAllRunningMiB: rssAtAllRunning,
      rssEndMiB: mib(cpuEnd.rssKiB),
      counts,
      writes: { toAllRunning: rvAllRunning - rvStart, toAllComplete: rvAllComplete - rvStart, whole: rvEnd - rvStart, events: eventsByReason },
      timeline,
      profiles,
      disturbed: false,
      attempt: 1,
      failures,
      goals: [],
      passed: false,
    };
    return r;
  } catch (err) {
    const log = srv.log();
    throw new Error(`${(err as Error).message}${log ? `\n--- server output ---\n${log.slice(-2000)}` : ''}`);
  } finally {
    for (const w of watches) w.close();
    for (const c of clients) c.close();
    await srv.cleanup();
    opts.live.delete(srv);
  }
}
