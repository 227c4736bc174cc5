// The OCI config a ContainerSpec becomes (no containers run here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES, buildOciSpec, capabilitiesFromMask, effectiveCapabilities, normalizeCapability } from './oci-spec.js';
import type { ContainerSpec, SandboxInfo } from '../cri.js';

test('capability names: with or without CAP_, any case; ALL stays ALL', () => {
  assert.equal(normalizeCapability('net_admin'), 'CAP_NET_ADMIN');
  assert.equal(normalizeCapability('CAP_SYS_TIME'), 'CAP_SYS_TIME');
  assert.equal(normalizeCapability('all'), 'ALL');
});

test('effective capabilities follow containerd: defaults, ALL, adds, then drops', () => {
  const sorted = (x: string[]) => [...x].sort();
  assert.deepEqual(sorted(effectiveCapabilities({ add: [], drop: [] }, false)), sorted(DEFAULT_CAPABILITIES));
  assert.ok(!effectiveCapabilities({ add: [], drop: ['CHOWN'] }, false).includes('CAP_CHOWN'));
  assert.ok(effectiveCapabilities({ add: ['NET_ADMIN'], drop: [] }, false).includes('CAP_NET_ADMIN'));
  assert.deepEqual(effectiveCapabilities({ add: ['NET_ADMIN'], drop: ['ALL'] }, false), ['CAP_NET_ADMIN']);
  assert.deepEqual(effectiveCapabilities({ add: ['ALL'], drop: ['CAP_SYS_ADMIN'] }, false).length, ALL_CAPABILITIES.length - 1);
  assert.deepEqual(effectiveCapabilities({ add: ['KILL'], drop: ['KILL'] }, false).includes('CAP_KILL'), false);
  assert.deepEqual(effectiveCapabilities({ add: [], drop: ['ALL'] }, true), ALL_CAPABILITIES);
  // Never more than the agent's own bounding set.
  assert.deepEqual(effectiveCapabilities({ add: ['ALL'], drop: [] }, false, ['CAP_KILL']), ['CAP_KILL']);
  assert.deepEqual(capabilitiesFromMask('0000000000000021'), ['CAP_CHOWN', 'CAP_KILL']);
});

const sandbox: SandboxInfo = { id: 's', podUid: 'u', namespace: 'ns', name: 'p', ip: '10.0.0.2', resolvConfPath: '/sb/resolv.conf', hostsPath: '/sb/hosts', hostnamePath: '/sb/hostname', createdAt: 0 };
const spec: ContainerSpec = {
  sandboxId: 's', podUid: 'u', namespace: 'ns', podName: 'p', containerName: 'c', attempt: 2,
  image: { reference: 'r', imageRef: 'r@sha256:x', id: 'sha256:y', config: {}, sizeBytes: 0, names: [] },
  args: ['app'], env: ['A=1'], cwd: '', uid: 5, gid: 6, additionalGids: [], tty: false, stdin: false, stdinOnce: false,
  privileged: false, readOnlyRootFilesystem: true, capabilities: { add: [], drop: [] },
  mounts: [{ containerPath: '/data', hostPath: '/host/data', readOnly: true }, { containerPath: '/mem', hostPath: '', readOnly: false, tmpfsSizeBytes: 1024 }],
  resources: { cpuShares: 2, memoryLimitBytes: 1 << 20 }, logPath: '/logs/c/2.log',
};
const opts = {
  rootfs: '/b/rootfs', sandbox, hostNetwork: false, hostIPC: false, hostPID: false,
  namespaces: { net: '/ns/net', ipc: '/ns/ipc', uts: '/ns/uts' }, shmPath: '/sb/shm', hostname: 'p',
  cgroupsPath: '/skiff/podu/c1', cgroupVersion: 1 as const, swapAccounting: true,
};

test('the OCI config: process, root, mounts, namespaces, resources, annotations', () => {
  const oci = buildOciSpec(spec, opts);
  assert.deepEqual(oci.process.user, { uid: 5, gid: 6 });
  assert.equal(oci.process.cwd, '/');
  assert.equal(oci.process.noNewPrivileges, false);
  assert.deepEqual(oci.process.env, ['HOSTNAME=p', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=1']);
  assert.deepEqual(oci.root, { path: '/b/rootfs', readonly: true });
  const byDest = Object.fromEntries(oci.mounts.map((m: any) => [m.destination, m]));
  assert.deepEqual(byDest['/data'].options, ['rbind', 'rprivate', 'ro']);
  assert.deepEqual(byDest['/mem'].type, 'tmpfs');
  assert.ok(byDest['/mem'].options.includes('size=1024'));
  assert.equal(byDest['/etc/hosts'].source, '/sb/hosts');
  assert.equal(byDest['/dev/shm'].source, '/sb/shm');
  assert.ok(byDest['/sys'].options.includes('ro'));
  assert.deepEqual(oci.linux.namespaces, [{ type: 'mount' }, { type: 'pid' }, { type: 'network', path: '/ns/net' }, { type: 'ipc', path: '/ns/ipc' }, { type: 'uts', path: '/ns/uts' }]);
  assert.deepEqual(oci.linux.resources.cpu, { shares: 2 });
  assert.deepEqual(oci.linux.resources.memory, { limit: 1 << 20, swap: 1 << 20 });
  assert.equal(oci.linux.cgroupsPath, '/skiff/podu/c1');
  assert.ok(oci.linux.maskedPaths.includes('/proc/kcore'));
  assert.ok(oci.linux.readonlyPaths.includes('/proc/sys'));
  assert.equal(oci.annotations['io.kubernetes.container.restartCount'], '2');
  assert.equal(oci.annotations['io.kubernetes.pod.uid'], 'u');
  assert.equal(oci.hostname, undefined);
});

test('host namespaces and privileged containers', () => {
  const oci = buildOciSpec({ ...spec, privileged: true }, { ...opts, hostNetwork: true, hostIPC: true, hostPID: true, namespaces: {} });
  assert.deepEqual(oci.linux.namespaces, [{ type: 'mount' }]);
  assert.equal(oci.linux.maskedPaths, undefined);
  assert.deepEqual(oci.linux.resources.devices, [{ allow: true, access: 'rwm' }]);
  assert.equal(oci.mounts.find((m: any) => m.destination === '/dev').source, '/dev');
});
