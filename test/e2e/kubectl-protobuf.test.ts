/**
 * kubectl 1.32 writes the bodies of `kubectl create <generator>`, `auth can-i` and `auth whoami` as
 * application/vnd.kubernetes.protobuf (client-go's typed clients). skiff decodes them into the same
 * objects the JSON would have made. /usr/bin/kubectl may be a dispatcher that picks a kubectl by
 * server version (ours reports 1.30, whose kubectl writes JSON), so the 1.32 binary is run directly
 * where it exists; `--user` makes the dispatcher fall back to its newest kubectl as well.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { API_ONLY_ARGS, startSkiff, type SkiffProcess } from '../harness/skiff.js';

const KUBECTL_132 = ['/usr/lib/google-cloud-sdk/bin/kubectl.1.32', '/usr/bin/kubectl'].find((p) => existsSync(p)) ?? 'kubectl';

function run(s: SkiffProcess, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((res) => {
    execFile(KUBECTL_132, ['--kubeconfig', s.kubeconfig, ...args], { timeout: 60_000, env: { ...process.env, HOME: s.dataDir } }, (err, stdout, stderr) => {
      res({ code: err ? 1 : 0, out: stdout + stderr });
    });
  });
}

async function ok(s: SkiffProcess, ...args: string[]): Promise<string> {
  const r = await run(s, args);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}:\n${r.out}`);
  assert.doesNotMatch(r.out, /unknown format/);
  return r.out;
}

const getJson = async (s: SkiffProcess, ...args: string[]): Promise<any> => JSON.parse(await ok(s, 'get', ...args, '-o', 'json'));

describe('kubectl 1.32 protobuf request bodies', () => {
  let skiff: SkiffProcess;

  before(async () => {
    skiff = await startSkiff({ extraArgs: API_ONLY_ARGS });
    await ok(skiff, 'create', 'namespace', 'team');
  });
  after(async () => {
    await skiff?.stop();
  });

  it('sends protobuf (checked once, so the tests below prove something)', async () => {
    const r = await run(skiff, ['-v=9', 'create', 'role', 'probe', '--verb=get', '--resource=pods', '-n', 'team']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /6b 38 73 00/, 'kubectl wrote no protobuf body: this kubectl is not 1.32');
  });

  it('create role and clusterrole with verbs, resources, resource names, URLs and aggregation rules', async () => {
    await ok(skiff, 'create', 'role', 'pod-reader', '--verb=get,list', '--resource=pods,deployments.apps,pods/log', '--resource-name=a', '--resource-name=b', '-n', 'team');
    const role = await getJson(skiff, 'role', 'pod-reader', '-n', 'team');
    assert.deepEqual(role.rules, [
      { apiGroups: [''], resources: ['pods', 'pods/log'], resourceNames: ['a', 'b'], verbs: ['get', 'list'] },
      { apiGroups: ['apps'], resources: ['deployments'], resourceNames: ['a', 'b'], verbs: ['get', 'list'] },
    ]);
    await ok(skiff, 'create', 'clusterrole', 'logs', '--verb=get', '--non-resource-url=/logs/*');
    assert.deepEqual((await getJson(skiff, 'clusterrole', 'logs')).rules, [{ nonResourceURLs: ['/logs/*'], verbs: ['get'] }]);
    await ok(skiff, 'create', 'clusterrole', 'monitoring', '--aggregation-rule=rbac.example.com/aggregate-to-monitoring=true');
    const agg = await getJson(skiff, 'clusterrole', 'monitoring');
    assert.deepEqual(agg.aggregationRule, { clusterRoleSelectors: [{ matchLabels: { 'rbac.example.com/aggregate-to-monitoring': 'true' } }] });
  });

  it('create rolebinding and clusterrolebinding for users, groups and service accounts', async () => {
    await ok(skiff, 'create', 'rolebinding', 'alice-view', '--clusterrole', 'view', '--user', 'alice', '-n', 'team');
    const rb = await getJson(skiff, 'rolebinding', 'alice-view', '-n', 'team');
    assert.deepEqual(rb.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' });
    assert.deepEqual(rb.subjects, [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }]);
    await ok(skiff, 'create', 'clusterrolebinding', 'mixed', '--clusterrole', 'view', '--user', 'bob', '--group', 'devs', '--serviceaccount', 'team:bot');
    const crb = await getJson(skiff, 'clusterrolebinding', 'mixed');
    assert.deepEqual(
      crb.subjects.map((s: any) => [s.kind, s.name, s.namespace ?? '']),
      [
        ['User', 'bob', ''],
        ['Group', 'devs', ''],
        ['ServiceAccount', 'bot', 'team'],
      ],
    );
    await ok(skiff, 'create', 'rolebinding', 'readers', '--role', 'pod-reader', '--group', 'devs', '-n', 'team');
    assert.deepEqual((await getJson(skiff, 'rolebinding', 'readers', '-n', 'team')).roleRef.kind, 'Role');
    // The binding takes effect: alice may now list pods in team (as upstream's view role allows).
    assert.match(await ok(skiff, 'auth', 'can-i', 'list', 'pods', '-n', 'team', '--as', 'alice'), /^yes/);
  });

  it('the other create generators, auth can-i and whoami', async () => {
    await ok(skiff, 'create', 'serviceaccount', 'bot', '-n', 'team');
    assert.match(await ok(skiff, 'create', 'token', 'bot', '-n', 'team', '--duration=1h'), /^ey/);
    await ok(skiff, 'create', 'configmap', 'cm', '--from-literal=a=b', '-n', 'team');
    assert.deepEqual((await getJson(skiff, 'configmap', 'cm', '-n', 'team')).data, { a: 'b' });
    await ok(skiff, 'create', 'secret', 'generic', 'sec', '--from-literal=k=v', '-n', 'team');
    assert.deepEqual((await getJson(skiff, 'secret', 'sec', '-n', 'team')).data, { k: Buffer.from('v').toString('base64') });
    await ok(skiff, 'create', 'deployment', 'web', '--image=nginx:1', '--replicas=0', '--port=80', '-n', 'team');
    const d = await getJson(skiff, 'deployment', 'web', '-n', 'team');
    assert.equal(d.spec.replicas, 0);
    assert.equal(d.spec.template.spec.containers[0].ports[0].containerPort, 80);
    await ok(skiff, 'create', 'service', 'clusterip', 'web', '--tcp=80:8080', '-n', 'team');
    assert.equal((await getJson(skiff, 'service', 'web', '-n', 'team')).spec.ports[0].targetPort, 8080);
    await ok(skiff, 'create', 'poddisruptionbudget', 'pdb', '--selector=app=web', '--min-available=50%', '-n', 'team');
    assert.equal((await getJson(skiff, 'pdb', 'pdb', '-n', 'team')).spec.minAvailable, '50%');
    await ok(skiff, 'create', 'quota', 'q', '--hard=pods=10,requests.cpu=2', '-n', 'team');
    assert.deepEqual((await getJson(skiff, 'quota', 'q', '-n', 'team')).spec.hard, { pods: '10', 'requests.cpu': '2' });
    await ok(skiff, 'create', 'cronjob', 'cj', '--image=busybox', '--schedule=*/5 * * * *', '-n', 'team', '--', 'echo', 'hi');
    const cj = await getJson(skiff, 'cronjob', 'cj', '-n', 'team');
    assert.deepEqual(cj.spec.jobTemplate.spec.template.spec.containers[0].command, ['echo', 'hi']);
    await ok(skiff, 'create', 'ingress', 'ing', '--rule=foo.com/bar=web:80', '-n', 'team');
    assert.equal((await getJson(skiff, 'ingress', 'ing', '-n', 'team')).spec.rules[0].http.paths[0].backend.service.port.number, 80);
    await ok(skiff, 'create', 'priorityclass', 'low', '--value=-10', '--description=low');
    assert.equal((await getJson(skiff, 'priorityclass', 'low')).value, -10);
    assert.match(await ok(skiff, 'auth', 'can-i', 'get', 'pods', '-n', 'team'), /^yes/);
    const denied = await run(skiff, ['auth', 'can-i', 'get', 'pods', '-n', 'team', '--as', 'nobody']);
    assert.equal(denied.code, 1, denied.out);
    assert.match(denied.out, /^no/);
    assert.match(await ok(skiff, 'auth', 'whoami'), /system:masters/);
  });
});
