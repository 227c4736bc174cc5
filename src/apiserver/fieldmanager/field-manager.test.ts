import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcessCluster, type InProcessCluster } from '../../../test/harness/in-process.js';
import { ApiError } from '../../api/errors.js';
import type { KubeObject } from '../../api/types.js';
import type { ResourceRef } from '../../client/interface.js';
import { InProcessClient } from '../../client/in-process.js';
import { capUpdateManagers } from './field-manager.js';
import { managerId, type Managed } from './managed-fields.js';

const DEPLOYMENTS: ResourceRef = { group: 'apps', version: 'v1', resource: 'deployments' };
const CONFIGMAPS: ResourceRef = { group: '', version: 'v1', resource: 'configmaps' };
const SERVICES: ResourceRef = { group: '', version: 'v1', resource: 'services' };
const APPLY = 'application/apply-patch+yaml';

let c: InProcessCluster;
before(async () => {
  c = await startInProcessCluster('fieldmanager');
});
after(async () => {
  await c.stop();
});

function deployment(name: string, spec: Record<string, unknown> = {}, image = 'nginx:1.25'): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'nginx', image, ports: [{ containerPort: 80 }] }] } },
      ...spec,
    },
  };
}

const entries = (o: KubeObject) => (o.metadata?.managedFields ?? []) as Record<string, any>[];
const fieldsOf = (o: KubeObject, manager: string, operation = 'Apply') => entries(o).find((e) => e.manager === manager && e.operation === operation)?.fieldsV1;

async function rejects(p: Promise<unknown>, code: number): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ApiError, String(err));
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

test('apply creates the object and records exactly the applied fields, keyed lists with defaulted keys', async () => {
  const d = await c.client.patch(DEPLOYMENTS, 'default', 'web', APPLY, deployment('web'), { fieldManager: 'alice' });
  assert.equal(d.spec.replicas, 2);
  assert.equal(entries(d).length, 1);
  const e = entries(d)[0];
  assert.equal(e.operation, 'Apply');
  assert.equal(e.apiVersion, 'apps/v1');
  assert.equal(e.fieldsType, 'FieldsV1');
  assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(
    JSON.stringify(e.fieldsV1),
    '{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:replicas":{},"f:selector":{},"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\\"name\\":\\"nginx\\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{"k:{\\"containerPort\\":80,\\"protocol\\":\\"TCP\\"}":{".":{},"f:containerPort":{}}}}}}}}}',
  );
  assert.deepEqual(Object.keys(e), ['manager', 'operation', 'apiVersion', 'time', 'fieldsType', 'fieldsV1']);
});

test('a second manager conflicts on a field with another value, shares one with the same value, and force takes it', async () => {
  const err = await rejects(c.client.patch(DEPLOYMENTS, 'default', 'web', APPLY, deployment('web', { replicas: 5 }), { fieldManager: 'bob' }), 409);
  assert.equal(err.reason, 'Conflict');
  assert.equal(err.message, 'Apply failed with 1 conflict: conflict with "alice": .spec.replicas');
  assert.deepEqual(err.details?.causes, [{ type: 'FieldManagerConflict', message: 'conflict with "alice"', field: '.spec.replicas' }]);

  const two = await rejects(c.client.patch(DEPLOYMENTS, 'default', 'web', APPLY, deployment('web', { replicas: 5 }, 'nginx:2'), { fieldManager: 'bob' }), 409);
  assert.equal(
    two.message,
    'Apply failed with 2 conflicts: conflicts with "alice":\n- .spec.replicas\n- .spec.template.spec.containers[name="nginx"].image',
  );

  const forced = await c.client.patch(DEPLOYMENTS, 'default', 'web', APPLY, deployment('web', { replicas: 5 }), { fieldManager: 'bob', force: true });
  assert.equal(forced.spec.replicas, 5);
  assert.equal(fieldsOf(forced, 'alice')['f:spec']['f:replicas'], undefined, 'alice lost replicas');
  assert.deepEqual(fieldsOf(forced, 'bob')['f:spec']['f:replicas'], {});
  // Both still own the image they agree on.
  assert.ok(fieldsOf(forced, 'alice')['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"nginx"}']['f:image']);
  assert.ok(fieldsOf(forced, 'bob')['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"nginx"}']['f:image']);
  assert.deepEqual(entries(forced).map((e) => e.manager).sort(), ['alice', 'bob']);
});

