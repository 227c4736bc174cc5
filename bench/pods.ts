/**
 * The pods benchmark: real pods on this machine's node (`skiff up` with its in-process node agent:
 * crun under conmon, a CNI bridge, images from a real OCI registry on loopback). Phases, with the
 * pods cleaned up between them:
 *
 * 0. pre-pull: one pod pulls the small busybox image, so the later phases find it on the node;
 *    skiff's RSS and idle CPU, and conmon's, are measured at 0 pods.
 * 1. startup burst: 50 `sleep 3600` pods created concurrently; per pod creationTimestamp →
 *    container startedAt (both second-precision), creationTimestamp → Running seen by our watch,
 *    and create acknowledged → Running seen (millisecond-precise).
 * 2. short-lived: 170 `sh -c 'echo ok'` pods (restartPolicy Never) created at once: first create →
 *    every pod Succeeded, and per pod create → Succeeded. The node takes 110 pods at a time, and
 *    each pod holds an address of the node's /24 until its sandbox is torn down.
 * 3. overhead: 110 `sleep` pods running; skiff's and all conmons' RSS, skiff's CPU over 10 s of idle,
 *    against the same at 0 pods, per pod.
 * 4. pull: a pod with imagePullPolicy Always pulls a large image (random layers), timed by its
 *    Pulled event's duration; `skopeo copy` of the same image from the same registry for comparison.
 *
 * Every wait is bounded; all traffic goes to 127.0.0.1 (API server, registry) or pod IPs.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { cpus, release } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GO_DURATION_RE, goDurationMs } from '../src/api/go-duration.js';
import { buildBusyboxImage, getManifest, requireImageTools, startRegistry, type TestRegistry } from '../test/harness/registry.js';
import { makeClientFactory, Pool, RawConnection } from './http-client.js';
import { ResumableWatch } from './ci-tracker.js';
import { CpuMeter, type CpuShare } from './phases.js';
import { BenchHost, childrenCpuSeconds, rssKiB } from './pods-host.js';
import { ServerUnderTest, sleep } from './server.js';
import { summarize, type LatencySummary } from './stats.js';

const execFileAsync = promisify(execFile);

export const PODS_NAMESPACE = 'bench-pods';
const LABEL = 'skiff-bench';

export interface PodsConfig {
  size: 'default' | 'quick';
  burstPods: number;
  shortPods: number;
  overheadPods: number;
  /** Seconds of idle over which skiff's CPU is measured. */
  idleSeconds: number;
  /** Random data in the large image, in MiB (base64 text, so its gzip layers are ~¾ of it). */
  bigImageMiB: number;
  /** How many times skopeo copies the large image (the best is compared). */
  skopeoRuns: number;
  /** Bound on each wait (pods Running, Succeeded, gone). */
  phaseTimeoutMs: number;
  /** Concurrent HTTPS connections the creates go out on. */
  connections: number;
}

export const PODS_DEFAULT: PodsConfig = { size: 'default', burstPods: 50, shortPods: 170, overheadPods: 110, idleSeconds: 10, bigImageMiB: 80, skopeoRuns: 2, phaseTimeoutMs: 120_000, connections: 16 };
export const PODS_QUICK: PodsConfig = { size: 'quick', burstPods: 10, shortPods: 30, overheadPods: 20, idleSeconds: 3, bigImageMiB: 16, skopeoRuns: 1, phaseTimeoutMs: 60_000, connections: 8 };

export interface Overhead {
  pods: number;
  skiffRssMiB: number;
  conmons: number;
  conmonRssMiB: number;
  /** skiff's user+sys CPU over the idle window, % of one core. */
  skiffCpuPercent: number;
  idleSeconds: number;
  /** memory.usage_in_bytes of the agent's cgroup root (the pods' containers). */
  podsCgroupMiB?: number;
}

export interface StartupPhase {
  pods: number;
  createErrors: number;
  createErrorSamples: string[];
  /** Create sent → acknowledged. */
  createMs: LatencySummary;
  /** creationTimestamp → the container's state.running.startedAt (both whole seconds). */
  createdToStartedMs: LatencySummary;
  /** creationTimestamp (whole seconds) → Running first seen by the watch (wall clock, ms). */
  createdToSeenMs: LatencySummary;
  /** Create acknowledged → Running first seen by the watch (ms-precise). */
  ackToSeenMs: LatencySummary;
  /** Create sent → Running first seen. */
  sentToSeenMs: LatencySummary;
  /** First create sent → every pod Running seen. */
  allSeconds: number;
  /** CPU of the agent's waited-for children (crun, CNI plugins, iptables, mount), % of a core over the phase. */
  childrenCpuPercent: number;
  reached: number;
  failed: number;
  cpu: CpuShare;
  warnings: Record<string, number>;
}

