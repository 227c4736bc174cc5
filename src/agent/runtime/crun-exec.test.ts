// Real containers under crun and conmon: stopping, exec (with and without a terminal), pods sharing
// namespaces, log reopening, and an agent restart adopting what runs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readlinkSync, renameSync, rmSync } from 'node:fs';
import type { ContainerSpec, ContainerStatus, ProcessIO, SandboxInfo } from '../cri.js';
import { run } from './host.js';
import { followLog } from './log-follow.js';
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

async function started(sb: SandboxInfo, over: Partial<ContainerSpec>): Promise<string> {
  const id = await fx.rt.createContainer(fx.containerSpec(sb.id, sb.podUid, over));
  await fx.rt.startContainer(id);
  return id;
}

function collect(io: ProcessIO): { text: () => string } {
  let out = '';
  io.stdout?.on('data', (d) => (out += String(d)));
  io.stderr?.on('data', (d) => (out += String(d)));
  return { text: () => out };
}

describe('CrunRuntime: stop, exec, shared namespaces', () => {
  test('stopContainer: a process that traps SIGTERM exits on its own within the grace period', async () => {
    const sb = await fx.rt.runPodSandbox(fx.sandboxSpec());
    try {
      const id = await started(sb, { args: ['sh', '-c', 'trap "echo bye; exit 0" TERM; echo ready; while true; do sleep 0.1; done'] });
      await eventually(() => existsSync(fx.rt.containerStatus(id)!.logPath) && readFileSync(fx.rt.containerStatus(id)!.logPath, 'utf8').includes('ready'), 'ready');
      await fx.rt.stopContainer(id, 20);
      const st = fx.rt.containerStatus(id)!;
      assert.equal(st.phase, 'exited');
      assert.equal(st.exitCode, 0);
      assert.match(readFileSync(st.logPath, 'utf8'), / stdout F bye\n/);
      await fx.rt.stopContainer(id, 20); // idempotent
    } finally {
      await fx.rt.removePodSandbox(sb.id);
    }
  });

  test('stopContainer: a process that ignores SIGTERM is killed after the grace period', async () => {
    const sb = await fx.rt.runPodSandbox(fx.sandboxSpec());
    try {
      const id = await started(sb, { args: ['sh', '-c', 'trap "" TERM; echo ready; while true; do sleep 0.1; done'] });
      await eventually(() => existsSync(fx.rt.containerStatus(id)!.logPath) && readFileSync(fx.rt.containerStatus(id)!.logPath, 'utf8').includes('ready'), 'ready');
      await fx.rt.stopContainer(id, 1);
      const st = fx.rt.containerStatus(id)!;
      assert.equal(st.exitCode, 137);
      assert.equal(st.oomKilled, false);
      await eventually(() => exits.get(id), 'the exit to be reported');
    } finally {
      await fx.rt.removePodSandbox(sb.id);
    }
  });

  test('execSync: output, exit code, and a timeout that kills the command', async () => {
    const sb = await fx.rt.runPodSandbox(fx.sandboxSpec());
    try {
      const id = await started(sb, { args: ['sleep', '1000'] });
      const r = await fx.rt.execSync(id, ['sh', '-c', 'echo out; echo err >&2; exit 4'], 10_000);
      assert.equal(r.exitCode, 4);
      assert.equal(r.timedOut, false);
      assert.match(r.output, /out/);
      assert.match(r.output, /err/);
      const big = await fx.rt.execSync(id, ['sh', '-c', 'yes | head -c 100000'], 10_000);
      assert.equal(big.output.length, 16 * 1024);
      const slow = await fx.rt.execSync(id, ['sleep', '77'], 300);
      assert.equal(slow.timedOut, true);
      const left = await fx.rt.execSync(id, ['ps', '-o', 'args'], 10_000);
      assert.doesNotMatch(left.output, /sleep 77/);
    } finally {
      await fx.rt.removePodSandbox(sb.id);
    }
  });

  test('exec with a terminal: tty, window size and resize', async () => {
    const sb = await fx.rt.runPodSandbox(fx.sandboxSpec());
    try {
      const id = await started(sb, { args: ['sleep', '1000'] });
      // The terminal is one of the container's own /dev/pts, and the process leads its session.
      const once = fx.rt.exec(id, ['sh', '-c', 'test -t 0 && test -t 1 && echo is-a-tty; tty; stty size'], { tty: true, stdin: false, cols: 100, rows: 30 });
      const out = collect(once);
      assert.equal(await once.exited, 0);
      await eventually(() => out.text().includes('30 100'), `stty size in ${JSON.stringify(out.text())}`);
      assert.match(out.text(), /is-a-tty/);
      assert.match(out.text(), /^\/dev\/pts\/\d+\r?$/m);
      assert.equal(once.stderr, undefined);

      const shell = fx.rt.exec(id, ['sh'], { tty: true, stdin: true, cols: 80, rows: 24 });
      const sout = collect(shell);
      shell.stdin!.write('stty size\n');
      await eventually(() => sout.text().includes('24 80'), 'first size');
      shell.resize(132, 43);
      // The new size reaches the container's terminal a moment later: ask until it shows.
      for (let i = 0; i < 50 && !sout.text().includes('43 132'); i++) {
        shell.stdin!.write('stty size\n');
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.match(sout.text(), /43 132/, `resized size in ${JSON.stringify(sout.text())}`);
      shell.stdin!.write('exit 5\n');
      assert.equal(await shell.exited, 5);
      // An interactive shell on a terminal of its own has job control.
      assert.doesNotMatch(sout.text(), /can't access tty/);
    } finally {
      await fx.rt.removePodSandbox(sb.id);
    }
  });

  test('exec without a terminal: stdin in, stdout and stderr apart, exit code', async () => {
    const sb = await fx.rt.runPodSandbox(fx.sandboxSpec());
    try {
      const id = await started(sb, { args: ['sleep', '1000'] });
      const io = fx.rt.exec(id, ['sh', '-c', 'read line; echo "got $line"; echo warn >&2; exit 2'], { tty: false, stdin: true });
      let out = '';
      let err = '';
      io.stdout!.on('data', (d) => (out += String(d)));
      io.stderr!.on('data', (d) => (err += String(d)));
      io.stdin!.end('hello\n');
      assert.equal(await io.exited, 2);
      assert.equal(out, 'got hello\n');
      assert.equal(err, 'warn\n');
    } finally {
      await fx.rt.removePodSandbox(sb.id);
    }
  });

  test('containers of one sandbox share its network (localhost) and IPC namespaces', async () => {
    const sb = await fx.rt.runPodSandbox(fx.sandboxSpec());
    try {
      const a = await started(sb, { containerName: 'a', args: ['sh', '-c', 'while true; do echo hello-from-a | nc -l -p 8080; done'] });
      const b = await started(sb, { containerName: 'b', args: ['sleep', '1000'] });
      const nsA = await fx.rt.execSync(a, ['sh', '-c', 'readlink /proc/self/ns/net /proc/self/ns/ipc /proc/self/ns/uts'], 5000);
      const nsB = await fx.rt.execSync(b, ['sh', '-c', 'readlink /proc/self/ns/net /proc/self/ns/ipc /proc/self/ns/uts'], 5000);
      assert.equal(nsA.output, nsB.output);
      assert.notEqual(nsA.output.split('\n')[0], readlinkSync('/proc/self/ns/net'));
      const got = await fx.rt.execSync(b, ['sh', '-c', 'for i in $(seq 50); do nc 127.0.0.1 8080 </dev/null && exit 0; sleep 0.1; done; exit 1'], 10_000);
      assert.match(got.output, /hello-from-a/);
      // Their /dev/shm is the pod's.
      await fx.rt.execSync(a, ['sh', '-c', 'echo shared > /dev/shm/x'], 5000);
      assert.equal((await fx.rt.execSync(b, ['cat', '/dev/shm/x'], 5000)).output, 'shared\n');
      // PIDs are their own.
      assert.doesNotMatch((await fx.rt.execSync(b, ['ps', '-o', 'args'], 5000)).output, /nc -l/);
    } finally {
      await fx.rt.removePodSandbox(sb.id);
    }
  });

  test('shareProcessNamespace: every container sees the others\' processes', async () => {
    const sb = await fx.rt.runPodSandbox(fx.sandboxSpec({ shareProcessNamespace: true }));
    try {
      await started(sb, { containerName: 'a', args: ['sleep', '4242'] });
      const b = await started(sb, { containerName: 'b', args: ['sleep', '1000'] });
      const ps = await fx.rt.execSync(b, ['ps', '-o', 'pid,args'], 5000);
      assert.match(ps.output, /sleep 4242/);
      assert.match(ps.output, /^\s*1 /m);
    } finally {
      await fx.rt.removePodSandbox(sb.id);
    }
  });

  test('a hostNetwork sandbox: the host network namespace, the host IP, the node hostname', async () => {
    const sb = await fx.rt.runPodSandbox(fx.sandboxSpec({ hostNetwork: true }));
    try {
      assert.equal(sb.netnsPath, undefined);
      assert.notEqual(sb.ip, '');
      const id = await started(sb, { args: ['sleep', '1000'] });
      const r = await fx.rt.execSync(id, ['sh', '-c', 'readlink /proc/self/ns/net; hostname'], 5000);
      assert.deepEqual(r.output.trim().split('\n'), [readlinkSync('/proc/self/ns/net'), readFileSync('/proc/sys/kernel/hostname', 'utf8').trim()]);
    } finally {
      await fx.rt.removePodSandbox(sb.id);
    }
  });

  test('attach streams stdout and stderr apart; the log can be followed; reopenLog makes conmon write a new file', async () => {
    const sb = await fx.rt.runPodSandbox(fx.sandboxSpec());
    try {
      const id = await started(sb, { args: ['sh', '-c', 'i=0; while [ ! -f /tmp/stop ]; do i=$((i+1)); echo line $i; echo e$i >&2; sleep 0.05; done; exit 6'] });
      const io = fx.rt.attach(id, { stdin: false, tty: false });
      let out = '';
      let err = '';
      io.stdout!.on('data', (d) => (out += String(d)));
      io.stderr!.on('data', (d) => (err += String(d)));
      const log = fx.rt.containerStatus(id)!.logPath;
      const follower = followLog(log, () => false);
      let followed = '';
      follower.stdout.on('data', (d) => (followed += String(d)));
      await eventually(() => /line \d+\n/.test(out) && /e\d+\n/.test(err) && /line \d+\n/.test(followed), 'attached and followed output');
      assert.doesNotMatch(out, /e\d/);
      follower.stop();
      renameSync(log, log + '.1');
      await fx.rt.reopenLog(id);
      await eventually(() => existsSync(log) && readFileSync(log, 'utf8').includes(' stdout F line '), 'the reopened log');
      await fx.rt.execSync(id, ['touch', '/tmp/stop'], 5000);
      assert.equal(await io.exited, 6);
      assert.throws(() => fx.rt.attach(id, { stdin: false, tty: false }), /exited/);
    } finally {
      await fx.rt.removePodSandbox(sb.id);
    }
  });

  test('attach with stdin: input reaches the process, and its end closes a stdinOnce container\'s stdin', async () => {
    const sb = await fx.rt.runPodSandbox(fx.sandboxSpec());
    try {
      const id = await started(sb, { args: ['sh', '-c', 'read x; echo "got $x"; cat; echo done'], stdin: true, stdinOnce: true });
      const io = fx.rt.attach(id, { stdin: true, tty: false });
      const out = collect(io);
      io.stdin!.write('hello\n');
      await eventually(() => out.text().includes('got hello'), 'the first line echoed');
      io.stdin!.end('more\n');
      assert.equal(await io.exited, 0);
      assert.equal(out.text(), 'got hello\nmore\ndone\n');
    } finally {
      await fx.rt.removePodSandbox(sb.id);
    }
  });

  test('attach to a container with a terminal: input, resize, exit code', async () => {
    const sb = await fx.rt.runPodSandbox(fx.sandboxSpec());
    try {
      const id = await started(sb, { args: ['sh'], stdin: true, stdinOnce: false, tty: true });
      const io = fx.rt.attach(id, { stdin: true, tty: true });
      assert.equal(io.stderr, undefined);
      const out = collect(io);
      io.resize(91, 21);
      io.stdin!.write('stty size; echo $TERM; exit 3\n');
      assert.equal(await io.exited, 3);
      assert.match(out.text(), /21 91/);
      assert.match(out.text(), /xterm/);
    } finally {
      await fx.rt.removePodSandbox(sb.id);
    }
  });
});

describe('CrunRuntime: an agent restart', () => {
  test('a fresh instance adopts a running container, sees its later exit, and reports exits it missed', async () => {
    const first = fx.newRuntime();
    const sb = await first.runPodSandbox(fx.sandboxSpec());
    const spec = (name: string, args: string[]) => fx.containerSpec(sb.id, sb.podUid, { containerName: name, args });
    const runningId = await first.createContainer(spec('runs', ['sh', '-c', 'while [ ! -f /tmp/stop ]; do sleep 0.1; done; exit 7']));
    await first.startContainer(runningId);
    const missedId = await first.createContainer(spec('missed', ['sh', '-c', 'while [ ! -f /tmp/stop ]; do sleep 0.1; done; exit 9']));
    await first.startContainer(missedId);
    await first.shutdown(); // the agent goes away; conmon stays

    // While no agent watches, one container ends.
    await run('crun', [`--root=${fx.base}/run/crun`, 'exec', missedId, 'touch', '/tmp/stop']);
    await eventually(() => existsSync(`${fx.base}/run/exits/${missedId}`), 'conmon to write the exit file');

    const second = fx.newRuntime();
    const seen = new Map<string, ContainerStatus>();
    second.onExit((s) => seen.set(s.id, s));
    await second.restore();
    try {
      assert.deepEqual(second.listSandboxes().map((s) => s.id), [sb.id]);
      const running = second.containerStatus(runningId)!;
      assert.equal(running.phase, 'running');
      assert.equal(running.containerName, 'runs');
      assert.equal(running.podUid, sb.podUid);
      assert.ok(running.startedAt);
      assert.equal(seen.get(missedId)?.exitCode, 9);
      assert.equal(second.containerStatus(missedId)?.phase, 'exited');

      await second.execSync(runningId, ['touch', '/tmp/stop'], 5000);
      const exit = await eventually(() => seen.get(runningId), 'the adopted container to exit');
      assert.equal(exit.exitCode, 7);
    } finally {
      await second.removePodSandbox(sb.id);
      await second.shutdown();
    }
  });

  test('a sandbox whose namespaces are gone (a reboot emptied runDir) is removed on restore; its containers read as exited', async () => {
    const first = fx.newRuntime();
    const spec = fx.sandboxSpec();
    const sb = await first.runPodSandbox(spec);
    const id = await first.createContainer(fx.containerSpec(sb.id, sb.podUid, { args: ['sleep', '1000'] }));
    await first.startContainer(id);
    await first.shutdown();
    // What a reboot does: the container and its monitor are gone, and so are the namespace mounts.
    await run('crun', [`--root=${fx.base}/run/crun`, 'delete', '--force', id]);
    await eventually(() => existsSync(`${fx.base}/run/exits/${id}`), 'conmon to note the exit');
    rmSync(`${fx.base}/run/exits/${id}`);
    rmSync(`${fx.base}/lib/containers/${id}/exit`);
    await run('umount', [sb.netnsPath!]);

    const second = fx.newRuntime();
    const seen = new Map<string, ContainerStatus>();
    second.onExit((s) => seen.set(s.id, s));
    await second.restore();
    try {
      assert.deepEqual(second.listSandboxes(), []);
      assert.ok(!existsSync(sb.hostsPath));
      assert.deepEqual(cgroupDirs(fx.cgroupRoot, `pod${spec.podUid}`), []);
      assert.equal(second.containerStatus(id)?.phase, 'exited');
      assert.equal(seen.get(id)?.exitCode, 255);
      await second.removeContainer(id);
      assert.equal(second.containerStatus(id), undefined);
    } finally {
      await second.shutdown();
    }
  });
});
