import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, promises as fsp, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { LocalImageService } from './service.js';
import { isMountPoint } from './unpack.js';
import { buildBusyboxImage, startRegistry, type TestRegistry } from '../../../test/harness/registry.js';

const run = `skt-img-${randomBytes(3).toString('hex')}`;
let registry: TestRegistry;
let base: string;
let layered: string;
const dirs: string[] = [];
const containerDirs: string[] = [];

async function tempDir(what: string): Promise<string> {
  const dir = await fsp.mkdtemp(join(tmpdir(), `${run}-${what}-`));
  dirs.push(dir);
  return dir;
}

before(async () => {
  registry = await startRegistry();
  base = (await buildBusyboxImage(registry.host, 'skiff/busybox', 'v1')).reference;
  layered = (
    await buildBusyboxImage(registry.host, 'skiff/busybox', 'layered', {
      whiteout: ['/bin/cat', '/var/www'],
      opaque: ['/etc'],
      files: { '/etc/only': 'opaque etc\n', '/added': 'new\n' },
    })
  ).reference;
});

after(async () => {
  // Never leave a mount behind, whatever failed.
  const svc = new LocalImageService({ root: await tempDir('cleanup') });
  for (const c of containerDirs) await svc.unmountRootfs(c).catch(() => {});
  await registry?.stop();
  for (const d of dirs) await fsp.rm(d, { recursive: true, force: true });
});

test('layers apply in order: whiteouts remove, opaque directories hide what is below', async () => {
  const svc = new LocalImageService({ root: await tempDir('store') });
  const { image } = await svc.ensureImage(layered, 'IfNotPresent');
  const rootfs = svc.store.rootfsDir(image.id);
  assert.ok(existsSync(join(rootfs, 'bin/busybox')));
  assert.ok(existsSync(join(rootfs, 'bin/echo')));
  assert.equal(existsSync(join(rootfs, 'bin/cat')), false, 'whiteout of a file');
  assert.equal(existsSync(join(rootfs, 'var/www')), false, 'whiteout of a directory');
  assert.ok(existsSync(join(rootfs, 'var')));
  assert.deepEqual(readdirSync(join(rootfs, 'etc')), ['only'], 'opaque directory');
  assert.equal(readFileSync(join(rootfs, 'added'), 'utf8'), 'new\n');
  const find = async (dir: string): Promise<string[]> => {
    const out: string[] = [];
    for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
      if (e.name.startsWith('.wh.')) out.push(join(dir, e.name));
      if (e.isDirectory()) out.push(...(await find(join(dir, e.name))));
    }
    return out;
  };
  assert.deepEqual(await find(rootfs), [], 'no whiteout file reaches the rootfs');
  // The layer it shares with the base image keeps its own content.
  const { image: baseImage } = await svc.ensureImage(base, 'IfNotPresent');
  assert.ok(existsSync(join(svc.store.rootfsDir(baseImage.id), 'bin/cat')));
  assert.ok(existsSync(join(svc.store.rootfsDir(baseImage.id), 'etc/passwd')));
});

test('container root filesystems are writable overlays, isolated from each other and from the image', async () => {
  const svc = new LocalImageService({ root: await tempDir('store') });
  const { image } = await svc.ensureImage(base, 'IfNotPresent');
  const a = await tempDir('ctr-a');
  const b = await tempDir('ctr-b');
  containerDirs.push(a, b);
  const rootA = await svc.mountRootfs(image, a);
  const rootB = await svc.mountRootfs(image, b);
  assert.equal(rootA, join(a, 'rootfs'));
  assert.ok(await isMountPoint(rootA));
  assert.ok(await isMountPoint(rootB));
  assert.equal(await svc.mountRootfs(image, a), rootA, 'idempotent');
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4] === rootA);
  assert.equal(mounts.length, 1, 'mounted once');

  writeFileSync(join(rootA, 'etc/passwd'), 'changed\n');
  writeFileSync(join(rootA, 'new-file'), 'a\n');
  await fsp.rm(join(rootA, 'bin/cat'));
  assert.equal(readFileSync(join(rootB, 'etc/passwd'), 'utf8').startsWith('root:'), true);
  assert.equal(existsSync(join(rootB, 'new-file')), false);
  assert.ok(existsSync(join(rootB, 'bin/cat')));
  const lower = svc.store.rootfsDir(image.id);
  assert.ok(readFileSync(join(lower, 'etc/passwd'), 'utf8').startsWith('root:'), 'the image is untouched');
  assert.ok(existsSync(join(lower, 'bin/cat')));

  await svc.unmountRootfs(a);
  assert.equal(existsSync(rootA), false);
  await svc.unmountRootfs(a);
  assert.ok(existsSync(join(rootB, 'bin/busybox')), 'the other container keeps its rootfs');
  await svc.unmountRootfs(b);
  assert.equal(existsSync(rootB), false);
});

