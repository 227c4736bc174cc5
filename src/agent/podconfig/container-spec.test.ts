import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { KubeObject } from '../../api/types.js';
import type { PulledImage } from '../cri.js';
import { containerArgv } from './command.js';
import { buildContainerSpec, mergeEnv } from './container-spec.js';
import { ContainerConfigError } from './errors.js';
import { containerResources, milliCPUToQuota, milliCPUToShares } from './resources.js';
import { resolveUser } from './user.js';

test('command and args merge with the image Entrypoint and Cmd as the runtime does', () => {
  const image = { entrypoint: ['/entry', '-x'], cmd: ['serve', '--port=80'] };
  const env = [{ name: 'PORT', value: '8080' }, { name: 'MODE', value: 'fast' }];
  const table: [any, { entrypoint?: string[]; cmd?: string[] }, string[]][] = [
    [{}, image, ['/entry', '-x', 'serve', '--port=80']],
    [{ command: ['/bin/sh', '-c'] }, image, ['/bin/sh', '-c']],
    [{ args: ['run', '--port=$(PORT)'] }, image, ['/entry', '-x', 'run', '--port=8080']],
    [{ command: ['/app', '$(MODE)'], args: ['$(PORT)', '$$(PORT)', '$(NOPE)'] }, image, ['/app', 'fast', '8080', '$(PORT)', '$(NOPE)']],
    [{ command: [] as string[], args: [] as string[] }, image, ['/entry', '-x', 'serve', '--port=80']],
    [{}, { cmd: ['sh'] }, ['sh']],
    [{ args: ['echo', 'hi'] }, { cmd: ['sh'] }, ['echo', 'hi']],
    [{}, { entrypoint: [''], cmd: ['sh'] }, ['sh']],
    [{ args: ['x'] }, { entrypoint: ['/e'] }, ['/e', 'x']],
  ];
  for (const [container, img, want] of table) {
    assert.deepEqual(containerArgv(container, img, env), want, JSON.stringify({ container, img }));
  }
  assert.throws(
    () => containerArgv({}, {}, env),
    (err: unknown) => err instanceof ContainerConfigError && err.message === 'no command specified' && err.reason === 'CreateContainerError',
  );
});

test('MilliCPUToShares and MilliCPUToQuota as the kubelet computes them', () => {
  const shares: [number, number][] = [
    [0, 2],
    [1, 2],
    [2, 2],
    [3, 3],
    [10, 10],
    [100, 102],
    [250, 256],
    [500, 512],
    [1000, 1024],
    [1500, 1536],
    [256000, 262144],
    [300000, 262144],
  ];
  for (const [milli, want] of shares) assert.equal(milliCPUToShares(milli), want, `shares(${milli})`);
  const quotas: [number, number][] = [
    [0, 0],
    [5, 1000],
    [9, 1000],
    [10, 1000],
    [11, 1100],
    [200, 20000],
    [500, 50000],
    [1500, 150000],
  ];
  for (const [milli, want] of quotas) assert.equal(milliCPUToQuota(milli), want, `quota(${milli})`);

  assert.deepEqual(containerResources({}), { cpuShares: 2 });
  assert.deepEqual(containerResources({ resources: { requests: { cpu: '250m', memory: '64Mi' } } }), { cpuShares: 256 });
  assert.deepEqual(containerResources({ resources: { limits: { cpu: '1.5', memory: '1Gi' } } }, { pidsLimit: 1024 }), {
    cpuShares: 1536,
    cpuQuotaUs: 150000,
    cpuPeriodUs: 100000,
    memoryLimitBytes: 1073741824,
    pidsLimit: 1024,
  });
  assert.deepEqual(containerResources({ resources: { requests: { cpu: '100m' }, limits: { cpu: '200m', memory: '100M' } } }), {
    cpuShares: 102,
    cpuQuotaUs: 20000,
    cpuPeriodUs: 100000,
    memoryLimitBytes: 100000000,
  });
});

