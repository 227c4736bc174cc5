// Real containers: crun under conmon, as root, on a busybox root filesystem. No mocks.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import type { ContainerSpec, ContainerStatus, SandboxInfo } from '../cri.js';
import { NetworkError } from '../cri.js';
import { Cgroups } from './cgroups.js';
import { cgroupDirs, eventually, makeFixture, type Fixture } from './testing.js';

let fx: Fixture;
const exits = new Map<string, ContainerStatus>();

before(() => {
  fx = makeFixture();
  fx.rt.onExit((s) => exits.set(s.id, s));
});
after(async () => {
  await fx?.cleanup();
});

async function sandbox(over = {}): Promise<SandboxInfo> {
  const spec = fx.sandboxSpec(over);
  return fx.rt.runPodSandbox(spec);
}

async function runToExit(sb: SandboxInfo, over: Partial<ContainerSpec>): Promise<ContainerStatus> {
  const id = await fx.rt.createContainer(fx.containerSpec(sb.id, sb.podUid, over));
  await fx.rt.startContainer(id);
  return eventually(() => exits.get(id), `container ${id} to exit`);
}

// How many of upstream's masked (/proc/timer_list) and read-only (/proc/sys) paths are mounted over.
const MASKS = 'echo masked=$(grep -c " /proc/timer_list " /proc/self/mountinfo) readonly=$(grep -c " /proc/sys " /proc/self/mountinfo)';

function logLines(status: ContainerStatus): string[] {
  return readFileSync(status.logPath, 'utf8').split('\n').filter(Boolean);
}