export interface ShortPhase {
  pods: number;
  createErrors: number;
  createErrorSamples: string[];
  createMs: LatencySummary;
  /** First create sent → every pod Succeeded seen (NaN when not all did within the bound). */
  allSucceededSeconds: number;
  succeeded: number;
  failed: number;
  /** Create acknowledged → Succeeded seen. */
  ackToSucceededMs: LatencySummary;
  /** creationTimestamp → the container's finishedAt (whole seconds). */
  createdToFinishedMs: LatencySummary;
  childrenCpuPercent: number;
  /** Most pods seen Running (or Pending and bound) at once. */
  maxBoundAtOnce: number;
  cpu: CpuShare;
  warnings: Record<string, number>;
  warningSamples: string[];
  /** The node CIDR mask the phase ran with. */
  nodeCidrMaskSize: number;
}

export interface PullPhase {
  image: string;
  /** Compressed bytes (layers + config) as the registry serves them. */
  transferBytes: number;
  layers: number;
  /** Uncompressed size, from the Pulled message ("Image size: N bytes"). */
  imageSizeBytes?: number;
  /** The Pulled event's duration (pull, verify and unpack). */
  agentMs: number;
  agentMBps: number;
  message: string;
  skopeoMs: number[];
  skopeoMBps: number;
  /** skopeo's MB/s ÷ the agent's. */
  ratio: number;
  serverCpuSeconds: number;
}

export interface PodsResult {
  suite: 'pods';
  config: PodsConfig;
  machine: { cpus: number; nproc: number; cpuModel: string; kernel: string; node: string; date: string };
  host: { bridge: string; clusterCidr: string; runDir: string; cgroupRoot: string };
  readyMs: number;
  prepull: { pulledMs?: number; message?: string; runningMs: number };
  idle0?: Overhead;
  burst?: StartupPhase;
  short?: ShortPhase;
  overhead?: { at0: Overhead; atN: Overhead; perPod: { skiffRssKiB: number; conmonRssKiB: number; skiffCpuPercent: number; podsCgroupKiB?: number } };
  pull?: PullPhase;
  /** Deleting a phase's pods: until the API has none (seconds), and until the node has torn every sandbox down (mounts gone, skiff quiet). */
  cleanups: { phase: string; pods: number; seconds: number; teardownSeconds: number }[];
  profiles: string[];
  hostProblems: string[];
  othersBeforePercent: number;
  failures: string[];
  goals: PodsGoalRow[];
  passed: boolean;
}

export interface PodsGoalRow {
  metric: string;
  unit: string;
  value: number;
  goal?: string;
  met: boolean | null;
  note?: string;
}

interface Tracked {
  name: string;
  sentAt: number;
  ackAt?: number;
  status?: number;
  createdMs?: number;
  boundSeenAt?: number;
  runningSeenAt?: number;
  startedAtMs?: number;
  succeededSeenAt?: number;
  failedSeenAt?: number;
  finishedAtMs?: number;
  goneAt?: number;
}

/** Our view of the namespace's pods, from a watch (arrival times in performance.now()). */
class PodTracker {
  readonly pods = new Map<string, Tracked>();
  bound = 0;
  maxBound = 0;
  unknown = 0;

  track(name: string): Tracked {
    const t: Tracked = { name, sentAt: NaN };
    this.pods.set(name, t);
    return t;
  }

