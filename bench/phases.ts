/**
 * The benchmark's phases against a running server: create, get, merge-patch (closed-loop load from
 * 32 clients), list (watch cache and consistent), and watch fan-out latency. Every loop is bounded
 * by a count and a deadline; every response's status is checked.
 */
import type { Client, Endpoint, Pool } from './http-client.js';
import { WatchStream } from './http-client.js';
import { Latencies, summarize, xorshift, type LatencySummary } from './stats.js';
import { machineBusySeconds, sleep, type ServerUnderTest } from './server.js';

export const NAMESPACE = 'bench';
export const WATCH_NAMESPACE = 'bench-watch';
/** Every create body is exactly this many bytes ("1 KB ConfigMaps"). */
export const OBJECT_BYTES = 1024;

export interface CpuShare {
  /** Percent of one core over the phase (100 = one core busy all the time). */
  server: number;
  etcd?: number;
  bench: number;
  /** Everything else on the machine: above a few percent, the figures are disturbed. */
  others: number;
}

export interface LoadResult {
  name: string;
  ops: number;
  seconds: number;
  opsPerSec: number;
  latencyMs: LatencySummary;
  errors: number;
  errorSamples: string[];
  /** False when the phase hit its deadline before doing its planned count. */
  complete: boolean;
  cpu: CpuShare;
}

export interface ListResult {
  name: string;
  path: string;
  items: number;
  bytes: number;
  latencyMs: LatencySummary;
  errors: number;
  errorSamples: string[];
  cpu: CpuShare;
}

export interface WatchResult {
  watchers: number;
  updates: number;
  intervalMs: number;
  expected: number;
  received: number;
  lost: number;
  duplicates: number;
  outOfOrder: number;
  /** Send of the write → arrival at a watcher, over every (event, watcher) pair. */
  latencyMs: LatencySummary;
  /** Per event: send → arrival at the first watcher, and at the last one. */
  firstWatcherMs: LatencySummary;
  lastWatcherMs: LatencySummary;
  /** The writes' own response times. */
  writeMs: LatencySummary;
  writeErrors: number;
  watchesEnded: number;
  errorSamples: string[];
  cpu: CpuShare;
}

export interface PhaseContext {
  server: ServerUnderTest;
  newClient(): Client;
  pool: Pool;
  endpoint: Endpoint;
  concurrency: number;
}

/** CPU use of server, etcd and this process over a stretch of wall time. */
export class CpuMeter {
  private readonly t0 = performance.now();
  private readonly server0: number;
  private readonly etcd0: number | undefined;
  private readonly bench0 = process.cpuUsage();
  private readonly machine0 = machineBusySeconds();

  constructor(private readonly srv: ServerUnderTest) {
    this.server0 = srv.sample().cpuSeconds;
    this.etcd0 = srv.etcdSample()?.cpuSeconds;
  }