describe('CrunRuntime', () => {
  test('version names crun and its version', () => {
    assert.match(fx.rt.version, /^crun:\/\/\d+\.\d+/);
  });

  test('a container runs, exits 0 and leaves its output in CRI log format', async () => {
    const sb = await sandbox();
    try {
      const st = await runToExit(sb, { args: ['sh', '-c', 'echo hello; echo oops >&2'] });
      assert.equal(st.exitCode, 0);
      assert.equal(st.phase, 'exited');
      assert.equal(st.oomKilled, false);
      assert.ok(st.startedAt && st.finishedAt && st.finishedAt >= st.createdAt);
      const lines = logLines(st);
      assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d) stdout F hello$/);
      assert.ok(lines.some((l) => / stderr F oops$/.test(l)), lines.join('\n'));
      assert.deepEqual(fx.rt.containerStatus(st.id)?.exitCode, 0);
    } finally {
      await fx.rt.removePodSandbox(sb.id);
    }
  });

  test('a process that ends at once is reported with its start time, before its finish', async () => {
    const sb = await sandbox();
    try {
      // Its exit file can appear while `crun start` is still returning.
      for (let i = 0; i < 5; i++) {
        const st = await runToExit(sb, { args: ['true'] });
        assert.ok(st.startedAt !== undefined && st.finishedAt !== undefined && st.startedAt <= st.finishedAt, JSON.stringify(st));
      }
    } finally {
      await fx.rt.removePodSandbox(sb.id);
    }
  });

  test('exit code, env, cwd and user are the spec\'s', async () => {
    const sb = await sandbox();
    try {
      const three = await runToExit(sb, { containerName: 'three', args: ['sh', '-c', 'exit 3'] });
      assert.equal(three.exitCode, 3);
      const who = await runToExit(sb, {
        containerName: 'who',
        args: ['sh', '-c', 'echo "$GREETING $(pwd) $(id -u):$(id -g) $(id -G)"'],
        env: ['PATH=/bin', 'GREETING=hi'],
        cwd: '/tmp',
        uid: 1234,
        gid: 2345,
        additionalGids: [3456],
      });
      assert.equal(who.exitCode, 0);
      assert.match(logLines(who)[0]!, / stdout F hi \/tmp 1234:2345 2345 3456$/);
    } finally {
      await fx.rt.removePodSandbox(sb.id);
    }
  });

  test('a read-only root filesystem refuses writes; mounts of the spec are there', async () => {
    const spec = fx.sandboxSpec();
    const sb = await fx.rt.runPodSandbox(spec);
    try {
      const st = await runToExit(sb, {
        args: ['sh', '-c', 'touch /x 2>/dev/null && echo wrote || echo refused; echo ok > /scratch/f && cat /scratch/f; cat /etc/hostname'],
        readOnlyRootFilesystem: true,
        mounts: [{ containerPath: '/scratch', hostPath: '', readOnly: false, tmpfsSizeBytes: 1 << 20 }],
      });
      const out = logLines(st).map((l) => l.split(' ').slice(3).join(' '));
      assert.deepEqual(out, ['refused', 'ok', spec.hostname]);
    } finally {
      await fx.rt.removePodSandbox(sb.id);
    }
  });

  test('dropping CHOWN makes chown fail; the default set allows it', async () => {
    const sb = await sandbox();
    try {
      const dflt = await runToExit(sb, { containerName: 'dflt', args: ['sh', '-c', 'touch /f && chown 1:1 /f'] });
      assert.equal(dflt.exitCode, 0);
      const dropped = await runToExit(sb, { containerName: 'dropped', args: ['sh', '-c', 'touch /f && chown 1:1 /f'], capabilities: { add: [], drop: ['CHOWN'] } });
      assert.notEqual(dropped.exitCode, 0);
      const all = await runToExit(sb, { containerName: 'all', args: ['sh', '-c', 'grep CapEff /proc/self/status'], capabilities: { add: [], drop: ['ALL'] } });
      assert.match(logLines(all)[0]!, /CapEff:\s+0+$/);
    } finally {
      await fx.rt.removePodSandbox(sb.id);
    }
  });

  test('a memory hog over its 32Mi limit is OOMKilled', async () => {
    const sb = await sandbox();
    try {
      const st = await runToExit(sb, { args: ['sh', '-c', 'tail /dev/zero'], resources: { memoryLimitBytes: 32 << 20 } });
      assert.equal(st.oomKilled, true);
      assert.equal(st.exitCode, 137);
    } finally {
      await fx.rt.removePodSandbox(sb.id);
    }
  });

  test('cpu, memory and pids limits land in the container\'s cgroup, under the pod\'s', async () => {
    const sb = await sandbox();
    try {
      const v2 = new Cgroups().version === 2;
      const script = v2
        ? 'cat /proc/self/cgroup; cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max /sys/fs/cgroup/memory.max'
        : 'grep :pids: /proc/self/cgroup; cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/memory/memory.limit_in_bytes';
      const st = await runToExit(sb, {
        args: ['sh', '-c', script],
        resources: { cpuShares: 512, cpuQuotaUs: 50_000, cpuPeriodUs: 100_000, memoryLimitBytes: 64 << 20, pidsLimit: 77 },
      });
      const out = logLines(st).map((l) => l.split(' ').slice(3).join(' '));
      assert.match(out[0]!, new RegExp(`/${fx.cgroupRoot}/pod${sb.podUid}/${st.id}$`));
      if (v2) assert.deepEqual(out.slice(1), ['77', '50000 100000', String(64 << 20)]);
      else assert.deepEqual(out.slice(1), ['77', '50000', '100000', '512', String(64 << 20)]);
    } finally {
      await fx.rt.removePodSandbox(sb.id);
    }
  });

  test('a privileged container gets every capability the agent has, the host devices, and may mount', async () => {
    const sb = await sandbox();
    try {
      const st = await runToExit(sb, {
        args: ['sh', '-c', `grep CapEff /proc/self/status; mkdir -p /mnt; mount -t tmpfs none /mnt && echo mounted; test -e /dev/kmsg && echo devices; ${MASKS}`],
        privileged: true,
      });
      const out = logLines(st).map((l) => l.split(' ').slice(3).join(' '));
      const own = readFileSync('/proc/self/status', 'utf8').match(/CapBnd:\s+(\S+)/)![1];
      assert.deepEqual(out, [`CapEff:\t${own}`, 'mounted', 'devices', 'masked=0 readonly=0']);
      const plain = await runToExit(sb, { containerName: 'plain', args: ['sh', '-c', `mkdir -p /mnt; mount -t tmpfs none /mnt 2>/dev/null && echo mounted; test -e /dev/kmsg && echo devices; ${MASKS}`] });
      assert.deepEqual(logLines(plain).map((l) => l.split(' ').slice(3).join(' ')), ['masked=1 readonly=1']);
    } finally {
      await fx.rt.removePodSandbox(sb.id);
    }
  });

  test('a failed network setup propagates its NetworkError and leaves no namespaces behind', async () => {
    fx.network.failWith = 'no IP addresses available in range set: 10.0.0.1-10.0.0.2';
    try {
      const spec = fx.sandboxSpec();
      await assert.rejects(fx.rt.runPodSandbox(spec), (err: unknown) => err instanceof NetworkError && /no IP addresses available/.test(err.message));
      assert.equal(fx.rt.listSandboxes().length, 0);
      assert.deepEqual(cgroupDirs(fx.cgroupRoot, `pod${spec.podUid}`), []);
      const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
      assert.ok(!mounts.includes(`${fx.base}/run/sandboxes/`), 'a namespace file is still mounted');
    } finally {
      fx.network.failWith = undefined;
    }
  });

  test('removePodSandbox removes its namespaces, files and cgroups', async () => {
    const spec = fx.sandboxSpec();
    const sb = await fx.rt.runPodSandbox(spec);
    assert.ok(sb.netnsPath && existsSync(sb.netnsPath));
    assert.ok(cgroupDirs(fx.cgroupRoot, `pod${spec.podUid}`).length > 0);
    const id = await fx.rt.createContainer(fx.containerSpec(sb.id, sb.podUid, { args: ['sleep', '100'] }));
    await fx.rt.startContainer(id);
    const neverStarted = await fx.rt.createContainer(fx.containerSpec(sb.id, sb.podUid, { containerName: 'idle', args: ['sleep', '100'] }));
    assert.equal(fx.rt.containerStatus(neverStarted)?.phase, 'created');
    await fx.rt.removePodSandbox(sb.id);
    assert.equal(fx.rt.containerStatus(neverStarted), undefined);
    assert.equal(fx.rt.listSandboxes().length, 0);
    assert.equal(fx.rt.containerStatus(id), undefined);
    assert.ok(!existsSync(sb.netnsPath));
    assert.ok(!existsSync(sb.hostsPath));
    assert.deepEqual(cgroupDirs(fx.cgroupRoot, `pod${spec.podUid}`), []);
    assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(sb.id));
  });
});