let rootfs: string;
before(async () => {
  rootfs = await mkdtemp(join(tmpdir(), 'skt-pc-rootfs-'));
  await mkdir(join(rootfs, 'etc'), { recursive: true });
  await mkdir(join(rootfs, 'real'), { recursive: true });
  await writeFile(
    join(rootfs, 'real', 'passwd'),
    ['root:x:0:0:root:/root:/bin/sh', 'daemon:x:1:1::/:/sbin/nologin', 'app:x:1000:1001:App:/home/app:/bin/sh', 'nobody:x:65534:65534::/:/bin/false', ''].join('\n'),
  );
  // An absolute link must resolve inside the root filesystem, not on the host.
  await symlink('/real/passwd', join(rootfs, 'etc', 'passwd'));
  await writeFile(
    join(rootfs, 'etc', 'group'),
    ['root:x:0:', 'wheel:x:10:app,root', 'appgrp:x:1001:', 'audio:x:29:app', 'staff:x:50:', ''].join('\n'),
  );
});
after(async () => {
  await rm(rootfs, { recursive: true, force: true });
});

const podWith = (sc: any = {}): KubeObject => ({ metadata: { name: 'p', namespace: 'ns', uid: 'uid-1' }, spec: { securityContext: sc, containers: [] } });

test('the user: securityContext over the image User, names from the image /etc/passwd and /etc/group', async () => {
  const user = (imageUser: string | undefined, podSc: any = {}, containerSc: any = {}) =>
    resolveUser({ pod: podWith(podSc), container: { name: 'c', securityContext: containerSc }, imageUser, rootfs });

  assert.deepEqual(await user(undefined), { uid: 0, gid: 0, additionalGids: [0, 10] });
  assert.deepEqual(await user('app'), { uid: 1000, gid: 1001, additionalGids: [1001, 10, 29] });
  assert.deepEqual(await user('1000'), { uid: 1000, gid: 1001, additionalGids: [1001, 10, 29] });
  assert.deepEqual(await user('1000:50'), { uid: 1000, gid: 50, additionalGids: [50, 10, 29] });
  assert.deepEqual(await user('app:staff'), { uid: 1000, gid: 50, additionalGids: [50, 10, 29] });
  assert.deepEqual(await user('4242'), { uid: 4242, gid: 0, additionalGids: [0] });
  assert.deepEqual(await user('4242:4343'), { uid: 4242, gid: 4343, additionalGids: [4343] });
  // runAsUser replaces the image's user (and its group); runAsGroup the group.
  assert.deepEqual(await user('app:staff', { runAsUser: 65534 }), { uid: 65534, gid: 65534, additionalGids: [65534] });
  assert.deepEqual(await user('app', { runAsUser: 1000, runAsGroup: 7 }), { uid: 1000, gid: 7, additionalGids: [7, 10, 29] });
  assert.deepEqual(await user('app', { runAsUser: 1 }, { runAsUser: 1000 }), { uid: 1000, gid: 1001, additionalGids: [1001, 10, 29] });
  // fsGroup, then supplementalGroups; Strict leaves out the image's memberships.
  assert.deepEqual(await user('app', { fsGroup: 2000, supplementalGroups: [3000, 10] }), { uid: 1000, gid: 1001, additionalGids: [1001, 10, 29, 2000, 3000] });
  assert.deepEqual(await user('app', { fsGroup: 2000, supplementalGroupsPolicy: 'Strict' }), { uid: 1000, gid: 1001, additionalGids: [1001, 2000] });
  // Without a root filesystem only numbers work.
  assert.deepEqual(await resolveUser({ pod: podWith(), container: {}, imageUser: '5:6' }), { uid: 5, gid: 6, additionalGids: [6] });

  await assert.rejects(user('ghost'), (err: unknown) => {
    assert.ok(err instanceof ContainerConfigError);
    assert.equal(err.reason, 'CreateContainerError');
    assert.equal(err.message, 'unable to find user ghost: no matching entries in passwd file');
    return true;
  });
  await assert.rejects(user('app:ghosts'), { message: 'unable to find group ghosts: no matching entries in group file' });
});

