/**
 * A mixed load of many clients at once, for overload protection: `clients` keep-alive HTTPS
 * clients (each its own connection, with one of `users` client certificates, so requests are
 * classified by priority and fairness as ordinary users, not as system:masters) send a bounded
 * number of requests: gets, lists (watch cache and consistent), ConfigMap creates, merge patches and
 * deletes, and client mistakes (malformed JSON, invalid objects, unknown resources, oversized
 * bodies). Watches run alongside, some read, some never do. Used by test/e2e/load.test.ts (which
 * asserts on the result) and by `bench/run.ts --suite load` (which reports it).
 */
import https from 'node:https';
import tls from 'node:tls';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { summarize, xorshift, type LatencySummary } from './stats.js';
import { issueClientCert } from '../src/pki/certs.js';
import { ServerUnderTest, sleep } from './server.js';
import { machine } from './report.js';

export const REQUEST_CLASSES = ['get', 'list', 'create', 'patch', 'delete', 'bad-json', 'invalid', 'unknown', 'oversized'] as const;
export type RequestClass = (typeof REQUEST_CLASSES)[number];

/** Relative weights of the classes (oversized bodies are also capped in number: each is 3 MiB). */
const WEIGHTS: [number, RequestClass][] = [
  [30, 'get'],
  [12, 'list'],
  [25, 'create'],
  [10, 'patch'],
  [6, 'delete'],
  [6, 'bad-json'],
  [5, 'invalid'],
  [5, 'unknown'],
  [1, 'oversized'],
];
/** What each class may answer besides 429; anything else is a finding. */
const EXPECTED: Record<RequestClass, number[]> = {
  get: [200, 404],
  list: [200],
  create: [201],
  patch: [200, 404],
  delete: [200, 404],
  'bad-json': [400],
  invalid: [422],
  unknown: [404],
  oversized: [413],
};
const MAX_BODY = 3 * 1024 * 1024;

export interface LoadTarget {
  host: string;
  port: number;
  ca: string;
  /** The cluster CA's key, to issue the load's users their client certificates. */
  caKey: string;
  /** The administrator's credentials (setup, checks, watches). */
  admin: { cert: string; key: string };
}

export interface LoadOptions {
  clients: number;
  /** Distinct users (client certificates) the clients share out. */
  users: number;
  totalRequests: number;
  timeCapMs: number;
  namespaces: number;
  readingWatchers: number;
  stuckWatchers: number;
  maxOversized: number;
  seed: number;
  /** The server's pid, to sample its RSS. */
  pid?: number;
}

export interface ClassResult {
  count: number;
  latencyMs: LatencySummary;
  statuses: Record<string, number>;
}

export interface LoadResult {
  seed: number;
  requests: number;
  seconds: number;
  throughput: number;
  tooManyRequests: number;
  /** Answers outside a class's expected set (5xx among them), with samples. */
  unexpected: number;
  serverErrors: number;
  unexpectedSamples: string[];
  networkErrors: number;
  networkErrorSamples: string[];
  byClass: Record<string, ClassResult>;
  peakRssMiB?: number;
  watchEventsRead: number;
  /** namespace → names of ConfigMaps whose create was acknowledged and not deleted since. */
  acknowledged: Map<string, Set<string>>;
  /** Names whose fate is unknown (the request failed on the network). */
  uncertain: Set<string>;
}

export async function readTarget(dataDir: string, port: number): Promise<LoadTarget> {
  const pki = join(dataDir, 'pki');
  const [ca, caKey, cert, key] = await Promise.all(['ca.crt', 'ca.key', 'admin.crt', 'admin.key'].map((f) => readFile(join(pki, f), 'utf8')));
  return { host: '127.0.0.1', port, ca, caKey, admin: { cert, key } };
}

export async function rssMiB(pid: number): Promise<number> {
  const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}

interface Reply {
  status: number;
  text: string;
}