  onEvent(type: string, obj: any, at: number): void {
    const name = obj?.metadata?.name;
    const t = name ? this.pods.get(name) : undefined;
    if (!t) {
      this.unknown++;
      return;
    }
    if (t.createdMs === undefined && obj.metadata.creationTimestamp) t.createdMs = Date.parse(obj.metadata.creationTimestamp);
    const phase = obj.status?.phase;
    const cs = obj.status?.containerStatuses?.[0];
    if (obj.spec?.nodeName && t.boundSeenAt === undefined) {
      t.boundSeenAt = at;
      this.bound++;
    }
    if (phase === 'Running' && t.runningSeenAt === undefined) t.runningSeenAt = at;
    if (cs?.state?.running?.startedAt && t.startedAtMs === undefined) t.startedAtMs = Date.parse(cs.state.running.startedAt);
    if (cs?.state?.terminated) {
      if (t.startedAtMs === undefined && cs.state.terminated.startedAt) t.startedAtMs = Date.parse(cs.state.terminated.startedAt);
      if (t.finishedAtMs === undefined && cs.state.terminated.finishedAt) t.finishedAtMs = Date.parse(cs.state.terminated.finishedAt);
    }
    if (phase === 'Succeeded' && t.succeededSeenAt === undefined) t.succeededSeenAt = at;
    if (phase === 'Failed' && t.failedSeenAt === undefined) t.failedSeenAt = at;
    if (type === 'DELETED' && t.goneAt === undefined) t.goneAt = at;
    let live = 0;
    for (const p of this.pods.values()) if (p.boundSeenAt !== undefined && p.succeededSeenAt === undefined && p.failedSeenAt === undefined && p.goneAt === undefined) live++;
    this.maxBound = Math.max(this.maxBound, live);
  }
}

/** performance.now() of this process → epoch ms. */
const wall = (at: number) => performance.timeOrigin + at;
const mib = (kib: number) => Math.round((kib / 1024) * 10) / 10;
const r1 = (n: number) => Math.round(n * 10) / 10;

function podBody(name: string, image: string, kind: 'sleep' | 'short', phase: string, pullPolicy = 'IfNotPresent'): string {
  const command = kind === 'sleep' ? ['sleep', '3600'] : ['sh', '-c', 'echo ok'];
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { [LABEL]: 'pods', phase } },
    spec: {
      restartPolicy: kind === 'sleep' ? 'Always' : 'Never',
      // busybox sleep as PID 1 ignores SIGTERM: without this every cleanup would wait 30 s.
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'main', image, imagePullPolicy: pullPolicy, command }],
    },
  });
}

async function requestOk(pool: Pool, method: string, path: string, expect: number[], body?: string): Promise<Buffer | undefined> {
  const r = await pool.request(method, path, body, undefined, true);
  if (!expect.includes(r.status)) throw new Error(`${method} ${path}: ${r.status} ${r.body?.toString('utf8', 0, 300) ?? ''}`);
  return r.body;
}

async function listJson(pool: Pool, path: string): Promise<{ rv: string; items: any[] }> {
  const body = await requestOk(pool, 'GET', path, [200]);
  const l = JSON.parse(body!.toString('utf8'));
  return { rv: l.metadata.resourceVersion, items: l.items ?? [] };
}

/** Bounded poll until `check` returns true; throws with `describe()` when the bound passes. */
async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, describe: () => string, pollMs = 50): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (performance.now() >= deadline) throw new Error(`not within ${timeoutMs / 1000} s: ${describe()}`);
    await sleep(pollMs);
  }
}

export interface PodsRunOptions {
  cfg: PodsConfig;
  profile: boolean;
  profileDir: string;
  say(msg: string): void;
  live: Set<ServerUnderTest>;
  /** The caller's watchdog calls these (synchronously) on its way out. */
  emergency: Set<() => void>;
  othersBeforePercent: number;
}

