/**
 * The audit log of a real `skiff up`, driven by the real kubectl: what upstream's log backend writes
 * (audit.k8s.io/v1 Events as JSON lines) for kubectl's requests, under a policy file.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../harness/in-process.js';
import { API_ONLY_ARGS, kubectlOk, startSkiff, type SkiffProcess } from '../harness/skiff.js';

type Ev = Record<string, any>;

const POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
rules:
  - level: None
    nonResourceURLs: ['/healthz*', '/readyz*', '/livez*']
  - level: RequestResponse
    namespaces: [audit-full]
    resources: [{group: '', resources: [configmaps]}]
  - level: Metadata
`;

describe('audit log (skiff up --audit-log-path, kubectl)', () => {
  let dir: string;
  let s: SkiffProcess;
  let log: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skiff-audit-e2e-'));
    log = join(dir, 'audit.log');
    await writeFile(join(dir, 'policy.yaml'), POLICY);
    s = await startSkiff({ extraArgs: [...API_ONLY_ARGS, '--audit-log-path', log, '--audit-policy-file', join(dir, 'policy.yaml')] });
  });
  after(async () => {
    await s?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const events = async () => (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Ev);
  const eventsFor = (what: string, match: (e: Ev) => boolean) =>
    eventually(what, async () => {
      const evs = (await events()).filter(match);
      return evs.some((e) => e.stage === 'ResponseComplete') ? evs : undefined;
    }, 1000);

  it('kubectl create configmap: RequestReceived and ResponseComplete with the object, the user and 201', async () => {
    await kubectlOk(s, ['create', 'configmap', 'audited', '-n', 'default', '--from-literal=color=blue']);
    const evs = await eventsFor('the create', (e) => e.verb === 'create' && e.objectRef?.resource === 'configmaps' && e.objectRef?.namespace === 'default');
    assert.deepEqual(evs.map((e) => e.stage), ['RequestReceived', 'ResponseComplete']);
    assert.equal(evs[0].auditID, evs[1].auditID);
    const done = evs[1];
    assert.equal(done.kind, 'Event');
    assert.equal(done.apiVersion, 'audit.k8s.io/v1');
    assert.equal(done.level, 'Metadata');
    assert.match(done.requestURI, /^\/api\/v1\/namespaces\/default\/configmaps\?fieldManager=kubectl-create/);
    assert.deepEqual(done.objectRef, { resource: 'configmaps', namespace: 'default', name: 'audited', apiVersion: 'v1' });
    assert.equal(done.user.username, 'kubernetes-admin');
    assert.ok(done.user.groups.includes('system:masters'));
    assert.deepEqual(done.sourceIPs, ['127.0.0.1']);
    assert.match(done.userAgent, /^kubectl\//);
    assert.deepEqual(done.responseStatus, { metadata: {}, code: 201 });
    assert.equal(done.requestObject, undefined, 'Metadata records no objects');
    assert.deepEqual(done.annotations, { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': '' });
    assert.match(done.stageTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it('a RequestResponse rule records the request and response objects; a failed get records the Status', async () => {
    await kubectlOk(s, ['create', 'namespace', 'audit-full']);
    await kubectlOk(s, ['create', 'configmap', 'full', '-n', 'audit-full', '--from-literal=color=green']);
    const [, done] = await eventsFor('the RequestResponse create', (e) => e.verb === 'create' && e.objectRef?.namespace === 'audit-full' && e.objectRef?.resource === 'configmaps');
    assert.equal(done.level, 'RequestResponse');
    assert.deepEqual(done.requestObject.data, { color: 'green' });
    assert.equal(done.requestObject.kind, 'ConfigMap');
    assert.equal(done.responseObject.metadata.name, 'full');
    assert.ok(done.responseObject.metadata.uid);
    assert.ok(done.responseObject.metadata.resourceVersion);

    await kubectlOk(s, ['get', 'configmap', 'nope', '-n', 'default', '--ignore-not-found']);
    const [, notFound] = await eventsFor('the failed get', (e) => e.verb === 'get' && e.objectRef?.name === 'nope');
    assert.equal(notFound.responseStatus.code, 404);
    assert.equal(notFound.responseStatus.reason, 'NotFound');
    assert.equal(notFound.responseStatus.status, 'Failure');
  });

  it('in-process controllers\' writes are never audited (upstream audits HTTP requests only)', async () => {
    // The service account controller runs in-process and creates "default" in the new namespace.
    await eventually('the default service account', async () => (await kubectlOk(s, ['get', 'serviceaccounts', '-n', 'audit-full', '-o', 'name'])).includes('default'), 1000);
    const reads = await eventsFor('kubectl get serviceaccounts', (e) => e.verb === 'list' && e.objectRef?.resource === 'serviceaccounts');
    assert.ok(reads.length > 0);
    const all = await events();
    assert.equal(all.filter((e) => e.objectRef?.resource === 'serviceaccounts' && e.verb === 'create').length, 0);
  });
});
