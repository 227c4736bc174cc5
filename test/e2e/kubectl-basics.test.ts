/**
 * Everyday kubectl against a real `skiff up`: create/get/describe/label/annotate/edit/patch/replace/delete
 * for the common kinds, output formats, discovery commands and the error messages users see.
 * Expected texts are what kubectl 1.30 prints against an upstream kube-apiserver 1.30.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { API_ONLY_ARGS, e2eBackends, kubectl, kubectlOk, type KubectlResult } from '../harness/skiff.js';
import { CONTAINER_DEFAULTS, DEPLOYMENT_SPEC_DEFAULTS, POD_TEMPLATE_SPEC_DEFAULTS } from '../harness/upstream.js';
import { kubectlSuite } from './kubectl-helpers.js';

/** Splits a kubectl table into rows keyed by header (cells never contain spaces in what we print). */
function table(out: string): Record<string, string>[] {
  const lines = out.split('\n').filter((l) => l.trim() !== '');
  const header = lines[0].trim().split(/\s+/);
  return lines.slice(1).map((l) => {
    const cells = l.trim().split(/\s+/);
    return Object.fromEntries(header.map((h, i) => [h, cells[i] ?? '']));
  });
}

function assertFailed(r: KubectlResult, stderr: string | RegExp): void {
  assert.notEqual(r.code, 0, `kubectl should have failed; stdout:\n${r.stdout}`);
  if (typeof stderr === 'string') assert.equal(r.stderr, stderr);
  else assert.match(r.stderr, stderr);
}

const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

