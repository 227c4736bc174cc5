import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { KubeObject } from '../../api/types.js';
import { startInProcessCluster, type InProcessCluster } from '../../../test/harness/in-process.js';
import { CONFIG_MAPS, SECRETS, WatchingConfigSource } from '../podconfig/config-source.js';
import { ContainerConfigError } from '../podconfig/errors.js';
import { listMounts, unmountUnder } from './mounts.js';
import { VolumeError, VolumeManager } from './manager.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const NS = 'default';

let cluster: InProcessCluster;
let root: string;
let scratch: string;
let source: WatchingConfigSource;
let vm: VolumeManager;

before(async () => {
  if (process.getuid?.() !== 0) throw new Error('volume tests mount tmpfs and need root (run them as root)');
  cluster = await startInProcessCluster('pc-volumes');
  root = await mkdtemp(join(tmpdir(), `skt-pc-${randomBytes(3).toString('hex')}-pods-`));
  scratch = await mkdtemp(join(tmpdir(), 'skt-pc-host-'));
  source = new WatchingConfigSource(cluster.client, { backoffBaseMs: 10 });
  vm = new VolumeManager({ root, source, nodeAllocatable: { memory: '1Gi', cpu: '2' } });
  const c = cluster.client;
  await c.create(CONFIG_MAPS, NS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-config' }, data: { 'app.conf': 'level=debug\n', mode: 'fast' }, binaryData: { 'logo.bin': b64('\x00\x01') } });
  await c.create(SECRETS, NS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app-secret' }, data: { password: b64('hunter2'), token: b64('t0k3n') } });
});

after(async () => {
  source?.stop();
  if (root) {
    await unmountUnder(root).catch(() => {});
    await rm(root, { recursive: true, force: true });
  }
  if (scratch) await rm(scratch, { recursive: true, force: true });
  await cluster?.stop();
});

function podOf(uid: string, spec: any, meta: any = {}): KubeObject {
  return { metadata: { name: `pod-${uid}`, namespace: NS, uid, labels: { app: 'web', tier: 'front' }, annotations: { owner: 'team "a"' }, ...meta }, spec };
}

const ctx = { nodeName: 'node-a', hostIP: '192.168.1.5', podIP: '10.1.0.7' };

async function mountsUnder(dir: string) {
  return (await listMounts()).filter((m) => m.mountPoint === dir || m.mountPoint.startsWith(dir + '/'));
}

async function mountinfoLine(dir: string): Promise<string | undefined> {
  return (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').find((l) => l.split(' ')[4] === dir);
}

test('configMap, secret, downwardAPI, projected and emptyDir volumes on disk, in upstream layout', async () => {
  const uid = `uid-${randomBytes(4).toString('hex')}`;
  const pod = podOf(uid, {
    containers: [{ name: 'main', resources: { limits: { memory: '256Mi' } } }],
    volumes: [
      { name: 'config', configMap: { name: 'app-config', defaultMode: 0o644 } },
      { name: 'config-items', configMap: { name: 'app-config', items: [{ key: 'mode', path: 'nested/dir/mode.txt', mode: 0o400 }] } },
      { name: 'secret', secret: { secretName: 'app-secret', defaultMode: 0o600 } },
      {
        name: 'podinfo',
        downwardAPI: {
          items: [
            { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
            { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } },
            { path: 'name', fieldRef: { fieldPath: 'metadata.name' } },
            { path: 'tier', fieldRef: { fieldPath: "metadata.labels['tier']" } },
            { path: 'mem_limit', resourceFieldRef: { containerName: 'main', resource: 'limits.memory', divisor: '1Mi' } },
            { path: 'cpu_limit', resourceFieldRef: { containerName: 'main', resource: 'limits.cpu', divisor: '1m' } },
          ],
        },
      },
      {
        name: 'all-in-one',
        projected: {
          defaultMode: 0o440,
          sources: [
            { configMap: { name: 'app-config', items: [{ key: 'mode', path: 'config/mode' }] } },
            { secret: { name: 'app-secret', items: [{ key: 'token', path: 'secret/token', mode: 0o400 }] } },
            { downwardAPI: { items: [{ path: 'meta/name', fieldRef: { fieldPath: 'metadata.name' } }] } },
          ],
        },
      },
      { name: 'scratch', emptyDir: {} },
      { name: 'cache', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
    ],
  });
  source.registerPod(pod);
  const vols = await vm.setUp(pod, ctx);
  const dir = (plugin: string, name: string) => join(root, uid, 'volumes', plugin, name);

  // configMap: ..data -> ..<timestamp>, user-visible symlinks into ..data, files with their modes.
  const cfg = dir('kubernetes.io~configmap', 'config');
  assert.deepEqual(vols.get('config'), { hostPath: cfg, readOnly: true });
  const version = await readlink(join(cfg, '..data'));
  assert.match(version, /^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\.\d+$/);
  assert.deepEqual((await readdir(cfg)).sort(), ['..data', version, 'app.conf', 'logo.bin', 'mode'].sort());
  assert.equal(await readlink(join(cfg, 'app.conf')), '..data/app.conf');
  assert.equal(await readFile(join(cfg, 'app.conf'), 'utf8'), 'level=debug\n');
  assert.deepEqual([...(await readFile(join(cfg, 'logo.bin')))], [0, 1]);
  assert.equal((await stat(join(cfg, 'mode'))).mode & 0o7777, 0o644);
  assert.equal((await stat(cfg)).mode & 0o777, 0o777);
  assert.equal((await mountsUnder(cfg)).length, 0, 'configMap volumes are on disk');

  const items = dir('kubernetes.io~configmap', 'config-items');
  assert.deepEqual((await readdir(items)).filter((n) => !n.startsWith('..')), ['nested']);
  assert.equal(await readlink(join(items, 'nested')), '..data/nested');
  assert.equal(await readFile(join(items, 'nested/dir/mode.txt'), 'utf8'), 'fast');
  assert.equal((await stat(join(items, 'nested/dir/mode.txt'))).mode & 0o7777, 0o400);

  // secret: decoded, on a tmpfs.
  const sec = dir('kubernetes.io~secret', 'secret');
  assert.equal(vols.get('secret')?.readOnly, true);
  assert.equal(await readFile(join(sec, 'password'), 'utf8'), 'hunter2');
  assert.equal((await stat(join(sec, 'token'))).mode & 0o7777, 0o600);
  assert.deepEqual((await mountsUnder(sec)).map((m) => m.fsType), ['tmpfs']);

  // downwardAPI: maps as sorted key="value" lines, resources in divisor units.
  const info = dir('kubernetes.io~downward-api', 'podinfo');
  assert.equal(await readFile(join(info, 'labels'), 'utf8'), 'app="web"\ntier="front"');
  assert.equal(await readFile(join(info, 'annotations'), 'utf8'), 'owner="team \\"a\\""');
  assert.equal(await readFile(join(info, 'name'), 'utf8'), `pod-${uid}`);
  assert.equal(await readFile(join(info, 'tier'), 'utf8'), 'front');
  assert.equal(await readFile(join(info, 'mem_limit'), 'utf8'), '256');
  assert.equal(await readFile(join(info, 'cpu_limit'), 'utf8'), '2000', 'an unset limit reads node allocatable');

  // projected: the sources merged into one tree.
  const proj = dir('kubernetes.io~projected', 'all-in-one');
  assert.equal(await readFile(join(proj, 'config/mode'), 'utf8'), 'fast');
  assert.equal(await readFile(join(proj, 'secret/token'), 'utf8'), 't0k3n');
  assert.equal(await readFile(join(proj, 'meta/name'), 'utf8'), `pod-${uid}`);
  assert.equal((await stat(join(proj, 'config/mode'))).mode & 0o7777, 0o440);
  assert.equal((await stat(join(proj, 'secret/token'))).mode & 0o7777, 0o400);
  assert.deepEqual((await mountsUnder(proj)).map((m) => m.fsType), ['tmpfs']);

  // emptyDir: a world-writable directory; medium Memory is one tmpfs of sizeLimit for all containers.
  const scr = dir('kubernetes.io~empty-dir', 'scratch');
  assert.deepEqual(vols.get('scratch'), { hostPath: scr });
  assert.equal((await stat(scr)).mode & 0o777, 0o777);
  const cache = dir('kubernetes.io~empty-dir', 'cache');
  assert.deepEqual(vols.get('cache'), { hostPath: cache, tmpfsSizeBytes: 64 * 1024 * 1024 });
  assert.match((await mountinfoLine(cache)) ?? '', / - tmpfs tmpfs \S*size=65536k/);

  // setUp again changes nothing and mounts nothing twice.
  await vm.setUp(pod, ctx);
  assert.equal(await readlink(join(cfg, '..data')), version);
  assert.equal((await mountsUnder(cache)).length, 1);

  await vm.tearDown(uid);
  source.unregisterPod(uid);
  assert.deepEqual(await mountsUnder(join(root, uid)), []);
  await assert.rejects(lstat(join(root, uid)), { code: 'ENOENT' });
});

test('refresh swaps ..data atomically when a ConfigMap or Secret changes, and writes nothing otherwise', async () => {
  const c = cluster.client;
  await c.create(CONFIG_MAPS, NS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'live' }, data: { a: '1', b: '2' } });
  await c.create(SECRETS, NS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'live-s' }, data: { k: b64('one') } });
  const uid = `uid-${randomBytes(4).toString('hex')}`;
  const pod = podOf(uid, {
    containers: [{ name: 'c' }],
    volumes: [
      { name: 'live', configMap: { name: 'live' } },
      { name: 'live-s', secret: { secretName: 'live-s' } },
      { name: 'labels', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
    ],
  });
  source.registerPod(pod);
  try {
    await vm.setUp(pod, ctx);
    const dir = join(root, uid, 'volumes', 'kubernetes.io~configmap', 'live');
    const v1 = await readlink(join(dir, '..data'));
    assert.deepEqual(await vm.refresh(pod), { changed: [], errors: [] });

    let seen = false;
    source.onChange((_k, _ns, name, pods) => {
      if (name === 'live' && pods.includes(uid)) seen = true;
    });
    await c.patch(CONFIG_MAPS, NS, 'live', 'application/merge-patch+json', { data: { a: '10', b: null, c: '3' } });
    await c.patch(SECRETS, NS, 'live-s', 'application/merge-patch+json', { data: { k: b64('two') } });
    let changed: string[] = [];
    for (let i = 0; i < 500 && !(changed.includes('live') && changed.includes('live-s')); i++) {
      changed = [...changed, ...(await vm.refresh(pod)).changed];
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(changed.sort(), ['live', 'live-s']);
    assert.ok(seen, 'the source announced the change for the pod');

    const v2 = await readlink(join(dir, '..data'));
    assert.notEqual(v2, v1);
    assert.equal(await readFile(join(dir, 'a'), 'utf8'), '10');
    assert.equal(await readFile(join(dir, 'c'), 'utf8'), '3');
    await assert.rejects(lstat(join(dir, 'b')), { code: 'ENOENT' }, 'a removed key disappears');
    await assert.rejects(lstat(join(dir, v1)), { code: 'ENOENT' }, 'the old version is removed');
    assert.equal(await readFile(join(root, uid, 'volumes', 'kubernetes.io~secret', 'live-s', 'k'), 'utf8'), 'two');

    // The pod's labels changed: the downwardAPI file follows.
    const relabeled = { ...pod, metadata: { ...pod.metadata, labels: { app: 'web', tier: 'back' } } };
    assert.deepEqual((await vm.refresh(relabeled)).changed, ['labels']);
    assert.equal(await readFile(join(root, uid, 'volumes', 'kubernetes.io~downward-api', 'labels', 'labels'), 'utf8'), 'app="web"\ntier="back"');

    // A source that goes away: the old content stays and the error says why.
    await c.delete(CONFIG_MAPS, NS, 'live');
    let errs: VolumeError[] = [];
    for (let i = 0; i < 500 && errs.length === 0; i++) {
      errs = (await vm.refresh(relabeled)).errors;
      if (errs.length === 0) await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(errs.map((e) => e.message), ['MountVolume.SetUp failed for volume "live" : configmap "live" not found']);
    assert.equal(await readFile(join(dir, 'a'), 'utf8'), '10');
  } finally {
    await vm.tearDown(uid);
    source.unregisterPod(uid);
  }
});

test('optional sources, missing keys and unsupported types give upstream FailedMount messages', async () => {
  const uid = `uid-${randomBytes(4).toString('hex')}`;
  const setUp = async (volumes: any[]) => vm.setUp(podOf(uid, { containers: [{ name: 'c' }], volumes }), ctx);
  const failsWith = async (volumes: any[], message: string) =>
    assert.rejects(setUp(volumes), (err: unknown) => {
      assert.ok(err instanceof VolumeError, String(err));
      assert.equal(err.reason, 'FailedMount');
      assert.equal(err.message, message);
      return true;
    });
  try {
    const ok = await setUp([
      { name: 'opt-cm', configMap: { name: 'nope', optional: true } },
      { name: 'opt-key', configMap: { name: 'app-config', optional: true, items: [{ key: 'missing', path: 'm' }, { key: 'mode', path: 'mode' }] } },
      { name: 'opt-secret', secret: { secretName: 'nope', optional: true } },
    ]);
    const optCm = ok.get('opt-cm')!.hostPath;
    assert.deepEqual((await readdir(optCm)).filter((n) => !n.startsWith('..')), []);
    assert.ok((await lstat(join(optCm, '..data'))).isSymbolicLink(), 'an empty optional volume still has its layout');
    assert.deepEqual((await readdir(ok.get('opt-key')!.hostPath)).filter((n) => !n.startsWith('..')), ['mode']);

    await failsWith([{ name: 'cm', configMap: { name: 'nope' } }], 'MountVolume.SetUp failed for volume "cm" : configmap "nope" not found');
    await failsWith([{ name: 's', secret: { secretName: 'nope' } }], 'MountVolume.SetUp failed for volume "s" : secret "nope" not found');
    await failsWith(
      [{ name: 'k', configMap: { name: 'app-config', items: [{ key: 'missing', path: 'm' }] } }],
      'MountVolume.SetUp failed for volume "k" : configmap references non-existent config key: missing',
    );
    await failsWith(
      [{ name: 'k', secret: { secretName: 'app-secret', items: [{ key: 'missing', path: 'm' }] } }],
      'MountVolume.SetUp failed for volume "k" : references non-existent secret key: missing',
    );
    await failsWith(
      [{ name: 'bad-path', configMap: { name: 'app-config', items: [{ key: 'mode', path: '../escape' }] } }],
      "MountVolume.SetUp failed for volume \"bad-path\" : invalid path: must not contain '..': ../escape",
    );
    await failsWith(
      [{ name: 'data', persistentVolumeClaim: { claimName: 'c' } }],
      'MountVolume.SetUp failed for volume "data" : volume type persistentVolumeClaim is not supported by skiff',
    );
    await failsWith([{ name: 'n', nfs: { server: 'x', path: '/' } }], 'MountVolume.SetUp failed for volume "n" : volume type nfs is not supported by skiff');
    await failsWith(
      [{ name: 'kube-api-access-x', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3607 } }] } }],
      'MountVolume.SetUp failed for volume "kube-api-access-x" : projected serviceAccountToken sources need a token manager, and this agent has none',
    );
  } finally {
    await vm.tearDown(uid);
  }
  assert.deepEqual(await mountsUnder(join(root, uid)), []);
});

