import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startInProcessCluster, type InProcessCluster } from '../../../test/harness/in-process.js';
import type { KubeObject } from '../../api/types.js';
import { CRDS, acceptNames } from './controllers.js';

const crontab = (group = 'stable.example.com', extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `crontabs.${group}` },
  spec: {
    group,
    scope: 'Namespaced',
    names: { plural: 'crontabs', singular: 'crontab', kind: 'CronTab', shortNames: ['ct'], categories: ['all'] },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: { type: 'object', properties: { cronSpec: { type: 'string' }, image: { type: 'string' }, replicas: { type: 'integer' }, color: { type: 'string' } } },
              status: { type: 'object', properties: { replicas: { type: 'integer' }, labelSelector: { type: 'string' } } },
            },
          },
        },
        subresources: { status: {}, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.labelSelector' } },
        additionalPrinterColumns: [
          { name: 'Spec', type: 'string', jsonPath: '.spec.cronSpec' },
          { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
        selectableFields: [{ jsonPath: '.spec.color' }],
      },
      { name: 'v1beta1', served: true, storage: false, deprecated: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } },
    ],
    ...extra,
  },
});

describe('custom resources served from CRDs', () => {
  let c: InProcessCluster;
  let url: string;
  const http = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(url + path, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'Content-Type': 'application/json', ...headers } });
    return { status: res.status, body: (await res.json()) as any };
  };

  before(async () => {
    c = await startInProcessCluster('crd-serving');
    url = `http://127.0.0.1:${await c.server.listen(0)}`;
  });
  after(() => c.stop());

  test('a CRD is established and its resource served in every version, discovery and OpenAPI included', async () => {
    await c.client.create(CRDS, '', crontab());
    const crd = await eventually('established', async () => {
      const o = await c.client.get(CRDS, '', 'crontabs.stable.example.com');
      return o.status?.conditions?.some((x: any) => x.type === 'Established' && x.status === 'True') ? o : undefined;
    });
    assert.deepEqual(crd.status.acceptedNames, crd.spec.names);
    assert.deepEqual(crd.status.storedVersions, ['v1']);
    const names = crd.status.conditions.find((x: any) => x.type === 'NamesAccepted');
    assert.equal(names.reason, 'NoConflicts');

    const group = await http('GET', '/apis/stable.example.com');
    assert.equal(group.body.preferredVersion.version, 'v1');
    const resources = await http('GET', '/apis/stable.example.com/v1');
    const r = resources.body.resources.find((x: any) => x.name === 'crontabs');
    assert.deepEqual(r.shortNames, ['ct']);
    assert.deepEqual(r.categories, ['all']);
    assert.ok(resources.body.resources.some((x: any) => x.name === 'crontabs/scale'));
    const v3 = await http('GET', '/openapi/v3/apis/stable.example.com/v1');
    const def = v3.body.components.schemas['com.example.stable.v1.CronTab'];
    assert.equal(def.properties.spec.properties.cronSpec.type, 'string');
    assert.ok(def.properties.metadata.allOf[0].$ref.endsWith('ObjectMeta'));
    const v2 = await http('GET', '/openapi/v2');
    assert.equal(v2.body.definitions['com.example.stable.v1.CronTab'].properties.spec.properties.replicas.type, 'integer');
    assert.ok(v2.body.paths['/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}/scale']);

    const created = await http('POST', '/apis/stable.example.com/v1/namespaces/default/crontabs', {
      apiVersion: 'stable.example.com/v1',
      kind: 'CronTab',
      metadata: { name: 'one' },
      spec: { cronSpec: '* * * * */5', image: 'img', replicas: 2, color: 'red' },
      status: { replicas: 9 },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.metadata.generation, 1);
    assert.equal(created.body.status, undefined, 'status is dropped on create with a status subresource');

    const beta = await http('GET', '/apis/stable.example.com/v1beta1/namespaces/default/crontabs/one');
    assert.equal(beta.body.apiVersion, 'stable.example.com/v1beta1');
    const warned = await fetch(url + '/apis/stable.example.com/v1beta1/namespaces/default/crontabs');
    assert.equal(warned.headers.get('warning'), '299 - "stable.example.com/v1beta1 CronTab is deprecated"');
    const viaBeta = await http('POST', '/apis/stable.example.com/v1beta1/namespaces/default/crontabs', { apiVersion: 'stable.example.com/v1beta1', kind: 'CronTab', metadata: { name: 'two' }, spec: { color: 'blue' } });
    assert.equal(viaBeta.status, 201, JSON.stringify(viaBeta.body));
    const two = await c.client.get({ group: 'stable.example.com', version: 'v1', resource: 'crontabs' }, 'default', 'two');
    assert.equal(two.apiVersion, 'stable.example.com/v1');
  });

  test('tables from printer columns, selectable fields, status and scale subresources, no strategic merge', async () => {
    const table = await http('GET', '/apis/stable.example.com/v1/namespaces/default/crontabs', undefined, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
    assert.deepEqual(
      table.body.columnDefinitions.map((x: any) => x.name),
      ['Name', 'Spec', 'Replicas', 'Age'],
    );
    const row = table.body.rows.find((x: any) => x.cells[0] === 'one');
    assert.deepEqual(row.cells.slice(0, 3), ['one', '* * * * */5', 2]);

    const red = await http('GET', '/apis/stable.example.com/v1/namespaces/default/crontabs?fieldSelector=spec.color%3Dred');
    assert.deepEqual(red.body.items.map((x: any) => x.metadata.name), ['one']);
    const bad = await http('GET', '/apis/stable.example.com/v1/namespaces/default/crontabs?fieldSelector=spec.size%3D1');
    assert.equal(bad.status, 400);

    const status = await http('PATCH', '/apis/stable.example.com/v1/namespaces/default/crontabs/one/status', { status: { replicas: 2, labelSelector: 'app=cron' } }, { 'Content-Type': 'application/merge-patch+json' });
    assert.equal(status.status, 200);
    assert.equal(status.body.metadata.generation, 1, 'a status write does not bump generation');
    const scale = await http('GET', '/apis/stable.example.com/v1/namespaces/default/crontabs/one/scale');
    assert.deepEqual(scale.body.spec, { replicas: 2 });
    assert.deepEqual(scale.body.status, { replicas: 2, selector: 'app=cron' });
    const scaled = await http('PATCH', '/apis/stable.example.com/v1/namespaces/default/crontabs/one/scale', { spec: { replicas: 5 } }, { 'Content-Type': 'application/merge-patch+json' });
    assert.equal(scaled.status, 200, JSON.stringify(scaled.body));
    const after = await http('GET', '/apis/stable.example.com/v1/namespaces/default/crontabs/one');
    assert.equal(after.body.spec.replicas, 5);
    assert.equal(after.body.metadata.generation, 2);

    const smp = await http('PATCH', '/apis/stable.example.com/v1/namespaces/default/crontabs/one', { spec: { replicas: 1 } }, { 'Content-Type': 'application/strategic-merge-patch+json' });
    assert.equal(smp.status, 415);
  });

  test('conflicting names are refused by the naming condition', () => {
    const a = { ...crontab('x.example.com'), status: { acceptedNames: { plural: 'crontabs', singular: 'crontab', kind: 'CronTab', shortNames: ['ct'] } } };
    const b = crontab('x.example.com');
    b.metadata!.name = 'crontabs2.x.example.com';
    const r = acceptNames(b, [a]);
    assert.equal(r.condition.status, 'False');
    assert.equal(r.condition.reason, 'PluralConflict');
    assert.equal(r.condition.message, '"crontabs" is already in use');
  });

  test('a CRD converting by webhook is served in its storage version; other versions say conversion webhooks are not called yet', async () => {
    const crd = crontab('hooks.example.com', {
      conversion: { strategy: 'Webhook', webhook: { conversionReviewVersions: ['v1'], clientConfig: { url: 'https://127.0.0.1:1/convert' } } },
    });
    await c.client.create(CRDS, '', crd);
    await eventually('served', async () => ((await http('GET', '/apis/hooks.example.com/v1/namespaces/default/crontabs')).status === 200 ? true : undefined));
    const beta = await http('GET', '/apis/hooks.example.com/v1beta1/namespaces/default/crontabs');
    assert.equal(beta.status, 500);
    assert.match(beta.body.message, /skiff does not call conversion webhooks yet; use version v1/);
  });

  test('deleting the CRD deletes its objects, then stops serving it', async () => {
    await c.client.delete(CRDS, '', 'crontabs.stable.example.com');
    await eventually('CRD gone', async () => {
      try {
        await c.client.get(CRDS, '', 'crontabs.stable.example.com');
        return false;
      } catch {
        return true;
      }
    });
    const res = await http('GET', '/apis/stable.example.com/v1/namespaces/default/crontabs');
    assert.equal(res.status, 404);
    assert.equal((await c.store.list('/registry/stable.example.com/', {})).items.length, 0);
  });
});