for (const backend of e2eBackends()) {
  describe(`kubectl basics on ${backend}`, () => {
    const { server, k, kIn, getJson, newNamespace } = kubectlSuite(backend, API_ONLY_ARGS);

    describe('configmaps', () => {
      const ns = 'b-cm';
      before(() => newNamespace(ns));

      it('create, get and describe', async () => {
        assert.equal(await k('create', 'configmap', 'app-config', '-n', ns, '--from-literal=color=blue', '--from-literal=size=m'), 'configmap/app-config created\n');
        const rows = table(await k('get', 'cm', 'app-config', '-n', ns));
        assert.deepEqual(Object.keys(rows[0]), ['NAME', 'DATA', 'AGE']);
        assert.equal(rows.length, 1);
        assert.equal(rows[0].NAME, 'app-config');
        assert.equal(rows[0].DATA, '2');
        assert.match(rows[0].AGE, /^\d+s$/);

        const d = await k('describe', 'configmap', 'app-config', '-n', ns);
        assert.match(d, /^Name:\s+app-config\nNamespace:\s+b-cm\nLabels:\s+<none>\nAnnotations:\s+<none>\n\nData\n====\n/);
        assert.match(d, /\ncolor:\n----\nblue\n/);
        assert.match(d, /\nsize:\n----\nm\n/);
        assert.match(d, /\nBinaryData\n====\n\nEvents:\s+<none>\n$/);
      });

      it('label, with --overwrite, and removing the last label', async () => {
        assert.equal(await k('label', 'cm', 'app-config', '-n', ns, 'tier=web'), 'configmap/app-config labeled\n');
        assertFailed(await kubectl(server(), ['label', 'cm', 'app-config', '-n', ns, 'tier=db']), "error: 'tier' already has a value (web), and --overwrite is false\n");
        assert.equal(await k('label', 'cm', 'app-config', '-n', ns, 'tier=db', '--overwrite'), 'configmap/app-config labeled\n');
        assert.equal(await k('get', 'cm', 'app-config', '-n', ns, '-o', 'jsonpath={.metadata.labels.tier}'), 'db');
        assert.match(await k('get', 'cm', 'app-config', '-n', ns, '--show-labels'), /^NAME\s+DATA\s+AGE\s+LABELS\napp-config\s+2\s+\S+\s+tier=db\n$/);
        assert.match(await k('get', 'cm', 'app-config', '-n', ns, '-L', 'tier'), /^NAME\s+DATA\s+AGE\s+TIER\napp-config\s+2\s+\S+\s+db\n$/);
        assert.equal(await k('label', 'cm', 'app-config', '-n', ns, 'tier-'), 'configmap/app-config unlabeled\n');
        // Upstream drops an emptied map (Go's omitempty): no "labels": {} is left behind.
        assert.equal(await k('get', 'cm', 'app-config', '-n', ns, '-o', 'jsonpath={.metadata.labels}'), '');
      });

      it('annotate and remove an annotation', async () => {
        assert.equal(await k('annotate', 'cm', 'app-config', '-n', ns, 'owner=alice', 'team=blue'), 'configmap/app-config annotated\n');
        const cm = await getJson('cm', 'app-config', '-n', ns);
        assert.deepEqual(cm.metadata.annotations, { owner: 'alice', team: 'blue' });
        assert.equal(await k('annotate', 'cm', 'app-config', '-n', ns, 'owner-'), 'configmap/app-config annotated\n');
        assert.deepEqual((await getJson('cm', 'app-config', '-n', ns)).metadata.annotations, { team: 'blue' });
        const d = await k('describe', 'cm', 'app-config', '-n', ns);
        assert.match(d, /\nAnnotations:\s+team: blue\n/);
      });

      it('edit with an editor script, and an edit that changes nothing', async () => {
        const before = await getJson('cm', 'app-config', '-n', ns);
        const edited = await kubectlOk(server(), ['edit', 'cm', 'app-config', '-n', ns], undefined, {
          env: { KUBE_EDITOR: "sed -i -e 's/color: blue/color: green/'" },
        });
        assert.equal(edited, 'configmap/app-config edited\n');
        const after = await getJson('cm', 'app-config', '-n', ns);
        assert.deepEqual(after.data, { color: 'green', size: 'm' });
        assert.equal(after.metadata.uid, before.metadata.uid);
        assert.ok(Number(after.metadata.resourceVersion) > Number(before.metadata.resourceVersion));

        const r = await kubectl(server(), ['edit', 'cm', 'app-config', '-n', ns], undefined, { env: { KUBE_EDITOR: 'true' } });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout + r.stderr, 'Edit cancelled, no changes made.\n');
        assert.equal((await getJson('cm', 'app-config', '-n', ns)).metadata.resourceVersion, after.metadata.resourceVersion);
      });

      it('patch: strategic (default), merge and json, and a patch that changes nothing', async () => {
        assert.equal(await k('patch', 'cm', 'app-config', '-n', ns, '-p', '{"data":{"size":"l"}}'), 'configmap/app-config patched\n');
        assert.equal(await k('patch', 'cm', 'app-config', '-n', ns, '-p', '{"data":{"size":"l"}}'), 'configmap/app-config patched (no change)\n');
        assert.equal(await k('patch', 'cm', 'app-config', '-n', ns, '--type=merge', '-p', '{"data":{"color":null,"shape":"round"}}'), 'configmap/app-config patched\n');
        assert.deepEqual((await getJson('cm', 'app-config', '-n', ns)).data, { shape: 'round', size: 'l' });
        assert.equal(
          await k('patch', 'cm', 'app-config', '-n', ns, '--type=json', '-p', '[{"op":"replace","path":"/data/shape","value":"square"},{"op":"remove","path":"/data/size"}]'),
          'configmap/app-config patched\n',
        );
        assert.deepEqual((await getJson('cm', 'app-config', '-n', ns)).data, { shape: 'square' });
      });

      it('replace, a replace with a stale resourceVersion, and replace --force', async () => {
        const cm = await getJson('cm', 'app-config', '-n', ns);
        cm.data = { shape: 'circle', extra: 'yes' };
        assert.equal(await kIn(JSON.stringify(cm), 'replace', '-f', '-'), 'configmap/app-config replaced\n');
        assert.deepEqual((await getJson('cm', 'app-config', '-n', ns)).data, { shape: 'circle', extra: 'yes' });

        // cm still carries the resourceVersion read before the replace above.
        cm.data = { stale: 'true' };
        assertFailed(
          await kubectl(server(), ['replace', '-f', '-'], JSON.stringify(cm)),
          'Error from server (Conflict): error when replacing "STDIN": Operation cannot be fulfilled on configmaps "app-config": the object has been modified; please apply your changes to the latest version and try again\n',
        );

        delete cm.metadata.resourceVersion;
        cm.data = { forced: 'true' };
        assert.equal(await kIn(JSON.stringify(cm), 'replace', '--force', '-f', '-'), 'configmap "app-config" deleted\nconfigmap/app-config replaced\n');
        const now = await getJson('cm', 'app-config', '-n', ns);
        assert.deepEqual(now.data, { forced: 'true' });
        assert.notEqual(now.metadata.uid, cm.metadata.uid);
      });

      it('delete', async () => {
        assert.equal(await k('delete', 'cm', 'app-config', '-n', ns), 'configmap "app-config" deleted\n');
        assertFailed(await kubectl(server(), ['get', 'cm', 'app-config', '-n', ns]), 'Error from server (NotFound): configmaps "app-config" not found\n');
        assertFailed(await kubectl(server(), ['delete', 'cm', 'app-config', '-n', ns]), 'Error from server (NotFound): configmaps "app-config" not found\n');
        const r = await kubectl(server(), ['get', 'cm', '-n', ns, '-l', 'tier']);
        assert.equal(r.code, 0);
        assert.equal(r.stdout, '');
        assert.equal(r.stderr, `No resources found in ${ns} namespace.\n`);
      });
    });

    describe('secrets', () => {
      const ns = 'b-secret';
      before(() => newNamespace(ns));

      it('create generic and docker-registry secrets, get and describe them', async () => {
        assert.equal(await k('create', 'secret', 'generic', 'creds', '-n', ns, '--from-literal=user=admin', '--from-literal=pass=s3cret'), 'secret/creds created\n');
        assert.equal(
          await k('create', 'secret', 'docker-registry', 'regcred', '-n', ns, '--docker-server=registry.example.com', '--docker-username=u', '--docker-password=p'),
          'secret/regcred created\n',
        );
        const rows = table(await k('get', 'secrets', '-n', ns));
        assert.deepEqual(
          rows.map((r) => [r.NAME, r.TYPE, r.DATA]),
          [
            ['creds', 'Opaque', '2'],
            ['regcred', 'kubernetes.io/dockerconfigjson', '1'],
          ],
        );
        assert.equal(await k('get', 'secret', 'creds', '-n', ns, '-o', 'jsonpath={.data.user}'), Buffer.from('admin').toString('base64'));
        const d = await k('describe', 'secret', 'creds', '-n', ns);
        assert.match(d, /^Name:\s+creds\nNamespace:\s+b-secret\nLabels:\s+<none>\nAnnotations:\s+<none>\n\nType:\s+Opaque\n\nData\n====\n/);
        assert.match(d, /\nuser:\s+5 bytes\n/);
        assert.match(d, /\npass:\s+6 bytes\n/);
      });

      it('stringData is folded into data by the server', async () => {
        const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'folded', namespace: ns }, stringData: { token: 'abc' }, data: { other: Buffer.from('x').toString('base64') } };
        assert.equal(await kIn(JSON.stringify(secret), 'create', '-f', '-'), 'secret/folded created\n');
        const got = await getJson('secret', 'folded', '-n', ns);
        assert.deepEqual(got.data, { other: 'eA==', token: 'YWJj' });
        assert.equal(got.stringData, undefined);
        assert.equal(got.type, 'Opaque');
      });

      it('label, annotate, edit, patch, replace and delete', async () => {
        assert.equal(await k('label', 'secret', 'creds', '-n', ns, 'env=prod'), 'secret/creds labeled\n');
        assert.equal(await k('annotate', 'secret', 'creds', '-n', ns, 'rotated=never'), 'secret/creds annotated\n');
        const b64 = (v: string) => Buffer.from(v).toString('base64');
        const edited = await kubectlOk(server(), ['edit', 'secret', 'creds', '-n', ns], undefined, {
          env: { KUBE_EDITOR: `sed -i -e 's/user: ${b64('admin')}/user: ${b64('root')}/'` },
        });
        assert.equal(edited, 'secret/creds edited\n');
        assert.equal(await k('get', 'secret', 'creds', '-n', ns, '-o', 'jsonpath={.data.user}'), b64('root'));
        assert.equal(await k('patch', 'secret', 'creds', '-n', ns, '-p', JSON.stringify({ stringData: { pass: 'n3w' } })), 'secret/creds patched\n');
        assert.equal(await k('get', 'secret', 'creds', '-n', ns, '-o', 'jsonpath={.data.pass}'), b64('n3w'));
        const cur = await getJson('secret', 'creds', '-n', ns);
        cur.data = { only: b64('one') };
        assert.equal(await kIn(JSON.stringify(cur), 'replace', '-f', '-'), 'secret/creds replaced\n');
        const got = await getJson('secret', 'creds', '-n', ns);
        assert.deepEqual(got.data, { only: b64('one') });
        assert.deepEqual(got.metadata.labels, { env: 'prod' });
        assert.deepEqual(got.metadata.annotations, { rotated: 'never' });
        assert.equal(await k('delete', 'secret', 'creds', '-n', ns), 'secret "creds" deleted\n');
      });

      it('an immutable secret refuses data changes', async () => {
        const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'frozen', namespace: ns }, immutable: true, data: { a: 'YQ==' } };
        assert.equal(await kIn(JSON.stringify(secret), 'create', '-f', '-'), 'secret/frozen created\n');
        assertFailed(
          await kubectl(server(), ['patch', 'secret', 'frozen', '-n', ns, '-p', '{"data":{"a":"Yg=="}}']),
          'The Secret "frozen" is invalid: data: Forbidden: field is immutable when `immutable` is set\n',
        );
        // Metadata stays mutable.
        assert.equal(await k('label', 'secret', 'frozen', '-n', ns, 'ok=yes'), 'secret/frozen labeled\n');
      });
    });

    describe('services', () => {
      const ns = 'b-svc';
      before(() => newNamespace(ns));

      it('create clusterip, get, describe and the server-defaulted spec', async () => {
        assert.equal(await k('create', 'service', 'clusterip', 'web', '-n', ns, '--tcp=80:8080'), 'service/web created\n');
        const svc = await getJson('svc', 'web', '-n', ns);
        assert.deepEqual(svc.metadata.labels, { app: 'web' });
        const { clusterIP: _ip, clusterIPs: _ips, ...spec } = svc.spec;
        assert.deepEqual(spec, {
          internalTrafficPolicy: 'Cluster',
          ipFamilies: ['IPv4'],
          ipFamilyPolicy: 'SingleStack',
          ports: [{ name: '80-8080', port: 80, protocol: 'TCP', targetPort: 8080 }],
          selector: { app: 'web' },
          sessionAffinity: 'None',
          type: 'ClusterIP',
        });
        assert.deepEqual(svc.status, { loadBalancer: {} });
        const rows = table(await k('get', 'svc', '-n', ns));
        assert.deepEqual(Object.keys(rows[0]), ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE']);
        assert.deepEqual([rows[0].NAME, rows[0].TYPE, rows[0]['EXTERNAL-IP'], rows[0]['PORT(S)']], ['web', 'ClusterIP', '<none>', '80/TCP']);
        const wide = table(await k('get', 'svc', 'web', '-n', ns, '-o', 'wide'));
        assert.equal(wide[0].SELECTOR, 'app=web');
        const d = await k('describe', 'svc', 'web', '-n', ns);
        assert.match(d, /^Name:\s+web\nNamespace:\s+b-svc\nLabels:\s+app=web\nAnnotations:\s+<none>\nSelector:\s+app=web\nType:\s+ClusterIP\n/);
        assert.match(d, /\nPort:\s+80-8080\s+80\/TCP\nTargetPort:\s+8080\/TCP\n/);
        assert.match(d, /\nSession Affinity:\s+None\n/);
      });

      it('a ClusterIP service gets a cluster IP allocated', async () => {
        const svc = await getJson('svc', 'web', '-n', ns);
        assert.match(String(svc.spec.clusterIP), IPV4, `spec.clusterIP is ${JSON.stringify(svc.spec.clusterIP)}`);
        assert.deepEqual(svc.spec.clusterIPs, [svc.spec.clusterIP]);
        assert.match(table(await k('get', 'svc', 'web', '-n', ns))[0]['CLUSTER-IP'], IPV4);
      });

      it('a NodePort service gets a node port from 30000-32767', async () => {
        assert.equal(await k('create', 'service', 'nodeport', 'np', '-n', ns, '--tcp=80:8080'), 'service/np created\n');
        const svc = await getJson('svc', 'np', '-n', ns);
        assert.equal(svc.spec.type, 'NodePort');
        assert.equal(svc.spec.externalTrafficPolicy, 'Cluster');
        const port = svc.spec.ports[0].nodePort;
        assert.ok(Number.isInteger(port) && port >= 30000 && port <= 32767, `nodePort is ${JSON.stringify(port)}`);
      });

      it('label, annotate, edit, strategic patch of ports, replace and delete', async () => {
        assert.equal(await k('label', 'svc', 'web', '-n', ns, 'tier=frontend'), 'service/web labeled\n');
        assert.equal(await k('annotate', 'svc', 'web', '-n', ns, 'note=hello'), 'service/web annotated\n');
        const edited = await kubectlOk(server(), ['edit', 'svc', 'web', '-n', ns], undefined, {
          env: { KUBE_EDITOR: "sed -i -e 's/sessionAffinity: None/sessionAffinity: ClientIP/'" },
        });
        assert.equal(edited, 'service/web edited\n');
        const afterEdit = await getJson('svc', 'web', '-n', ns);
        assert.equal(afterEdit.spec.sessionAffinity, 'ClientIP');
        assert.deepEqual(afterEdit.spec.sessionAffinityConfig, { clientIP: { timeoutSeconds: 10800 } });

        // Ports merge on their key (port): the new one is added, the old one kept. Upstream's strategic
        // merge puts patch items the live list does not know before the live ones (normalizeElementOrder).
        assert.equal(await k('patch', 'svc', 'web', '-n', ns, '-p', '{"spec":{"ports":[{"name":"https","port":443,"targetPort":8443}]}}'), 'service/web patched\n');
        const patched = await getJson('svc', 'web', '-n', ns);
        assert.deepEqual(
          patched.spec.ports.map((p: any) => [p.name, p.port, p.targetPort, p.protocol]),
          [
            ['https', 443, 8443, 'TCP'],
            ['80-8080', 80, 8080, 'TCP'],
          ],
        );
        assert.equal(table(await k('get', 'svc', 'web', '-n', ns))[0]['PORT(S)'], '443/TCP,80/TCP');

        patched.spec.selector = { app: 'other' };
        assert.equal(await kIn(JSON.stringify(patched), 'replace', '-f', '-'), 'service/web replaced\n');
        const replaced = await getJson('svc', 'web', '-n', ns);
        assert.deepEqual(replaced.spec.selector, { app: 'other' });
        assert.equal(replaced.spec.clusterIP, patched.spec.clusterIP);
        assert.equal(await k('delete', 'svc', 'web', '-n', ns), 'service "web" deleted\n');
        assertFailed(await kubectl(server(), ['get', 'svc', 'web', '-n', ns]), 'Error from server (NotFound): services "web" not found\n');
      });
    });

    describe('deployments', () => {
      const ns = 'b-deploy';
      before(() => newNamespace(ns));

      it('create, get (also -o wide), describe and the server defaults', async () => {
        assert.equal(await k('create', 'deployment', 'web', '-n', ns, '--image=nginx:1.25', '--replicas=2'), 'deployment.apps/web created\n');
        const rows = table(await k('get', 'deploy', 'web', '-n', ns));
        assert.deepEqual(Object.keys(rows[0]), ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE']);
        // The counts are the deployment controller's to fill in; only their shape is the API server's.
        assert.equal(rows[0].NAME, 'web');
        assert.match(rows[0].READY, /^\d+\/2$/);
        assert.match(rows[0]['UP-TO-DATE'], /^\d+$/);
        assert.match(rows[0].AVAILABLE, /^\d+$/);
        const wide = table(await k('get', 'deployments.apps', 'web', '-n', ns, '-o', 'wide'));
        assert.deepEqual([wide[0].CONTAINERS, wide[0].IMAGES, wide[0].SELECTOR], ['nginx', 'nginx:1.25', 'app=web']);

        const d = await getJson('deploy', 'web', '-n', ns);
        assert.equal(d.metadata.generation, 1);
        assert.deepEqual(d.metadata.labels, { app: 'web' });
        assert.deepEqual(d.spec, {
          ...DEPLOYMENT_SPEC_DEFAULTS,
          replicas: 2,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { creationTimestamp: null, labels: { app: 'web' } },
            spec: {
              containers: [{ image: 'nginx:1.25', name: 'nginx', ...CONTAINER_DEFAULTS }],
              ...POD_TEMPLATE_SPEC_DEFAULTS,
            },
          },
        });

        const text = await k('describe', 'deploy', 'web', '-n', ns);
        assert.match(text, /^Name:\s+web\nNamespace:\s+b-deploy\nCreationTimestamp:\s+.+\nLabels:\s+app=web\nAnnotations:\s+<none>\nSelector:\s+app=web\n/);
        assert.match(text, /\nReplicas:\s+2 desired \| \d+ updated \| \d+ total \| \d+ available \| \d+ unavailable\nStrategyType:\s+RollingUpdate\n/);
        assert.match(text, /\nRollingUpdateStrategy:\s+25% max unavailable, 25% max surge\n/);
        assert.match(text, /\n\s+nginx:\n\s+Image:\s+nginx:1\.25\n/);
      });

      it('label, annotate, edit, set image, strategic/merge/json patches, replace and delete', async () => {
        assert.equal(await k('label', 'deploy', 'web', '-n', ns, 'team=blue'), 'deployment.apps/web labeled\n');
        assert.equal(await k('annotate', 'deploy', 'web', '-n', ns, 'note=hi'), 'deployment.apps/web annotated\n');
        // Labels leave a Deployment's generation alone; annotations do not (upstream's strategy: they
        // are copied to ReplicaSets, so the controller must see them).
        assert.equal((await getJson('deploy', 'web', '-n', ns)).metadata.generation, 2, 'an annotation change is a new generation');

        const edited = await kubectlOk(server(), ['edit', 'deploy', 'web', '-n', ns], undefined, {
          env: { KUBE_EDITOR: "sed -i -e 's/image: nginx:1.25/image: nginx:1.26/'" },
        });
        assert.equal(edited, 'deployment.apps/web edited\n');
        let d = await getJson('deploy', 'web', '-n', ns);
        assert.equal(d.spec.template.spec.containers[0].image, 'nginx:1.26');
        assert.equal(d.metadata.generation, 3);

        // Containers merge on their name: a patch naming a new container adds it (first, as upstream's
        // strategic merge orders new items before live ones) and keeps nginx.
        assert.equal(
          await k('patch', 'deploy', 'web', '-n', ns, '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:1.36","command":["sleep","3600"]}]}}}}'),
          'deployment.apps/web patched\n',
        );
        d = await getJson('deploy', 'web', '-n', ns);
        assert.deepEqual(
          d.spec.template.spec.containers.map((c: any) => [c.name, c.image, c.imagePullPolicy]),
          [
            ['sidecar', 'busybox:1.36', 'IfNotPresent'],
            ['nginx', 'nginx:1.26', 'IfNotPresent'],
          ],
        );
        assert.equal(d.metadata.generation, 4);

        assert.equal(await k('set', 'image', 'deploy/web', '-n', ns, 'sidecar=busybox:1.37'), 'deployment.apps/web image updated\n');
        assert.equal(await k('get', 'deploy', 'web', '-n', ns, '-o', 'jsonpath={.spec.template.spec.containers[?(@.name=="sidecar")].image}'), 'busybox:1.37');

        assert.equal(await k('patch', 'deploy', 'web', '-n', ns, '--type=merge', '-p', '{"spec":{"replicas":3,"revisionHistoryLimit":null}}'), 'deployment.apps/web patched\n');
        d = await getJson('deploy', 'web', '-n', ns);
        assert.equal(d.spec.replicas, 3);
        assert.equal(d.spec.revisionHistoryLimit, 10, 'a removed defaulted field is defaulted again');

        assert.equal(
          await k('patch', 'deploy', 'web', '-n', ns, '--type=json', '-p', '[{"op":"test","path":"/spec/template/spec/containers/0/name","value":"sidecar"},{"op":"remove","path":"/spec/template/spec/containers/0"}]'),
          'deployment.apps/web patched\n',
        );
        d = await getJson('deploy', 'web', '-n', ns);
        assert.deepEqual(
          d.spec.template.spec.containers.map((c: any) => c.name),
          ['nginx'],
        );

        d.spec.template.spec.containers[0].image = 'nginx:1.27';
        assert.equal(await kIn(JSON.stringify(d), 'replace', '-f', '-'), 'deployment.apps/web replaced\n');
        const replaced = await getJson('deploy', 'web', '-n', ns);
        assert.equal(replaced.spec.template.spec.containers[0].image, 'nginx:1.27');
        assert.deepEqual(replaced.metadata.labels, { app: 'web', team: 'blue' });

        assert.equal(await k('delete', 'deploy', 'web', '-n', ns), 'deployment.apps "web" deleted\n');
        assertFailed(await kubectl(server(), ['get', 'deploy', 'web', '-n', ns]), 'Error from server (NotFound): deployments.apps "web" not found\n');
      });

      it('scale through the scale subresource', async () => {
        await k('create', 'deployment', 'scaled', '-n', ns, '--image=nginx:1.25');
        assert.equal(await k('scale', 'deploy', 'scaled', '-n', ns, '--replicas=3'), 'deployment.apps/scaled scaled\n');
        const d = await getJson('deploy', 'scaled', '-n', ns);
        assert.equal(d.spec.replicas, 3);
        assert.equal(d.metadata.generation, 2);
        const scale = JSON.parse(await k('get', 'deploy', 'scaled', '-n', ns, '--subresource=scale', '-o', 'json'));
        assert.deepEqual([scale.apiVersion, scale.kind], ['autoscaling/v1', 'Scale']);
        assert.deepEqual(Object.keys(scale.metadata).sort(), ['creationTimestamp', 'name', 'namespace', 'resourceVersion', 'uid']);
        assert.deepEqual(
          [scale.metadata.name, scale.metadata.namespace, scale.metadata.uid, scale.metadata.creationTimestamp],
          ['scaled', ns, d.metadata.uid, d.metadata.creationTimestamp],
        );
        assert.match(scale.metadata.resourceVersion, /^\d+$/);
        assert.deepEqual(scale.spec, { replicas: 3 });
        assert.equal(scale.status.selector, 'app=scaled');
        assert.equal(typeof scale.status.replicas, 'number');
        assertFailed(await kubectl(server(), ['scale', 'deploy', 'scaled', '-n', ns, '--replicas=5', '--current-replicas=2']), 'error: Expected replicas to be 2, was 3\n');
        assert.equal(await k('patch', 'deploy', 'scaled', '-n', ns, '--subresource=scale', '--type=merge', '-p', '{"spec":{"replicas":4}}'), 'scale.autoscaling/scaled patched\n');
        assert.equal(await k('get', 'deploy', 'scaled', '-n', ns, '-o', 'jsonpath={.spec.replicas}'), '4');
      });

      it('a template whose labels miss the selector is invalid', async () => {
        const bad = {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'bad', namespace: ns },
          spec: {
            selector: { matchLabels: { app: 'bad' } },
            template: { metadata: { labels: { app: 'other' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
          },
        };
        assertFailed(
          await kubectl(server(), ['create', '-f', '-'], JSON.stringify(bad)),
          'The Deployment "bad" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`\n',
        );
      });
    });

    describe('namespaces', () => {
      it('create, get, describe, label, annotate, edit, patch, replace and delete', async () => {
        const ns = 'b-ns';
        await newNamespace(ns);
        const rows = table(await k('get', 'ns', ns));
        assert.deepEqual(
          rows.map((r) => [r.NAME, r.STATUS]),
          [[ns, 'Active']],
        );
        const obj = await getJson('ns', ns);
        assert.deepEqual(obj.metadata.labels, { 'kubernetes.io/metadata.name': ns });
        assert.deepEqual(obj.spec, { finalizers: ['kubernetes'] });
        assert.deepEqual(obj.status, { phase: 'Active' });
        assert.equal(
          await k('describe', 'ns', ns),
          `Name:         ${ns}\nLabels:       kubernetes.io/metadata.name=${ns}\nAnnotations:  <none>\nStatus:       Active\n\nNo resource quota.\n\nNo LimitRange resource.\n`,
        );
        assert.equal(await k('label', 'ns', ns, 'team=blue'), `namespace/${ns} labeled\n`);
        assert.equal(await k('annotate', 'ns', ns, 'owner=bob'), `namespace/${ns} annotated\n`);
        const edited = await kubectlOk(server(), ['edit', 'ns', ns], undefined, { env: { KUBE_EDITOR: "sed -i -e 's/team: blue/team: red/'" } });
        assert.equal(edited, `namespace/${ns} edited\n`);
        assert.equal(await k('patch', 'ns', ns, '-p', '{"metadata":{"labels":{"env":"dev"}}}'), `namespace/${ns} patched\n`);
        const cur = await getJson('ns', ns);
        assert.deepEqual(cur.metadata.labels, { env: 'dev', 'kubernetes.io/metadata.name': ns, team: 'red' });
        cur.metadata.annotations = { owner: 'carol' };
        assert.equal(await kIn(JSON.stringify(cur), 'replace', '-f', '-'), `namespace/${ns} replaced\n`);
        assert.deepEqual((await getJson('ns', ns)).metadata.annotations, { owner: 'carol' });
        assert.equal(await k('delete', 'ns', ns), `namespace "${ns}" deleted\n`);
        assertFailed(await kubectl(server(), ['get', 'ns', ns]), `Error from server (NotFound): namespaces "${ns}" not found\n`);
      });

      it('the system namespaces exist', async () => {
        const names = (await k('get', 'ns', '-o', 'name')).split('\n');
        for (const n of ['default', 'kube-node-lease', 'kube-public', 'kube-system']) assert.ok(names.includes(`namespace/${n}`), `missing ${n} in ${names}`);
      });
    });

    describe('jobs', () => {
      const ns = 'b-job';
      before(() => newNamespace(ns));

      it('create, get, describe and the generated selector and defaults', async () => {
        assert.equal(await k('create', 'job', 'pi', '-n', ns, '--image=busybox:1.36', '--', 'echo', 'hi'), 'job.batch/pi created\n');
        const job = await getJson('job', 'pi', '-n', ns);
        const uid = job.metadata.uid;
        const labels = { 'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': 'pi', 'controller-uid': uid, 'job-name': 'pi' };
        assert.deepEqual(job.metadata.labels, labels);
        assert.deepEqual(job.spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } });
        assert.deepEqual(job.spec.template.metadata, { creationTimestamp: null, labels });
        assert.equal(job.spec.backoffLimit, 6);
        assert.equal(job.spec.completions, 1);
        assert.equal(job.spec.parallelism, 1);
        assert.equal(job.spec.completionMode, 'NonIndexed');
        assert.equal(job.spec.suspend, false);
        assert.equal(job.spec.podReplacementPolicy, 'TerminatingOrFailed');
        assert.equal(job.spec.template.spec.restartPolicy, 'Never');
        assert.deepEqual(job.spec.template.spec.containers[0].command, ['echo', 'hi']);

        const rows = table(await k('get', 'jobs', '-n', ns));
        assert.equal(rows.length, 1);
        assert.equal(rows[0].NAME, 'pi');
        assert.match(rows[0].COMPLETIONS, /^\d\/1$/);
        const d = await k('describe', 'job', 'pi', '-n', ns);
        assert.match(d, /^Name:\s+pi\nNamespace:\s+b-job\nSelector:\s+batch\.kubernetes\.io\/controller-uid=/);
        assert.match(d, /\nParallelism:\s+1\nCompletions:\s+1\nCompletion Mode:\s+NonIndexed\n/);
      });

      it('label, annotate, edit, patch, an immutable template, replace and delete', async () => {
        assert.equal(await k('label', 'job', 'pi', '-n', ns, 'run=once'), 'job.batch/pi labeled\n');
        assert.equal(await k('annotate', 'job', 'pi', '-n', ns, 'why=test'), 'job.batch/pi annotated\n');
        const edited = await kubectlOk(server(), ['edit', 'job', 'pi', '-n', ns], undefined, { env: { KUBE_EDITOR: "sed -i -e 's/backoffLimit: 6/backoffLimit: 2/'" } });
        assert.equal(edited, 'job.batch/pi edited\n');
        assert.equal(await k('get', 'job', 'pi', '-n', ns, '-o', 'jsonpath={.spec.backoffLimit}'), '2');
        assert.equal(await k('patch', 'job', 'pi', '-n', ns, '--type=merge', '-p', '{"spec":{"suspend":true}}'), 'job.batch/pi patched\n');
        assert.equal(await k('get', 'job', 'pi', '-n', ns, '-o', 'jsonpath={.spec.suspend}'), 'true');
        assertFailed(
          await kubectl(server(), ['patch', 'job', 'pi', '-n', ns, '--type=json', '-p', '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"busybox:2"}]']),
          /^The Job "pi" is invalid: spec\.template: Invalid value: .*: field is immutable\n$/s,
        );
        const cur = await getJson('job', 'pi', '-n', ns);
        cur.spec.activeDeadlineSeconds = 600;
        assert.equal(await kIn(JSON.stringify(cur), 'replace', '-f', '-'), 'job.batch/pi replaced\n');
        assert.equal(await k('get', 'job', 'pi', '-n', ns, '-o', 'jsonpath={.spec.activeDeadlineSeconds}'), '600');
        assert.equal(await k('delete', 'job', 'pi', '-n', ns), 'job.batch "pi" deleted\n');
        assertFailed(await kubectl(server(), ['get', 'job', 'pi', '-n', ns]), 'Error from server (NotFound): jobs.batch "pi" not found\n');
      });
    });

    describe('output formats', () => {
      const ns = 'b-out';
      before(async () => {
        await newNamespace(ns);
        await k('create', 'cm', 'alpha', '-n', ns, '--from-literal=color=red');
        await k('create', 'cm', 'beta', '-n', ns, '--from-literal=color=blue', '--from-literal=size=xl');
        await k('label', 'cm', 'alpha', 'beta', '-n', ns, 'set=fmt');
      });

      it('-o yaml and -o json of one object and of a list', async () => {
        const one = parseYaml(await k('get', 'cm', 'alpha', '-n', ns, '-o', 'yaml'));
        assert.equal(one.apiVersion, 'v1');
        assert.equal(one.kind, 'ConfigMap');
        assert.equal(one.metadata.name, 'alpha');
        assert.equal(one.metadata.namespace, ns);
        assert.match(one.metadata.uid, /^[0-9a-f-]{36}$/);
        assert.match(one.metadata.resourceVersion, /^\d+$/);
        assert.match(one.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        assert.deepEqual(one.data, { color: 'red' });
        assert.equal(one.metadata.managedFields, undefined);

        const list = JSON.parse(await k('get', 'cm', '-l', 'set=fmt', '-n', ns, '-o', 'json'));
        assert.equal(list.kind, 'List');
        assert.deepEqual(
          list.items.map((i: any) => [i.kind, i.apiVersion, i.metadata.name]),
          [
            ['ConfigMap', 'v1', 'alpha'],
            ['ConfigMap', 'v1', 'beta'],
          ],
        );
        const yamlList = parseYaml(await k('get', 'cm', '-l', 'set=fmt', '-n', ns, '-o', 'yaml'));
        assert.deepEqual(yamlList, list);
      });

      it('-o name, jsonpath, custom-columns, wide, --no-headers, --sort-by and -A', async () => {
        assert.equal(await k('get', 'cm', '-l', 'set=fmt', '-n', ns, '-o', 'name'), 'configmap/alpha\nconfigmap/beta\n');
        assert.equal(await k('get', 'cm', '-l', 'set=fmt', '-n', ns, '-o', 'jsonpath={.items[*].metadata.name}'), 'alpha beta');
        assert.equal(
          await k('get', 'cm', '-l', 'set=fmt', '-n', ns, '-o', 'jsonpath={range .items[*]}{.metadata.name}={.data.color}{"\\n"}{end}'),
          'alpha=red\nbeta=blue\n',
        );
        assert.equal(await k('get', 'cm', 'beta', '-n', ns, '-o', 'jsonpath={.data.size}'), 'xl');
        assert.equal(
          await k('get', 'cm', '-l', 'set=fmt', '-n', ns, '-o', 'custom-columns=NAME:.metadata.name,COLOR:.data.color,NS:.metadata.namespace'),
          `NAME    COLOR   NS\nalpha   red     ${ns}\nbeta    blue    ${ns}\n`,
        );
        assert.match(await k('get', 'cm', '-l', 'set=fmt', '-n', ns, '-o', 'wide'), /^NAME\s+DATA\s+AGE\nalpha\s+1\s+\S+\nbeta\s+2\s+\S+\n$/);
        assert.match(await k('get', 'cm', '-l', 'set=fmt', '-n', ns, '--no-headers'), /^alpha\s+1\s+\S+\nbeta\s+2\s+\S+\n$/);
        assert.equal(await k('get', 'cm', '-l', 'set=fmt', '-n', ns, '--sort-by=.data.color', '-o', 'name'), 'configmap/beta\nconfigmap/alpha\n');
        assert.match(await k('get', 'cm', '-A', '-l', 'set=fmt'), new RegExp(`^NAMESPACE\\s+NAME\\s+DATA\\s+AGE\\n${ns}\\s+alpha\\s+1\\s+\\S+\\n${ns}\\s+beta\\s+2\\s+\\S+\\n$`));
        assert.equal(await k('get', 'cm/alpha', 'configmap/beta', '-n', ns, '-o', 'name'), 'configmap/alpha\nconfigmap/beta\n');
      });

      it('what get -o yaml prints for several objects (a List) goes back in with create -f and apply -f', async () => {
        await k('create', 'cm', 'list-1', '-n', ns, '--from-literal=n=1');
        await k('create', 'cm', 'list-2', '-n', ns, '--from-literal=n=2');
        await k('label', 'cm', 'list-1', 'list-2', '-n', ns, 'set=list');
        const listed = await k('get', 'cm', '-l', 'set=list', '-n', ns, '-o', 'yaml');
        assert.match(listed, /^apiVersion: v1\nitems:\n/);
        assert.match(listed, /\nkind: List\n/);
        assert.equal(await k('delete', 'cm', '-l', 'set=list', '-n', ns), 'configmap "list-1" deleted\nconfigmap "list-2" deleted\n');
        const stripped = parseYaml(listed);
        for (const item of stripped.items) {
          delete item.metadata.resourceVersion;
          delete item.metadata.uid;
          delete item.metadata.creationTimestamp;
        }
        const doc = JSON.stringify(stripped);
        assert.equal(await kIn(doc, 'create', '-f', '-'), 'configmap/list-1 created\nconfigmap/list-2 created\n');
        assert.equal(await kIn(doc, 'apply', '-f', '-'), 'configmap/list-1 configured\nconfigmap/list-2 configured\n');
        assert.deepEqual(
          (await getJson('cm', '-l', 'set=list', '-n', ns)).items.map((i: any) => [i.metadata.name, i.data]),
          [
            ['list-1', { n: '1' }],
            ['list-2', { n: '2' }],
          ],
        );
      });

      it('several kinds in one get', async () => {
        await k('create', 'secret', 'generic', 'gamma', '-n', ns, '--from-literal=k=v');
        await k('label', 'secret', 'gamma', '-n', ns, 'set=fmt');
        const out = await k('get', 'cm,secret', '-n', ns, '-l', 'set=fmt', '-o', 'name');
        assert.equal(out, 'configmap/alpha\nconfigmap/beta\nsecret/gamma\n');
        const tables = await k('get', 'configmaps,secrets', '-n', ns, '-l', 'set=fmt');
        assert.match(tables, /^NAME\s+DATA\s+AGE\nconfigmap\/alpha\s+1\s+\S+\nconfigmap\/beta\s+2\s+\S+\n\nNAME\s+TYPE\s+DATA\s+AGE\nsecret\/gamma\s+Opaque\s+1\s+\S+\n$/);
      });
    });

    describe('discovery', () => {
      it('api-resources lists the kinds with their short names', async () => {
        const out = await k('api-resources');
        assert.match(out, /^NAME\s+SHORTNAMES\s+APIVERSION\s+NAMESPACED\s+KIND\n/);
        for (const re of [
          /^configmaps\s+cm\s+v1\s+true\s+ConfigMap$/m,
          /^namespaces\s+ns\s+v1\s+false\s+Namespace$/m,
          /^pods\s+po\s+v1\s+true\s+Pod$/m,
          /^secrets\s+v1\s+true\s+Secret$/m,
          /^services\s+svc\s+v1\s+true\s+Service$/m,
          /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m,
          /^replicasets\s+rs\s+apps\/v1\s+true\s+ReplicaSet$/m,
          /^jobs\s+batch\/v1\s+true\s+Job$/m,
          /^cronjobs\s+cj\s+batch\/v1\s+true\s+CronJob$/m,
        ]) {
          assert.match(out, re);
        }
        assert.equal(
          await k('api-resources', '--api-group=apps', '-o', 'name'),
          'controllerrevisions.apps\ndaemonsets.apps\ndeployments.apps\nreplicasets.apps\nstatefulsets.apps\n',
        );
        const cluster = (await k('api-resources', '--namespaced=false', '-o', 'name')).split('\n');
        assert.ok(cluster.includes('namespaces') && cluster.includes('nodes'), cluster.join(' '));
        assert.ok(!cluster.includes('pods') && !cluster.includes('configmaps'), cluster.join(' '));
        // Short names resolve.
        for (const short of ['cm', 'deploy', 'po', 'svc', 'ns']) {
          const r = await kubectl(server(), ['get', short, '-n', 'default']);
          assert.equal(r.code, 0, `kubectl get ${short}: ${r.stderr}`);
        }
      });

      it('api-versions', async () => {
        const versions = (await k('api-versions')).trimEnd().split('\n');
        for (const v of ['v1', 'apps/v1', 'batch/v1', 'autoscaling/v1', 'autoscaling/v2', 'networking.k8s.io/v1', 'policy/v1', 'rbac.authorization.k8s.io/v1', 'storage.k8s.io/v1', 'coordination.k8s.io/v1']) {
          assert.ok(versions.includes(v), `${v} missing from api-versions:\n${versions.join('\n')}`);
        }
        assert.deepEqual(versions, [...versions].sort(), 'api-versions prints sorted');
      });

      it('version and cluster-info', async () => {
        const v = JSON.parse(await k('version', '-o', 'json'));
        assert.equal(v.serverVersion.major, '1');
        assert.equal(v.serverVersion.minor, '30');
        assert.equal(v.clientVersion.minor, '30');
        const info = await k('cluster-info');
        assert.match(info, new RegExp(`Kubernetes control plane.* is running at .*https://127\\.0\\.0\\.1:${server().port}`));
      });

      it('get all shows services, deployments and jobs', async () => {
        const ns = 'b-all';
        await newNamespace(ns);
        await k('create', 'service', 'clusterip', 'web', '-n', ns, '--tcp=80:80');
        await k('create', 'deployment', 'web', '-n', ns, '--image=nginx:1.25');
        await k('create', 'job', 'once', '-n', ns, '--image=busybox:1.36', '--', 'true');
        await k('create', 'cm', 'not-in-all', '-n', ns);
        const out = await k('get', 'all', '-n', ns);
        assert.match(out, /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE\nservice\/web\s+ClusterIP\s+\S+\s+<none>\s+80\/TCP\s+\S+\n/m);
        assert.match(out, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\ndeployment\.apps\/web\s+\d+\/1\s+\d+\s+\d+\s+\S+\n/m);
        assert.match(out, /^job\.batch\/once\s/m);
        assert.doesNotMatch(out, /not-in-all/);
        // Controllers add replicasets and pods to this list; what we created comes in this order.
        const named = (await k('get', 'all', '-n', ns, '-o', 'name')).split('\n').filter((l) => /^(service|deployment\.apps|job\.batch)\//.test(l));
        assert.deepEqual(named, ['service/web', 'deployment.apps/web', 'job.batch/once']);
      });

      it('explain', async () => {
        const out = await k('explain', 'deployment.spec.template.spec.containers');
        assert.match(out, /^GROUP:\s+apps\nKIND:\s+Deployment\nVERSION:\s+v1\n\nFIELD: containers <\[\]Container>\n/);
        assert.match(out, /\nDESCRIPTION:\n\s+List of containers belonging to the pod\./);
        assert.match(out, /\nFIELDS:\n/);
        assert.match(out, /^ {2}image\t<string>$/m);
        assert.match(out, /^ {2}name\t<string> -required-$/m);
        assert.match(out, /^ {2}ports\t<\[\]ContainerPort>$/m);
        const cm = await k('explain', 'cm');
        assert.match(cm, /^KIND:\s+ConfigMap\nVERSION:\s+v1\n/);
        assert.match(cm, /^ {2}data\t<map\[string\]string>$/m);
        const r = await kubectl(server(), ['explain', 'deployment.spec.nope']);
        assertFailed(r, 'error: field "nope" does not exist\n');
      });
    });

    describe('errors', () => {
      const ns = 'b-err';
      before(async () => {
        await newNamespace(ns);
        await k('create', 'cm', 'dup', '-n', ns);
      });

      it('get and delete of a missing object, and an unknown resource type', async () => {
        assertFailed(await kubectl(server(), ['get', 'cm', 'nope', '-n', ns]), 'Error from server (NotFound): configmaps "nope" not found\n');
        assertFailed(await kubectl(server(), ['get', 'deploy', 'nope', '-n', ns]), 'Error from server (NotFound): deployments.apps "nope" not found\n');
        assertFailed(await kubectl(server(), ['delete', 'secret', 'nope', '-n', ns]), 'Error from server (NotFound): secrets "nope" not found\n');
        assertFailed(await kubectl(server(), ['get', 'ns', 'nope']), 'Error from server (NotFound): namespaces "nope" not found\n');
        assertFailed(await kubectl(server(), ['get', 'widgets']), 'error: the server doesn\'t have a resource type "widgets"\n');
        const r = await kubectl(server(), ['get', 'cm', '--ignore-not-found', 'nope', '-n', ns]);
        assert.equal(r.code, 0);
        assert.equal(r.stdout + r.stderr, '');
      });

      it('create of an existing object is AlreadyExists', async () => {
        assertFailed(await kubectl(server(), ['create', 'cm', 'dup', '-n', ns]), 'error: failed to create configmap: configmaps "dup" already exists\n');
        const manifest = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'dup', namespace: ns } });
        assertFailed(await kubectl(server(), ['create', '-f', '-'], manifest), 'Error from server (AlreadyExists): error when creating "STDIN": configmaps "dup" already exists\n');
      });

      it('an invalid name is a 422 with the validation message', async () => {
        const manifest = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Bad_Name', namespace: ns } });
        assertFailed(
          await kubectl(server(), ['create', '-f', '-'], manifest),
          `The ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')\n`,
        );
        assertFailed(
          await kubectl(server(), ['create', 'namespace', 'Bad.NS']),
          `The Namespace "Bad.NS" is invalid: metadata.name: Invalid value: "Bad.NS": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')\n`,
        );
      });

      it('--dry-run=server creates nothing', async () => {
        assert.equal(await k('create', 'cm', 'dry', '-n', ns, '--from-literal=a=b', '--dry-run=server'), 'configmap/dry created (server dry run)\n');
        assertFailed(await kubectl(server(), ['get', 'cm', 'dry', '-n', ns]), 'Error from server (NotFound): configmaps "dry" not found\n');
        const dryYaml = parseYaml(await k('create', 'cm', 'dry', '-n', ns, '--from-literal=a=b', '--dry-run=server', '-o', 'yaml'));
        assert.equal(dryYaml.metadata.name, 'dry');
        assert.match(dryYaml.metadata.uid, /^[0-9a-f-]{36}$/, 'a server dry run returns the object as it would be stored');
        assertFailed(await kubectl(server(), ['get', 'cm', 'dry', '-n', ns]), 'Error from server (NotFound): configmaps "dry" not found\n');
      });

      it('--dry-run=server changes nothing on label and patch', async () => {
        const rv = (await getJson('cm', 'dup', '-n', ns)).metadata.resourceVersion;
        assert.equal(await k('label', 'cm', 'dup', '-n', ns, 'x=y', '--dry-run=server'), 'configmap/dup labeled (server dry run)\n');
        // kubectl 1.30's patch prints no dry-run suffix.
        assert.equal(await k('patch', 'cm', 'dup', '-n', ns, '-p', '{"data":{"a":"b"}}', '--dry-run=server'), 'configmap/dup patched\n');
        const after = await getJson('cm', 'dup', '-n', ns);
        assert.equal(after.metadata.resourceVersion, rv);
        assert.equal(after.metadata.labels, undefined);
        assert.equal(after.data, undefined);
      });

      it('--dry-run=server deletes nothing (kubectl sends dryRun in the DeleteOptions body)', async () => {
        await k('create', 'cm', 'keep', '-n', ns);
        const rv = (await getJson('cm', 'keep', '-n', ns)).metadata.resourceVersion;
        assert.equal(await k('delete', 'cm', 'keep', '-n', ns, '--dry-run=server'), 'configmap "keep" deleted (server dry run)\n');
        assert.equal((await getJson('cm', 'keep', '-n', ns)).metadata.resourceVersion, rv);
      });

      const withUnknownField = (name: string) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
  namespace: ${ns}
data:
  fine: "yes"
spec:
  oops: true
`;

      it('a YAML with an unknown field fails under --validate=strict (the default) with the strict decoding message', async () => {
        const strict = await kubectl(server(), ['create', '-f', '-', '--validate=strict'], withUnknownField('strict'));
        assertFailed(strict, 'Error from server (BadRequest): error when creating "STDIN": ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "spec"\n');
        assertFailed(await kubectl(server(), ['create', '-f', '-'], withUnknownField('strict')), strict.stderr);
        assertFailed(await kubectl(server(), ['get', 'cm', 'strict', '-n', ns]), 'Error from server (NotFound): configmaps "strict" not found\n');
      });

      it('a nested unknown field is named by its path', async () => {
        const nested = JSON.stringify({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'nested', namespace: ns },
          spec: {
            selector: { matchLabels: { app: 'n' } },
            template: { metadata: { labels: { app: 'n' } }, spec: { containers: [{ name: 'c', image: 'nginx', imagePullPolice: 'Always' }] } },
          },
        });
        assertFailed(
          await kubectl(server(), ['create', '-f', '-', '--validate=strict'], nested),
          'Error from server (BadRequest): error when creating "STDIN": Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.template.spec.containers[0].imagePullPolice"\n',
        );
      });

      it('an unknown field warns under --validate=warn and passes silently under --validate=false', async () => {
        const warn = await kubectl(server(), ['create', '-f', '-', '--validate=warn'], withUnknownField('warned'));
        assert.equal(warn.code, 0, warn.stderr);
        assert.equal(warn.stdout, 'configmap/warned created\n');
        assert.equal(warn.stderr, 'Warning: unknown field "spec"\n');

        const loose = await kubectl(server(), ['create', '-f', '-', '--validate=false'], withUnknownField('loose'));
        assert.equal(loose.code, 0, loose.stderr);
        assert.equal(loose.stdout, 'configmap/loose created\n');
        assert.equal(loose.stderr, '');
        const stored = await getJson('cm', 'loose', '-n', ns);
        assert.equal(stored.spec, undefined, 'unknown fields are dropped');
        assert.deepEqual(stored.data, { fine: 'yes' });
      });
    });
  });
}
