import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ImageError } from '../cri.js';
import { LocalImageService } from './service.js';
import {
  buildBusyboxImage, getManifest, pushIndex, pushTinyImage, startProxy, startRegistry, type TestRegistry,
} from '../../../test/harness/registry.js';

const run = `skt-img-${randomBytes(3).toString('hex')}`;
let registry: TestRegistry;
const roots: string[] = [];

async function newRoot(): Promise<string> {
  const dir = await fsp.mkdtemp(join(tmpdir(), `${run}-store-`));
  roots.push(dir);
  return dir;
}

async function closedPort(): Promise<number> {
  const srv = http.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const pullError = (match: RegExp) => (err: unknown) => {
  assert.ok(err instanceof ImageError, String(err));
  assert.equal(err.reason, 'ErrImagePull');
  assert.match(err.message, match);
  return true;
};

before(async () => {
  registry = await startRegistry();
  await buildBusyboxImage(registry.host, 'skiff/busybox', 'v1');
});

after(async () => {
  await registry?.stop();
  for (const r of roots) await fsp.rm(r, { recursive: true, force: true });
});

test('token-auth registry: pulls with credentials, refuses without or with a wrong password', async () => {
  const secure = await startRegistry({ auth: 'token' });
  try {
    const user = secure.tokenUser!;
    const password = secure.tokenPassword!;
    await buildBusyboxImage(secure.host, 'private/busybox', 'v1', { creds: `${user}:${password}` });
    const image = `${secure.host}/private/busybox:v1`;

    const anonymous = new LocalImageService({ root: await newRoot() });
    await assert.rejects(
      anonymous.ensureImage(image, 'IfNotPresent'),
      pullError(/^failed to pull and unpack image "127\.0\.0\.1:\d+\/private\/busybox:v1": failed to resolve reference "[^"]+": pull access denied, repository does not exist or may require authorization: server message: unauthorized: /),
    );
    assert.ok(secure.tokenRequests!.some((r) => r.user === '' && r.scope.includes('repository:private/busybox:pull')));

    await assert.rejects(
      anonymous.ensureImage(image, 'IfNotPresent', { credentials: [{ registry: secure.host, username: user, password: 'wrong' }] }),
      pullError(/failed to authorize: failed to fetch oauth token: unexpected status from GET request to http:\/\/127\.0\.0\.1:\d+\/token: 401/),
    );

    const withPassword = new LocalImageService({ root: await newRoot() });
    const res = await withPassword.ensureImage(image, 'IfNotPresent', { credentials: [{ registry: `http://${secure.host}`, username: user, password }] });
    assert.equal(res.pulled, true);
    assert.ok(existsSync(join(withPassword.store.rootfsDir(res.image.id), 'bin/busybox')));
    assert.ok(secure.tokenRequests!.some((r) => r.user === user));

    // docker's "auth" field (base64 user:password) works the same.
    const withAuth = new LocalImageService({ root: await newRoot() });
    const auth = Buffer.from(`${user}:${password}`).toString('base64');
    assert.equal((await withAuth.ensureImage(image, 'Always', { credentials: [{ registry: secure.host, auth }] })).image.id, res.image.id);

    // A pull without the credentials, at the same moment as one with them, does not ride along on it.
    const shared = new LocalImageService({ root: await newRoot() });
    const [allowed, refused] = await Promise.allSettled([
      shared.ensureImage(image, 'Always', { credentials: [{ registry: secure.host, username: user, password }] }),
      shared.ensureImage(image, 'Always'),
    ]);
    assert.equal(allowed.status, 'fulfilled');
    assert.equal(refused.status, 'rejected');
    assert.match((refused as PromiseRejectedResult).reason.message, /pull access denied/);
  } finally {
    await secure.stop();
  }
});

test('concurrent pulls share one pull, and images sharing a layer download it once', async () => {
  const other = await buildBusyboxImage(registry.host, 'skiff/other', 'v1', { files: { '/extra': 'x\n' } });
  const proxy = await startProxy(registry.host);
  proxy.delayMs = 30;
  try {
    const svc = new LocalImageService({ root: await newRoot() });
    let pulling = 0;
    const refs = [`${proxy.host}/skiff/busybox:v1`, `${proxy.host}/skiff/busybox:v1`, `${proxy.host}/skiff/busybox:v1`, `${proxy.host}/skiff/other:v1`];
    const results = await Promise.all(refs.map((r) => svc.ensureImage(r, 'IfNotPresent', { onPulling: () => pulling++ })));
    assert.equal(pulling, 4, 'every caller hears that a pull starts');
    assert.ok(results.every((r) => r.pulled && typeof r.pullMs === 'number'));
    assert.equal(new Set(results.slice(0, 3).map((r) => r.image.id)).size, 1);
    assert.equal(proxy.requests.filter((r) => r.includes('/skiff/busybox/manifests/v1')).length, 1, 'one pull for three callers');
    const blobGets = proxy.requests.filter((r) => r.startsWith('GET') && r.includes('/blobs/'));
    const digests = blobGets.map((r) => r.slice(r.lastIndexOf('/') + 1));
    assert.equal(new Set(digests).size, digests.length, `no blob fetched twice: ${blobGets.join(', ')}`);
    const otherManifest = await getManifest(registry.host, 'skiff/other', 'v1');
    const base = (await getManifest(registry.host, 'skiff/busybox', 'v1')).json.layers[0].digest;
    assert.equal(otherManifest.json.layers[0].digest, base, 'the two images share their base layer');
    assert.ok(other.digest);
  } finally {
    await proxy.stop();
  }
});

test('mirrors are tried first and the registry itself when they fail', async () => {
  const origin = await startProxy(registry.host);
  const mirror = await startProxy(registry.host);
  const broken = await startProxy(`127.0.0.1:${await closedPort()}`); // answers 502
  try {
    const image = `${origin.host}/skiff/busybox:v1`;
    const viaMirror = new LocalImageService({ root: await newRoot(), mirrors: { [origin.host]: [`http://${mirror.host}`] } });
    await viaMirror.ensureImage(image, 'IfNotPresent');
    assert.ok(mirror.requests.some((r) => r.includes('/blobs/')));
    assert.equal(origin.requests.length, 0, origin.requests.join(', '));

    const logs: string[] = [];
    const fallback = new LocalImageService({
      root: await newRoot(),
      mirrors: { [origin.host]: [`http://127.0.0.1:${await closedPort()}`, broken.host] },
      log: (m) => logs.push(m),
    });
    const res = await fallback.ensureImage(image, 'IfNotPresent');
    assert.equal(res.pulled, true);
    assert.ok(origin.requests.some((r) => r.includes('/manifests/v1')));
    assert.ok(origin.requests.some((r) => r.includes('/blobs/')));
    assert.ok(broken.requests.length > 0, 'the second mirror was asked');
    assert.ok(logs.some((l) => l.includes('connection refused')), logs.join('\n'));
  } finally {
    await origin.stop();
    await mirror.stop();
    await broken.stop();
  }
});

test('an unreachable registry fails at once, saying which registry and why', async () => {
  const port = await closedPort();
  const svc = new LocalImageService({ root: await newRoot(), connectTimeoutMs: 300 });
  await assert.rejects(
    svc.ensureImage(`127.0.0.1:${port}/x:1`, 'IfNotPresent'),
    pullError(new RegExp(`failed to resolve reference "127\\.0\\.0\\.1:${port}/x:1": failed to do request: Get "http://127\\.0\\.0\\.1:${port}/v2/x/manifests/1": dial tcp 127\\.0\\.0\\.1:${port}: connect: connection refused \\(registry 127\\.0\\.0\\.1:${port} is unreachable\\)`)),
  );
  // A registry that never answers the connection: HTTPS (not loopback) and the connect timeout.
  await assert.rejects(svc.ensureImage('10.255.255.1:5000/x:1', 'IfNotPresent'), pullError(/https:\/\/10\.255\.255\.1:5000\/v2\/x\/manifests\/1.*\(registry 10\.255\.255\.1:5000 is unreachable\)/));
});

test('a multi-arch index resolves to the configured platform', async () => {
  const arm = await pushTinyImage(registry.host, 'skiff/multi', 'arm64-only', { os: 'linux', architecture: 'arm64', variant: 'v8' }, { arch: 'arm64\n' });
  const amd = await getManifest(registry.host, 'skiff/busybox', 'v1');
  await pushManifest(amd);
  const index = await pushIndex(registry.host, 'skiff/multi', 'latest', [
    { mediaType: arm.mediaType, digest: arm.digest, size: arm.size, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    { mediaType: amd.mediaType, digest: amd.digest, size: amd.size, platform: { os: 'linux', architecture: 'amd64' } },
  ]);
  const image = `${registry.host}/skiff/multi`;

  const onArm = new LocalImageService({ root: await newRoot(), platform: { os: 'linux', architecture: 'aarch64' } });
  const armRes = await onArm.ensureImage(image, 'IfNotPresent');
  assert.equal(armRes.image.imageRef, `${registry.host}/skiff/multi@${index.digest}`);
  assert.equal(armRes.image.reference, `${registry.host}/skiff/multi:latest`);
  assert.equal(readFileSync(join(onArm.store.rootfsDir(armRes.image.id), 'arch'), 'utf8'), 'arm64\n');

  const onAmd = new LocalImageService({ root: await newRoot(), platform: { os: 'linux', architecture: 'x86_64' } });
  const amdRes = await onAmd.ensureImage(image, 'IfNotPresent');
  assert.equal(amdRes.image.id, amd.json.config.digest);
  assert.equal(onAmd.get(`${image}@${index.digest}`)?.id, amd.json.config.digest);

  const onS390 = new LocalImageService({ root: await newRoot(), platform: { os: 'linux', architecture: 's390x' } });
  await assert.rejects(onS390.ensureImage(image, 'IfNotPresent'), pullError(new RegExp(`no match for platform in manifest ${index.digest}: not found`)));

  // The index's manifests must exist in its repository: copy the busybox manifest there by digest.
  async function pushManifest(m: { digest: string; json: any; mediaType: string }) {
    const { pushBlob } = await import('../../../test/harness/registry.js');
    for (const d of [m.json.config, ...m.json.layers]) {
      const res = await fetch(`http://${registry.host}/v2/skiff/busybox/blobs/${d.digest}`);
      await pushBlob(registry.host, 'skiff/multi', Buffer.from(await res.arrayBuffer()));
    }
    const res = await fetch(`http://${registry.host}/v2/skiff/busybox/manifests/${m.digest}`, { headers: { accept: m.mediaType } });
    const put = await fetch(`http://${registry.host}/v2/skiff/multi/manifests/${m.digest}`, { method: 'PUT', headers: { 'content-type': m.mediaType }, body: Buffer.from(await res.arrayBuffer()) });
    assert.equal(put.status, 201);
  }
});
