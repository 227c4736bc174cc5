/**
 * Security (issue 6): what authentication and RBAC cost on the request path, on one `skiff up`
 * (SQLite, no node agent, workload controllers off so nothing but the benchmark writes):
 *
 * - the same GETs and ConfigMap creates as three identities, in ABCCBA order so each sees the same
 *   machine and store sizes on average: the administrator (system:masters: authorization is
 *   skipped, the "authorization-free" baseline), a user with a client certificate bound to `edit`
 *   through a group RoleBinding (RBAC on every request), and a ServiceAccount's bearer token bound
 *   the same way (token verification + RBAC on every request). Goal: each ≥ 0.9 of the baseline.
 * - the cluster carries realistic RBAC clutter while it runs: other namespaces' RoleBindings and
 *   cluster-wide roles and bindings for other users, which the authorizer must not scan.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { combineLoads, configMapBody, ensureNamespace, NAMESPACE, objectName, runLoad, type LoadResult, type PhaseContext } from './phases.js';
import { makeClientFactory, Pool, type Endpoint } from './http-client.js';
import { ServerUnderTest } from './server.js';
import { machine, markdownTable, type Machine } from './report.js';
import { issueClientCert } from '../src/pki/certs.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { ApiServer } from '../src/apiserver/server.js';
import { InProcessClient } from '../src/client/in-process.js';
import { openSqliteStore } from '../src/storage/sqlite.js';
import { ensureServiceAccountKey } from '../src/pki/service-account-key.js';
import { installServiceAccountTokens } from '../src/apiserver/auth/serviceaccount/index.js';

export interface AuthBenchConfig {
  objects: number;
  gets: number;
  creates: number;
  concurrency: number;
  clutterNamespaces: number;
}

export const AUTH_DEFAULT: AuthBenchConfig = { objects: 500, gets: 20_000, creates: 3_000, concurrency: 32, clutterNamespaces: 100 };
export const AUTH_QUICK: AuthBenchConfig = { objects: 100, gets: 3_000, creates: 500, concurrency: 16, clutterNamespaces: 20 };

type Who = 'admin' | 'user' | 'token';

export interface AuthBenchResult {
  machine: Machine;
  quick: boolean;
  config: AuthBenchConfig;
  rbacObjects: number;
  phases: Record<`${'get' | 'create'}-${Who}`, LoadResult>;
  /** ServiceAccount token verifications per second in one thread: a token seen a moment ago, and one whose signature must be checked. */
  tokenVerification: { cachedPerSec: number; signatureCheckedPerSec: number };
  goals: { name: string; goal: string; value: number; met: boolean }[];
  failures: string[];
}

