import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp, lstatSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ImageError } from '../cri.js';
import { LocalImageService } from './service.js';
import { buildBusyboxImage, startProxy, startRegistry, type BuiltImage, type TestRegistry } from '../../../test/harness/registry.js';

const run = `skt-img-${randomBytes(3).toString('hex')}`;
let registry: TestRegistry;
let busybox: BuiltImage;
const roots: string[] = [];

async function newRoot(): Promise<string> {
  const dir = await fsp.mkdtemp(join(tmpdir(), `${run}-store-`));
  roots.push(dir);
  return dir;
}

before(async () => {
  registry = await startRegistry();
  busybox = await buildBusyboxImage(registry.host, 'skiff/busybox', 'v1');
});

after(async () => {
  await registry?.stop();
  for (const r of roots) await fsp.rm(r, { recursive: true, force: true });
});

test('pulls the busybox image: record, config, flattened rootfs with owners, modes, links', async () => {
  const root = await newRoot();
  const svc = new LocalImageService({ root });
  let pulling = 0;
  const res = await svc.ensureImage(busybox.reference, 'IfNotPresent', { onPulling: () => pulling++ });
  assert.equal(pulling, 1);
  assert.equal(res.pulled, true);
  assert.equal(res.image.reference, `${registry.host}/skiff/busybox:v1`);
  assert.equal(res.image.imageRef, `${registry.host}/skiff/busybox@${busybox.digest}`);
  assert.match(res.image.id, /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(res.image.config.cmd, ['sh']);
  assert.equal(res.image.config.workingDir, '/');
  assert.ok(res.image.config.env?.some((e) => e.startsWith('PATH=')));
  assert.deepEqual(res.image.names.sort(), [`${registry.host}/skiff/busybox:v1`, `${registry.host}/skiff/busybox@${busybox.digest}`].sort());
  assert.ok(res.image.sizeBytes > 500_000);

  const rootfs = svc.store.rootfsDir(res.image.id);
  const bb = lstatSync(join(rootfs, 'bin/busybox'));
  assert.ok(bb.isFile());
  assert.equal(bb.mode & 0o777, 0o755);
  assert.equal(lstatSync(join(rootfs, 'bin/busybox.hardlink')).ino, bb.ino, 'hard link kept');
  assert.ok(lstatSync(join(rootfs, 'bin/sh')).isSymbolicLink());
  const owned = lstatSync(join(rootfs, 'etc/owned'));
  assert.equal(owned.uid, 1234);
  assert.equal(owned.gid, 5678);
  assert.equal(owned.mode & 0o777, 0o640);
  assert.equal(owned.mtimeMs, 1_000_000_000_000);
  assert.equal(lstatSync(join(rootfs, 'tmp')).mode & 0o7777, 0o1777);
  assert.equal(lstatSync(join(rootfs, 'home/user')).uid, 1000);

  // Present now: IfNotPresent and Never answer without a pull; get() and list() see it.
  const again = await svc.ensureImage(busybox.reference, 'IfNotPresent', { onPulling: () => pulling++ });
  assert.equal(again.pulled, false);
  assert.equal(pulling, 1);
  assert.equal((await svc.ensureImage(busybox.reference, 'Never')).image.id, res.image.id);
  assert.equal(svc.get(`${registry.host}/skiff/busybox@${busybox.digest}`)?.id, res.image.id);
  assert.equal(svc.list().length, 1);

  // A restarted agent finds its images.
  const restarted = new LocalImageService({ root });
  assert.equal(restarted.get(busybox.reference)?.imageRef, res.image.imageRef);
  assert.equal((await restarted.ensureImage(busybox.reference, 'IfNotPresent')).pulled, false);
});

test('Never with an absent image is ErrImageNeverPull with the kubelet message', async () => {
  const svc = new LocalImageService({ root: await newRoot() });
  await assert.rejects(svc.ensureImage('busybox', 'Never'), (err: unknown) => {
    assert.ok(err instanceof ImageError);
    assert.equal(err.reason, 'ErrImageNeverPull');
    assert.equal(err.message, 'Container image "busybox" is not present with pull policy of Never');
    return true;
  });
  await assert.rejects(svc.ensureImage('Bad Name', 'Always'), (err: unknown) => err instanceof ImageError && err.reason === 'InvalidImageName');
});

test('a missing tag is ErrImagePull naming the image and the cause', async () => {
  const svc = new LocalImageService({ root: await newRoot() });
  await assert.rejects(svc.ensureImage(`${registry.host}/skiff/busybox:nope`, 'IfNotPresent'), (err: unknown) => {
    assert.ok(err instanceof ImageError);
    assert.equal(err.reason, 'ErrImagePull');
    const ref = `${registry.host}/skiff/busybox:nope`;
    assert.equal(err.message, `failed to pull and unpack image "${ref}": failed to resolve reference "${ref}": ${ref}: not found`);
    return true;
  });
});

test('IfNotPresent asks the registry once; Always asks again but downloads no blob twice', async () => {
  const proxy = await startProxy(registry.host);
  try {
    const svc = new LocalImageService({ root: await newRoot() });
    const ref = `${proxy.host}/skiff/busybox:v1`;
    await svc.ensureImage(ref, 'IfNotPresent');
    const first = proxy.requests.length;
    assert.ok(proxy.requests.some((r) => r.includes('/blobs/')));
    await svc.ensureImage(ref, 'IfNotPresent');
    assert.equal(proxy.requests.length, first, 'no request for a present image');
    const before = proxy.requests.length;
    const again = await svc.ensureImage(ref, 'Always');
    assert.equal(again.pulled, true);
    const later = proxy.requests.slice(before);
    assert.ok(later.some((r) => r.includes('/manifests/v1')));
    assert.ok(!later.some((r) => r.includes('/blobs/')), `no blob fetched again: ${later.join(', ')}`);
  } finally {
    await proxy.stop();
  }
});

test('a corrupted blob is refused and leaves nothing behind', async () => {
  const proxy = await startProxy(registry.host);
  try {
    const root = await newRoot();
    const svc = new LocalImageService({ root });
    const manifest = JSON.parse(await (await fetch(`http://${registry.host}/v2/skiff/busybox/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).text());
    const layer = manifest.layers[0].digest as string;
    proxy.corrupt = (path) => path.endsWith(`/blobs/${layer}`);
    await assert.rejects(svc.ensureImage(`${proxy.host}/skiff/busybox:v1`, 'IfNotPresent'), (err: unknown) => {
      assert.ok(err instanceof ImageError);
      assert.equal(err.reason, 'ErrImagePull');
      assert.match(err.message, new RegExp(`failed to fetch layer ${layer}: unexpected commit digest sha256:[0-9a-f]{64}, expected ${layer}`));
      return true;
    });
    assert.equal(existsSync(svc.store.blobPath(layer)), false);
    assert.deepEqual(readdirSync(join(root, 'tmp')), []);
    assert.deepEqual(readdirSync(join(root, 'layers')), []);
    assert.equal(svc.list().length, 0);
    const records = join(root, 'images.json');
    assert.equal(existsSync(records) && readFileSync(records, 'utf8').includes('sha256'), false);
  } finally {
    await proxy.stop();
  }
});
