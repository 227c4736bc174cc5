/**
 * @kubernetes/client-node 1.4, used as an application would, against a real `skiff up` on each
 * backend: kubeconfig loading, typed CRUD on core and apps objects, the three patch types a client
 * picks by Content-Type, informers (list+watch+cache), resumable watches, and API errors surfaced
 * as ApiException with the server's Status.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  Watch,
  makeInformer,
  setHeaderOptions,
  type V1ConfigMap,
  type V1Deployment,
} from '@kubernetes/client-node';
import { API_ONLY_ARGS, e2eBackends, startSkiff, type SkiffProcess } from '../harness/skiff.js';
import { eventually } from './http-client.js';

/** What an ApiException carries: the HTTP code and the server's Status (the body is its text). */
async function expectApiError(p: Promise<unknown>, code: number, reason: string): Promise<any> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ApiException, `expected an ApiException, got ${String(err)}`);
    const e = err as ApiException<unknown>;
    assert.equal(e.code, code, `ApiException code (body: ${String(e.body)})`);
    const status = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
    assert.equal(status.kind, 'Status', `the error body is a Status: ${String(e.body)}`);
    assert.equal(status.code, code);
    assert.equal(status.reason, reason, `Status reason (message: ${status.message})`);
    return status;
  }
  assert.fail(`expected an ApiException ${code} ${reason}, but the call succeeded`);
}

function deployment(name: string, containers: { name: string; image: string }[]): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers } },
    },
  };
}

interface Seen {
  type: string;
  name: string;
  rv: string;
}