export async function runAuthBench(opts: { quick: boolean; say: (m: string) => void; live: Set<ServerUnderTest> }): Promise<AuthBenchResult> {
  const cfg = opts.quick ? AUTH_QUICK : AUTH_DEFAULT;
  const { say } = opts;
  const srv = new ServerUnderTest({ backend: 'sqlite', profile: false, extraArgs: ['--no-agent', '--controllers', '*,-deployment,-replicaset,-garbage-collector'] });
  opts.live.add(srv);
  const failures: string[] = [];
  const factories: { close(): void }[] = [];
  try {
    await srv.prepare();
    await srv.start();
    const context = (ep: Endpoint): PhaseContext => {
      const factory = makeClientFactory('https', ep, cfg.concurrency);
      factories.push(factory);
      return { server: srv, newClient: factory.newClient, pool: new Pool(factory.newClient, 4), endpoint: ep, concurrency: cfg.concurrency };
    };
    const admin = context(srv.endpoint);
    const post = async (path: string, body: object) => {
      const r = await admin.pool.request('POST', path, JSON.stringify(body), 'application/json', true);
      if (r.status !== 201 && r.status !== 409) throw new Error(`POST ${path}: ${r.status} ${r.body?.toString() ?? ''}`);
      return r.body ? JSON.parse(r.body.toString()) : undefined;
    };
    await ensureNamespace(admin, NAMESPACE);

    say(`auth: RBAC clutter over ${cfg.clutterNamespaces} namespaces, then the bench bindings`);
    let rbacObjects = 0;
    for (let n = 0; n < cfg.clutterNamespaces; n++) {
      const ns = `clutter-${n}`;
      await ensureNamespace(admin, ns);
      for (const [role, subject] of [['view', { kind: 'User', name: `viewer-${n}` }], ['edit', { kind: 'Group', name: `team-${n}` }], ['admin', { kind: 'ServiceAccount', name: 'default', namespace: ns }]] as const) {
        await post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, binding('RoleBinding', `${role}-${n}`, role, subject));
        rbacObjects++;
      }
      await post('/apis/rbac.authorization.k8s.io/v1/clusterroles', {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: `clutter-${n}` },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'], resourceNames: [`only-${n}`] }],
      });
      await post('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', binding('ClusterRoleBinding', `clutter-${n}`, `clutter-${n}`, { kind: 'User', name: `someone-${n}` }, 'ClusterRole'));
      rbacObjects += 2;
    }
    await post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${NAMESPACE}/rolebindings`, binding('RoleBinding', 'bench-devs-edit', 'edit', { kind: 'Group', name: 'bench-devs' }));
    await post(`/api/v1/namespaces/${NAMESPACE}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'bench-sa' } });
    await post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${NAMESPACE}/rolebindings`, binding('RoleBinding', 'bench-sa-edit', 'edit', { kind: 'ServiceAccount', name: 'bench-sa', namespace: NAMESPACE }));
    rbacObjects += 2;

    const pki = join(srv.dataDir, 'pki');
    const [caCert, caKey] = await Promise.all(['ca.crt', 'ca.key'].map((f) => readFile(join(pki, f), 'utf8')));
    const userCert = await issueClientCert({ caCert, caKey }, { commonName: 'bench-user', organizations: ['bench-devs'] });
    const tokenRequest = await post(`/api/v1/namespaces/${NAMESPACE}/serviceaccounts/bench-sa/token`, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 3600 },
    });
    const contexts: Record<Who, PhaseContext> = {
      admin,
      user: context({ ...srv.endpoint, cert: userCert.cert, key: userCert.key }),
      token: context({ ...srv.endpoint, cert: '', key: '', bearerToken: tokenRequest.status.token }),
    };

    say(`auth: ${cfg.objects} ConfigMaps to read`);
    const cmPath = `/api/v1/namespaces/${NAMESPACE}/configmaps`;
    const seeded = await runLoad(admin, { name: 'seed', count: cfg.objects, deadlineMs: 120_000, expect: 201, op: (i) => ({ method: 'POST', path: cmPath, body: configMapBody(objectName(i)) }) });
    if (seeded.errors > 0) throw new Error(`seeding: ${seeded.errorSamples[0]}`);

    // Untimed: the server's code paths get compiled before any identity is measured (the first
    // round otherwise pays for the JIT, which skews whichever identity goes first).
    for (const ctx of Object.values(contexts)) {
      await runLoad(ctx, { name: 'warm-up', count: 2000, deadlineMs: 60_000, expect: 200, op: (i) => ({ method: 'GET', path: `${cmPath}/${objectName(i % cfg.objects)}` }) });
    }
    const order: Who[] = ['admin', 'user', 'token', 'token', 'user', 'admin'];
    const halves = new Map<string, LoadResult[]>();
    let created = cfg.objects;
    for (const [round, who] of order.entries()) {
      const ctx = contexts[who];
      const gets = await runLoad(ctx, {
        name: `get-${who}`,
        count: Math.floor(cfg.gets / 2),
        deadlineMs: 120_000,
        expect: 200,
        op: (i) => ({ method: 'GET', path: `${cmPath}/${objectName((i * 7919 + round) % cfg.objects)}` }),
      });
      const from = created;
      created += Math.floor(cfg.creates / 2);
      const creates = await runLoad(ctx, {
        name: `create-${who}`,
        count: Math.floor(cfg.creates / 2),
        deadlineMs: 120_000,
        expect: 201,
        op: (i) => ({ method: 'POST', path: cmPath, body: configMapBody(objectName(from + i)) }),
      });
      say(`auth: ${who}: get ${gets.opsPerSec}/s, create ${creates.opsPerSec}/s`);
      for (const p of [gets, creates]) {
        if (!halves.has(p.name)) halves.set(p.name, []);
        halves.get(p.name)!.push(p);
        if (p.errors > 0) failures.push(`${p.name}: ${p.errors} errors, e.g. ${p.errorSamples[0]}`);
      }
    }
    say('auth: token verification in-process');
    const tokenVerification = await measureTokenVerification(opts.quick ? 200 : 1000);
    say(`auth: ${tokenVerification.cachedPerSec}/s seen before, ${tokenVerification.signatureCheckedPerSec}/s signature checked`);
    const phases = Object.fromEntries([...halves].map(([name, [a, b]]) => [name, combineLoads(a, b)])) as AuthBenchResult['phases'];
    const ratio = (a: LoadResult, b: LoadResult) => Math.round((a.opsPerSec / b.opsPerSec) * 100) / 100;
    const goal = (name: string, value: number) => ({ name, goal: '≥ 0.9', value, met: value >= 0.9 });
    return {
      machine: machine(),
      quick: opts.quick,
      config: cfg,
      rbacObjects,
      phases,
      tokenVerification,
      goals: [
        goal('get: client certificate + RBAC ÷ authorization-free', ratio(phases['get-user'], phases['get-admin'])),
        goal('get: bearer token + RBAC ÷ authorization-free', ratio(phases['get-token'], phases['get-admin'])),
        goal('create: client certificate + RBAC ÷ authorization-free', ratio(phases['create-user'], phases['create-admin'])),
        goal('create: bearer token + RBAC ÷ authorization-free', ratio(phases['create-token'], phases['create-admin'])),
      ],
      failures,
    };
  } finally {
    for (const f of factories) f.close();
    await srv.stop();
    opts.live.delete(srv);
  }
}

/**
 * What the API server's ServiceAccount token authenticator costs per token, without HTTP: an
 * in-process API server on a temporary SQLite file issues `fresh` distinct tokens through
 * TokenRequest, then each is verified once (signature, claims, ServiceAccount lookup), and one
 * of them many times (its signature check cached).
 */
async function measureTokenVerification(fresh: number): Promise<{ cachedPerSec: number; signatureCheckedPerSec: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-bench-tokens-'));
  const store = await openSqliteStore(join(dir, 'state.db'));
  const server = new ApiServer({ store });
  try {
    const key = await ensureServiceAccountKey(dir);
    const { authenticator } = installServiceAccountTokens(server, { privateKey: key.privateKey });
    await server.start();
    const client = new InProcessClient(server);
    const sa = { group: '', version: 'v1', resource: 'serviceaccounts' };
    await client.create({ group: '', version: 'v1', resource: 'namespaces' }, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
    await client.create(sa, 'default', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'bench' } });
    const tokens: string[] = [];
    for (let i = 0; i < fresh; i++) {
      const tr = await client.create(sa, 'default', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata: { name: 'bench' }, spec: {} }, { subresource: 'token' });
      tokens.push(tr.status.token);
    }
    let t0 = performance.now();
    for (const t of tokens) await authenticator.authenticateToken(t);
    const signatureCheckedPerSec = Math.round(tokens.length / ((performance.now() - t0) / 1000));
    const repeats = fresh * 50;
    t0 = performance.now();
    for (let i = 0; i < repeats; i++) await authenticator.authenticateToken(tokens[0]);
    const cachedPerSec = Math.round(repeats / ((performance.now() - t0) / 1000));
    return { cachedPerSec, signatureCheckedPerSec };
  } finally {
    await server.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function binding(kind: 'RoleBinding' | 'ClusterRoleBinding', name: string, role: string, subject: object, roleKind = 'ClusterRole'): object {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind,
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name: role },
    subjects: [subject],
  };
}


export function authMarkdown(r: AuthBenchResult): string {
  const row = (p: LoadResult) => [p.name, String(p.ops), String(p.opsPerSec), p.latencyMs.p50.toFixed(1), p.latencyMs.p99.toFixed(1), String(Math.round(p.cpu.server)), String(p.errors)];
  return [
    `### Authentication and RBAC (${r.quick ? 'quick' : 'full'} run, ${r.machine.cpus} cores, ${r.machine.date.slice(0, 10)})`,
    '',
    `Concurrency ${r.config.concurrency}; SQLite; ${r.rbacObjects} RBAC objects besides the default policy. ServiceAccount token verification (one thread, in-process): ${r.tokenVerification.signatureCheckedPerSec}/s with the signature checked, ${r.tokenVerification.cachedPerSec}/s for a token seen a moment ago.`,
    '',
    ...markdownTable(
      ['goal', 'target', 'measured', 'verdict'],
      r.goals.map((g) => [g.name, g.goal, String(g.value), g.met ? 'met' : 'SHORT']),
    ),
    '',
    ...markdownTable(['phase', 'ops', 'ops/s', 'p50 ms', 'p99 ms', 'server CPU %', 'errors'], Object.values(r.phases).map(row)),
  ].join('\n');
}
