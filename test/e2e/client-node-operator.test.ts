/**
 * An operator written with @kubernetes/client-node against a real `skiff up`: it installs its CRD,
 * waits for it to be established, follows its custom resources with an informer, creates an owned
 * ConfigMap per resource, reports status through the status subresource, and holds a finalizer.
 * Generic machinery on a custom kind: watch, merge and JSON patches, finalizers, garbage
 * collection by ownerReferences, dry-run, and the server's validation surfacing as ApiException.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiException, ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, makeInformer, setHeaderOptions } from '@kubernetes/client-node';
import { API_ONLY_ARGS, startSkiff, type SkiffProcess } from '../harness/skiff.js';
import { eventually } from './http-client.js';

const GROUP = 'ops.example.com';
const FINALIZER = 'ops.example.com/cleanup';

const CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `widgets.${GROUP}` },
  spec: {
    group: GROUP,
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: { type: 'object', required: ['size'], properties: { size: { type: 'integer', minimum: 1 }, text: { type: 'string' } } },
              status: { type: 'object', properties: { phase: { type: 'string' }, observedGeneration: { type: 'integer' } } },
            },
          },
        },
      },
    ],
  },
};

describe('an operator written with @kubernetes/client-node', () => {
  let skiff: SkiffProcess;
  let kc: KubeConfig;
  let custom: CustomObjectsApi;
  let core: CoreV1Api;
  const ns = 'default';
  const widget = (name: string, size: number) => ({ apiVersion: `${GROUP}/v1`, kind: 'Widget', metadata: { name }, spec: { size, text: `widget ${name}` } });
  const get = (name: string) => custom.getNamespacedCustomObject({ group: GROUP, version: 'v1', namespace: ns, plural: 'widgets', name }) as Promise<any>;

  before(async () => {
    skiff = await startSkiff({ backend: 'sqlite', extraArgs: API_ONLY_ARGS });
    kc = new KubeConfig();
    kc.loadFromFile(skiff.kubeconfig);
    custom = kc.makeApiClient(CustomObjectsApi);
    core = kc.makeApiClient(CoreV1Api);
    const ext = kc.makeApiClient(ApiextensionsV1Api);
    await ext.createCustomResourceDefinition({ body: CRD as any });
    await eventually('the CRD is established', async () => {
      const crd = await ext.readCustomResourceDefinition({ name: `widgets.${GROUP}` });
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
    });
  });
  after(() => skiff?.stop());

  it('reconciles widgets from an informer: owned ConfigMaps, status, finalizers, garbage collection', async () => {
    const informer = makeInformer<any>(kc, `/apis/${GROUP}/v1/namespaces/${ns}/widgets`, () =>
      custom.listNamespacedCustomObject({ group: GROUP, version: 'v1', namespace: ns, plural: 'widgets' }) as any,
    );
    const reconcile = async (w: any) => {
      const name = w.metadata.name;
      if (w.metadata.deletionTimestamp) {
        if (!(w.metadata.finalizers ?? []).includes(FINALIZER)) return;
        // JSON patch with a test op: remove our finalizer only if the list is what we saw.
        const i = w.metadata.finalizers.indexOf(FINALIZER);
        await custom.patchNamespacedCustomObject(
          { group: GROUP, version: 'v1', namespace: ns, plural: 'widgets', name, body: [{ op: 'test', path: `/metadata/finalizers/${i}`, value: FINALIZER }, { op: 'remove', path: `/metadata/finalizers/${i}` }] },
          setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
        );
        return;
      }
      if (!(w.metadata.finalizers ?? []).includes(FINALIZER)) {
        await custom.patchNamespacedCustomObject(
          { group: GROUP, version: 'v1', namespace: ns, plural: 'widgets', name, body: { metadata: { finalizers: [...(w.metadata.finalizers ?? []), FINALIZER] } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
        return;
      }
      try {
        await core.createNamespacedConfigMap({
          namespace: ns,
          body: {
            metadata: { name: `${name}-data`, ownerReferences: [{ apiVersion: `${GROUP}/v1`, kind: 'Widget', name, uid: w.metadata.uid, controller: true, blockOwnerDeletion: true }] },
            data: { size: String(w.spec.size) },
          },
        });
      } catch (err) {
        if (!(err instanceof ApiException && err.code === 409)) throw err;
      }
      if (w.status?.observedGeneration !== w.metadata.generation) {
        await custom.patchNamespacedCustomObjectStatus(
          { group: GROUP, version: 'v1', namespace: ns, plural: 'widgets', name, body: { status: { phase: 'Ready', observedGeneration: w.metadata.generation } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      }
    };
    const failures: unknown[] = [];
    const run = (w: any) => reconcile(w).catch((err) => failures.push(err));
    informer.on('add', run);
    informer.on('update', run);
    await informer.start();
    try {
      await custom.createNamespacedCustomObject({ group: GROUP, version: 'v1', namespace: ns, plural: 'widgets', body: widget('alpha', 3) });
      const ready = await eventually('alpha is reconciled', async () => {
        const w = await get('alpha');
        return w.status?.phase === 'Ready' && w.metadata.finalizers?.includes(FINALIZER) ? w : undefined;
      });
      assert.equal(ready.status.observedGeneration, 1);
      const cm = await core.readNamespacedConfigMap({ name: 'alpha-data', namespace: ns });
      assert.deepEqual(cm.data, { size: '3' });

      // A spec change bumps generation; the operator observes it.
      await custom.patchNamespacedCustomObject(
        { group: GROUP, version: 'v1', namespace: ns, plural: 'widgets', name: 'alpha', body: { spec: { size: 4 } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await eventually('generation 2 observed', async () => ((await get('alpha')).status?.observedGeneration === 2 ? true : undefined));

      // Deleting waits for the finalizer, then the garbage collector takes the owned ConfigMap.
      await custom.deleteNamespacedCustomObject({ group: GROUP, version: 'v1', namespace: ns, plural: 'widgets', name: 'alpha' });
      await eventually('alpha is gone', async () => {
        try {
          await get('alpha');
          return undefined;
        } catch (err) {
          return err instanceof ApiException && err.code === 404 ? true : undefined;
        }
      });
      await eventually('its ConfigMap is collected', async () => {
        try {
          await core.readNamespacedConfigMap({ name: 'alpha-data', namespace: ns });
          return undefined;
        } catch (err) {
          return err instanceof ApiException && err.code === 404 ? true : undefined;
        }
      });
      assert.deepEqual(failures, []);
    } finally {
      await informer.stop();
    }
  });

  it('dry-run creates nothing, and invalid objects are ApiException 422 with field causes', async () => {
    await custom.createNamespacedCustomObject({ group: GROUP, version: 'v1', namespace: ns, plural: 'widgets', body: widget('dry', 1), dryRun: 'All' });
    await assert.rejects(get('dry'), (err: unknown) => err instanceof ApiException && err.code === 404);
    try {
      await custom.createNamespacedCustomObject({ group: GROUP, version: 'v1', namespace: ns, plural: 'widgets', body: widget('small', 0) });
      assert.fail('a widget of size 0 was accepted');
    } catch (err) {
      assert.ok(err instanceof ApiException, String(err));
      assert.equal(err.code, 422);
      const status = JSON.parse(err.body as string);
      assert.equal(status.reason, 'Invalid');
      assert.deepEqual(status.details.causes, [{ reason: 'FieldValueInvalid', message: 'Invalid value: 0: spec.size in body should be greater than or equal to 1', field: 'spec.size' }]);
    }
  });
});
