/**
 * skiff's benchmarks (`npm run build && npm run bench`): the API server suite, then the CI burst.
 *
 *   node dist/bench/run.js [--suite api|ci-burst|api-extensions|auth|pods|load|all (default all)] [--quick] [--large]
 *                          [--backend sqlite|etcd] [--client https|raw (default https)] [--profile]
 *                          [--wait-quiet SECONDS] [--attempts N] [--out DIR]
 *
 * The machine must be otherwise idle: each phase records the CPU other processes used, a run where
 * they used more than 15% of a core is flagged "disturbed" and repeated (up to --attempts, within a
 * time budget), and the least disturbed attempt is reported.
 *
 * API suite, for each backend: start a real `skiff up` (and, for etcd, a real etcd) on loopback,
 * measure ready time and idle RSS, then create / get / merge-patch 1 KB ConfigMaps from 32
 * keep-alive HTTPS clients, list 10,000 of them (watch cache and consistent), measure watch fan-out
 * latency to 100 watchers, and restart once holding everything. Prints a table against the goals
 * and upstream's figures and writes bench/results/latest-<backend>.json (+ .md).
 *
 * CI burst (bench/ci-burst.ts): `skiff up --simulated-nodes 100` takes 1,080 Jobs from 6 pipelines
 * at once; pod startup latency, scheduler throughput, server CPU and RSS, completion and TTL
 * cleanup; writes bench/results/latest-ci-burst.json (+ .md). `--large` runs 5,000 nodes and
 * 30,000 pods instead (latest-ci-burst-large.*).
 *
 * API extensions (bench/api-extensions.ts): custom resource creates (~50-field schema, 3 CEL rules)
 * against ConfigMap creates, server-side apply of Deployments against plain updates; writes
 * bench/results/latest-api-extensions.json (+ .md).
 *
 * Auth (bench/auth.ts): GETs and ConfigMap creates as the administrator (no authorization), a
 * certificate user and a ServiceAccount token, both under RBAC; writes bench/results/latest-auth.json (+ .md).
 *
 * Pods (bench/pods.ts; not part of `all`, it needs root, crun, conmon, CNI plugins and the image
 * tools): `skiff up` with its real node agent and a docker-registry on loopback; pod startup for a
 * burst of 50, 170 short-lived pods, the agent's RSS/CPU per running pod at 110 pods, and image pull
 * throughput against skopeo; writes bench/results/latest-pods.json (+ .md). `--quick` is a ~1 min smoke run.
 *
 * Load (bench/load.ts; not part of `all`): 200 keep-alive HTTPS clients of 20 ordinary users send
 * 50,000 mixed requests (gets, lists, creates, patches, deletes, client mistakes) with 30 watches
 * open (10 never read); p50/p99 per request class, throughput, 429s, peak RSS; writes
 * bench/results/latest-load.json (+ .md).
 *
 * `--profile` also writes CPU profiles of the server (per phase, or for the burst) to
 * bench/results/profiles/ (see bench/profile-top.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { makeClientFactory, Pool, RawConnection, type ClientKind } from './http-client.js';
import { createPhase, ensureNamespace, getPhase, listPhase, NAMESPACE, OBJECT_BYTES, patchPhase, watchPhase, type PhaseContext } from './phases.js';
import { evaluateGoals, machine, markdown, type BackendResult, type MemorySample } from './report.js';
import { ServerUnderTest, sleep, waitForQuiet, type Backend } from './server.js';
import { findEtcdBinary } from '../test/harness/etcd.js';
import { CI_DEFAULT, CI_LARGE, CI_QUICK, runCiBurst, type CiBurstConfig, type CiBurstResult } from './ci-burst.js';
import { benchScheduler } from './scheduler.js';
import { CI_QUIET_PERCENT, ciMarkdown, ciMaxOthers, evaluateCiGoals } from './ci-burst-report.js';
import { PODS_DEFAULT, PODS_QUICK, runPods } from './pods.js';
import { evaluatePodsGoals, podsMarkdown } from './pods-report.js';
import { apiExtensionsMarkdown, runApiExtensions } from './api-extensions.js';
import { authMarkdown, runAuthBench } from './auth.js';
import { loadMarkdown, runLoadBench } from './load.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The whole run (both backends) is cut off after this long; each suite adds to it. */
const WATCHDOG_API_MS = 9.5 * 60_000;
const WATCHDOG_CI_MS = 4 * 60_000;
const WATCHDOG_CI_LARGE_MS = 15 * 60_000;
const WATCHDOG_PODS_MS = 12 * 60_000;
const WATCHDOG_API_EXT_MS = 6 * 60_000;
const WATCHDOG_AUTH_MS = 6 * 60_000;
const WATCHDOG_LOAD_MS = 4 * 60_000;
const CONCURRENCY = 32;
/** No new attempt of a disturbed backend starts after this much of the run. */
const RETRY_BUDGET_MS = 5 * 60_000;