test('hostPath type checks, with upstream messages', async () => {
  const uid = `uid-${randomBytes(4).toString('hex')}`;
  const file = join(scratch, 'a-file');
  await writeFile(file, 'x');
  const sockPath = join(scratch, 'a.sock');
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(sockPath, r));
  try {
    const hp = (path: string, type?: string) => ({ name: 'h', hostPath: { path, type } });
    const check = async (path: string, type?: string) => vm.setUp(podOf(uid, { volumes: [hp(path, type)] }), ctx);
    const failsWith = (path: string, type: string, detail: string) =>
      assert.rejects(check(path, type), { message: `MountVolume.SetUp failed for volume "h" : ${detail}` });

    assert.deepEqual((await check('/does/not/matter/unchecked')).get('h'), { hostPath: '/does/not/matter/unchecked' });
    const made = join(scratch, 'made/deep');
    await check(made, 'DirectoryOrCreate');
    assert.ok((await stat(made)).isDirectory());
    assert.equal((await stat(made)).mode & 0o777, 0o755);
    await check(made, 'Directory');
    await failsWith(join(scratch, 'nope'), 'Directory', `hostPath type check failed: ${join(scratch, 'nope')} does not exist`);
    await failsWith(file, 'Directory', `hostPath type check failed: ${file} is not a directory`);
    await failsWith(file, 'DirectoryOrCreate', `hostPath type check failed: ${file} is not a directory`);

    const created = join(scratch, 'created.txt');
    await check(created, 'FileOrCreate');
    assert.ok((await stat(created)).isFile());
    assert.equal((await stat(created)).mode & 0o777, 0o644);
    await check(file, 'File');
    await failsWith(made, 'File', `hostPath type check failed: ${made} is not a file`);
    await failsWith(join(scratch, 'gone.txt'), 'File', `hostPath type check failed: ${join(scratch, 'gone.txt')} does not exist`);

    await check(sockPath, 'Socket');
    await failsWith(file, 'Socket', `hostPath type check failed: ${file} is not a socket file`);
    await check('/dev/null', 'CharDevice');
    await failsWith(file, 'CharDevice', `hostPath type check failed: ${file} is not a character device`);
    await failsWith('/dev/null', 'BlockDevice', 'hostPath type check failed: /dev/null is not a block device');
    await failsWith(file, 'Pipe', 'Pipe is an invalid volume type');
  } finally {
    server.close();
    await vm.tearDown(uid);
  }
});