  read(): CpuShare {
    const wall = (performance.now() - this.t0) / 1000;
    const b = process.cpuUsage(this.bench0);
    const server = (this.srv.sample().cpuSeconds - this.server0) / wall;
    const bench = (b.user + b.system) / 1e6 / wall;
    const e = this.srv.etcdSample();
    const etcd = e && this.etcd0 !== undefined ? (e.cpuSeconds - this.etcd0) / wall : undefined;
    const machine = (machineBusySeconds() - this.machine0) / wall;
    const share: CpuShare = { server: round1(100 * server), bench: round1(100 * bench), others: round1(Math.max(0, 100 * (machine - server - bench - (etcd ?? 0)))) };
    if (etcd !== undefined) share.etcd = round1(100 * etcd);
    return share;
  }
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

export function objectName(i: number): string {
  return `cm-${String(i).padStart(5, '0')}`;
}

/** A ConfigMap whose JSON body is exactly OBJECT_BYTES long (names all have the same length). */
export function configMapBody(name: string, extraData = ''): string {
  const start = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"${name}","labels":{"app":"skiff-bench"}},"data":{${extraData}"payload":"`;
  const end = '"}}';
  const pad = OBJECT_BYTES - start.length - end.length;
  let payload = '';
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  for (let i = 0; i < pad; i++) payload += alphabet[(i * 7 + name.length) % alphabet.length];
  return start + payload + end;
}

interface LoadSpec {
  name: string;
  /** Planned operations; the phase stops at this count (or at durationMs, or at deadlineMs). */
  count: number;
  /** For a fixed-duration phase: stop issuing new requests after this long. */
  durationMs?: number;
  /** Hard limit for the phase; reaching it marks the phase incomplete (unless it is a duration phase). */
  deadlineMs: number;
  expect: number;
  op(i: number): { method: string; path: string; body?: string; contentType?: string };
}

/** Closed-loop load: `concurrency` workers, each with its own keep-alive connection, one request at a time. */
export async function runLoad(ctx: PhaseContext, spec: LoadSpec): Promise<LoadResult> {
  const lat = new Latencies(spec.count);
  let next = 0;
  let errors = 0;
  const errorSamples: string[] = [];
  const noteError = (msg: string) => {
    errors++;
    if (errorSamples.length < 5) errorSamples.push(msg);
  };
  const clients = Array.from({ length: ctx.concurrency }, () => ctx.newClient());
  // Connect (TLS handshake) and warm up every client before the clock starts: keep-alive clients.
  await Promise.all(
    clients.map(async (c) => {
      const r = await c.request('GET', `/api/v1/namespaces/${NAMESPACE}`);
      if (r.status !== 200) noteError(`warm-up GET namespace: ${r.status} ${r.body?.toString('utf8', 0, 300) ?? ''}`);
    }),
  );
  const meter = new CpuMeter(ctx.server);
  const t0 = performance.now();
  const stopAt = t0 + (spec.durationMs ?? spec.deadlineMs);
  const hardStop = t0 + spec.deadlineMs;
  let hitDeadline = false;
  const worker = async (c: Client) => {
    while (true) {
      const i = next++;
      if (i >= spec.count) return;
      const now = performance.now();
      if (now >= stopAt || now >= hardStop) {
        if (spec.durationMs === undefined || now >= hardStop) hitDeadline = true;
        return;
      }
      const o = spec.op(i);
      const t = performance.now();
      try {
        const r = await c.request(o.method, o.path, o.body, o.contentType);
        lat.add(performance.now() - t);
        if (r.status !== spec.expect) noteError(`${o.method} ${o.path}: ${r.status} ${r.body?.toString('utf8', 0, 300) ?? ''}`);
      } catch (err) {
        lat.add(performance.now() - t);
        noteError(`${o.method} ${o.path}: ${(err as Error).message}`);
      }
    }
  };
  await Promise.all(clients.map(worker));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = meter.read();
  for (const c of clients) c.close();
  const ops = lat.count;
  return {
    name: spec.name,
    ops,
    seconds: round1(seconds * 100) / 100,
    opsPerSec: Math.round(ops / seconds),
    latencyMs: lat.summary(),
    errors,
    errorSamples,
    complete: !hitDeadline,
    cpu,
  };
}

/** Two runs of one phase as one: throughput over their summed time; latency and CPU from the larger-tailed run (conservative). */
export function combineLoads(a: LoadResult, b: LoadResult): LoadResult {
  const ops = a.ops + b.ops;
  const seconds = a.seconds + b.seconds;
  const worse = b.latencyMs.p99 > a.latencyMs.p99 ? b : a;
  return {
    ...worse,
    ops,
    seconds: Math.round(seconds * 100) / 100,
    opsPerSec: Math.round(ops / seconds),
    errors: a.errors + b.errors,
    errorSamples: [...a.errorSamples, ...b.errorSamples].slice(0, 5),
    complete: a.complete && b.complete,
  };
}

export async function ensureNamespace(ctx: PhaseContext, name: string): Promise<void> {
  const r = await ctx.pool.request('POST', '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
  if (r.status !== 201 && r.status !== 409) throw new Error(`creating namespace ${name}: ${r.status} ${r.body?.toString() ?? ''}`);
}

export function createPhase(ctx: PhaseContext, objects: number): Promise<LoadResult> {
  const path = `/api/v1/namespaces/${NAMESPACE}/configmaps`;
  return runLoad(ctx, {
    name: 'create',
    count: objects,
    deadlineMs: 180_000,
    expect: 201,
    op: (i) => ({ method: 'POST', path, body: configMapBody(objectName(i)) }),
  });
}

export function getPhase(ctx: PhaseContext, objects: number, seconds: number, maxCount: number): Promise<LoadResult> {
  const rnd = xorshift(0x5eed);
  const prefix = `/api/v1/namespaces/${NAMESPACE}/configmaps/`;
  return runLoad(ctx, {
    name: 'get',
    count: maxCount,
    durationMs: seconds * 1000,
    deadlineMs: seconds * 1000 + 30_000,
    expect: 200,
    op: () => ({ method: 'GET', path: prefix + objectName(Math.floor(rnd() * objects)) }),
  });
}

/** Merge-patches over distinct objects in a scattered order (7919 is prime, so i·7919 mod N visits each once). */
export function patchPhase(ctx: PhaseContext, objects: number, patches: number): Promise<LoadResult> {
  const prefix = `/api/v1/namespaces/${NAMESPACE}/configmaps/`;
  return runLoad(ctx, {
    name: 'patch',
    count: patches,
    deadlineMs: 120_000,
    expect: 200,
    op: (i) => ({
      method: 'PATCH',
      path: prefix + objectName((i * 7919) % objects),
      body: `{"data":{"patched":"p-${i}"}}`,
      contentType: 'application/merge-patch+json',
    }),
  });
}

/** Repeated lists of the whole namespace on one connection, one after another. */
export async function listPhase(ctx: PhaseContext, name: string, query: string, expectItems: number, reps: number, warmups: number): Promise<ListResult> {
  const path = `/api/v1/namespaces/${NAMESPACE}/configmaps${query}`;
  const c = ctx.newClient();
  const times: number[] = [];
  let errors = 0;
  const errorSamples: string[] = [];
  let items = -1;
  let bytes = 0;
  const deadline = performance.now() + 120_000;
  const meter = new CpuMeter(ctx.server);
  for (let i = 0; i < warmups + reps && performance.now() < deadline; i++) {
    const check = i === 0;
    const t = performance.now();
    try {
      const r = await c.request('GET', path, undefined, undefined, check);
      const ms = performance.now() - t;
      if (i >= warmups) times.push(ms);
      bytes = r.bytes;
      if (r.status !== 200) {
        errors++;
        if (errorSamples.length < 5) errorSamples.push(`${r.status} ${r.body?.toString('utf8', 0, 300)}`);
      } else if (check) {
        // The namespace also holds what controllers put in every namespace (the root-ca-cert-publisher's
        // kube-root-ca.crt): count the bench's own objects.
        const listed = (JSON.parse(r.body!.toString('utf8')) as { items: { metadata?: { name?: string } }[] }).items;
        items = listed.filter((o) => o.metadata?.name?.startsWith('cm-')).length;
        if (items !== expectItems) {
          errors++;
          errorSamples.push(`expected ${expectItems} of the bench's ConfigMaps, got ${items} (of ${listed.length} items)`);
        }
      }
    } catch (err) {
      errors++;
      if (errorSamples.length < 5) errorSamples.push((err as Error).message);
    }
  }
  if (times.length < reps) {
    errors++;
    errorSamples.push(`only ${times.length} of ${reps} lists finished before the deadline`);
  }
  const cpu = meter.read();
  c.close();
  return { name, path, items, bytes, latencyMs: summarize(times), errors, errorSamples, cpu };
}

const SEQ = /"seq":"(\d+)"/;
const SENT = /"sentAt":"([\d.]+)"/;

/**
 * `watchers` watches on one namespace; then `updates` merge-patches, `intervalMs` apart, over a few
 * ConfigMaps there, each carrying its sequence number and its send time (performance.now() of this
 * process, which is also where the watchers run). Latency = arrival − send, per (event, watcher).
 */
export async function watchPhase(ctx: PhaseContext, watchers: number, updates: number, intervalMs: number): Promise<WatchResult> {
  const targets = 10;
  const prefix = `/api/v1/namespaces/${WATCH_NAMESPACE}/configmaps`;
  await ensureNamespace(ctx, WATCH_NAMESPACE);
  for (let k = 0; k < targets; k++) {
    const r = await ctx.pool.request('POST', prefix, configMapBody(`w-${k}`, '"seq":"-1","sentAt":"0",'));
    if (r.status !== 201) throw new Error(`creating watch target: ${r.status} ${r.body?.toString() ?? ''}`);
  }
  const listed = await ctx.pool.request('GET', prefix, undefined, undefined, true);
  if (listed.status !== 200) throw new Error(`listing ${prefix}: ${listed.status}`);
  const fromRv = (JSON.parse(listed.body!.toString()) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;

  const expected = watchers * updates;
  const seen = new Uint8Array(expected);
  const lastSeq = new Int32Array(watchers).fill(-1);
  const sentAt = new Float64Array(updates);
  const first = new Float64Array(updates).fill(Infinity);
  const last = new Float64Array(updates).fill(-Infinity);
  const lat = new Latencies(expected);
  let received = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  const errorSamples: string[] = [];

  const streams: WatchStream[] = [];
  for (let w = 0; w < watchers; w++) {
    const onLine = (line: string, arrivedAt: number) => {
      const m = SEQ.exec(line);
      if (!m) {
        if (!line.includes('"BOOKMARK"') && errorSamples.length < 5) errorSamples.push(`watch ${w}: unexpected event ${line.slice(0, 200)}`);
        return;
      }
      const seq = Number(m[1]);
      if (seq < 0 || seq >= updates) return;
      const idx = w * updates + seq;
      if (seen[idx]) {
        duplicates++;
        return;
      }
      seen[idx] = 1;
      received++;
      if (seq < lastSeq[w]) outOfOrder++;
      lastSeq[w] = seq;
      const sent = Number(SENT.exec(line)?.[1] ?? NaN);
      const ms = arrivedAt - sent;
      lat.add(ms);
      if (ms < first[seq]) first[seq] = ms;
      if (ms > last[seq]) last[seq] = ms;
    };
    streams.push(new WatchStream(ctx.endpoint, `${prefix}?watch=1&resourceVersion=${fromRv}&timeoutSeconds=300`, onLine));
  }
  // Open the watches a few at a time, so the setup does not look like a burst to the server.
  for (let i = 0; i < streams.length; i += 10) await Promise.all(streams.slice(i, i + 10).map((s) => s.open(15_000)));
  await sleep(200);

  const meter = new CpuMeter(ctx.server);
  const writeLat = new Latencies(updates);
  let writeErrors = 0;
  const writes: Promise<void>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < updates; i++) {
    const due = t0 + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const path = `${prefix}/w-${i % targets}`;
    const sent = performance.now();
    sentAt[i] = sent;
    const body = `{"data":{"seq":"${i}","sentAt":"${sent.toFixed(3)}"}}`;
    writes.push(
      ctx.pool.request('PATCH', path, body, 'application/merge-patch+json').then(
        (r) => {
          writeLat.add(performance.now() - sent);
          if (r.status !== 200) {
            writeErrors++;
            if (errorSamples.length < 5) errorSamples.push(`PATCH ${path}: ${r.status} ${r.body?.toString('utf8', 0, 200)}`);
          }
        },
        (err) => {
          writeErrors++;
          if (errorSamples.length < 5) errorSamples.push(`PATCH ${path}: ${(err as Error).message}`);
        },
      ),
    );
  }
  await Promise.all(writes);
  // Stragglers: wait until every watcher has every event, at most 10 s.
  const waitUntil = performance.now() + 10_000;
  while (received < expected - writeErrors * watchers && performance.now() < waitUntil) await sleep(20);
  const cpu = meter.read();
  const watchesEnded = streams.filter((s) => s.ended).length;
  for (const s of streams) s.close();

  const finite = (a: Float64Array) => Array.from(a).filter((x) => Number.isFinite(x));
  return {
    watchers,
    updates,
    intervalMs,
    expected,
    received,
    lost: expected - received,
    duplicates,
    outOfOrder,
    latencyMs: lat.summary(),
    firstWatcherMs: summarize(finite(first)),
    lastWatcherMs: summarize(finite(last)),
    writeMs: writeLat.summary(),
    writeErrors,
    watchesEnded,
    errorSamples,
    cpu,
  };
}