function send(agent: https.Agent, t: LoadTarget, method: string, path: string, body?: string | Buffer, contentType = 'application/json'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (body !== undefined) {
      headers['Content-Type'] = contentType;
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    const req = https.request({ host: t.host, port: t.port, method, path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(60_000, () => req.destroy(new Error('no answer in 60 s')));
    req.on('error', reject);
    req.end(body);
  });
}

/** The load's users may do everything (when RBAC is enforced); they stay ordinary users for priority and fairness. */
export const LOAD_GROUP = 'skiff:load-testers';

/** Namespaces, a binding for the load's users and a few seed objects, as the administrator. */
export async function prepareLoad(t: LoadTarget, opts: Pick<LoadOptions, 'namespaces'>): Promise<void> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 8, ca: t.ca, cert: t.admin.cert, key: t.admin.key });
  try {
    const ok = async (method: string, path: string, body: object, allowed = [200, 201, 409]) => {
      const r = await send(agent, t, method, path, JSON.stringify(body));
      if (!allowed.includes(r.status)) throw new Error(`${method} ${path}: ${r.status} ${r.text.slice(0, 300)}`);
    };
    await ok('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'skiff-load-testers' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: LOAD_GROUP }],
    });
    for (let n = 0; n < opts.namespaces; n++) {
      await ok('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `load-${n}` } });
      for (let i = 0; i < 5; i++) await ok('POST', `/api/v1/namespaces/load-${n}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `seed-${i}` }, data: { k: 'v' } });
    }
  } finally {
    agent.destroy();
  }
}

/** Opens a watch on raw TLS; `read` false leaves it unread for ever (until closed). */
function openWatch(t: LoadTarget, cred: { cert: string; key: string }, path: string, read: boolean, onBytes: (n: number) => void): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: t.host, port: t.port, ca: t.ca, cert: cred.cert, key: cred.key }, () => {
      sock.write(`GET ${path} HTTP/1.1\r\nHost: ${t.host}\r\n\r\n`);
      if (read) sock.on('data', (d: Buffer) => onBytes(d.length));
      else sock.pause();
      resolve(sock);
    });
    sock.on('error', () => {});
    sock.once('error', reject);
  });
}

export async function runLoad(t: LoadTarget, opts: LoadOptions): Promise<LoadResult> {
  const users = await Promise.all(
    Array.from({ length: opts.users }, (_, i) => issueClientCert({ caCert: t.ca, caKey: t.caKey }, { commonName: `load-user-${i}`, organizations: [LOAD_GROUP] })),
  );
  const agents = Array.from({ length: opts.clients }, (_, i) => {
    const u = users[i % users.length];
    return new https.Agent({ keepAlive: true, maxSockets: 1, ca: t.ca, cert: u.cert, key: u.key });
  });
  let watchBytes = 0;
  const watches: tls.TLSSocket[] = [];
  for (let i = 0; i < opts.readingWatchers + opts.stuckWatchers; i++) {
    const u = users[i % users.length];
    const path = `/api/v1/namespaces/load-${i % opts.namespaces}/configmaps?watch=true&resourceVersion=0`;
    watches.push(await openWatch(t, u, path, i < opts.readingWatchers, (n) => (watchBytes += n)));
  }

  const latencies = new Map<RequestClass, number[]>(REQUEST_CLASSES.map((c) => [c, []]));
  const statuses = new Map<RequestClass, Record<string, number>>(REQUEST_CLASSES.map((c) => [c, {}]));
  const acknowledged = new Map<string, Set<string>>();
  for (let n = 0; n < opts.namespaces; n++) acknowledged.set(`load-${n}`, new Set());
  const uncertain = new Set<string>();
  const unexpectedSamples: string[] = [];
  const networkErrorSamples: string[] = [];
  let unexpected = 0;
  let serverErrors = 0;
  let networkErrors = 0;
  let tooMany = 0;
  let issued = 0;
  let oversized = 0;
  let peakRss = opts.pid ? await rssMiB(opts.pid) : 0;
  const sampler = opts.pid ? setInterval(() => void rssMiB(opts.pid!).then((r) => (peakRss = Math.max(peakRss, r)), () => {}), 250) : undefined;
  const big = Buffer.alloc(MAX_BODY + 1, 'a');
  const total = WEIGHTS.reduce((s, [w]) => s + w, 0);
  const started = performance.now();
  const deadline = started + opts.timeCapMs;

  const client = async (id: number) => {
    const agent = agents[id];
    const rnd = xorshift(opts.seed ^ Math.imul(id + 1, 0x9e3779b1));
    const ns = `load-${id % opts.namespaces}`;
    const mine: string[] = [];
    let created = 0;
    while (issued < opts.totalRequests && performance.now() < deadline) {
      issued++;
      let x = rnd() * total;
      let cls: RequestClass = 'get';
      for (const [w, c] of WEIGHTS) {
        if ((x -= w) < 0) {
          cls = c;
          break;
        }
      }
      if (cls === 'oversized' && oversized >= opts.maxOversized) cls = 'unknown';
      if ((cls === 'patch' || cls === 'delete') && mine.length === 0) cls = 'create';
      let method = 'GET';
      let path = `/api/v1/namespaces/${ns}/configmaps`;
      let body: string | Buffer | undefined;
      let contentType = 'application/json';
      let name = '';
      switch (cls) {
        case 'get':
          path += `/${mine.length && rnd() < 0.7 ? mine[Math.floor(rnd() * mine.length)] : `seed-${Math.floor(rnd() * 5)}`}`;
          break;
        case 'list':
          path += rnd() < 0.5 ? '?limit=20&resourceVersion=0' : '?limit=20';
          break;
        case 'create':
          name = `c-${id}-${created++}`;
          method = 'POST';
          body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { client: String(id) } }, data: { n: String(created), pad: 'p'.repeat(Math.floor(rnd() * 512)) } });
          break;
        case 'patch':
          method = 'PATCH';
          path += `/${mine[Math.floor(rnd() * mine.length)]}`;
          body = JSON.stringify({ data: { n: String(rnd()) } });
          contentType = 'application/merge-patch+json';
          break;
        case 'delete': {
          const at = Math.floor(rnd() * mine.length);
          name = mine[at];
          mine.splice(at, 1);
          method = 'DELETE';
          path += `/${name}`;
          break;
        }
        case 'bad-json':
          method = 'POST';
          body = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":';
          break;
        case 'invalid':
          method = 'POST';
          body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Not_A_Valid_Name!' } });
          break;
        case 'unknown':
          path = `/api/v1/namespaces/${ns}/notaresource${rnd() < 0.5 ? '' : '/x'}`;
          break;
        case 'oversized':
          oversized++;
          method = 'POST';
          body = big;
          break;
      }
      const t0 = performance.now();
      let r: Reply;
      try {
        r = await send(agent, t, method, path, body, contentType);
      } catch (err) {
        networkErrors++;
        if (networkErrorSamples.length < 5) networkErrorSamples.push(`${cls} ${method} ${path}: ${(err as Error).message}`);
        if (name) uncertain.add(`${ns}/${name}`);
        continue;
      }
      latencies.get(cls)!.push(performance.now() - t0);
      const st = statuses.get(cls)!;
      st[r.status] = (st[r.status] ?? 0) + 1;
      if (r.status === 429) {
        tooMany++;
        if (cls === 'delete') mine.push(name);
        continue;
      }
      if (r.status >= 500) serverErrors++;
      if (!EXPECTED[cls].includes(r.status)) {
        unexpected++;
        if (unexpectedSamples.length < 10) unexpectedSamples.push(`${cls} ${method} ${path} → ${r.status} ${r.text.slice(0, 200)}`);
        if (name) uncertain.add(`${ns}/${name}`);
        continue;
      }
      if (cls === 'create') {
        mine.push(name);
        acknowledged.get(ns)!.add(name);
      } else if (cls === 'delete') {
        acknowledged.get(ns)!.delete(name);
      }
    }
  };
  try {
    await Promise.all(agents.map((_, i) => client(i)));
  } finally {
    if (sampler) clearInterval(sampler);
    for (const a of agents) a.destroy();
    for (const w of watches) w.destroy();
  }
  const seconds = (performance.now() - started) / 1000;
  const byClass: Record<string, ClassResult> = {};
  let requests = 0;
  for (const c of REQUEST_CLASSES) {
    const l = latencies.get(c)!;
    requests += l.length;
    byClass[c] = { count: l.length, latencyMs: summarize(l), statuses: statuses.get(c)! };
  }
  return {
    seed: opts.seed,
    requests,
    seconds: Math.round(seconds * 100) / 100,
    throughput: Math.round(requests / seconds),
    tooManyRequests: tooMany,
    unexpected,
    serverErrors,
    unexpectedSamples,
    networkErrors,
    networkErrorSamples,
    byClass,
    peakRssMiB: opts.pid ? peakRss : undefined,
    watchEventsRead: watchBytes,
    acknowledged,
    uncertain,
  };
}

// ---- the benchmark (bench/run.ts --suite load) ----

export const LOAD_DEFAULT: LoadOptions = { clients: 200, users: 20, totalRequests: 50_000, timeCapMs: 120_000, namespaces: 10, readingWatchers: 20, stuckWatchers: 10, maxOversized: 50, seed: 1 };
export const LOAD_QUICK: LoadOptions = { ...LOAD_DEFAULT, totalRequests: 10_000, timeCapMs: 60_000 };

export interface LoadBenchResult {
  machine: ReturnType<typeof machine>;
  quick: boolean;
  config: LoadOptions;
  idleRssMiB: number;
  settledRssMiB: number;
  load: Omit<LoadResult, 'acknowledged' | 'uncertain'>;
  failures: string[];
}

export async function runLoadBench(opts: { quick: boolean; say: (m: string) => void; live: Set<ServerUnderTest> }): Promise<LoadBenchResult> {
  const cfg = opts.quick ? LOAD_QUICK : LOAD_DEFAULT;
  const srv = new ServerUnderTest({ backend: 'sqlite', profile: false, extraArgs: ['--no-agent', '--controllers', '*,-deployment,-replicaset,-garbage-collector'] });
  opts.live.add(srv);
  try {
    await srv.prepare();
    await srv.start();
    const target = await readTarget(srv.dataDir, srv.port);
    await prepareLoad(target, cfg);
    await sleep(1000);
    const idleRssMiB = await rssMiB(srv.pid);
    opts.say(`load: ${cfg.clients} clients, ${cfg.users} users, ${cfg.totalRequests} requests (at most ${cfg.timeCapMs / 1000} s)`);
    const { acknowledged: _a, uncertain: _u, ...load } = await runLoad(target, { ...cfg, pid: srv.pid });
    await sleep(5000);
    const settledRssMiB = await rssMiB(srv.pid);
    const failures: string[] = [];
    if (load.serverErrors) failures.push(`${load.serverErrors} answers were 5xx: ${load.unexpectedSamples.slice(0, 3).join('; ')}`);
    if (load.networkErrors) failures.push(`${load.networkErrors} requests failed on the network: ${load.networkErrorSamples.slice(0, 3).join('; ')}`);
    return { machine: machine(), quick: opts.quick, config: cfg, idleRssMiB, settledRssMiB, load, failures };
  } finally {
    await srv.stop();
    opts.live.delete(srv);
  }
}

export function loadMarkdown(r: LoadBenchResult): string {
  const f = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
  const rows = REQUEST_CLASSES.map((c) => {
    const x = r.load.byClass[c];
    const st = Object.entries(x.statuses)
      .map(([s, n]) => `${s}×${n}`)
      .join(' ');
    return `| ${c} | ${x.count} | ${f(x.latencyMs.p50)} | ${f(x.latencyMs.p99)} | ${st} |`;
  });
  return [
    `## Load: ${r.config.clients} clients, ${r.config.users} users (${r.quick ? 'quick' : 'full'})`,
    '',
    `${r.load.requests} requests in ${r.load.seconds} s: **${r.load.throughput} req/s**; 429: ${r.load.tooManyRequests}; 5xx: ${r.load.serverErrors}; network errors: ${r.load.networkErrors}`,
    `RSS: idle ${r.idleRssMiB} MiB, peak ${r.load.peakRssMiB ?? '–'} MiB, 5 s after ${r.settledRssMiB} MiB; watchers: ${r.config.readingWatchers} reading (${Math.round(r.load.watchEventsRead / 1024)} KiB read), ${r.config.stuckWatchers} never reading`,
    '',
    '| class | requests | p50 ms | p99 ms | answers |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    `machine: ${JSON.stringify(r.machine)}`,
    r.failures.length ? `\nFAILURES: ${r.failures.join('; ')}` : '',
  ].join('\n');
}