test('mountsFor: volume mounts with subPath and subPathExpr, read-only where upstream forces it', async () => {
  const uid = `uid-${randomBytes(4).toString('hex')}`;
  const pod = podOf(uid, {
    volumes: [
      { name: 'work', emptyDir: {} },
      { name: 'config', configMap: { name: 'app-config' } },
      { name: 'host', hostPath: { path: scratch } },
    ],
    containers: [],
  });
  source.registerPod(pod);
  try {
    const vols = await vm.setUp(pod, ctx);
    const work = vols.get('work')!.hostPath;
    const cfg = vols.get('config')!.hostPath;
    const container = {
      name: 'main',
      volumeMounts: [
        { name: 'work', mountPath: '/work' },
        { name: 'work', mountPath: '/logs', subPathExpr: '$(POD_NAME)/logs' },
        { name: 'work', mountPath: '/ro', subPath: 'shared', readOnly: true },
        { name: 'config', mountPath: '/etc/app' },
        { name: 'config', mountPath: '/etc/app.conf', subPath: 'app.conf' },
        { name: 'host', mountPath: '/host', readOnly: false },
      ],
    };
    const mounts = await vm.mountsFor(pod, container, vols, [{ name: 'POD_NAME', value: `pod-${uid}` }]);
    const version = await readlink(join(cfg, '..data'));
    assert.deepEqual(mounts, [
      { containerPath: '/work', hostPath: work, readOnly: false },
      { containerPath: '/logs', hostPath: join(work, `pod-${uid}`, 'logs'), readOnly: false },
      { containerPath: '/ro', hostPath: join(work, 'shared'), readOnly: true },
      { containerPath: '/etc/app', hostPath: cfg, readOnly: true },
      // A subPath is the resolved file (as upstream bind-mounts it: later updates do not reach it).
      { containerPath: '/etc/app.conf', hostPath: join(cfg, version, 'app.conf'), readOnly: true },
      { containerPath: '/host', hostPath: scratch, readOnly: false },
    ]);
    assert.ok((await stat(join(work, `pod-${uid}`, 'logs'))).isDirectory(), 'a missing subPath is created');
    assert.equal((await stat(join(work, 'shared'))).mode & 0o777, 0o777, 'with the volume directory mode');

    const fails = (vmounts: any[], message: string, env: any[] = []) =>
      assert.rejects(vm.mountsFor(pod, { name: 'main', volumeMounts: vmounts }, vols, env), (err: unknown) => {
        assert.ok(err instanceof ContainerConfigError, String(err));
        assert.equal(err.message, message);
        return true;
      });
    await fails([{ name: 'nope', mountPath: '/x' }], 'cannot find volume "nope" to mount into container "main"');
    await fails([{ name: 'work', mountPath: '/x', subPath: '/abs' }], 'error SubPath `/abs` must not be an absolute path');
    await fails([{ name: 'work', mountPath: '/x', subPath: 'a/../../b' }], "unable to provision SubPath `a/../../b`: must not contain '..'");
    await fails([{ name: 'work', mountPath: '/x', subPathExpr: '$(A)/$(B)/$(C)' }], 'missing value for B, C', [{ name: 'A', value: 'a' }, { name: 'B', value: '' }]);
    // A symlink planted in the volume cannot lead a subPath out of it.
    await mkdir(join(work, 'inner'), { recursive: true });
    await symlink('/etc', join(work, 'inner', 'escape'));
    await fails([{ name: 'work', mountPath: '/x', subPath: 'inner/escape' }], 'failed to prepare subPath for volumeMount "work" of container "main"');
  } finally {
    await vm.tearDown(uid);
    source.unregisterPod(uid);
  }
});

