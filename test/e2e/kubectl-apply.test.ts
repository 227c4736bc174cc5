/**
 * Client-side `kubectl apply` against a real `skiff up`: create, three-way merges that remove fields
 * (strategic merge patches with $setElementOrder and $patch: delete), "unchanged", server dry runs,
 * and fields other writers and the server own surviving an apply. Expected objects are what an
 * upstream kube-apiserver 1.30 stores for the same sequence of kubectl 1.30 commands.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { API_ONLY_ARGS, e2eBackends, kubectl } from '../harness/skiff.js';
import { CONTAINER_DEFAULTS, DEPLOYMENT_SPEC_DEFAULTS, POD_TEMPLATE_SPEC_DEFAULTS } from '../harness/upstream.js';
import { kubectlSuite } from './kubectl-helpers.js';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

function deploymentV1(ns: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${ns}
  labels:
    app: web
    tier: frontend
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports:
        - containerPort: 80
          name: http
        - containerPort: 443
          name: https
        env:
        - name: MODE
          value: production
        - name: DEBUG
          value: "false"
      - name: sidecar
        image: busybox:1.36
        command: ["sleep", "infinity"]
`;
}

/** v1 with a new image, and without the https port, the sidecar, the DEBUG env var and the tier label. */
function deploymentV2(ns: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${ns}
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.26
        ports:
        - containerPort: 80
          name: http
        env:
        - name: MODE
          value: production
`;
}

for (const backend of e2eBackends()) {
  describe(`kubectl apply on ${backend}`, () => {
    const { server, k, kIn, getJson, newNamespace } = kubectlSuite(backend, API_ONLY_ARGS);

    it('a Deployment applied twice with fields removed ends as upstream stores it', async () => {
      const ns = 'a-deploy';
      await newNamespace(ns);
      assert.equal(await kIn(deploymentV1(ns), 'apply', '-f', '-'), 'deployment.apps/web created\n');
      const first = await getJson('deploy', 'web', '-n', ns);
      assert.deepEqual(first.metadata.labels, { app: 'web', tier: 'frontend' });
      assert.equal(first.metadata.generation, 1);
      assert.deepEqual(
        first.spec.template.spec.containers.map((c: any) => c.name),
        ['web', 'sidecar'],
      );
      assert.deepEqual(first.spec.template.spec.containers[0].ports, [
        { containerPort: 80, name: 'http', protocol: 'TCP' },
        { containerPort: 443, name: 'https', protocol: 'TCP' },
      ]);
      const applied1 = JSON.parse(first.metadata.annotations[LAST_APPLIED]);
      assert.equal(applied1.spec.template.spec.containers[0].image, 'nginx:1.25');

      // Writers other than apply: their fields are not in last-applied, so the next apply keeps them.
      assert.equal(await k('label', 'deploy', 'web', '-n', ns, 'owner=ops'), 'deployment.apps/web labeled\n');
      assert.equal(await k('annotate', 'deploy', 'web', '-n', ns, 'note=keep-me'), 'deployment.apps/web annotated\n');
      assert.equal(await k('patch', 'deploy', 'web', '-n', ns, '--type=merge', '-p', '{"spec":{"minReadySeconds":5}}'), 'deployment.apps/web patched\n');

      assert.equal(await kIn(deploymentV2(ns), 'apply', '-f', '-'), 'deployment.apps/web configured\n');
      const live = await getJson('deploy', 'web', '-n', ns);
      assert.equal(live.metadata.uid, first.metadata.uid);
      // create, annotate (a new generation for Deployments, as upstream), patch, apply.
      assert.equal(live.metadata.generation, 4);
      assert.deepEqual(live.metadata.labels, { app: 'web', owner: 'ops' });
      assert.deepEqual(Object.keys(live.metadata.annotations).sort(), [LAST_APPLIED, 'note']);
      assert.equal(live.metadata.annotations.note, 'keep-me');
      const applied2 = JSON.parse(live.metadata.annotations[LAST_APPLIED]);
      assert.deepEqual(applied2.metadata.labels, { app: 'web' });
      assert.equal(applied2.spec.template.spec.containers.length, 1);
      assert.deepEqual(live.spec, {
        ...DEPLOYMENT_SPEC_DEFAULTS,
        minReadySeconds: 5,
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { creationTimestamp: null, labels: { app: 'web' } },
          spec: {
            containers: [
              {
                env: [{ name: 'MODE', value: 'production' }],
                image: 'nginx:1.26',
                name: 'web',
                ports: [{ containerPort: 80, name: 'http', protocol: 'TCP' }],
                ...CONTAINER_DEFAULTS,
              },
            ],
            ...POD_TEMPLATE_SPEC_DEFAULTS,
          },
        },
      });

      // The same manifest again: nothing to patch, nothing written.
      assert.equal(await kIn(deploymentV2(ns), 'apply', '-f', '-'), 'deployment.apps/web unchanged\n');
      const again = await getJson('deploy', 'web', '-n', ns);
      assert.equal(again.metadata.resourceVersion, live.metadata.resourceVersion);
      assert.equal(again.metadata.generation, 4);
    });

    it('apply of a ConfigMap: create, change, remove a key, unchanged, view-last-applied', async () => {
      const ns = 'a-cm';
      await newNamespace(ns);
      const cm = (data: Record<string, string>) => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: ns }, data });
      assert.equal(await kIn(cm({ a: '1', b: '2' }), 'apply', '-f', '-'), 'configmap/settings created\n');
      assert.equal(await kIn(cm({ a: '1', b: '2' }), 'apply', '-f', '-'), 'configmap/settings unchanged\n');
      assert.equal(await kIn(cm({ a: '10', c: '3' }), 'apply', '-f', '-'), 'configmap/settings configured\n');
      const live = await getJson('cm', 'settings', '-n', ns);
      assert.deepEqual(live.data, { a: '10', c: '3' });
      const view = JSON.parse(await k('apply', 'view-last-applied', 'cm', 'settings', '-n', ns, '-o', 'json'));
      assert.deepEqual(view.data, { a: '10', c: '3' });

      // A key someone else added survives; a key apply added and then dropped is removed.
      await k('patch', 'cm', 'settings', '-n', ns, '-p', '{"data":{"manual":"yes"}}');
      assert.equal(await kIn(cm({ a: '10' }), 'apply', '-f', '-'), 'configmap/settings configured\n');
      assert.deepEqual((await getJson('cm', 'settings', '-n', ns)).data, { a: '10', manual: 'yes' });
    });

    it('apply to an object made by kubectl create warns and patches in the annotation', async () => {
      const ns = 'a-adopt';
      await newNamespace(ns);
      await k('create', 'cm', 'made', '-n', ns, '--from-literal=x=1');
      const r = await kubectl(server(), ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'made', namespace: ns }, data: { x: '2' } }));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'configmap/made configured\n');
      assert.match(r.stderr, /^Warning: resource configmaps\/made is missing the kubectl\.kubernetes\.io\/last-applied-configuration annotation/);
      const live = await getJson('cm', 'made', '-n', ns);
      assert.deepEqual(live.data, { x: '2' });
      assert.ok(live.metadata.annotations[LAST_APPLIED]);
    });

    it('apply of a Service keeps the server-set fields (cluster IP, defaults) across a port change', async () => {
      const ns = 'a-svc';
      await newNamespace(ns);
      const svc = (ports: object[]) =>
        JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'api', namespace: ns }, spec: { selector: { app: 'api' }, ports } });
      assert.equal(await kIn(svc([{ name: 'http', port: 80, targetPort: 8080 }, { name: 'metrics', port: 9090 }]), 'apply', '-f', '-'), 'service/api created\n');
      const first = await getJson('svc', 'api', '-n', ns);
      assert.equal(await kIn(svc([{ name: 'http', port: 80, targetPort: 8081 }]), 'apply', '-f', '-'), 'service/api configured\n');
      const live = await getJson('svc', 'api', '-n', ns);
      assert.deepEqual(live.spec.ports, [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8081 }]);
      assert.equal(live.spec.clusterIP, first.spec.clusterIP);
      assert.deepEqual(live.spec.clusterIPs, first.spec.clusterIPs);
      assert.equal(live.spec.type, 'ClusterIP');
      assert.equal(live.spec.sessionAffinity, 'None');
      assert.deepEqual(live.spec.ipFamilies, ['IPv4']);
      assert.equal(await kIn(svc([{ name: 'http', port: 80, targetPort: 8081 }]), 'apply', '-f', '-'), 'service/api unchanged\n');
    });

    it('apply of several documents, and --dry-run=server', async () => {
      const ns = 'a-multi';
      const docs = `apiVersion: v1
kind: Namespace
metadata:
  name: ${ns}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: one
  namespace: ${ns}
data:
  k: v
---
apiVersion: v1
kind: Secret
metadata:
  name: two
  namespace: ${ns}
stringData:
  password: hunter2
`;
      assert.equal(await kIn(docs, 'apply', '-f', '-'), `namespace/${ns} created\nconfigmap/one created\nsecret/two created\n`);
      // stringData never shows in the live object, so kubectl always finds a patch to send for it (as upstream).
      assert.equal(await kIn(docs, 'apply', '-f', '-'), `namespace/${ns} unchanged\nconfigmap/one unchanged\nsecret/two configured\n`);
      assert.equal(await k('get', 'secret', 'two', '-n', ns, '-o', 'jsonpath={.data.password}'), Buffer.from('hunter2').toString('base64'));

      const rv = (await getJson('cm', 'one', '-n', ns)).metadata.resourceVersion;
      const changed = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'one', namespace: ns }, data: { k: 'changed' } });
      assert.equal(await kIn(changed, 'apply', '--dry-run=server', '-f', '-'), 'configmap/one configured (server dry run)\n');
      const after = await getJson('cm', 'one', '-n', ns);
      assert.equal(after.metadata.resourceVersion, rv);
      assert.deepEqual(after.data, { k: 'v' });
      const fresh = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fresh', namespace: ns }, data: { k: 'v' } });
      assert.equal(await kIn(fresh, 'apply', '--dry-run=server', '-f', '-'), 'configmap/fresh created (server dry run)\n');
      const r = await kubectl(server(), ['get', 'cm', 'fresh', '-n', ns]);
      assert.equal(r.stderr, 'Error from server (NotFound): configmaps "fresh" not found\n');
    });
  });
}
