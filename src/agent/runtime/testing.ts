/**
 * Test fixtures for the crun runtime: a busybox root filesystem (the host's static busybox and its
 * applet links) served through overlayfs, a loopback-only pod network (the real CNI loopback
 * plugin), and names unique to one test run so that parallel runs and other users of crun on the
 * host never meet. Everything made here is removed by `cleanup()`, even after a failed test.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NetworkError, type ContainerSpec, type PodNetwork, type PodNetworkRequest, type PulledImage, type SandboxSpec } from '../cri.js';
import { CrunRuntime } from './crun.js';
import { run, unmount } from './host.js';

const REQUIRED = [
  ['/usr/bin/crun', 'apt-get install crun'],
  ['/usr/bin/conmon', 'apt-get install conmon'],
  ['/bin/busybox', 'apt-get install busybox-static'],
  ['/usr/lib/cni/loopback', 'apt-get install containernetworking-plugins'],
  ['/usr/bin/unshare', 'apt-get install util-linux'],
] as const;

/** Fails loudly (never skips) when the host cannot run real containers. */
export function requireHost(): void {
  if (process.getuid?.() !== 0) throw new Error('the crun runtime tests need root');
  for (const [path, hint] of REQUIRED) if (!existsSync(path)) throw new Error(`${path} is missing: ${hint}`);
}

export const BUSYBOX_IMAGE: PulledImage = {
  reference: 'skiff.test/busybox:latest',
  imageRef: 'skiff.test/busybox@sha256:' + '0'.repeat(64),
  id: 'sha256:' + '1'.repeat(64),
  config: { cmd: ['sh'] },
  sizeBytes: 0,
  names: ['skiff.test/busybox:latest'],
};

/** A PodNetwork that only brings up `lo`, through the real CNI loopback plugin. */
export class LoopbackNetwork implements PodNetwork {
  setUps = 0;
  tearDowns = 0;
  failWith?: string;
  async setUp(req: PodNetworkRequest): Promise<{ ip: string }> {
    this.setUps++;
    if (this.failWith) throw new NetworkError(this.failWith);
    await cniLoopback('ADD', req);
    return { ip: '127.0.0.1' };
  }
  async tearDown(req: PodNetworkRequest): Promise<void> {
    this.tearDowns++;
    if (existsSync(req.netnsPath)) await cniLoopback('DEL', req).catch(() => {});
  }
}

function cniLoopback(command: 'ADD' | 'DEL', req: PodNetworkRequest): Promise<unknown> {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    CNI_COMMAND: command,
    CNI_CONTAINERID: req.sandboxId,
    CNI_NETNS: req.netnsPath,
    CNI_IFNAME: 'lo',
    CNI_PATH: '/usr/lib/cni',
  };
  return new Promise((resolve, reject) => {
    const p = execFile('/usr/lib/cni/loopback', [], { env }, (err, stdout, stderr) => (err ? reject(new NetworkError(stderr || stdout || err.message)) : resolve(stdout)));
    p.stdin?.end(JSON.stringify({ cniVersion: '1.0.0', name: 'skt-loopback', type: 'loopback' }));
  });
}

export interface Fixture {
  name: string;
  base: string;
  rt: CrunRuntime;
  network: LoopbackNetwork;
  cgroupRoot: string;
  /** A new runtime over the same directories, as an agent restarted would make. */
  newRuntime(): CrunRuntime;
  sandboxSpec(over?: Partial<SandboxSpec>): SandboxSpec;
  containerSpec(sandboxId: string, podUid: string, over?: Partial<ContainerSpec>): ContainerSpec;
  cleanup(): Promise<void>;
}

