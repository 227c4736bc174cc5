// Cgroup layouts from mountinfo text: the decisions crun makes, and what skiff must change, on any host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cgroupLayout, hybridRebinds, missingControllers, parseMountinfo } from './cgroups.js';
import { cgroupChecks } from './checks.js';

// This session's machine before hugetlb was moved by hand: cgroup v1 controllers, cgroup2 at /unified.
const HYBRID_BEFORE = `22 1 0:21 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
23 22 0:22 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const HYBRID_AFTER = `${HYBRID_BEFORE}42 31 0:39 / /sys/fs/cgroup/hugetlb rw,relatime - cgroup cgroup rw,hugetlb\n`;

// systemd's hybrid layout: /sys/fs/cgroup read-only once set up, cpu and cpuacct on one hierarchy.
const SYSTEMD_HYBRID = `25 21 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:4 - tmpfs tmpfs ro,mode=755
26 25 0:24 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:5 - cgroup2 cgroup2 rw,nsdelegate
27 25 0:25 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:6 - cgroup cgroup rw,xattr,name=systemd
30 25 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,cpu,cpuacct
31 25 0:29 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,memory
32 25 0:30 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,pids
`;

const UNIFIED = `30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n`;

test('this machine before the fix: hybrid, hugetlb must move to its own v1 hierarchy', () => {
  const layout = cgroupLayout(parseMountinfo(HYBRID_BEFORE));
  assert.equal(layout.mode, 'hybrid');
  assert.equal(layout.unifiedMount, '/sys/fs/cgroup/unified');
  assert.equal(layout.v1.get('memory'), '/sys/fs/cgroup/memory');
  assert.equal(layout.v1.has('systemd'), false, 'named hierarchies are not controllers');
  assert.deepEqual(hybridRebinds(layout, 'hugetlb\n'), [
    {
      controller: 'hugetlb',
      v1Name: 'hugetlb',
      target: '/sys/fs/cgroup/hugetlb',
      commands: ['mkdir -p /sys/fs/cgroup/hugetlb', 'mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb'],
    },
  ]);
  const [cgroups, controllers] = cgroupChecks({ layout, unifiedControllers: 'hugetlb\n', unifiedSubtreeControl: '' });
  assert.equal(cgroups!.ok, false);
  assert.equal(cgroups!.autoFix, true);
  assert.match(cgroups!.detail, /hugetlb still on the unified hierarchy: crun refuses to start containers \("cgroups in hybrid mode not supported, drop all controllers from cgroupv2"\)/);
  assert.equal(cgroups!.fix, 'mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb   (or: skiff doctor --fix)');
  assert.equal(controllers!.ok, true);
});

test('this machine after the fix: hybrid with an empty unified hierarchy is fine', () => {
  const layout = cgroupLayout(parseMountinfo(HYBRID_AFTER));
  assert.equal(layout.mode, 'hybrid');
  assert.equal(layout.v1.get('hugetlb'), '/sys/fs/cgroup/hugetlb');
  assert.deepEqual(hybridRebinds(layout, ''), []);
  assert.deepEqual(
    cgroupChecks({ layout, unifiedControllers: '', unifiedSubtreeControl: '' }).map((c) => [c.id, c.ok]),
    [['cgroups', true], ['cgroup-controllers', true]],
  );
});

test('systemd hybrid: a read-only /sys/fs/cgroup is remounted around the move, io moves as blkio, a busy controller is disabled first', () => {
  const layout = cgroupLayout(parseMountinfo(SYSTEMD_HYBRID));
  assert.equal(layout.mode, 'hybrid');
  assert.equal(layout.rootReadOnly, true);
  assert.equal(layout.v1.get('cpu'), '/sys/fs/cgroup/cpu,cpuacct');
  const rebinds = hybridRebinds(layout, 'io hugetlb', 'io');
  assert.deepEqual(rebinds.map((r) => [r.controller, r.v1Name, r.target]), [
    ['io', 'blkio', '/sys/fs/cgroup/blkio'],
    ['hugetlb', 'hugetlb', '/sys/fs/cgroup/hugetlb'],
  ]);
  assert.deepEqual(rebinds[0]!.commands, [
    'echo -io > /sys/fs/cgroup/unified/cgroup.subtree_control',
    'mount -o remount,rw /sys/fs/cgroup',
    'mkdir -p /sys/fs/cgroup/blkio',
    'mount -t cgroup -o blkio cgroup /sys/fs/cgroup/blkio',
    'mount -o remount,ro /sys/fs/cgroup',
  ]);
});

test('cgroup v2 hosts need no move; their controllers come from cgroup.controllers', () => {
  const layout = cgroupLayout(parseMountinfo(UNIFIED));
  assert.equal(layout.mode, 'unified');
  assert.deepEqual(hybridRebinds(layout, 'cpuset cpu io memory pids'), []);
  assert.deepEqual(missingControllers(layout, ['memory', 'cpu', 'pids'], 'cpuset cpu io memory hugetlb'), ['pids']);
  const [, controllers] = cgroupChecks({ layout, unifiedControllers: 'cpuset cpu io memory hugetlb', unifiedSubtreeControl: '' });
  assert.equal(controllers!.ok, false);
  assert.equal(controllers!.detail, 'missing: pids');
});

test('legacy v1 without pids; no cgroups at all', () => {
  const legacy = cgroupLayout(parseMountinfo(HYBRID_AFTER.split('\n').filter((l) => !/unified|pids/.test(l)).join('\n')));
  assert.equal(legacy.mode, 'legacy');
  const [cgroups, controllers] = cgroupChecks({ layout: legacy, unifiedControllers: '', unifiedSubtreeControl: '' });
  assert.equal(cgroups!.ok, true);
  assert.equal(controllers!.fix, 'mkdir -p /sys/fs/cgroup/pids && mount -t cgroup -o pids cgroup /sys/fs/cgroup/pids');
  const none = cgroupLayout(parseMountinfo('22 1 0:21 / / rw - ext4 /dev/sda1 rw\n'));
  assert.equal(none.mode, 'none');
  assert.equal(cgroupChecks({ layout: none, unifiedControllers: '', unifiedSubtreeControl: '' })[0]!.ok, false);
});

test('mountinfo: escaped mount points, optional fields, a later mount hiding an earlier one, junk lines', () => {
  const text = `50 22 0:40 / /mnt/with\\040space rw - tmpfs tmpfs rw
51 22 0:41 / /sys/fs/cgroup rw shared:1 master:2 - tmpfs tmpfs rw
52 51 0:42 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw
not a mountinfo line
`;
  const mounts = parseMountinfo(text);
  assert.deepEqual(mounts.map((m) => [m.mountPoint, m.fsType]), [
    ['/mnt/with space', 'tmpfs'],
    ['/sys/fs/cgroup', 'cgroup2'],
  ]);
  assert.equal(cgroupLayout(mounts).mode, 'unified');
});
