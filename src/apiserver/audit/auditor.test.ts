import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../../../test/harness/in-process.js';
import { InProcessClient } from '../../client/in-process.js';
import { ensureSystemNamespaces } from '../../controllers/bootstrap.js';
import { openSqliteStore } from '../../storage/sqlite.js';
import type { Store } from '../../storage/store.js';
import { ApiServer } from '../server.js';
import { NO_OPINION, type Attributes } from '../authz/types.js';
import { Auditor, microTime } from './auditor.js';
import { LogBackend, type AuditBackend } from './backend.js';
import type { Policy } from './policy.js';

type Ev = Record<string, any>;

class MemoryBackend implements AuditBackend {
  events: Ev[] = [];
  process(e: object): void {
    this.events.push(JSON.parse(JSON.stringify(e)) as Ev);
  }
  async close(): Promise<void> {}
}

const MICRO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

interface Answer {
  code: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(port: number, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ host: '127.0.0.1', port, method, path, headers: { 'User-Agent': 'audit-test/1.0', ...(text ? { 'Content-Type': 'application/json' } : {}), ...headers } }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

describe('audit events', () => {
  let dir: string;
  let store: Store;
  let server: ApiServer;
  let port: number;
  const backend = new MemoryBackend();
  const policy: Policy = {
    rules: [
      { level: 'None', nonResourceURLs: ['/healthz*'] },
      { level: 'None', resources: [{ group: '', resources: ['events'] }] },
      { level: 'RequestResponse', resources: [{ group: '', resources: ['configmaps'] }], omitManagedFields: true },
      { level: 'Metadata' },
    ],
  };
  const denied = new Set<string>(['mallory']);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skiff-audit-'));
    store = await openSqliteStore(join(dir, 'state.db'));
    server = new ApiServer({
      store,
      audit: new Auditor({ policy, backend }),
      authorizer: {
        authorize: (a: Attributes) => {
          // A bug on the request path: upstream's handler panics.
          if (a.user.name === 'boom') throw new TypeError('cannot read properties of undefined');
          return denied.has(a.user.name) ? { decision: 'Deny', reason: 'mallory may not' } : NO_OPINION;
        },
      },
    });
    server.tokenAuthenticators.push({
      authenticateToken: (t) => (t === 'mallory-token' || t === 'boom-token' ? { user: { name: t.slice(0, -6), groups: ['system:authenticated'] } } : undefined),
    });
    await server.start();
    await ensureSystemNamespaces(new InProcessClient(server));
    port = await server.listen(0);
  });
  after(async () => {
    await server.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const eventsOf = (auditID: string) => eventually(`events of ${auditID}`, async () => {
    const evs = backend.events.filter((e) => e.auditID === auditID);
    return evs.some((e) => e.stage === 'ResponseComplete' || e.stage === 'Panic') ? evs : undefined;
  });

  it('a create: RequestReceived then ResponseComplete, with the object reference, user, code and objects', async () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c1' }, data: { k: 'v' } };
    const r = await call(port, 'POST', '/api/v1/namespaces/default/configmaps?fieldManager=kubectl-create', cm, { 'X-Forwarded-For': '10.1.2.3' });
    assert.equal(r.code, 201);
    const id = String(r.headers['audit-id']);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const evs = await eventsOf(id);
    assert.deepEqual(evs.map((e) => e.stage), ['RequestReceived', 'ResponseComplete']);
    const [received, complete] = evs;
    assert.deepEqual(Object.keys(received), ['kind', 'apiVersion', 'level', 'auditID', 'stage', 'requestURI', 'verb', 'user', 'sourceIPs', 'userAgent', 'objectRef', 'requestReceivedTimestamp', 'stageTimestamp']);
    assert.deepEqual(received.objectRef, { resource: 'configmaps', namespace: 'default', apiVersion: 'v1' });
    assert.equal(received.requestObject, undefined);
    assert.equal(complete.kind, 'Event');
    assert.equal(complete.apiVersion, 'audit.k8s.io/v1');
    assert.equal(complete.level, 'RequestResponse');
    assert.equal(complete.verb, 'create');
    assert.equal(complete.requestURI, '/api/v1/namespaces/default/configmaps?fieldManager=kubectl-create');
    assert.deepEqual(complete.user, { username: 'system:admin', groups: ['system:masters', 'system:authenticated'] });
    assert.deepEqual(complete.sourceIPs, ['10.1.2.3', '127.0.0.1']);
    assert.equal(complete.userAgent, 'audit-test/1.0');
    assert.deepEqual(complete.objectRef, { resource: 'configmaps', namespace: 'default', name: 'c1', apiVersion: 'v1' });
    assert.deepEqual(complete.responseStatus, { metadata: {}, code: 201 });
    assert.deepEqual(complete.requestObject, cm);
    assert.equal(complete.responseObject.metadata.name, 'c1');
    assert.ok(complete.responseObject.metadata.uid);
    assert.equal(complete.responseObject.metadata.managedFields, undefined, 'omitManagedFields');
    assert.match(complete.requestReceivedTimestamp, MICRO);
    assert.match(complete.stageTimestamp, MICRO);
    assert.ok(complete.stageTimestamp >= complete.requestReceivedTimestamp);
    assert.deepEqual(complete.annotations, { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': '' });
  });

  it('a failure carries the Status in responseStatus; Metadata level records no objects', async () => {
    const r = await call(port, 'GET', '/api/v1/namespaces/default/secrets/missing');
    assert.equal(r.code, 404);
    const [, complete] = await eventsOf(String(r.headers['audit-id']));
    assert.equal(complete.level, 'Metadata');
    assert.deepEqual(complete.responseStatus, {
      metadata: {},
      status: 'Failure',
      message: 'secrets "missing" not found',
      reason: 'NotFound',
      details: { name: 'missing', kind: 'secrets' },
      code: 404,
    });
    assert.equal(complete.requestObject, undefined);
    assert.equal(complete.responseObject, undefined);
  });

  it('a forbidden request is recorded with the decision and the reason', async () => {
    const r = await call(port, 'GET', '/api/v1/namespaces/default/pods', undefined, { Authorization: 'Bearer mallory-token' });
    assert.equal(r.code, 403);
    const [, complete] = await eventsOf(String(r.headers['audit-id']));
    assert.deepEqual(complete.user, { username: 'mallory', groups: ['system:authenticated'] });
    assert.equal(complete.verb, 'list');
    assert.equal(complete.responseStatus.code, 403);
    assert.equal(complete.responseStatus.reason, 'Forbidden');
    assert.deepEqual(complete.annotations, { 'authorization.k8s.io/decision': 'forbid', 'authorization.k8s.io/reason': 'mallory may not' });
  });

  it('a bug on the request path is recorded at the Panic stage instead of ResponseComplete', async () => {
    const r = await call(port, 'GET', '/api/v1/namespaces/default/pods', undefined, { Authorization: 'Bearer boom-token' });
    assert.equal(r.code, 500);
    const evs = await eventsOf(String(r.headers['audit-id']));
    assert.deepEqual(evs.map((e) => e.stage), ['RequestReceived', 'Panic']);
    assert.deepEqual(evs[1].responseStatus, {
      metadata: {},
      status: 'Failure',
      message: "APIServer panic'd: cannot read properties of undefined",
      reason: 'InternalError',
      code: 500,
    });
  });

  it('a watch is long-running: ResponseStarted, then ResponseComplete when it ends', async () => {
    const r = await call(port, 'GET', '/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1');
    assert.equal(r.code, 200);
    const evs = await eventsOf(String(r.headers['audit-id']));
    assert.deepEqual(evs.map((e) => e.stage), ['RequestReceived', 'ResponseStarted', 'ResponseComplete']);
    assert.equal(evs[1].verb, 'watch');
    assert.deepEqual(evs[1].responseStatus, { metadata: {}, code: 200 });
    assert.equal(evs[2].responseObject, undefined, 'watch streams are not recorded');
  });

  it('None records nothing but the response still has an Audit-Id; a client-given Audit-ID is kept', async () => {
    const before = backend.events.length;
    const r = await call(port, 'GET', '/healthz');
    assert.ok(r.headers['audit-id']);
    const given = await call(port, 'GET', '/version', undefined, { 'Audit-ID': 'my-own-id' });
    assert.equal(given.headers['audit-id'], 'my-own-id');
    const evs = await eventsOf('my-own-id');
    assert.equal(evs[1].verb, 'get');
    assert.equal(evs[1].objectRef, undefined);
    assert.equal(backend.events.slice(before).filter((e) => e.requestURI === '/healthz').length, 0);
  });

  it('in-process client calls are not audited', async () => {
    const before = backend.events.length;
    await new InProcessClient(server).get({ group: '', version: 'v1', resource: 'configmaps' }, 'default', 'c1');
    assert.equal(backend.events.length, before);
  });
});

describe('audit log backend', () => {
  it('writes JSON lines in batches and drops what overflows its buffer, counting it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'skiff-audit-log-'));
    try {
      const path = join(dir, 'audit.log');
      const b = await LogBackend.create({ path, bufferSize: 3 });
      for (let i = 0; i < 5; i++) b.process({ n: i });
      assert.equal(b.dropped, 2);
      await b.close();
      assert.deepEqual((await readFile(path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l)), [{ n: 0 }, { n: 1 }, { n: 2 }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rotates past --audit-log-maxsize and keeps --audit-log-maxbackup files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'skiff-audit-rot-'));
    try {
      const path = join(dir, 'audit.log');
      const b = await LogBackend.create({ path, maxSizeMB: 1, maxBackups: 1, maxBatchSize: 1 });
      const big = 'x'.repeat(700 * 1024);
      for (let i = 0; i < 5; i++) {
        b.process({ n: i, big });
        await new Promise((r) => setTimeout(r, 20));
      }
      await b.close();
      const files = (await readdir(dir)).sort();
      assert.equal(files.length, 2, files.join(','));
      assert.ok(files.includes('audit.log'));
      assert.match(files.find((f) => f !== 'audit.log')!, /^audit-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}\.log$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('formats MicroTime with six digits', () => {
    assert.equal(microTime(Date.UTC(2024, 0, 2, 3, 4, 5, 678) * 1000 + 9), '2024-01-02T03:04:05.678009Z');
  });
});