export function makeFixture(): Fixture {
  requireHost();
  const name = `skt-rt-${randomBytes(4).toString('hex')}`;
  const base = join('/tmp', name);
  const lower = join(base, 'busybox');
  mkdirSync(join(lower, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(lower, 'bin', 'busybox'));
  execFileSync('/bin/busybox', ['chmod', '755', join(lower, 'bin', 'busybox')]);
  execFileSync('chroot', [lower, '/bin/busybox', '--install', '-s', '/bin']);
  mkdirSync(join(lower, 'etc'), { recursive: true });
  mkdirSync(join(lower, 'tmp'), { recursive: true, mode: 0o1777 });
  writeFileSync(join(lower, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  writeFileSync(join(lower, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  const images = {
    async mountRootfs(_image: PulledImage, containerDir: string): Promise<string> {
      const rootfs = join(containerDir, 'rootfs');
      for (const d of ['upper', 'work', 'rootfs']) mkdirSync(join(containerDir, d), { recursive: true });
      await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${containerDir}/upper,workdir=${containerDir}/work`, rootfs]);
      return rootfs;
    },
    async unmountRootfs(containerDir: string): Promise<void> {
      await unmount(join(containerDir, 'rootfs'));
    },
  };
  const network = new LoopbackNetwork();
  const cgroupRoot = name;
  const opts = { root: join(base, 'lib'), runDir: join(base, 'run'), network, images, cgroupRoot, log: () => {} };
  const runtimes: CrunRuntime[] = [];
  const newRuntime = () => {
    const r = new CrunRuntime(opts);
    runtimes.push(r);
    return r;
  };
  const rt = newRuntime();
  return {
    name,
    base,
    rt,
    network,
    cgroupRoot,
    newRuntime,
    sandboxSpec: (over = {}) => {
      const podUid = randomBytes(8).toString('hex');
      return {
        podUid,
        namespace: 'default',
        name: `pod-${podUid.slice(0, 6)}`,
        hostname: `pod-${podUid.slice(0, 6)}`,
        hostNetwork: false,
        hostIPC: false,
        hostPID: false,
        shareProcessNamespace: false,
        portMappings: [],
        resolvConf: 'nameserver 127.0.0.53\n',
        hosts: '127.0.0.1\tlocalhost\n',
        ...over,
      };
    },
    containerSpec: (sandboxId, podUid, over = {}) => ({
      sandboxId,
      podUid,
      namespace: 'default',
      podName: 'pod',
      containerName: over.containerName ?? 'c',
      attempt: 0,
      image: BUSYBOX_IMAGE,
      args: ['sh', '-c', 'true'],
      env: ['PATH=/bin'],
      cwd: '/',
      uid: 0,
      gid: 0,
      additionalGids: [],
      tty: false,
      stdin: false,
      stdinOnce: false,
      privileged: false,
      readOnlyRootFilesystem: false,
      capabilities: { add: [], drop: [] },
      mounts: [],
      resources: {},
      logPath: join(base, 'logs', podUid, over.containerName ?? 'c', `${over.attempt ?? 0}.log`),
      ...over,
    }),
    async cleanup() {
      for (const r of runtimes) await r.shutdown();
      await forceCleanup(base, cgroupRoot);
    },
  };
}

/** Removes whatever a test run left: containers in its crun root, mounts under its base, its cgroups. */
async function forceCleanup(base: string, cgroupRoot: string): Promise<void> {
  const crunRoot = join(base, 'run', 'crun');
  for (const id of safeReaddir(crunRoot)) {
    await run('crun', [`--root=${crunRoot}`, 'delete', '--force', id]).catch(() => {});
  }
  // Pid holders of shareProcessNamespace pods.
  for (const sb of safeReaddir(join(base, 'lib', 'sandboxes'))) {
    try {
      const saved = JSON.parse(readFileSync(join(base, 'lib', 'sandboxes', sb, 'sandbox.json'), 'utf8'));
      if (saved.pause?.pid) process.kill(saved.pause.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m && m.startsWith(base + '/'))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run('umount', ['-l', m]).catch(() => {});
  for (let i = 0; i < 20; i++) {
    let left = false;
    for (const h of safeReaddir('/sys/fs/cgroup')) {
      const dir = join('/sys/fs/cgroup', h, cgroupRoot);
      if (existsSync(dir)) {
        try {
          execFileSync('find', [dir, '-depth', '-type', 'd', '-exec', 'rmdir', '{}', ';'], { stdio: 'ignore' });
        } catch {
          left = true;
        }
      }
    }
    if (!left) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  rmSync(base, { recursive: true, force: true });
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Lists what a run left on the host (for assertions that cleanup worked). */
export function cgroupDirs(cgroupRoot: string, path = ''): string[] {
  return safeReaddir('/sys/fs/cgroup')
    .map((h) => join('/sys/fs/cgroup', h, cgroupRoot, path))
    .filter((d) => existsSync(d));
}

/** Polls `fn` (every 50 ms, synchronously evaluated) until it gives a value; throws after the timeout. */
export async function eventually<T>(fn: () => T | undefined | false, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