function maxOthers(r: BackendResult): number {
  return Math.max(...[r.create, r.get, r.patch, r.listCache, r.listConsistent, r.watch].map((p) => Math.round(p.cpu.others)));
}

interface Config {
  objects: number;
  getSeconds: number;
  getMax: number;
  patches: number;
  listReps: number;
  listWarmups: number;
  watchers: number;
  watchUpdates: number;
  watchIntervalMs: number;
}

const FULL: Config = { objects: 10_000, getSeconds: 10, getMax: 400_000, patches: 5_000, listReps: 20, listWarmups: 2, watchers: 100, watchUpdates: 200, watchIntervalMs: 20 };
const QUICK: Config = { objects: 1_000, getSeconds: 2, getMax: 100_000, patches: 500, listReps: 3, listWarmups: 1, watchers: 100, watchUpdates: 30, watchIntervalMs: 20 };

const live = new Set<ServerUnderTest>();
/** Synchronous host cleanups (the pods suite's bridge, mounts, cgroups) the watchdog runs on its way out. */
const emergency = new Set<() => void>();

function mib(kib: number): number {
  return Math.round((kib / 1024) * 10) / 10;
}

function memory(srv: ServerUnderTest): MemorySample {
  const m: MemorySample = { serverMiB: mib(srv.sample().rssKiB) };
  const e = srv.etcdSample();
  if (e) m.etcdMiB = mib(e.rssKiB);
  return m;
}

