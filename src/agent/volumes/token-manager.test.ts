import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { KubeObject } from '../../api/types.js';
import { eventually, startInProcessCluster } from '../../../test/harness/in-process.js';
import { installServiceAccountTokens } from '../../apiserver/auth/serviceaccount/index.js';
import { ensureServiceAccountKey } from '../../pki/service-account-key.js';
import { CONFIG_MAPS, WatchingConfigSource } from '../podconfig/config-source.js';
import { VolumeManager } from './manager.js';
import { unmountUnder } from './mounts.js';
import { clientTokenRequester, ServiceAccountTokenManager, type TokenRequester } from './token-manager.js';

/** A TokenRequest API stand-in: numbered tokens, each valid for `ttlSeconds` from the fake clock's now. */
function fakeApi(clock: () => number, ttlSeconds?: number) {
  const calls: KubeObject[] = [];
  let failing = false;
  const request: TokenRequester = async (namespace, name, tr) => {
    calls.push(tr);
    if (failing) throw new Error('connection refused');
    const exp = ttlSeconds ?? tr.spec.expirationSeconds;
    return { ...tr, metadata: { name, namespace }, spec: { ...tr.spec, expirationSeconds: exp }, status: { token: `token-${calls.length}`, expirationTimestamp: new Date(clock() + exp * 1000).toISOString() } };
  };
  return { calls, request, fail: (f: boolean) => (failing = f) };
}

const spec = (uid: string, expirationSeconds = 3607) => ({ expirationSeconds, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: `p-${uid}`, uid } });

test('token manager: a token is reused until 80% of its lifetime, then refreshed; a failed refresh keeps it while valid', async () => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const api = fakeApi(() => now);
  const m = new ServiceAccountTokenManager({ request: api.request, now: () => now, maxJitterMs: 0 });
  assert.equal(await m.getServiceAccountToken('ns', 'default', spec('a', 1000)), 'token-1');
  now += 799_000;
  assert.equal(await m.getServiceAccountToken('ns', 'default', spec('a', 1000)), 'token-1');
  assert.equal(m.nextRefresh('a'), Date.parse('2026-01-01T00:00:00Z') + 800_000);
  now += 1_000;
  assert.equal(await m.getServiceAccountToken('ns', 'default', spec('a', 1000)), 'token-2');
  assert.equal(api.calls.length, 2);
  assert.deepEqual(api.calls[0].spec, { expirationSeconds: 1000, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'p-a', uid: 'a' } });

  // Another audience or pod is another token.
  assert.equal(await m.getServiceAccountToken('ns', 'default', { ...spec('a', 1000), audiences: ['vault'] }), 'token-3');
  assert.deepEqual(api.calls[2].spec.audiences, ['vault']);

  // The API is down: the old token serves while it is valid, then the failure shows.
  now += 900_000;
  api.fail(true);
  assert.equal(await m.getServiceAccountToken('ns', 'default', spec('a', 1000)), 'token-2');
  now += 200_000;
  await assert.rejects(m.getServiceAccountToken('ns', 'default', spec('a', 1000)), /expired and refresh failed: connection refused/);
  await assert.rejects(m.getServiceAccountToken('ns', 'default', spec('b', 1000)), { message: 'failed to fetch token: connection refused' });

  m.deletePodTokens('a');
  assert.equal(m.nextRefresh('a'), undefined);
  assert.equal(m.size, 0);
});

test('token manager: tokens older than 24 hours are refreshed whatever their lifetime', async () => {
  let now = 0;
  const api = fakeApi(() => now);
  const m = new ServiceAccountTokenManager({ request: api.request, now: () => now, maxJitterMs: 0 });
  const week = 7 * 24 * 3600;
  await m.getServiceAccountToken('ns', 'sa', spec('x', week));
  assert.equal(m.nextRefresh('x'), 24 * 3600 * 1000);
  now = 24 * 3600 * 1000 - 1;
  assert.equal(await m.getServiceAccountToken('ns', 'sa', spec('x', week)), 'token-1');
  now += 1;
  assert.equal(await m.getServiceAccountToken('ns', 'sa', spec('x', week)), 'token-2');
});