test('fsGroup: projected files are group-readable by it, emptyDir is setgid to it', async () => {
  const uid = `uid-${randomBytes(4).toString('hex')}`;
  const pod = podOf(uid, {
    securityContext: { fsGroup: 4321 },
    containers: [],
    volumes: [
      { name: 'secret', secret: { secretName: 'app-secret', defaultMode: 0o400 } },
      { name: 'work', emptyDir: {} },
    ],
  });
  source.registerPod(pod);
  try {
    const vols = await vm.setUp(pod, ctx);
    const pw = join(vols.get('secret')!.hostPath, 'password');
    assert.equal((await stat(pw)).gid, 4321);
    assert.equal((await stat(pw)).mode & 0o7777, 0o440);
    const work = await stat(vols.get('work')!.hostPath);
    assert.equal(work.gid, 4321);
    assert.equal(work.mode & 0o7777, 0o2777);
    assert.deepEqual(await vm.refresh(pod), { changed: [], errors: [] }, 'ownership does not make every refresh rewrite');
  } finally {
    await vm.tearDown(uid);
    source.unregisterPod(uid);
  }
});

test('concurrent setUp and refresh of one pod leave exactly one version', async () => {
  const c = cluster.client;
  await c.create(CONFIG_MAPS, NS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'busy' }, data: { k: '1' } });
  const uid = `uid-${randomBytes(4).toString('hex')}`;
  const pod = podOf(uid, { containers: [], volumes: [{ name: 'busy', configMap: { name: 'busy' } }] });
  // Read straight from the API (not registered), so every call sees the newest object.
  try {
    await vm.setUp(pod, ctx);
    await c.patch(CONFIG_MAPS, NS, 'busy', 'application/merge-patch+json', { data: { k: '2' } });
    const results = await Promise.all([vm.refresh(pod), vm.setUp(pod, ctx), vm.refresh(pod), vm.refresh(pod)]);
    const changed = results.filter((r): r is { changed: string[]; errors: VolumeError[] } => 'changed' in r).flatMap((r) => r.changed);
    assert.deepEqual(changed, ['busy'], 'only the first refresh writes');
    const dir = join(root, uid, 'volumes', 'kubernetes.io~configmap', 'busy');
    assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith('..')).length, 2, '..data and one version');
    assert.equal(await readFile(join(dir, 'k'), 'utf8'), '2');
  } finally {
    await vm.tearDown(uid);
  }
});
