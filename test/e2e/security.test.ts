/**
 * Security with the real kubectl against `skiff up`: a teammate's kubeconfig from
 * `skiff kubeconfig user` gets nothing until bound, then exactly the `view` role (lists, cannot
 * delete, upstream's Forbidden text); `kubectl auth can-i --list` answers; anonymous requests reach
 * health and version only; a node identity reads the secret of a pod bound to it and not the one of
 * a pod on another node; and the controllers, scheduler and simulated nodes, each under its own
 * least-privilege identity, still roll a Deployment out.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kubectl } from '../harness/skiff.js';
import { kubectlSuite } from './kubectl-helpers.js';
import { eventually } from './http-client.js';

const SKIFF_BIN = join(resolve(dirname(fileURLToPath(import.meta.url)), '../../..'), 'bin', 'skiff.js');

function skiffCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [SKIFF_BIN, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      res({ code: err ? Number((err as { code?: unknown }).code) || 1 : 0, stdout, stderr });
    });
  });
}

function roleBinding(name: string, clusterRole: string, subject: { kind: string; name: string }): string {
  return JSON.stringify({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', ...subject }],
  });
}

describe('security with kubectl', () => {
  const s = kubectlSuite('sqlite', ['--simulated-nodes', '2']);

  const userKubeconfig = async (name: string, groups: string[] = []): Promise<string> => {
    const out = join(s.server().dataDir, `${name.replace(/[^a-z0-9]/gi, '_')}.kubeconfig`);
    const r = await skiffCli(['kubeconfig', 'user', '--name', name, ...groups.flatMap((g) => ['--group', g]), '--data-dir', s.server().dataDir, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    return out;
  };
  const as = (kubeconfig: string, ...args: string[]) => kubectl(s.server(), ['--kubeconfig', kubeconfig, ...args]);

  it('gives a new user nothing until bound, then exactly the view role', async () => {
    await s.newNamespace('team');
    await s.k('create', 'configmap', 'settings', '-n', 'team', '--from-literal', 'a=b');
    const alice = await userKubeconfig('alice', ['devs']);

    const before = await as(alice, 'get', 'configmaps', '-n', 'team');
    assert.notEqual(before.code, 0);
    assert.match(before.stderr, /Error from server \(Forbidden\): configmaps is forbidden: User "alice" cannot list resource "configmaps" in API group "" in the namespace "team"/);

    await s.k('create', 'rolebinding', 'alice-view', '--clusterrole', 'view', '--user', 'alice', '-n', 'team');
    const listed = await eventually('alice can list configmaps', async () => {
      const r = await as(alice, 'get', 'configmaps', '-n', 'team', '-o', 'name');
      return r.code === 0 ? r.stdout : undefined;
    });
    assert.match(listed, /configmap\/settings/);

    const del = await as(alice, 'delete', 'configmap', 'settings', '-n', 'team');
    assert.notEqual(del.code, 0);
    assert.match(del.stderr, /Error from server \(Forbidden\): configmaps "settings" is forbidden: User "alice" cannot delete resource "configmaps" in API group "" in the namespace "team"/);
    // view does not reach secrets, nor other namespaces.
    assert.notEqual((await as(alice, 'get', 'secrets', '-n', 'team')).code, 0);
    assert.notEqual((await as(alice, 'get', 'configmaps', '-n', 'default')).code, 0);

    const canI = await as(alice, 'auth', 'can-i', '--list', '-n', 'team');
    assert.equal(canI.code, 0, canI.stderr);
    assert.match(canI.stdout, /^configmaps\s+\[\]\s+\[\]\s+\[get list watch\]$/m);
    assert.equal((await as(alice, 'auth', 'can-i', 'delete', 'configmaps', '-n', 'team')).stdout.trim(), 'no');
    assert.equal((await as(alice, 'auth', 'can-i', 'get', 'configmaps', '-n', 'team')).stdout.trim(), 'yes');
    const whoami = await as(alice, 'auth', 'whoami', '-o', 'json');
    assert.equal(whoami.code, 0, whoami.stderr);
    assert.deepEqual(JSON.parse(whoami.stdout).status.userInfo.groups, ['devs', 'system:authenticated']);
    // The administrator may check on alice's behalf by impersonating her.
    assert.equal((await kubectl(s.server(), ['auth', 'can-i', 'delete', 'configmaps', '-n', 'team', '--as', 'alice'])).stdout.trim(), 'no');
    // A group binding reaches every member.
    await s.kIn(roleBinding('devs-edit', 'edit', { kind: 'Group', name: 'devs' }), 'apply', '-n', 'team', '-f', '-');
    await eventually('devs can delete', async () => (await as(alice, 'delete', 'configmap', 'settings', '-n', 'team')).code === 0);
  });

  it('lets anonymous requests reach health and version only', async () => {
    const ca = await readFile(join(s.server().dataDir, 'pki', 'ca.crt'), 'utf8');
    const get = (path: string) =>
      new Promise<{ status: number; body: string }>((res, rej) => {
        https
          .get(`${s.server().url}${path}`, { ca }, (r) => {
            let body = '';
            r.on('data', (c: Buffer) => (body += c.toString()));
            r.on('end', () => res({ status: r.statusCode ?? 0, body }));
          })
          .on('error', rej);
      });
    assert.equal((await get('/version')).status, 200);
    assert.deepEqual(await get('/healthz'), { status: 200, body: 'ok' });
    assert.equal((await get('/readyz')).status, 200);
    const ns = await get('/api/v1/namespaces');
    assert.equal(ns.status, 403);
    const status = JSON.parse(ns.body);
    assert.equal(status.reason, 'Forbidden');
    assert.equal(status.message, 'namespaces is forbidden: User "system:anonymous" cannot list resource "namespaces" in API group "" at the cluster scope');
    const bad = await new Promise<number>((res, rej) => {
      https.get(`${s.server().url}/api/v1/namespaces`, { ca, headers: { Authorization: 'Bearer not-a-token' } }, (r) => {
        r.resume();
        res(r.statusCode ?? 0);
      }).on('error', rej);
    });
    assert.equal(bad, 401, 'a credential that fails is a 401, not anonymity');
  });

  it('lets a node read the secret of a pod bound to it and not one on another node', async () => {
    await s.newNamespace('nodes');
    for (const n of ['a', 'b']) await s.k('create', 'secret', 'generic', `secret-${n}`, '-n', 'nodes', '--from-literal', `k=${n}`);
    for (const [pod, node, secret] of [['pod-a', 'sim-0', 'secret-a'], ['pod-b', 'sim-1', 'secret-b']]) {
      await s.kIn(
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: pod, namespace: 'nodes' },
          spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox', envFrom: [{ secretRef: { name: secret } }] }] },
        }),
        'create', '-f', '-',
      );
    }
    const sim0 = await userKubeconfig('system:node:sim-0', ['system:nodes']);
    const mine = await eventually('sim-0 reads secret-a', async () => {
      const r = await as(sim0, 'get', 'secret', 'secret-a', '-n', 'nodes', '-o', 'name');
      return r.code === 0 ? r.stdout : undefined;
    });
    assert.equal(mine.trim(), 'secret/secret-a');
    const other = await as(sim0, 'get', 'secret', 'secret-b', '-n', 'nodes');
    assert.notEqual(other.code, 0);
    assert.match(other.stderr, /secrets "secret-b" is forbidden: User "system:node:sim-0" cannot get resource "secrets" in API group "" in the namespace "nodes": no relationship found between node 'sim-0' and this object/);
    // A node may not list secrets at all.
    assert.notEqual((await as(sim0, 'get', 'secrets', '-n', 'nodes')).code, 0);
  });

  it('runs the controllers, scheduler and nodes under their own identities, and they still work', async () => {
    await s.newNamespace('work');
    await s.k('create', 'deployment', 'web', '--image', 'nginx', '--replicas', '3', '-n', 'work');
    await s.k('rollout', 'status', 'deployment/web', '-n', 'work', '--timeout', '60s');
    // None of them is an administrator.
    for (const who of [['system:kube-scheduler'], ['system:kube-controller-manager'], ['system:serviceaccount:kube-system:deployment-controller'], ['system:node:sim-0', 'system:nodes']]) {
      const groups = who.slice(1).flatMap((g) => ['--as-group', g]);
      assert.equal((await kubectl(s.server(), ['auth', 'can-i', 'create', 'deployments.apps', '-n', 'work', '--as', who[0], ...groups])).stdout.trim(), 'no', who[0]);
    }
    assert.equal((await s.k('auth', 'can-i', 'create', 'replicasets', '-n', 'work', '--as', 'system:serviceaccount:kube-system:deployment-controller')).trim(), 'yes');
    assert.equal((await s.k('auth', 'can-i', 'create', 'pods', '--subresource', 'binding', '-n', 'work', '--as', 'system:kube-scheduler')).trim(), 'yes');
  });
});