test('fields a manager stops applying are removed unless someone else owns them', async () => {
  const base = deployment('prune');
  (base.metadata!.labels as Record<string, string>).tier = 'web';
  base.metadata!.annotations = { note: 'x' };
  await c.client.patch(DEPLOYMENTS, 'default', 'prune', APPLY, base, { fieldManager: 'alice' });
  await c.client.patch(DEPLOYMENTS, 'default', 'prune', APPLY, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'prune', labels: { tier: 'web' } } }, { fieldManager: 'carol' });
  const next = deployment('prune');
  const out = await c.client.patch(DEPLOYMENTS, 'default', 'prune', APPLY, next, { fieldManager: 'alice' });
  assert.equal(out.metadata?.annotations?.note, undefined, 'the annotation only alice applied is gone');
  assert.equal(out.metadata?.labels?.tier, 'web', 'carol still applies tier');
  // Removing the second container by no longer applying it.
  const two = deployment('prune');
  (two.spec.template.spec.containers as unknown[]).push({ name: 'side', image: 'busybox' });
  const withSide = await c.client.patch(DEPLOYMENTS, 'default', 'prune', APPLY, two, { fieldManager: 'alice' });
  assert.deepEqual(withSide.spec.template.spec.containers.map((x: any) => x.name), ['nginx', 'side']);
  const without = await c.client.patch(DEPLOYMENTS, 'default', 'prune', APPLY, deployment('prune'), { fieldManager: 'alice' });
  assert.deepEqual(without.spec.template.spec.containers.map((x: any) => x.name), ['nginx']);
});

test('sets and atomic lists: a set merges per value, an atomic list belongs whole to its last applier', async () => {
  const svc = (name: string, selector: Record<string, string>, ports: unknown[]) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, finalizers: ['a.example.com/x'] },
    spec: { selector, ports },
  });
  const s1 = await c.client.patch(SERVICES, 'default', 'svc', APPLY, svc('svc', { app: 'a' }, [{ port: 80, name: 'http' }]), { fieldManager: 'alice' });
  const f = fieldsOf(s1, 'alice');
  assert.deepEqual(f['f:metadata'], { 'f:finalizers': { 'v:"a.example.com/x"': {} } });
  assert.deepEqual(f['f:spec']['f:selector'], {}, 'a Service selector is an atomic map');
  assert.deepEqual(Object.keys(f['f:spec']['f:ports']), ['k:{"port":80,"protocol":"TCP"}']);
  const s2 = await c.client.patch(
    SERVICES,
    'default',
    'svc',
    APPLY,
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', finalizers: ['b.example.com/y'] } },
    { fieldManager: 'bob' },
  );
  assert.deepEqual(s2.metadata?.finalizers, ['a.example.com/x', 'b.example.com/y']);
  await rejects(c.client.patch(SERVICES, 'default', 'svc', APPLY, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc' }, spec: { selector: { app: 'b' } } }, { fieldManager: 'bob' }), 409);
});

test('updates move ownership to the last writer and drop managers left with nothing', async () => {
  const cm = await c.client.create(CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: { a: '1', b: '2' } }, { fieldManager: 'creator' });
  assert.equal(JSON.stringify(fieldsOf(cm, 'creator', 'Update')), '{"f:data":{".":{},"f:a":{},"f:b":{}}}');
  const up = await c.client.update(CONFIGMAPS, 'default', { ...cm, data: { a: '1', b: '3', c: '4' } }, { fieldManager: 'editor' });
  assert.equal(JSON.stringify(fieldsOf(up, 'creator', 'Update')), '{"f:data":{".":{},"f:a":{}}}');
  assert.equal(JSON.stringify(fieldsOf(up, 'editor', 'Update')), '{"f:data":{"f:b":{},"f:c":{}}}');
  const again = await c.client.patch(CONFIGMAPS, 'default', 'cm', 'application/merge-patch+json', { data: { a: 'x' } }, { fieldManager: 'editor' });
  assert.equal(JSON.stringify(fieldsOf(again, 'creator', 'Update')), '{"f:data":{}}');
  // Without fieldManager, the in-process client's user agent names the manager.
  const byAgent = await new InProcessClient(c.server, { userAgent: 'kube-controller-manager/v1.32.0 (linux/amd64)' }).patch(
    CONFIGMAPS,
    'default',
    'cm',
    'application/merge-patch+json',
    { data: { z: '1' } },
  );
  assert.equal(JSON.stringify(fieldsOf(byAgent, 'kube-controller-manager', 'Update')), '{"f:data":{"f:z":{}}}');
  const gone = await c.client.patch(CONFIGMAPS, 'default', 'cm', 'application/merge-patch+json', { data: { a: null, z: null } }, { fieldManager: 'editor' });
  assert.equal(JSON.stringify(fieldsOf(gone, 'creator', 'Update')), '{"f:data":{}}', 'the map itself is still the creator\'s');
  assert.equal(fieldsOf(gone, 'kube-controller-manager', 'Update'), undefined, 'an entry with no fields left is removed');
  const none = await c.client.patch(CONFIGMAPS, 'default', 'cm', 'application/merge-patch+json', { data: null }, { fieldManager: 'editor' });
  assert.equal(none.metadata?.managedFields, undefined);
});