export async function runPods(opts: PodsRunOptions): Promise<PodsResult> {
  const { cfg, say } = opts;
  const tag = cfg.size === 'quick' ? 'pods-quick' : 'pods';
  if (process.getuid?.() !== 0) throw new Error('the pods benchmark runs real containers: it needs root');
  requireImageTools();
  for (const tool of ['/usr/bin/crun', '/usr/bin/conmon', '/usr/lib/cni/bridge']) {
    try {
      await execFileAsync('test', ['-x', tool]);
    } catch {
      throw new Error(`${tool} is missing: apt-get install crun conmon containernetworking-plugins`);
    }
  }
  const host = new BenchHost();
  const failures: string[] = [];
  const profiles: string[] = [];
  const cleanups: PodsResult['cleanups'] = [];
  const closers: { close(): void }[] = [];
  let registry: TestRegistry | undefined;
  let srv: ServerUnderTest | undefined;
  const emergency = () => {
    srv?.killNow();
    host.cleanupSync();
  };
  opts.emergency.add(emergency);
  const result: PodsResult = {
    suite: 'pods',
    config: cfg,
    machine: { cpus: cpus().length, nproc: nproc(), cpuModel: cpus()[0]?.model ?? 'unknown', kernel: release(), node: process.version, date: new Date().toISOString() },
    host: { bridge: host.bridge, clusterCidr: host.clusterCidr, runDir: host.runDir, cgroupRoot: host.cgroupRoot },
    readyMs: NaN,
    prepull: { runningMs: NaN },
    cleanups,
    profiles,
    hostProblems: [],
    othersBeforePercent: opts.othersBeforePercent,
    failures,
    goals: [],
    passed: false,
  };
  try {
    say(`${tag}: registry and images (busybox, and ${cfg.bigImageMiB} MiB of random layers)`);
    registry = await startRegistry();
    const small = await buildBusyboxImage(registry.host, 'bn/busybox', 'v1');
    const bigFiles: Record<string, string> = {};
    const perFile = 8 * 2 ** 20;
    for (let i = 0; i * perFile < cfg.bigImageMiB * 2 ** 20; i++) bigFiles[`/data/blob-${i}`] = randomBytes((perFile * 3) / 4).toString('base64');
    const big = await buildBusyboxImage(registry.host, 'bn/big', 'v1', { files: bigFiles });

    srv = new ServerUnderTest({ backend: 'sqlite', profile: opts.profile, extraArgs: host.agentArgs(24) });
    opts.live.add(srv);
    await srv.prepare();
    say(`${tag}: starting skiff up with its node agent (bridge ${host.bridge}, pods in ${host.clusterCidr}, run dir ${host.runDir})`);
    const t0 = performance.now();
    await srv.start();
    const pool = new Pool(() => new RawConnection(srv!.endpoint), 4);
    closers.push(pool);
    await waitFor(
      async () => {
        const { items } = await listJson(pool, `/api/v1/nodes`);
        const n = items.find((x) => x.metadata.name === host.nodeName);
        return !!n?.spec?.podCIDR && (n.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
      },
      60_000,
      () => `node ${host.nodeName} Ready with a podCIDR:\n${srv!.log()}`,
      200,
    );
    result.readyMs = Math.round(performance.now() - t0);
    say(`${tag}: node ${host.nodeName} Ready ${result.readyMs} ms after spawn`);
    await requestOk(pool, 'POST', '/api/v1/namespaces', [201, 409], JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: PODS_NAMESPACE } }));
    // The default ServiceAccount must exist before pods are admitted.
    await waitFor(
      async () => (await pool.request('GET', `/api/v1/namespaces/${PODS_NAMESPACE}/serviceaccounts/default`)).status === 200,
      30_000,
      () => 'the default ServiceAccount',
      100,
    );

    const factory = makeClientFactory('https', srv.endpoint, cfg.connections);
    closers.push(factory);
    const creators = new Pool(factory.newClient, cfg.connections);
    closers.push(creators);

    const tracker = new PodTracker();
    const { rv } = await listJson(pool, `/api/v1/namespaces/${PODS_NAMESPACE}/pods`);
    const watch = new ResumableWatch(srv.endpoint, `/api/v1/namespaces/${PODS_NAMESPACE}/pods`, rv, (type, obj, at) => tracker.onEvent(type, obj, at));
    await watch.open();
    closers.push(watch);
    const seenEvents = new Set<string>();

    const profiled = async <T>(phase: string, fn: () => Promise<T>): Promise<T> => {
      await srv!.startProfile();
      try {
        return await fn();
      } finally {
        const f = await srv!.stopProfile(join(opts.profileDir, `${tag}-${phase}.cpuprofile`));
        if (f) profiles.push(f);
      }
    };

    const createAll = async (names: string[], body: (n: string) => string): Promise<{ errors: number; samples: string[]; createMs: LatencySummary }> => {
      const bodies = names.map((n) => ({ t: tracker.track(n), body: body(n) }));
      let errors = 0;
      const samples: string[] = [];
      const lat: number[] = [];
      await Promise.all(
        bodies.map(async ({ t, body: b }) => {
          t.sentAt = performance.now();
          try {
            const r = await creators.request('POST', `/api/v1/namespaces/${PODS_NAMESPACE}/pods`, b);
            t.ackAt = performance.now();
            t.status = r.status;
            lat.push(t.ackAt - t.sentAt);
            if (r.status !== 201) {
              errors++;
              if (samples.length < 5) samples.push(`${r.status} ${r.body?.toString('utf8', 0, 200)}`);
            }
          } catch (err) {
            errors++;
            if (samples.length < 5) samples.push((err as Error).message);
          }
        }),
      );
      return { errors, samples, createMs: summarize(lat) };
    };

    /** Warning (and other non-routine) Events of the namespace not seen before, by reason. */
    const newEvents = async (): Promise<{ warnings: Record<string, number>; samples: string[]; all: any[] }> => {
      const { items } = await listJson(pool, `/api/v1/namespaces/${PODS_NAMESPACE}/events`);
      const warnings: Record<string, number> = {};
      const samples: string[] = [];
      const fresh: any[] = [];
      for (const e of items) {
        if (seenEvents.has(e.metadata.uid)) continue;
        seenEvents.add(e.metadata.uid);
        fresh.push(e);
        if (e.type === 'Warning') {
          warnings[e.reason] = (warnings[e.reason] ?? 0) + (e.count ?? 1);
          if (samples.length < 5) samples.push(`${e.involvedObject?.name}: ${e.reason}: ${String(e.message).slice(0, 200)}`);
        }
      }
      return { warnings, samples, all: fresh };
    };

    const overhead = async (pods: number): Promise<Overhead> => {
      await sleep(2000);
      const deadline = performance.now() + 20_000;
      // Settled: skiff's CPU no longer falling (the last pods' status writes and probes done).
      for (let last = Infinity; performance.now() < deadline; ) {
        const c0 = srv!.sample().cpuSeconds;
        await sleep(1000);
        const used = srv!.sample().cpuSeconds - c0;
        if (used >= last * 0.9) break;
        last = used;
      }
      const c0 = srv!.sample().cpuSeconds;
      const w0 = performance.now();
      await sleep(cfg.idleSeconds * 1000);
      const cpu = (srv!.sample().cpuSeconds - c0) / ((performance.now() - w0) / 1000);
      const conmons = host.conmonPids();
      const cg = host.memoryCgroupBytes();
      return {
        pods,
        skiffRssMiB: mib(srv!.sample().rssKiB),
        conmons: conmons.length,
        conmonRssMiB: mib(conmons.reduce((s, p) => s + rssKiB(p), 0)),
        skiffCpuPercent: r1(100 * cpu),
        idleSeconds: cfg.idleSeconds,
        ...(cg !== undefined ? { podsCgroupMiB: mib(cg / 1024) } : {}),
      };
    };

    /** Waits (bounded) until no pod mount is left under our dirs and skiff uses under 5% of a core over a second. */
    const settle = async (what: string): Promise<void> => {
      await waitFor(() => host.mountsUnder().length === 0, 60_000, () => `${what}: ${host.mountsUnder().length} mounts left, e.g. ${host.mountsUnder()[0]}`, 250).catch((err) =>
        failures.push(`settle: ${(err as Error).message}`),
      );
      const deadline = performance.now() + 30_000;
      for (;;) {
        const c0 = srv!.sample().cpuSeconds;
        await sleep(1000);
        if (srv!.sample().cpuSeconds - c0 < 0.05 || performance.now() > deadline) return;
      }
    };

    /** Deletes every pod of the namespace (grace 1 s, as their spec says) and waits until they are gone. */
    const cleanup = async (phase: string): Promise<void> => {
      const t = performance.now();
      const { items } = await listJson(pool, `/api/v1/namespaces/${PODS_NAMESPACE}/pods`);
      if (!items.length) return;
      await requestOk(pool, 'DELETE', `/api/v1/namespaces/${PODS_NAMESPACE}/pods`, [200]);
      await waitFor(
        async () => (await listJson(pool, `/api/v1/namespaces/${PODS_NAMESPACE}/pods?limit=1`)).items.length === 0,
        cfg.phaseTimeoutMs,
        () => `the pods of ${phase} to be deleted`,
        250,
      );
      // The agent stops conmon once the container is gone; wait (bounded) so the next phase starts from 0.
      const gone = performance.now();
      await waitFor(() => host.conmonPids().length === 0, 30_000, () => `conmon processes of ${phase} to exit (${host.conmonPids().length} left)`, 250).catch((err) =>
        failures.push(`cleanup after ${phase}: ${(err as Error).message}`),
      );
      // The pods leave the API before the node has torn their sandboxes down (CNI DEL, namespace
      // unmounts): wait for that too, or the next phase would pay for this one's teardown.
      await settle(`${phase} teardown`);
      cleanups.push({ phase, pods: items.length, seconds: r1((gone - t) / 1000), teardownSeconds: r1((performance.now() - gone) / 1000) });
      say(`${tag}: ${phase}: ${items.length} pods gone from the API in ${((gone - t) / 1000).toFixed(1)} s, node torn down ${((performance.now() - gone) / 1000).toFixed(1)} s later`);
    };

    // 0. Pre-pull.
    say(`${tag}: pre-pull ${small.reference} with one pod`);
    {
      const tp = performance.now();
      await createAll(['prepull'], (n) => podBody(n, small.reference, 'sleep', 'prepull'));
      await waitFor(() => tracker.pods.get('prepull')!.runningSeenAt !== undefined, cfg.phaseTimeoutMs, () => `prepull Running:\n${srv!.log()}`);
      result.prepull.runningMs = Math.round(performance.now() - tp);
      const pulled = (await newEvents()).all.find((e) => e.reason === 'Pulled' && e.involvedObject?.name === 'prepull');
      result.prepull.message = pulled?.message;
      result.prepull.pulledMs = pulled ? parseGoDurationMs(pulled.message) : undefined;
      say(`${tag}: pre-pull pod Running in ${result.prepull.runningMs} ms (${pulled?.message ?? 'no Pulled event'})`);
      await cleanup('pre-pull');
    }
    result.idle0 = await overhead(0);
    say(`${tag}: at 0 pods: skiff RSS ${result.idle0.skiffRssMiB} MiB, CPU ${result.idle0.skiffCpuPercent}% over ${cfg.idleSeconds} s`);

    // 1. Startup burst.
    say(`${tag}: startup burst of ${cfg.burstPods} sleep pods`);
    {
      const names = Array.from({ length: cfg.burstPods }, (_, i) => `burst-${String(i).padStart(3, '0')}`);
      const meter = new CpuMeter(srv);
      const kids0 = childrenCpuSeconds(srv.pid);
      const first = performance.now();
      const burst = await profiled('burst', async () => {
        const c = await createAll(names, (n) => podBody(n, small.reference, 'sleep', 'burst'));
        const done = () => names.filter((n) => tracker.pods.get(n)!.runningSeenAt !== undefined || tracker.pods.get(n)!.failedSeenAt !== undefined).length;
        await waitFor(() => done() === names.length, cfg.phaseTimeoutMs, () => `${done()} of ${names.length} burst pods Running`).catch((err) => failures.push(`burst: ${(err as Error).message}`));
        return c;
      });
      const cpu = meter.read();
      const childrenCpuPercent = r1((100 * (childrenCpuSeconds(srv.pid) - kids0)) / ((performance.now() - first) / 1000));
      const ts = names.map((n) => tracker.pods.get(n)!);
      const running = ts.filter((t) => t.runningSeenAt !== undefined);
      const ev = await newEvents();
      result.burst = {
        pods: names.length,
        createErrors: burst.errors,
        createErrorSamples: burst.samples,
        createMs: burst.createMs,
        createdToStartedMs: summarize(running.filter((t) => t.startedAtMs !== undefined && t.createdMs !== undefined).map((t) => t.startedAtMs! - t.createdMs!)),
        createdToSeenMs: summarize(running.filter((t) => t.createdMs !== undefined).map((t) => wall(t.runningSeenAt!) - t.createdMs!)),
        ackToSeenMs: summarize(running.filter((t) => t.ackAt !== undefined).map((t) => t.runningSeenAt! - t.ackAt!)),
        sentToSeenMs: summarize(running.map((t) => t.runningSeenAt! - t.sentAt)),
        allSeconds: running.length === names.length ? Math.max(...running.map((t) => t.runningSeenAt!)) / 1000 - first / 1000 : NaN,
        reached: running.length,
        failed: ts.filter((t) => t.failedSeenAt !== undefined).length,
        cpu,
        childrenCpuPercent,
        warnings: ev.warnings,
      };
      if (burst.errors) failures.push(`burst: ${burst.errors} creates failed, e.g. ${burst.samples[0]}`);
      say(`${tag}: burst: ${running.length}/${names.length} Running; ack → Running p50 ${Math.round(result.burst.ackToSeenMs.p50)} ms, p99 ${Math.round(result.burst.ackToSeenMs.p99)} ms; all in ${result.burst.allSeconds.toFixed(2)} s`);
      await cleanup('burst');
    }

    // 2. Short-lived pods.
    say(`${tag}: ${cfg.shortPods} short-lived pods at once`);
    {
      const names = Array.from({ length: cfg.shortPods }, (_, i) => `short-${String(i).padStart(3, '0')}`);
      const meter = new CpuMeter(srv);
      const kids0 = childrenCpuSeconds(srv.pid);
      const first = performance.now();
      const short = await profiled('short', async () => {
        const c = await createAll(names, (n) => podBody(n, small.reference, 'short', 'short', 'IfNotPresent'));
        const done = () => names.filter((n) => tracker.pods.get(n)!.succeededSeenAt !== undefined || tracker.pods.get(n)!.failedSeenAt !== undefined).length;
        await waitFor(() => done() === names.length, cfg.phaseTimeoutMs, () => `${done()} of ${names.length} short pods finished`).catch((err) => failures.push(`short: ${(err as Error).message}`));
        return c;
      });
      const cpu = meter.read();
      const childrenCpuPercent = r1((100 * (childrenCpuSeconds(srv.pid) - kids0)) / ((performance.now() - first) / 1000));
      const ts = names.map((n) => tracker.pods.get(n)!);
      const ok = ts.filter((t) => t.succeededSeenAt !== undefined);
      const ev = await newEvents();
      result.short = {
        pods: names.length,
        createErrors: short.errors,
        createErrorSamples: short.samples,
        createMs: short.createMs,
        allSucceededSeconds: ok.length === names.length ? (Math.max(...ok.map((t) => t.succeededSeenAt!)) - first) / 1000 : NaN,
        succeeded: ok.length,
        failed: ts.filter((t) => t.failedSeenAt !== undefined).length,
        ackToSucceededMs: summarize(ok.filter((t) => t.ackAt !== undefined).map((t) => t.succeededSeenAt! - t.ackAt!)),
        createdToFinishedMs: summarize(ok.filter((t) => t.finishedAtMs !== undefined && t.createdMs !== undefined).map((t) => t.finishedAtMs! - t.createdMs!)),
        maxBoundAtOnce: tracker.maxBound,
        cpu,
        childrenCpuPercent,
        warnings: ev.warnings,
        warningSamples: ev.samples,
        nodeCidrMaskSize: 24,
      };
      if (short.errors) failures.push(`short: ${short.errors} creates failed, e.g. ${short.samples[0]}`);
      if (result.short.failed) failures.push(`short: ${result.short.failed} pods Failed${ev.samples.length ? `, e.g. ${ev.samples[0]}` : ''}`);
      say(`${tag}: short: ${ok.length}/${names.length} Succeeded in ${result.short.allSucceededSeconds.toFixed(2)} s; ack → Succeeded p50 ${Math.round(result.short.ackToSucceededMs.p50)} ms, p99 ${Math.round(result.short.ackToSucceededMs.p99)} ms`);
      await cleanup('short');
    }

    // 3. Overhead at N running pods.
    say(`${tag}: ${cfg.overheadPods} sleep pods running`);
    {
      const names = Array.from({ length: cfg.overheadPods }, (_, i) => `idle-${String(i).padStart(3, '0')}`);
      const c = await createAll(names, (n) => podBody(n, small.reference, 'sleep', 'idle'));
      if (c.errors) failures.push(`overhead: ${c.errors} creates failed, e.g. ${c.samples[0]}`);
      const done = () => names.filter((n) => tracker.pods.get(n)!.runningSeenAt !== undefined).length;
      await waitFor(() => done() === names.length, cfg.phaseTimeoutMs, () => `${done()} of ${names.length} idle pods Running`).catch((err) => failures.push(`overhead: ${(err as Error).message}`));
      // Not profiled: the sampling profiler's own thread would be most of an idle process's CPU.
      const atN = await overhead(done());
      const at0 = result.idle0!;
      const n = Math.max(1, atN.pods);
      result.overhead = {
        at0,
        atN,
        perPod: {
          skiffRssKiB: Math.round(((atN.skiffRssMiB - at0.skiffRssMiB) * 1024) / n),
          conmonRssKiB: Math.round(((atN.conmonRssMiB - at0.conmonRssMiB) * 1024) / n),
          skiffCpuPercent: Math.round(((atN.skiffCpuPercent - at0.skiffCpuPercent) / n) * 1000) / 1000,
          ...(atN.podsCgroupMiB !== undefined && at0.podsCgroupMiB !== undefined ? { podsCgroupKiB: Math.round(((atN.podsCgroupMiB - at0.podsCgroupMiB) * 1024) / n) } : {}),
        },
      };
      say(`${tag}: at ${atN.pods} pods: skiff RSS ${atN.skiffRssMiB} MiB, ${atN.conmons} conmons ${atN.conmonRssMiB} MiB, skiff CPU ${atN.skiffCpuPercent}%`);
      await newEvents();
      await cleanup('overhead');
    }

    // 4. Pull throughput.
    say(`${tag}: pull ${big.reference} through the agent (imagePullPolicy Always), then with skopeo`);
    {
      const m = await getManifest(registry.host, 'bn/big', 'v1');
      const layers: { size: number }[] = m.json.layers ?? [];
      const transferBytes = layers.reduce((s, l) => s + l.size, 0) + (m.json.config?.size ?? 0);
      const c0 = srv.sample().cpuSeconds;
      await profiled('pull', async () => {
        await createAll(['pull'], (n) => podBody(n, big.reference, 'short', 'pull', 'Always'));
        await waitFor(() => tracker.pods.get('pull')!.succeededSeenAt !== undefined || tracker.pods.get('pull')!.failedSeenAt !== undefined, cfg.phaseTimeoutMs, () => 'the pull pod to finish');
      });
      const serverCpuSeconds = r1(srv.sample().cpuSeconds - c0);
      const ev = await newEvents();
      const pulled = ev.all.find((e) => e.reason === 'Pulled' && e.involvedObject?.name === 'pull');
      if (!pulled) throw new Error(`no Pulled event for the pull pod; warnings: ${ev.samples.join('; ')}`);
      const agentMs = parseGoDurationMs(pulled.message);
      const sizeMatch = /Image size: (\d+) bytes/.exec(pulled.message);
      const skopeoMs: number[] = [];
      for (let i = 0; i < cfg.skopeoRuns; i++) {
        const dir = join(host.base, `skopeo-${i}`);
        const t = performance.now();
        await execFileAsync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${big.reference}`, `dir:${dir}`], { timeout: 300_000 });
        skopeoMs.push(Math.round(performance.now() - t));
        await rm(dir, { recursive: true, force: true });
      }
      const mbps = (ms: number) => r1(transferBytes / 1e6 / (ms / 1000));
      const best = Math.min(...skopeoMs);
      result.pull = {
        image: big.reference,
        transferBytes,
        layers: layers.length,
        imageSizeBytes: sizeMatch ? Number(sizeMatch[1]) : undefined,
        agentMs,
        agentMBps: mbps(agentMs),
        message: pulled.message,
        skopeoMs,
        skopeoMBps: mbps(best),
        ratio: Math.round((mbps(best) / mbps(agentMs)) * 100) / 100,
        serverCpuSeconds,
      };
      say(`${tag}: pull: agent ${agentMs} ms (${result.pull.agentMBps} MB/s), skopeo ${best} ms (${result.pull.skopeoMBps} MB/s)`);
      await cleanup('pull');
    }
    watch.close();
    if (tracker.unknown) say(`${tag}: note: ${tracker.unknown} watch events for pods the bench did not create`);
    if (watch.failures.length) failures.push(...watch.failures);
    return result;
  } catch (err) {
    failures.push(`the run stopped: ${(err as Error).message.slice(0, 3000)}`);
    return result;
  } finally {
    for (const c of closers) c.close();
    if (srv) {
      await srv.cleanup();
      opts.live.delete(srv);
    }
    result.hostProblems = host.cleanupSync();
    opts.emergency.delete(emergency);
    await registry?.stop();
  }
}

/** "Successfully pulled image "x" in 1m2.5s (...)" → ms; the duration Go prints (h, m, s, ms, µs). */
export function parseGoDurationMs(message: string): number {
  const m = / in (\S+) /.exec(message);
  return m && GO_DURATION_RE.test(m[1]) ? goDurationMs(m[1]) : NaN;
}

/** `nproc`: the CPUs this process may use (what the brief asks to record beside os.cpus()). */
function nproc(): number {
  try {
    return Number(execFileSync('nproc', { encoding: 'utf8', timeout: 5000 }).trim());
  } catch {
    return cpus().length;
  }
}