test('projected token volumes: the token file is swapped atomically when due, and refreshing stops with the pod', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('projected volumes mount a tmpfs and need root');
  const root = await mkdtemp(join(tmpdir(), `skt-tok-${randomBytes(3).toString('hex')}-`));
  // Real time here: the refresh is a timer. Tokens live one second, so one is due every 800 ms.
  const api = fakeApi(Date.now, 1);
  const tokens = new ServiceAccountTokenManager({ request: api.request, maxJitterMs: 0 });
  const source = { configMap: async () => undefined, secret: async () => undefined };
  const vm = new VolumeManager({ root, source, tokens, nodeAllocatable: { memory: '1Gi' } });
  const uid = `uid-${randomBytes(4).toString('hex')}`;
  const pod: KubeObject = {
    metadata: { name: 'web', namespace: 'default', uid },
    spec: {
      serviceAccountName: 'builder',
      volumes: [{ name: 'kube-api-access-abcde', projected: { defaultMode: 0o644, sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3607, audience: 'vault' } }] } }],
    },
  };
  try {
    await vm.setUp(pod, { nodeName: 'n', hostIP: '10.0.0.1' });
    const dir = join(root, uid, 'volumes', 'kubernetes.io~projected', 'kube-api-access-abcde');
    assert.equal(await readFile(join(dir, 'token'), 'utf8'), 'token-1');
    assert.equal(await readlink(join(dir, 'token')), '..data/token');
    assert.deepEqual(api.calls[0].spec, { audiences: ['vault'], expirationSeconds: 3607, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'web', uid } });
    const firstVersion = await readlink(join(dir, '..data'));
    await eventually('a refreshed token', async () => (await readFile(join(dir, 'token'), 'utf8')) !== 'token-1', 250);
    assert.notEqual(await readlink(join(dir, '..data')), firstVersion);

    await vm.tearDown(uid);
    const after = api.calls.length;
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(api.calls.length, after, 'no token is requested for a pod that is gone');
    assert.equal(tokens.size, 0);
  } finally {
    vm.stop();
    await unmountUnder(root).catch(() => {});
    await rm(root, { recursive: true, force: true });
  }
});

test('an admitted pod\'s kube-api-access volume is filled from the real TokenRequest API: token, ca.crt, namespace', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('projected volumes mount a tmpfs and need root');
  const c = await startInProcessCluster('agent-tokens');
  const root = await mkdtemp(join(tmpdir(), `skt-tok-${randomBytes(3).toString('hex')}-`));
  const source = new WatchingConfigSource(c.client, { backoffBaseMs: 10 });
  const vm = new VolumeManager({ root, source, tokens: new ServiceAccountTokenManager({ request: clientTokenRequester(c.client) }), nodeAllocatable: { memory: '1Gi' } });
  try {
    const key = await ensureServiceAccountKey(c.dir);
    const sa = installServiceAccountTokens(c.server, { privateKey: key.privateKey });
    // What the root-ca-cert-publisher makes in every namespace.
    await c.client.create(CONFIG_MAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt' }, data: { 'ca.crt': 'CA PEM' } });
    const pod = await c.client.create({ group: '', version: 'v1', resource: 'pods' }, 'default', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'app' },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
    const volume = pod.spec.volumes[0].name as string;
    source.registerPod(pod);
    await vm.setUp(pod, { nodeName: 'n', hostIP: '10.0.0.1' });
    const dir = join(root, pod.metadata!.uid!, 'volumes', 'kubernetes.io~projected', volume);
    assert.equal(await readFile(join(dir, 'ca.crt'), 'utf8'), 'CA PEM');
    assert.equal(await readFile(join(dir, 'namespace'), 'utf8'), 'default');
    const token = await readFile(join(dir, 'token'), 'utf8');
    const user = sa.authenticator.authenticateToken(token)!.user;
    assert.equal(user.name, 'system:serviceaccount:default:default');
    assert.deepEqual(user.extra?.['authentication.kubernetes.io/pod-name'], ['app']);
    assert.deepEqual(user.extra?.['authentication.kubernetes.io/pod-uid'], [pod.metadata!.uid]);
    await vm.tearDown(pod.metadata!.uid!);
  } finally {
    vm.stop();
    source.stop();
    await unmountUnder(root).catch(() => {});
    await rm(root, { recursive: true, force: true });
    await c.stop();
  }
});