test('managedFields sent on update are honoured, [{}] resets them, and an untracked object stays untracked until applied', async () => {
  const cm = await c.client.create(CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'reset' }, data: { a: '1' } }, { fieldManager: 'creator' });
  const own = [{ manager: 'mine', operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:a': {} } } }];
  const set = await c.client.update(CONFIGMAPS, 'default', { ...cm, metadata: { ...cm.metadata, managedFields: own } }, { fieldManager: 'x' });
  assert.deepEqual(entries(set).map((e) => e.manager), ['mine']);
  const reset = await c.client.update(CONFIGMAPS, 'default', { ...set, metadata: { ...set.metadata, managedFields: [{}] } }, { fieldManager: 'x' });
  assert.equal(reset.metadata?.managedFields, undefined);
  const untracked = await c.client.update(CONFIGMAPS, 'default', { ...reset, data: { a: '2' } }, { fieldManager: 'x' });
  assert.equal(untracked.metadata?.managedFields, undefined, 'updates do not start tracking');
  const applied = await c.client.patch(CONFIGMAPS, 'default', 'reset', APPLY, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'reset' }, data: { b: '1' } }, { fieldManager: 'ap' });
  assert.deepEqual(entries(applied).map((e) => [e.manager, e.operation]), [['ap', 'Apply'], ['before-first-apply', 'Update']]);
  assert.equal(JSON.stringify(fieldsOf(applied, 'before-first-apply', 'Update')), '{"f:data":{".":{},"f:a":{}}}');
});

test('at most ten update managers: the oldest fold into ancient-changes', async () => {
  let cm = await c.client.create(CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'many' }, data: { k0: 'v' } }, { fieldManager: 'm0' });
  for (let i = 1; i <= 12; i++) {
    cm = await c.client.patch(CONFIGMAPS, 'default', 'many', 'application/merge-patch+json', { data: { [`k${i}`]: 'v' } }, { fieldManager: `m${i}` });
  }
  const updaters = entries(cm).filter((e) => e.operation === 'Update');
  assert.equal(updaters.length, 10);
  const ancient = updaters.find((e) => e.manager === 'ancient-changes');
  assert.ok(ancient, JSON.stringify(updaters.map((e) => e.manager)));
  const owned = new Set(updaters.flatMap((e) => Object.keys(e.fieldsV1['f:data'] ?? {})));
  for (let i = 0; i <= 12; i++) assert.ok(owned.has(`f:k${i}`), `k${i} is still owned by someone`);
});

test('capping folds the oldest updates first and gives the bucket the newest merged time', () => {
  const managed: Managed = new Map();
  for (let i = 0; i < 12; i++) {
    const e = { manager: `m${i}`, operation: 'Update' as const, apiVersion: 'v1', time: `2024-01-01T00:00:${String(10 + i)}Z`, fields: { [`f:k${i}`]: {} } };
    managed.set(managerId(e), e);
  }
  const applier = { manager: 'a', operation: 'Apply' as const, apiVersion: 'v1', time: '2020-01-01T00:00:00Z', fields: { 'f:x': {} } };
  managed.set(managerId(applier), applier);
  capUpdateManagers(managed);
  const names = [...managed.values()].map((e) => e.manager).sort();
  assert.deepEqual(names, ['a', 'ancient-changes', 'm10', 'm11', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9']);
  const bucket = managed.get(managerId({ manager: 'ancient-changes', operation: 'Update', apiVersion: 'v1' }))!;
  assert.deepEqual(bucket.fields, { 'f:k0': {}, 'f:k1': {}, 'f:k2': {} });
  assert.equal(bucket.time, '2024-01-01T00:00:12Z');
});

test('apply refuses what upstream refuses, and dry-run stores nothing', async () => {
  const missing = await rejects(c.client.patch(CONFIGMAPS, 'default', 'x', APPLY, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }), 422);
  assert.equal(missing.message, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
  const kind = await rejects(c.client.patch(CONFIGMAPS, 'default', 'x', APPLY, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } }, { fieldManager: 'a' }), 400);
  assert.equal(kind.message, 'invalid object type: /v1, Kind=Secret');
  const mf = await rejects(
    c.client.patch(CONFIGMAPS, 'default', 'x', APPLY, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', managedFields: [] } }, { fieldManager: 'a' }),
    400,
  );
  assert.equal(mf.message, 'metadata.managedFields must be nil');
  const dry = await c.client.patch(CONFIGMAPS, 'default', 'dry', APPLY, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'dry' }, data: { a: '1' } }, { fieldManager: 'a', dryRun: true });
  assert.equal(dry.data.a, '1');
  await rejects(c.client.get(CONFIGMAPS, 'default', 'dry'), 404);
});

test('an unchanged re-apply writes nothing', async () => {
  const first = await c.client.patch(DEPLOYMENTS, 'default', 'web', APPLY, deployment('web', { replicas: 5 }), { fieldManager: 'bob', force: true });
  const again = await c.client.patch(DEPLOYMENTS, 'default', 'web', APPLY, deployment('web', { replicas: 5 }), { fieldManager: 'bob' });
  assert.equal(again.metadata?.resourceVersion, first.metadata?.resourceVersion);
});