test('runAsNonRoot is verified with the kubelet messages', async () => {
  const check = (imageUser: string | undefined, podSc: any, containerSc: any = {}) =>
    resolveUser({ pod: podWith(podSc), container: { name: 'c', securityContext: containerSc }, imageUser, rootfs });
  const where = '(pod: "p_ns(uid-1)", container: c)';
  const fails = async (p: Promise<unknown>, message: string) =>
    assert.rejects(p, (err: unknown) => {
      assert.ok(err instanceof ContainerConfigError);
      assert.equal(err.reason, 'CreateContainerConfigError');
      assert.equal(err.message, message);
      return true;
    });
  await fails(check(undefined, { runAsNonRoot: true }), `container has runAsNonRoot and image will run as root ${where}`);
  await fails(check('0:0', { runAsNonRoot: true }), `container has runAsNonRoot and image will run as root ${where}`);
  await fails(check('app', {}, { runAsNonRoot: true }), `container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root ${where}`);
  await fails(check('1000', { runAsNonRoot: true, runAsUser: 0 }), `container's runAsUser breaks non-root policy ${where}`);
  assert.equal((await check('1000', { runAsNonRoot: true })).uid, 1000);
  assert.equal((await check('app', { runAsNonRoot: true, runAsUser: 1000 })).uid, 1000);
  assert.equal((await check(undefined, { runAsNonRoot: true }, { runAsNonRoot: false })).uid, 0);
});

test('buildContainerSpec puts it together: argv, env after the image env, cwd, user, flags, resources', async () => {
  const image: PulledImage = {
    reference: 'docker.io/library/app:1',
    imageRef: 'docker.io/library/app@sha256:abc',
    id: 'sha256:def',
    config: { entrypoint: ['/app'], cmd: ['serve'], env: ['PATH=/app/bin:/bin', 'MODE=image', 'LANG=C'], workingDir: '/srv', user: 'app' },
    sizeBytes: 1,
    names: [],
  };
  const pod: KubeObject = { metadata: { name: 'p', namespace: 'ns', uid: 'uid-1' }, spec: { securityContext: { fsGroup: 2000 } } };
  const container = {
    name: 'main',
    args: ['--mode=$(MODE)'],
    tty: true,
    stdin: true,
    securityContext: { privileged: true, readOnlyRootFilesystem: true, capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] } },
    resources: { requests: { cpu: '500m' }, limits: { memory: '256Mi' } },
  };
  const spec = await buildContainerSpec({
    pod,
    container,
    attempt: 2,
    sandboxId: 'sb-1',
    image,
    rootfs,
    logPath: '/var/log/pods/x/main/2.log',
    mounts: [{ containerPath: '/data', hostPath: '/h/data', readOnly: false }],
    env: [{ name: 'MODE', value: 'pod' }, { name: 'EXTRA', value: '1' }],
    hostname: 'p',
  });
  assert.deepEqual(spec, {
    sandboxId: 'sb-1',
    podUid: 'uid-1',
    namespace: 'ns',
    podName: 'p',
    containerName: 'main',
    attempt: 2,
    image,
    args: ['/app', '--mode=pod'],
    env: ['PATH=/app/bin:/bin', 'HOSTNAME=p', 'MODE=pod', 'LANG=C', 'EXTRA=1'],
    cwd: '/srv',
    uid: 1000,
    gid: 1001,
    additionalGids: [1001, 10, 29, 2000],
    tty: true,
    stdin: true,
    stdinOnce: false,
    privileged: true,
    readOnlyRootFilesystem: true,
    capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] },
    mounts: [{ containerPath: '/data', hostPath: '/h/data', readOnly: false }],
    resources: { cpuShares: 512, memoryLimitBytes: 268435456 },
    logPath: '/var/log/pods/x/main/2.log',
  });
  assert.deepEqual(mergeEnv(['A=1', 'B=2'], ['B=3', 'C=4'], ['A=5']), ['A=5', 'B=3', 'C=4']);
  const bare = await buildContainerSpec({ pod, container: { name: 'c', workingDir: '/w' }, attempt: 0, sandboxId: 's', image: { ...image, config: { cmd: ['sh'] } }, logPath: 'l', mounts: [], env: [] });
  assert.equal(bare.cwd, '/w');
  assert.deepEqual(bare.env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
  assert.deepEqual([bare.uid, bare.gid], [0, 0]);
});