function etcdVersion(): string {
  try {
    const out = execFileSync(findEtcdBinary(), ['--version'], { encoding: 'utf8', timeout: 10_000 });
    return /etcd Version: (\S+)/.exec(out)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function say(msg: string): void {
  process.stdout.write(`[bench] ${msg}\n`);
}

/** Other processes may use at most this much CPU (% of one core) for the figures to count as undisturbed. */
const QUIET_PERCENT = 15;

async function runBackend(
  backend: Backend,
  cfg: Config,
  quick: boolean,
  clientKind: ClientKind,
  profile: boolean,
  outDir: string,
  waitQuietMs: number,
): Promise<BackendResult> {
  const srv = new ServerUnderTest({ backend, profile });
  live.add(srv);
  const profiles: string[] = [];
  const failures: string[] = [];
  const profileDir = join(outDir, 'profiles');
  if (profile) await mkdir(profileDir, { recursive: true });
  const profiled = async <T>(phase: string, fn: () => Promise<T>): Promise<T> => {
    await srv.startProfile();
    try {
      return await fn();
    } finally {
      const f = await srv.stopProfile(join(profileDir, `${backend}-${phase}.cpuprofile`));
      if (f) profiles.push(f);
    }
  };
  try {
    say(`${backend}: waiting (at most ${waitQuietMs / 1000} s) for the machine to be quiet`);
    const othersBefore = await waitForQuiet(QUIET_PERCENT, waitQuietMs);
    say(`${backend}: other processes use ${othersBefore}% of a core${othersBefore > QUIET_PERCENT ? ' — the figures will be disturbed' : ''}`);
    await srv.prepare();
    say(`${backend}: starting skiff up on 127.0.0.1:${srv.port}${srv.etcd ? ` (etcd at ${srv.etcd.endpoint})` : ''}`);
    const readyMs = await srv.start();
    say(`${backend}: ready in ${readyMs.toFixed(0)} ms`);
    await sleep(2000);
    const idle = memory(srv);
    say(`${backend}: idle RSS ${idle.serverMiB} MiB${idle.etcdMiB !== undefined ? ` (etcd ${idle.etcdMiB} MiB)` : ''}`);

    const factory = makeClientFactory(clientKind, srv.endpoint, CONCURRENCY);
    const pool = new Pool(factory.newClient, 8);
    // The watch phase's writes carry their send time, so they go out on raw connections whatever
    // --client says: request() writes the bytes synchronously, right after the timestamp is taken.
    const rawPool = new Pool(() => new RawConnection(srv.endpoint), 8);
    const ctx: PhaseContext = { server: srv, newClient: factory.newClient, pool, endpoint: srv.endpoint, concurrency: CONCURRENCY };
    await ensureNamespace(ctx, NAMESPACE);

    say(`${backend}: create ${cfg.objects} ConfigMaps`);
    const create = await profiled('create', () => createPhase(ctx, cfg.objects));
    say(`${backend}: create ${create.opsPerSec} ops/s, p99 ${create.latencyMs.p99.toFixed(1)} ms, ${create.errors} errors`);
    await sleep(1000);
    const holding = { ...memory(srv), objects: cfg.objects };
    // RSS right after each phase (and its peak so far), to see which phase grows the heap.
    const rssTrail: { phase: string; serverMiB: number; serverPeakMiB: number }[] = [];
    const trail = (phase: string) => {
      const m = srv.sample();
      rssTrail.push({ phase, serverMiB: mib(m.rssKiB), serverPeakMiB: mib(m.hwmKiB) });
    };
    trail('create');

    say(`${backend}: get for ${cfg.getSeconds} s`);
    const get = await profiled('get', () => getPhase(ctx, cfg.objects, cfg.getSeconds, cfg.getMax));
    trail('get');
    say(`${backend}: get ${get.opsPerSec} ops/s, p99 ${get.latencyMs.p99.toFixed(1)} ms, ${get.errors} errors`);

    say(`${backend}: merge-patch ${cfg.patches}`);
    const patch = await profiled('patch', () => patchPhase(ctx, cfg.objects, cfg.patches));
    trail('patch');
    say(`${backend}: patch ${patch.opsPerSec} ops/s, p99 ${patch.latencyMs.p99.toFixed(1)} ms, ${patch.errors} errors`);

    say(`${backend}: list ×${cfg.listReps} (resourceVersion=0, then consistent)`);
    const listCache = await profiled('list-rv0', () => listPhase(ctx, 'list rv=0', '?resourceVersion=0', cfg.objects, cfg.listReps, cfg.listWarmups));
    trail('list rv=0');
    const listConsistent = await profiled('list-consistent', () => listPhase(ctx, 'list consistent', '', cfg.objects, cfg.listReps, cfg.listWarmups));
    trail('list consistent');
    say(`${backend}: list rv=0 p50 ${listCache.latencyMs.p50.toFixed(1)} ms, consistent p50 ${listConsistent.latencyMs.p50.toFixed(1)} ms`);

    say(`${backend}: watch, ${cfg.watchers} watchers, ${cfg.watchUpdates} updates every ${cfg.watchIntervalMs} ms`);
    const watch = await profiled('watch', () => watchPhase({ ...ctx, pool: rawPool }, cfg.watchers, cfg.watchUpdates, cfg.watchIntervalMs));
    trail('watch');
    say(`${backend}: watch p99 ${watch.latencyMs.p99.toFixed(1)} ms, ${watch.lost} lost`);

    const s = srv.sample();
    const end = { ...memory(srv), serverPeakMiB: mib(s.hwmKiB) };
    pool.close();
    rawPool.close();
    factory.close();

    say(`${backend}: restart holding ${cfg.objects + 10} ConfigMaps`);
    const stopMs = await srv.stop();
    let restartReadyMs = NaN;
    let restartError: string | undefined;
    try {
      restartReadyMs = await srv.start();
      say(`${backend}: ready again in ${restartReadyMs.toFixed(0)} ms`);
    } catch (err) {
      restartError = (err as Error).message.slice(0, 2000);
      say(`${backend}: restart FAILED: ${restartError}`);
    }

    const r: BackendResult = {
      backend,
      quick,
      client: clientKind,
      machine: { ...machine(), ...(backend === 'etcd' ? { etcd: etcdVersion() } : {}) },
      config: {
        objects: cfg.objects,
        concurrency: CONCURRENCY,
        getSeconds: cfg.getSeconds,
        patches: cfg.patches,
        listReps: cfg.listReps,
        watchers: cfg.watchers,
        watchUpdates: cfg.watchUpdates,
        watchIntervalMs: cfg.watchIntervalMs,
        objectBytes: OBJECT_BYTES,
      },
      readyMs: Math.round(readyMs),
      idle,
      create,
      holding,
      get,
      patch,
      listCache,
      listConsistent,
      watch,
      end,
      rssTrail,
      restart: { objects: cfg.objects + 10, stopMs: Math.round(stopMs), readyMs: Math.round(restartReadyMs), error: restartError },
      profiles,
      othersBeforePercent: othersBefore,
      attempt: 1,
      disturbed: [create, get, patch, listCache, listConsistent, watch].some((p) => p.cpu.others > QUIET_PERCENT),
      goals: [],
      failures,
      passed: false,
    };
    for (const p of [create, get, patch]) {
      if (p.errors) failures.push(`${p.name}: ${p.errors} errors, e.g. ${p.errorSamples[0]}`);
      if (!p.complete) failures.push(`${p.name}: hit its deadline after ${p.ops} operations`);
    }
    if (restartError) failures.push(`restart on the same data dir failed: ${restartError.split('\n').slice(0, 12).join(' ').slice(0, 600)}`);
    for (const l of [listCache, listConsistent]) if (l.errors) failures.push(`${l.name}: ${l.errors} errors, e.g. ${l.errorSamples[0]}`);
    if (watch.lost || watch.writeErrors || watch.duplicates || watch.outOfOrder) {
      failures.push(`watch: ${watch.lost} lost, ${watch.duplicates} duplicates, ${watch.outOfOrder} out of order, ${watch.writeErrors} write errors${watch.errorSamples.length ? `, e.g. ${watch.errorSamples[0]}` : ''}`);
    }
    r.goals = evaluateGoals(r);
    r.passed = failures.length === 0 && r.goals.every((g) => g.met !== false);
    return r;
  } finally {
    await srv.cleanup();
    live.delete(srv);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backend: { type: 'string' },
      quick: { type: 'boolean', default: false },
      client: { type: 'string', default: 'https' },
      profile: { type: 'boolean', default: false },
      out: { type: 'string' },
      'wait-quiet': { type: 'string', default: '60' },
      attempts: { type: 'string', default: '3' },
      suite: { type: 'string', default: 'all' },
      large: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const suite = values.suite!;
  if (!['api', 'ci-burst', 'api-extensions', 'auth', 'pods', 'load', 'all'].includes(suite)) throw new Error(`--suite must be api, ci-burst, api-extensions, auth, pods, load or all, not ${suite}`);
  if (values.large && values.quick) throw new Error('--large and --quick exclude each other');
  const runApi = suite === 'api' || suite === 'all';
  const runCi = suite === 'ci-burst' || suite === 'all';
  const runPodsSuite = suite === 'pods';
  const runApiExt = suite === 'api-extensions' || suite === 'all';
  const runAuth = suite === 'auth' || suite === 'all';
  const runLoadSuite = suite === 'load';
  const backends: Backend[] = values.backend ? (values.backend.split(',') as Backend[]) : ['sqlite', 'etcd'];
  for (const b of backends) if (b !== 'sqlite' && b !== 'etcd') throw new Error(`--backend must be sqlite or etcd, not ${b}`);
  const clientKind = values.client as ClientKind;
  if (clientKind !== 'raw' && clientKind !== 'https') throw new Error(`--client must be raw or https, not ${clientKind}`);
  const quick = values.quick!;
  const cfg = quick ? QUICK : FULL;
  const outDir = resolve(values.out ?? join(REPO_ROOT, 'bench', 'results'));
  await mkdir(outDir, { recursive: true });

  const watchdogMs = (runApi ? WATCHDOG_API_MS : 0) + (runCi ? (values.large ? WATCHDOG_CI_LARGE_MS : WATCHDOG_CI_MS) : 0) + (runPodsSuite ? WATCHDOG_PODS_MS : 0) + (runApiExt ? WATCHDOG_API_EXT_MS : 0) + (runAuth ? WATCHDOG_AUTH_MS : 0) + (runLoadSuite ? WATCHDOG_LOAD_MS : 0);
  const watchdog = setTimeout(() => {
    console.error(`[bench] watchdog: the run took longer than ${watchdogMs / 60_000} min; stopping everything`);
    process.exitCode = 3;
    for (const s of live) {
      s.killNow();
      void s.etcd?.stop();
    }
    for (const e of emergency) e();
    setTimeout(() => process.exit(3), 2000).unref();
  }, watchdogMs);
  watchdog.unref();

  const attempts = Math.max(1, Number(values.attempts));
  const started = performance.now();
  let allPassed = true;
  for (const backend of runApi ? backends : []) {
    // A run disturbed by other processes is repeated (bounded by --attempts and the time budget);
    // the least disturbed attempt is the one reported.
    let r: BackendResult | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      let a: BackendResult;
      try {
        a = await runBackend(backend, cfg, quick, clientKind, values.profile!, outDir, Number(values['wait-quiet']) * 1000);
      } catch (err) {
        console.error(`[bench] ${backend}: the run failed: ${(err as Error).stack ?? err}`);
        break;
      }
      a.attempt = attempt;
      if (!r || maxOthers(a) < maxOthers(r)) r = a;
      if (!a.disturbed) break;
      if (performance.now() - started > RETRY_BUDGET_MS) break;
      if (attempt < attempts) say(`${backend}: disturbed by other processes (up to ${maxOthers(a)}% of a core); trying again`);
    }
    if (!r) {
      allPassed = false;
      continue;
    }
    const md = markdown(r);
    process.stdout.write(`\n${md}\n\n`);
    const base = join(outDir, `${quick ? 'quick' : 'latest'}-${backend}`);
    await writeFile(`${base}.json`, JSON.stringify(r, null, 2) + '\n');
    await writeFile(`${base}.md`, md + '\n');
    say(`wrote ${base}.json and .md`);
    if (r.disturbed) say(`${backend}: WARNING: other processes used more than ${QUIET_PERCENT}% of a core during some phases; the figures are disturbed`);
    if (r.profiles.length) say(`CPU profiles: ${r.profiles.join(', ')}\n  summarize with: node dist/bench/profile-top.js <file>`);
    if (r.failures.length) allPassed = false;
  }
  if (runCi) {
    const cfg = values.large ? CI_LARGE : quick ? CI_QUICK : CI_DEFAULT;
    const passed = await runCiSuite(cfg, attempts, values.profile!, outDir, Number(values['wait-quiet']) * 1000);
    if (!passed) allPassed = false;
  }
  const waitQuietMs = Number(values['wait-quiet']) * 1000;
  if (runApiExt && !(await runSingleServerSuite('api-extensions', () => runApiExtensions({ quick, say, live }), apiExtensionsMarkdown, quick, outDir, waitQuietMs))) allPassed = false;
  if (runAuth && !(await runSingleServerSuite('auth', () => runAuthBench({ quick, say, live }), authMarkdown, quick, outDir, waitQuietMs))) allPassed = false;
  if (runLoadSuite && !(await runSingleServerSuite('load', () => runLoadBench({ quick, say, live }), loadMarkdown, quick, outDir, waitQuietMs))) allPassed = false;
  if (runPodsSuite) {
    const passed = await runPodsSuiteOnce(quick, values.profile!, outDir, Number(values['wait-quiet']) * 1000);
    if (!passed) allPassed = false;
  }
  clearTimeout(watchdog);
  // A goal not met is a finding (the tables say SHORT); errors, lost events or a crash fail the run.
  process.exitCode = allPassed ? 0 : 1;
}

/** No new attempt of a disturbed CI burst starts after this long in the suite. */
const CI_RETRY_BUDGET_MS = 3 * 60_000;

/** The CI burst, repeated while disturbed (bounded); writes the least disturbed attempt. False if it failed. */
async function runCiSuite(cfg: CiBurstConfig, attempts: number, profile: boolean, outDir: string, waitQuietMs: number): Promise<boolean> {
  const tag = `ci-burst${cfg.size === 'default' ? '' : `-${cfg.size}`}`;
  const profileDir = join(outDir, 'profiles');
  if (profile) await mkdir(profileDir, { recursive: true });
  const started = performance.now();
  let best: CiBurstResult | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    say(`${tag}: waiting (at most ${waitQuietMs / 1000} s) for the machine to be quiet`);
    const othersBefore = await waitForQuiet(QUIET_PERCENT, waitQuietMs);
    say(`${tag}: other processes use ${othersBefore}% of a core${othersBefore > QUIET_PERCENT ? ' — the figures will be disturbed' : ''}`);
    let r: CiBurstResult;
    try {
      r = await runCiBurst({ cfg, profile, profileDir, say, live });
    } catch (err) {
      console.error(`[bench] ${tag}: the run failed: ${(err as Error).stack ?? err}`);
      break;
    }
    r.attempt = attempt;
    r.disturbed = ciMaxOthers(r) > CI_QUIET_PERCENT;
    r.goals = evaluateCiGoals(r);
    r.passed = r.failures.length === 0 && r.goals.every((g) => g.met !== false);
    if (!best || ciMaxOthers(r) < ciMaxOthers(best)) best = r;
    if (!r.disturbed) break;
    if (performance.now() - started > CI_RETRY_BUDGET_MS) break;
    if (attempt < attempts) say(`${tag}: disturbed by other processes (up to ${Math.round(ciMaxOthers(r))}% of a core); trying again`);
  }
  if (!best) return false;
  // The scheduler on its own (bench/scheduler.ts, in this process): what it does when nothing else shares its core.
  for (const precreate of [true, false]) {
    const sc = cfg.size === 'large' ? { nodes: 5000, pods: 10_000 } : { nodes: cfg.nodes, pods: cfg.pipelines * cfg.perPipeline };
    try {
      const res = await benchScheduler({ ...sc, precreate, timeoutMs: 120_000, podCpu: cfg.podCpu, podMemory: cfg.podMemory });
      (best.schedulerAlone ??= []).push(res);
      say(`${tag}: scheduler alone (${res.mode}, ${res.nodes} nodes, ${res.pods} pods): ${res.podsPerSecond} pods/s, p99 ${res.p99Ms} ms`);
    } catch (err) {
      say(`${tag}: scheduler micro benchmark failed: ${(err as Error).message}`);
    }
  }
  const md = ciMarkdown(best);
  process.stdout.write(`\n${md}\n\n`);
  const base = join(outDir, `${cfg.size === 'quick' ? 'quick' : 'latest'}-${cfg.size === 'large' ? 'ci-burst-large' : 'ci-burst'}`);
  await writeFile(`${base}.json`, JSON.stringify(best, null, 2) + '\n');
  await writeFile(`${base}.md`, md + '\n');
  say(`wrote ${base}.json and .md`);
  if (best.disturbed) say(`${tag}: WARNING: other processes used more than ${CI_QUIET_PERCENT}% of a core; the figures are disturbed`);
  if (best.profiles.length) say(`CPU profiles: ${best.profiles.join(', ')}\n  summarize with: node dist/bench/profile-top.js <file>`);
  return best.failures.length === 0;
}

/**
 * The pods suite, once: real containers make the machine busy by themselves (crun, conmon and the CNI
 * plugins count as "other processes"), so disturbance cannot be told from the run's own work; the
 * bench only waits for a quiet machine before it starts, and records how busy it was.
 */
async function runPodsSuiteOnce(quick: boolean, profile: boolean, outDir: string, waitQuietMs: number): Promise<boolean> {
  const cfg = quick ? PODS_QUICK : PODS_DEFAULT;
  const tag = quick ? 'pods-quick' : 'pods';
  const profileDir = join(outDir, 'profiles');
  if (profile) await mkdir(profileDir, { recursive: true });
  say(`${tag}: waiting (at most ${waitQuietMs / 1000} s) for the machine to be quiet`);
  const othersBefore = await waitForQuiet(QUIET_PERCENT, waitQuietMs);
  say(`${tag}: other processes use ${othersBefore}% of a core${othersBefore > QUIET_PERCENT ? ' — the figures will be disturbed' : ''}`);
  const r = await runPods({ cfg, profile, profileDir, say, live, emergency, othersBeforePercent: othersBefore });
  r.goals = evaluatePodsGoals(r);
  r.passed = r.failures.length === 0 && r.goals.every((g) => g.met !== false);
  const md = podsMarkdown(r);
  process.stdout.write(`\n${md}\n\n`);
  const base = join(outDir, `${quick ? 'quick' : 'latest'}-pods`);
  await writeFile(`${base}.json`, JSON.stringify(r, null, 2) + '\n');
  await writeFile(`${base}.md`, md + '\n');
  say(`wrote ${base}.json and .md`);
  if (r.profiles.length) say(`CPU profiles: ${r.profiles.join(', ')}\n  summarize with: node dist/bench/profile-top.js <file>`);
  return r.failures.length === 0;
}

main().catch((err) => {
  console.error(`[bench] ${(err as Error).stack ?? err}`);
  for (const s of live) s.killNow();
  for (const e of emergency) e();
  process.exit(2);
});

/** A suite on one server of its own that returns its result and markdown: runs it once on a quiet machine and writes its results. */
async function runSingleServerSuite<R extends { failures: string[] }>(
  name: string,
  run: () => Promise<R>,
  markdown: (r: R) => string,
  quick: boolean,
  outDir: string,
  waitQuietMs: number,
): Promise<boolean> {
  say(`${name}: waiting (at most ${waitQuietMs / 1000} s) for the machine to be quiet`);
  await waitForQuiet(QUIET_PERCENT, waitQuietMs);
  try {
    const r = await run();
    const md = markdown(r);
    process.stdout.write(`\n${md}\n\n`);
    const base = join(outDir, `${quick ? 'quick' : 'latest'}-${name}`);
    await writeFile(`${base}.json`, JSON.stringify(r, null, 2) + '\n');
    await writeFile(`${base}.md`, md + '\n');
    say(`wrote ${base}.json and .md`);
    if (r.failures.length) console.error(`[bench] ${name}: ${r.failures.join('; ')}`);
    return r.failures.length === 0;
  } catch (err) {
    console.error(`[bench] ${name}: the run failed: ${(err as Error).stack ?? err}`);
    return false;
  }
}
