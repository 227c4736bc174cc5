/**
 * Deletion and persistence with kubectl against a real `skiff up`: delete --wait, finalizers,
 * cascading deletion (background, orphan, foreground: the garbage collector's work), namespace
 * deletion, and objects surviving a restart of the server unchanged.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { e2eBackends, kubectl, kubectlStream, type KubectlResult } from '../harness/skiff.js';
import { kubectlSuite, poll } from './kubectl-helpers.js';

const HOLD = 'example.com/hold';
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;


function notFound(r: KubectlResult, resource: string, name: string): boolean {
  return r.code !== 0 && r.stderr === `Error from server (NotFound): ${resource} "${name}" not found\n`;
}

for (const backend of e2eBackends()) {
  describe(`kubectl deletion and restarts on ${backend}`, () => {
    const { server, k, kIn, getJson, newNamespace } = kubectlSuite(backend);
    const isGone = async (resource: string, name: string, ns?: string) => notFound(await kubectl(server(), ['get', resource, name, ...(ns ? ['-n', ns] : [])]), resource, name);
    const heldConfigMap = (ns: string, name: string, extra: object = {}) =>
      kIn(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, finalizers: [HOLD], ...extra }, data: { k: 'v' } }), 'create', '-f', '-');

    describe('deleting objects', () => {
      const ns = 'd-delete';
      before(() => newNamespace(ns));

      it('delete --wait returns once the object is gone', async () => {
        await k('create', 'cm', 'plain', '-n', ns);
        assert.equal(await k('delete', 'cm', 'plain', '-n', ns, '--wait'), 'configmap "plain" deleted\n');
        assert.ok(await isGone('configmaps', 'plain', ns));
      });

      it('an object with a finalizer stays, marked for deletion, until the finalizer is removed', async () => {
        assert.equal(await heldConfigMap(ns, 'held'), 'configmap/held created\n');
        assert.equal(await k('delete', 'cm', 'held', '-n', ns, '--wait=false'), 'configmap "held" deleted\n');
        const marked = await getJson('cm', 'held', '-n', ns);
        assert.match(marked.metadata.deletionTimestamp, RFC3339);
        assert.equal(marked.metadata.deletionGracePeriodSeconds, 0);
        assert.deepEqual(marked.metadata.finalizers, [HOLD]);
        // Every namespace also holds the cluster CA ConfigMap, as upstream's root-ca publisher makes it.
        assert.deepEqual(await k('get', 'cm', '-n', ns, '-o', 'name', '--field-selector', 'metadata.name!=kube-root-ca.crt'), 'configmap/held\n');

        // Still writable, but no new finalizers; deleting again changes nothing.
        assert.equal(await k('label', 'cm', 'held', '-n', ns, 'x=y'), 'configmap/held labeled\n');
        const add = await kubectl(server(), ['patch', 'cm', 'held', '-n', ns, '--type=json', '-p', '[{"op":"add","path":"/metadata/finalizers/-","value":"example.com/another"}]']);
        assert.notEqual(add.code, 0);
        assert.equal(
          add.stderr,
          'The ConfigMap "held" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"example.com/another"}\n',
        );
        assert.equal(await k('delete', 'cm', 'held', '-n', ns, '--wait=false'), 'configmap "held" deleted\n');
        assert.equal((await getJson('cm', 'held', '-n', ns)).metadata.deletionTimestamp, marked.metadata.deletionTimestamp);

        assert.equal(await k('patch', 'cm', 'held', '-n', ns, '--type=merge', '-p', '{"metadata":{"finalizers":null}}'), 'configmap/held patched\n');
        assert.ok(await isGone('configmaps', 'held', ns));
      });

      it('a waiting delete of a finalized object returns when the finalizer is removed', async () => {
        await heldConfigMap(ns, 'held-wait');
        const del = kubectlStream(server(), ['delete', 'cm', 'held-wait', '-n', ns, '--timeout=30s', '-v=6']);
        try {
          await del.waitFor(/GET https:\/\/\S+\/configmaps\?\S*watch=true\S* 200 OK/);
          assert.match(del.output(), /^configmap "held-wait" deleted$/m);
          await k('patch', 'cm', 'held-wait', '-n', ns, '--type=merge', '-p', '{"metadata":{"finalizers":[]}}');
          assert.equal(await del.exited(), 0, del.output());
        } finally {
          await del.stop();
        }
        assert.ok(await isGone('configmaps', 'held-wait', ns));
      });
    });

    describe('cascading deletion of a Deployment', () => {
      const ns = 'd-cascade';
      before(() => newNamespace(ns));

      /** A Deployment with a ReplicaSet and a ConfigMap that name it as their owner. */
      async function owned(name: string, cmExtra: object = {}): Promise<string> {
        await k('create', 'deployment', name, '-n', ns, '--image=nginx:1.25');
        const uid = (await getJson('deploy', name, '-n', ns)).metadata.uid;
        const ownerReferences = [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid, controller: true, blockOwnerDeletion: true }];
        const rs = {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          metadata: { name: `${name}-rs`, namespace: ns, labels: { app: name }, ownerReferences },
          spec: { replicas: 0, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.25' }] } } },
        };
        const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${name}-cm`, namespace: ns, ownerReferences, ...cmExtra } };
        await kIn([rs, cm].map((o) => JSON.stringify(o)).join('\n'), 'create', '-f', '-');
        return uid;
      }

      it('--cascade=background deletes the Deployment at once and its dependents after', async () => {
        await owned('bg');
        assert.equal(await k('delete', 'deploy', 'bg', '-n', ns, '--cascade=background'), 'deployment.apps "bg" deleted\n');
        assert.ok(await isGone('deployments.apps', 'bg', ns));
        await poll('the dependents of bg to go', async () => ((await isGone('replicasets.apps', 'bg-rs', ns)) && (await isGone('configmaps', 'bg-cm', ns)) ? true : undefined));
      });

      it('--cascade=orphan deletes the Deployment and leaves its dependents without owner', async () => {
        await owned('orph');
        assert.equal(await k('delete', 'deploy', 'orph', '-n', ns, '--cascade=orphan', '--timeout=20s'), 'deployment.apps "orph" deleted\n');
        assert.ok(await isGone('deployments.apps', 'orph', ns));
        const rs = await getJson('rs', 'orph-rs', '-n', ns);
        assert.equal(rs.metadata.ownerReferences, undefined);
        assert.equal(rs.metadata.deletionTimestamp, undefined);
        const cm = await getJson('cm', 'orph-cm', '-n', ns);
        assert.equal(cm.metadata.ownerReferences, undefined);
      });

      it('--cascade=foreground keeps the Deployment until its blocking dependents are gone', async () => {
        await owned('fg', { finalizers: [HOLD] });
        assert.equal(await k('delete', 'deploy', 'fg', '-n', ns, '--cascade=foreground', '--wait=false'), 'deployment.apps "fg" deleted\n');
        const marked = await getJson('deploy', 'fg', '-n', ns);
        assert.match(marked.metadata.deletionTimestamp, RFC3339);
        assert.deepEqual(marked.metadata.finalizers, ['foregroundDeletion']);
        // The collector deletes the dependents; the held ConfigMap keeps the owner waiting.
        await poll('the ReplicaSet to go', async () => ((await isGone('replicasets.apps', 'fg-rs', ns)) ? true : undefined));
        await poll('the held ConfigMap to be marked', async () => ((await getJson('cm', 'fg-cm', '-n', ns)).metadata.deletionTimestamp ? true : undefined));
        assert.ok(!(await isGone('deployments.apps', 'fg', ns)), 'the owner waits for its blocking dependent');
        await k('patch', 'cm', 'fg-cm', '-n', ns, '--type=merge', '-p', '{"metadata":{"finalizers":null}}');
        await poll('the Deployment to go', async () => ((await isGone('deployments.apps', 'fg', ns)) ? true : undefined));
      });

      it('delete --cascade=foreground waits until owner and dependents are gone', async () => {
        await owned('fgw');
        assert.equal(await k('delete', 'deploy', 'fgw', '-n', ns, '--cascade=foreground', '--timeout=20s'), 'deployment.apps "fgw" deleted\n');
        assert.ok(await isGone('deployments.apps', 'fgw', ns));
        assert.ok(await isGone('replicasets.apps', 'fgw-rs', ns));
        assert.ok(await isGone('configmaps', 'fgw-cm', ns));
      });
    });

    describe('namespace deletion', () => {
      // One namespace followed through its deletion, step by step.
      const ns = 'd-nsdel';
      before(async () => {
        await newNamespace(ns);
        await k('create', 'cm', 'plain', '-n', ns, '--from-literal=a=b');
        await k('create', 'secret', 'generic', 'token', '-n', ns, '--from-literal=t=x');
        await k('create', 'deployment', 'web', '-n', ns, '--image=nginx:1.25');
        await k('create', 'service', 'clusterip', 'web', '-n', ns, '--tcp=80:80');
        await k('create', 'job', 'once', '-n', ns, '--image=busybox:1.36', '--', 'true');
        await heldConfigMap(ns, 'held');
      });

      it('delete marks the namespace Terminating', async () => {
        assert.equal(await k('delete', 'ns', ns, '--wait=false'), `namespace "${ns}" deleted\n`);
        const terminating = await getJson('ns', ns);
        assert.match(terminating.metadata.deletionTimestamp, RFC3339);
        assert.equal(terminating.status.phase, 'Terminating');
        assert.match(await k('get', 'ns', ns), new RegExp(`^NAME\\s+STATUS\\s+AGE\\n${ns}\\s+Terminating\\s`));
      });

      it('a terminating namespace refuses new content', async () => {
        const late = await kubectl(server(), ['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'late', namespace: ns } }));
        assert.notEqual(late.code, 0);
        assert.equal(
          late.stderr,
          `Error from server (Forbidden): error when creating "STDIN": configmaps "late" is forbidden: unable to create new content in namespace ${ns} because it is being terminated\n`,
        );
      });

      it('everything inside goes but what a finalizer holds, and the namespace waits for it', async () => {
        await poll('the namespace to be emptied', async () => {
          const left = (await k('get', 'all,cm,secrets', '-n', ns, '-o', 'name')).split('\n').filter(Boolean);
          return left.length === 1 && left[0] === 'configmap/held' ? left : undefined;
        });
        assert.match((await getJson('cm', 'held', '-n', ns)).metadata.deletionTimestamp, RFC3339);
        assert.ok(!(await isGone('namespaces', ns)));
      });

      it('once the last object is gone the namespace disappears, and a new one of that name starts empty', async () => {
        await k('patch', 'cm', 'held', '-n', ns, '--type=merge', '-p', '{"metadata":{"finalizers":null}}');
        await poll('the namespace to go', async () => ((await isGone('namespaces', ns)) ? true : undefined), 30_000);
        await newNamespace(ns);
        const r = await kubectl(server(), ['get', 'all,secrets', '-n', ns]);
        assert.equal(r.stdout, '');
        assert.equal(r.stderr, `No resources found in ${ns} namespace.\n`);
        assert.ok(await isGone('configmaps', 'plain', ns));
        assert.ok(await isGone('configmaps', 'held', ns));
      });

      it('kubectl delete ns waits until the namespace is gone', async () => {
        const ns = 'd-nswait';
        await newNamespace(ns);
        await k('create', 'cm', 'c', '-n', ns);
        await k('create', 'deployment', 'd', '-n', ns, '--image=nginx:1.25');
        assert.equal(await k('delete', 'ns', ns, '--timeout=30s'), `namespace "${ns}" deleted\n`);
        assert.ok(await isGone('namespaces', ns));
      });

      it('creating in a namespace that does not exist is NotFound', async () => {
        const r = await kubectl(server(), ['create', 'cm', 'x', '-n', 'd-never']);
        assert.notEqual(r.code, 0);
        assert.equal(r.stderr, 'error: failed to create configmap: namespaces "d-never" not found\n');
      });
    });

    describe('restart', () => {
      it('objects keep their uid and resourceVersion across a restart; new writes get higher resourceVersions', async () => {
        const ns = 'd-restart';
        await newNamespace(ns);
        await k('create', 'cm', 'kept', '-n', ns, '--from-literal=a=1');
        await k('create', 'secret', 'generic', 'kept', '-n', ns, '--from-literal=b=2');
        await k('create', 'deployment', 'kept', '-n', ns, '--image=nginx:1.25');
        await k('label', 'cm', 'kept', '-n', ns, 'v=1');
        const before = {
          cm: await getJson('cm', 'kept', '-n', ns),
          secret: await getJson('secret', 'kept', '-n', ns),
          deploy: await getJson('deploy', 'kept', '-n', ns),
          ns: await getJson('ns', ns),
        };
        const listRv = Number(JSON.parse(await k('get', '--raw', '/api/v1/configmaps?limit=1')).metadata.resourceVersion);
        assert.ok(listRv >= Number(before.cm.metadata.resourceVersion));

        await server().restart();

        assert.deepEqual(await getJson('cm', 'kept', '-n', ns), before.cm);
        assert.deepEqual(await getJson('secret', 'kept', '-n', ns), before.secret);
        assert.deepEqual(await getJson('deploy', 'kept', '-n', ns), before.deploy);
        assert.deepEqual(await getJson('ns', ns), before.ns);
        const listed = JSON.parse(await k('get', 'cm', '-n', ns, '-o', 'json', '--field-selector', 'metadata.name!=kube-root-ca.crt'));
        assert.deepEqual(
          listed.items.map((i: any) => [i.metadata.name, i.metadata.uid, i.metadata.resourceVersion]),
          [['kept', before.cm.metadata.uid, before.cm.metadata.resourceVersion]],
        );

        assert.equal(await k('label', 'cm', 'kept', '-n', ns, 'v=2', '--overwrite'), 'configmap/kept labeled\n');
        const relabeled = await getJson('cm', 'kept', '-n', ns);
        assert.equal(relabeled.metadata.uid, before.cm.metadata.uid);
        assert.ok(Number(relabeled.metadata.resourceVersion) > listRv, `${relabeled.metadata.resourceVersion} > ${listRv}`);
        await k('create', 'cm', 'fresh', '-n', ns);
        const fresh = await getJson('cm', 'fresh', '-n', ns);
        assert.ok(Number(fresh.metadata.resourceVersion) > Number(relabeled.metadata.resourceVersion));
        const listRvAfter = Number(JSON.parse(await k('get', '--raw', '/api/v1/configmaps?limit=1')).metadata.resourceVersion);
        assert.ok(listRvAfter >= Number(fresh.metadata.resourceVersion));

        // A watch from the resourceVersion read before the restart replays what happened since.
        const w = kubectlStream(server(), ['get', '--raw', `/api/v1/namespaces/${ns}/configmaps?watch=true&resourceVersion=${listRv}`]);
        try {
          await w.waitFor(/"name":"fresh"[^\n]*\n/);
          const events = w
            .output()
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l));
          assert.deepEqual(
            events.map((e: any) => [e.type, e.object.metadata.name, e.object.metadata.resourceVersion]),
            [
              ['MODIFIED', 'kept', relabeled.metadata.resourceVersion],
              ['ADDED', 'fresh', fresh.metadata.resourceVersion],
            ],
          );
        } finally {
          await w.stop();
        }
      });
    });
  });
}