test('where overlay cannot be used the rootfs is a copy', async () => {
  const logs: string[] = [];
  const svc = new LocalImageService({ root: await tempDir('store'), log: (m) => logs.push(m) });
  const { image } = await svc.ensureImage(base, 'IfNotPresent');
  const c = join(await tempDir('ctr'), 'with,comma');
  containerDirs.push(c);
  const rootfs = await svc.mountRootfs(image, c);
  assert.equal(await isMountPoint(rootfs), false);
  assert.ok(logs.some((l) => l.includes('overlay unusable')), logs.join('\n'));
  assert.equal(lstatSync(join(rootfs, 'etc/owned')).uid, 1234);
  assert.ok(lstatSync(join(rootfs, 'bin/sh')).isSymbolicLink());
  writeFileSync(join(rootfs, 'etc/passwd'), 'changed\n');
  assert.ok(readFileSync(join(svc.store.rootfsDir(image.id), 'etc/passwd'), 'utf8').startsWith('root:'), 'the copy does not share inodes with the image');
  assert.equal(await svc.mountRootfs(image, c), rootfs);
  assert.equal(readFileSync(join(rootfs, 'etc/passwd'), 'utf8'), 'changed\n', 'idempotent: not copied again');
  await svc.unmountRootfs(c);
  assert.equal(existsSync(rootfs), false);
});

test('garbage collection removes images not in use and the layers only they held', async () => {
  const root = await tempDir('store');
  const svc = new LocalImageService({ root });
  const kept = (await svc.ensureImage(base, 'IfNotPresent')).image;
  const dropped = (await svc.ensureImage(layered, 'IfNotPresent')).image;
  const blobsBefore = readdirSync(join(root, 'blobs/sha256')).length;

  const first = await svc.garbageCollect(new Set([kept.id]));
  assert.equal(first.removedImages, 1);
  assert.ok(first.freedBytes > 0);
  assert.deepEqual(svc.list().map((i) => i.id), [kept.id]);
  assert.equal(svc.get(layered), undefined);
  assert.equal(existsSync(svc.store.rootfsDir(dropped.id)), false);
  assert.ok(readdirSync(join(root, 'blobs/sha256')).length < blobsBefore);
  assert.ok(existsSync(join(svc.store.rootfsDir(kept.id), 'bin/busybox')), 'the shared base layer stays');
  const c = await tempDir('ctr');
  containerDirs.push(c);
  assert.ok(existsSync(join(await svc.mountRootfs(kept, c), 'bin/busybox')));
  await svc.unmountRootfs(c);

  const again = await svc.garbageCollect(new Set([kept.id]));
  assert.deepEqual(again, { removedImages: 0, freedBytes: 0 }, 'nothing more to collect');

  const all = await svc.garbageCollect(new Set());
  assert.equal(all.removedImages, 1);
  for (const d of ['blobs/sha256', 'layers', 'rootfs']) assert.deepEqual(readdirSync(join(root, d)), [], d);
  assert.deepEqual(new LocalImageService({ root }).list(), [], 'a restarted agent agrees');
});