for (const backend of e2eBackends()) {
  describe(`@kubernetes/client-node against skiff (${backend})`, () => {
    let skiff: SkiffProcess;
    let kc: KubeConfig;
    let core: CoreV1Api;
    let apps: AppsV1Api;
    const ns = 'client-node';

    before(async () => {
      skiff = await startSkiff({ backend, extraArgs: API_ONLY_ARGS });
      kc = new KubeConfig();
      kc.loadFromFile(skiff.kubeconfig);
      core = kc.makeApiClient(CoreV1Api);
      apps = kc.makeApiClient(AppsV1Api);
      await core.createNamespace({ body: { metadata: { name: ns } } });
    });

    after(async () => {
      await skiff?.stop();
    });

    it('loads the kubeconfig skiff writes and lists the system namespaces', async () => {
      assert.equal(kc.getCurrentCluster()?.server, skiff.url);
      assert.ok(kc.getCurrentUser()?.certData, 'the admin user authenticates with a client certificate');
      const list = await core.listNamespace();
      const names = list.items.map((n) => n.metadata?.name);
      for (const want of ['default', 'kube-system', 'kube-public', 'kube-node-lease', ns]) assert.ok(names.includes(want), `namespace ${want} in ${names.join(',')}`);
      assert.match(list.metadata?.resourceVersion ?? '', /^\d+$/);
    });

    it('creates, reads, lists, patches (merge and strategic), replaces and deletes a ConfigMap', async () => {
      const created = await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'cm-crud', labels: { suite: 'crud' } }, data: { a: '1', b: '2' } },
      });
      assert.equal(created.metadata?.namespace, ns);
      assert.match(created.metadata?.uid ?? '', /^[0-9a-f-]{36}$/);
      assert.ok(created.metadata?.creationTimestamp instanceof Date, 'creationTimestamp deserializes as a Date');
      const rv1 = created.metadata!.resourceVersion!;

      const read = await core.readNamespacedConfigMap({ name: 'cm-crud', namespace: ns });
      assert.deepEqual(read.data, { a: '1', b: '2' });
      assert.equal(read.metadata?.resourceVersion, rv1);

      const listed = await core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'suite=crud' });
      assert.deepEqual(
        listed.items.map((c) => c.metadata?.name),
        ['cm-crud'],
      );

      // JSON merge patch: null removes a key.
      const merged = await core.patchNamespacedConfigMap(
        { name: 'cm-crud', namespace: ns, body: { data: { a: null, c: '3' } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      assert.deepEqual(merged.data, { b: '2', c: '3' });
      assert.notEqual(merged.metadata?.resourceVersion, rv1);

      // Strategic merge patch on a map behaves as a merge; $patch: delete-free.
      const smp = await core.patchNamespacedConfigMap(
        { name: 'cm-crud', namespace: ns, body: { metadata: { labels: { extra: 'yes' } }, data: { d: '4' } } },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      );
      assert.deepEqual(smp.data, { b: '2', c: '3', d: '4' });
      assert.deepEqual(smp.metadata?.labels, { suite: 'crud', extra: 'yes' });

      // The generated client's default patch type is a JSON patch (the first it lists).
      const jp = await core.patchNamespacedConfigMap({ name: 'cm-crud', namespace: ns, body: [{ op: 'replace', path: '/data/b', value: 'two' }] });
      assert.equal(jp.data?.b, 'two');

      const replaced = await core.replaceNamespacedConfigMap({
        name: 'cm-crud',
        namespace: ns,
        body: { metadata: { name: 'cm-crud', resourceVersion: jp.metadata!.resourceVersion, labels: { suite: 'crud' } }, data: { only: 'this' } },
      });
      assert.deepEqual(replaced.data, { only: 'this' });
      assert.deepEqual(replaced.metadata?.labels, { suite: 'crud' });
      assert.equal(replaced.metadata?.uid, created.metadata?.uid);

      const status = await core.deleteNamespacedConfigMap({ name: 'cm-crud', namespace: ns });
      assert.equal(status.status, 'Success');
      await expectApiError(core.readNamespacedConfigMap({ name: 'cm-crud', namespace: ns }), 404, 'NotFound');
      await expectApiError(core.deleteNamespacedConfigMap({ name: 'cm-crud', namespace: ns }), 404, 'NotFound');
    });

    it('patches a Deployment: strategic merge merges containers by name, merge patch replaces the list', async () => {
      const name = 'web';
      const created = await apps.createNamespacedDeployment({
        namespace: ns,
        body: deployment(name, [
          { name: 'a', image: 'nginx:1' },
          { name: 'b', image: 'busybox:1' },
        ]),
      });
      assert.equal(created.metadata?.generation, 1);
      const containers = (d: V1Deployment) => d.spec!.template.spec!.containers.map((c) => `${c.name}=${c.image}`);

      const smp = await apps.patchNamespacedDeployment(
        { name, namespace: ns, body: { spec: { template: { spec: { containers: [{ name: 'b', image: 'busybox:2' }] } } } } },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      );
      assert.deepEqual(containers(smp), ['a=nginx:1', 'b=busybox:2']);
      assert.equal(smp.metadata?.generation, 2, 'a spec change bumps generation');

      const merge = await apps.patchNamespacedDeployment(
        { name, namespace: ns, body: { spec: { template: { spec: { containers: [{ name: 'b', image: 'busybox:3' }] } } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      assert.deepEqual(containers(merge), ['b=busybox:3']);

      const list = await apps.listNamespacedDeployment({ namespace: ns });
      assert.deepEqual(
        list.items.map((d) => d.metadata?.name),
        [name],
      );

      const scale = await apps.readNamespacedDeploymentScale({ name, namespace: ns });
      assert.equal(scale.spec?.replicas, 1);
      const scaled = await apps.patchNamespacedDeploymentScale(
        { name, namespace: ns, body: { spec: { replicas: 4 } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      assert.equal(scaled.spec?.replicas, 4);

      const cur = await apps.readNamespacedDeployment({ name, namespace: ns });
      assert.equal(cur.spec?.replicas, 4);
      cur.spec!.template.spec!.containers[0].image = 'busybox:4';
      const replaced = await apps.replaceNamespacedDeployment({ name, namespace: ns, body: cur });
      assert.deepEqual(containers(replaced), ['b=busybox:4']);

      await apps.deleteNamespacedDeployment({ name, namespace: ns });
      await expectApiError(apps.readNamespacedDeployment({ name, namespace: ns }), 404, 'NotFound');
    });

    it('surfaces a stale-resourceVersion update as ApiException 409 Conflict, and a duplicate create as 409 AlreadyExists', async () => {
      const cm = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'cm-conflict' }, data: { v: '0' } } });
      const stale = structuredClone(cm) as V1ConfigMap;
      const fresh = await core.replaceNamespacedConfigMap({ name: 'cm-conflict', namespace: ns, body: { ...cm, data: { v: '1' } } });
      assert.notEqual(fresh.metadata?.resourceVersion, stale.metadata?.resourceVersion);
      const status = await expectApiError(
        core.replaceNamespacedConfigMap({ name: 'cm-conflict', namespace: ns, body: { ...stale, data: { v: 'stale' } } }),
        409,
        'Conflict',
      );
      assert.equal(
        status.message,
        'Operation cannot be fulfilled on configmaps "cm-conflict": the object has been modified; please apply your changes to the latest version and try again',
      );
      assert.equal(status.details?.name, 'cm-conflict');
      assert.equal(status.details?.kind, 'configmaps');
      const after = await core.readNamespacedConfigMap({ name: 'cm-conflict', namespace: ns });
      assert.deepEqual(after.data, { v: '1' }, 'the stale write changed nothing');

      const dup = await expectApiError(core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'cm-conflict' } } }), 409, 'AlreadyExists');
      assert.equal(dup.message, 'configmaps "cm-conflict" already exists');
    });

    it('runs an informer: initial list, ADD/UPDATE/DELETE from the watch, and a cache equal to the server', async () => {
      const selector = 'informer=yes';
      const label = { informer: 'yes' };
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'inf-0', labels: label }, data: { n: '0' } } });
      // An object outside the selector must never reach the informer.
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'inf-other' }, data: { n: 'x' } } });

      const informer = makeInformer<V1ConfigMap>(
        kc,
        `/api/v1/namespaces/${ns}/configmaps`,
        () => core.listNamespacedConfigMap({ namespace: ns, labelSelector: selector }),
        selector,
      );
      const seen: Seen[] = [];
      const errors: unknown[] = [];
      const record = (type: string) => (o: V1ConfigMap) => seen.push({ type, name: o.metadata!.name!, rv: o.metadata!.resourceVersion! });
      informer.on('add', record('add'));
      informer.on('update', record('update'));
      informer.on('delete', record('delete'));
      informer.on('error', (err) => errors.push(err));
      await informer.start();
      try {
        await eventually('the initial list reaches the informer', async () => (seen.some((s) => s.name === 'inf-0' && s.type === 'add') ? true : undefined));

        const c1 = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'inf-1', labels: label }, data: { n: '1' } } });
        const c2 = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'inf-2', labels: label }, data: { n: '2' } } });
        const u1 = await core.patchNamespacedConfigMap(
          { name: 'inf-1', namespace: ns, body: { data: { n: '1b' } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
        await core.deleteNamespacedConfigMap({ name: 'inf-2', namespace: ns });
        await core.patchNamespacedConfigMap(
          { name: 'inf-other', namespace: ns, body: { data: { n: 'y' } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );

        await eventually('the informer sees inf-2 deleted', async () => (seen.some((s) => s.name === 'inf-2' && s.type === 'delete') ? true : undefined));
        assert.deepEqual(errors, [], 'the informer reported no errors');
        const forName = (n: string) => seen.filter((s) => s.name === n).map((s) => `${s.type}@${s.rv}`);
        assert.deepEqual(forName('inf-1'), [`add@${c1.metadata!.resourceVersion}`, `update@${u1.metadata!.resourceVersion}`]);
        assert.equal(forName('inf-2')[0], `add@${c2.metadata!.resourceVersion}`);
        assert.equal(forName('inf-2').at(-1)?.startsWith('delete@'), true);
        assert.deepEqual(forName('inf-other'), [], 'objects outside the label selector never reach the informer');

        const server = await core.listNamespacedConfigMap({ namespace: ns, labelSelector: selector });
        const summary = (items: readonly V1ConfigMap[]) =>
          items.map((c) => `${c.metadata!.name}@${c.metadata!.resourceVersion}=${JSON.stringify(c.data)}`).sort();
        assert.deepEqual(summary(informer.list(ns)), summary(server.items));
        assert.equal(informer.get('inf-1', ns)?.data?.n, '1b');
        assert.equal(informer.get('inf-2', ns), undefined);
      } finally {
        await informer.stop();
      }
    });

    it('resumes a Watch from a resourceVersion: only what happened after it, in order', async () => {
      const name = 'cm-resume';
      const c = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name }, data: { v: '0' } } });
      const p1 = await core.patchNamespacedConfigMap({ name, namespace: ns, body: { data: { v: '1' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      const p2 = await core.patchNamespacedConfigMap({ name, namespace: ns, body: { data: { v: '2' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));

      const w = new Watch(kc);
      const events: Seen[] = [];
      const ctl = await w.watch(
        `/api/v1/namespaces/${ns}/configmaps`,
        { resourceVersion: c.metadata!.resourceVersion, fieldSelector: `metadata.name=${name}` },
        (type, obj) => events.push({ type, name: obj.metadata?.name, rv: obj.metadata?.resourceVersion }),
        () => undefined,
      );
      try {
        await eventually('the watch replays both patches', async () => (events.length >= 2 ? true : undefined));
        assert.deepEqual(events, [
          { type: 'MODIFIED', name, rv: p1.metadata!.resourceVersion },
          { type: 'MODIFIED', name, rv: p2.metadata!.resourceVersion },
        ]);
      } finally {
        ctl.abort();
      }

      // Resume from the last event seen: the delete, and nothing replayed.
      const resumed: Seen[] = [];
      const ctl2 = await w.watch(
        `/api/v1/namespaces/${ns}/configmaps`,
        { resourceVersion: p2.metadata!.resourceVersion, fieldSelector: `metadata.name=${name}` },
        (type, obj) => resumed.push({ type, name: obj.metadata?.name, rv: obj.metadata?.resourceVersion }),
        () => undefined,
      );
      try {
        await core.deleteNamespacedConfigMap({ name, namespace: ns });
        await eventually('the resumed watch sees the delete', async () => (resumed.length >= 1 ? true : undefined));
        assert.equal(resumed.length, 1, `only the delete: ${JSON.stringify(resumed)}`);
        assert.equal(resumed[0].type, 'DELETED');
        assert.equal(resumed[0].name, name);
        assert.ok(Number(resumed[0].rv) > Number(p2.metadata!.resourceVersion), 'a DELETED event carries the deletion revision');
      } finally {
        ctl2.abort();
      }
    });

    it('calls a Watch done callback when the server ends the stream (timeoutSeconds)', async () => {
      const w = new Watch(kc);
      let doneWith: unknown = 'pending';
      await w.watch(`/api/v1/namespaces/${ns}/configmaps`, { timeoutSeconds: 1 }, () => undefined, (err) => (doneWith = err));
      await eventually('the server closes the watch', async () => (doneWith !== 'pending' ? true : undefined), 200, 50);
      assert.equal(doneWith, null, 'a server-side close is a clean end, not an error');
    });
  });
}
