/**
 * The host resources one pods-benchmark run gives its real node agent, all named for this run (so
 * other agents on the machine are never touched), and their removal afterwards: the agent's
 * processes left behind (conmon outlives the agent by design; containers live in our cgroups),
 * mounts under our run and root dirs, the pod bridge, masquerade rules for our pod CIDR, cgroups in
 * every hierarchy, the directories.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class BenchHost {
  readonly tag: string;
  readonly bridge: string;
  readonly runDir: string;
  readonly cgroupRoot: string;
  readonly base: string;
  readonly rootDir: string;
  readonly secondOctet: number;
  readonly clusterCidr: string;
  readonly nodeName: string;

  constructor() {
    const r = randomBytes(4);
    this.tag = r.toString('hex');
    this.bridge = `skt-bn${this.tag.slice(0, 4)}`;
    this.runDir = `/run/skiff-bn-${this.tag}`;
    this.cgroupRoot = `skiff-bn-${this.tag}`;
    this.base = mkdtempSync(join(tmpdir(), 'skiff-bn-pods-'));
    this.rootDir = join(this.base, 'agent');
    this.secondOctet = 200 + (r[3] % 51);
    this.clusterCidr = `10.${this.secondOctet}.0.0/16`;
    this.nodeName = `skt-bn-${this.tag}`;
  }

  /** `skiff up` flags that keep this agent apart from any other on the machine. */
  agentArgs(nodeCidrMaskSize = 24): string[] {
    return [
      '--node-name', this.nodeName,
      '--root-dir', this.rootDir,
      '--run-dir', this.runDir,
      '--cni-bridge', this.bridge,
      '--cgroup-root', this.cgroupRoot,
      '--kubelet-port', '0',
      '--cluster-cidr', this.clusterCidr,
      '--node-cidr-mask-size', String(nodeCidrMaskSize),
    ];
  }

  /** conmon processes of this run (their bundles and pid files are under our root or run dir). */
  conmonPids(): number[] {
    const out: number[] = [];
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
        if (!/(^|\/)conmon$/.test(argv[0] ?? '')) continue;
        if (argv.some((a) => a.startsWith(this.rootDir) || a.startsWith(this.runDir))) out.push(Number(d));
      } catch {
        // gone meanwhile
      }
    }
    return out;
  }

  /** v1 hierarchies (and the v2 tree) as mounted here: mount points of cgroup and cgroup2 filesystems. */
  private cgroupMounts(): string[] {
    const out: string[] = [];
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const sep = line.indexOf(' - ');
      if (sep < 0) continue;
      const fstype = line.slice(sep + 3).split(' ')[0];
      if (fstype === 'cgroup' || fstype === 'cgroup2') out.push(unescapeMount(line.split(' ')[4]));
    }
    return out;
  }

  /** Our cgroup's directory in each hierarchy, where it exists. */
  cgroupDirs(): string[] {
    return this.cgroupMounts()
      .map((m) => join(m, this.cgroupRoot))
      .filter((d) => existsSync(d));
  }

  /** Pids in our cgroups (any hierarchy, any depth). */
  cgroupPids(): number[] {
    const pids = new Set<number>();
    const walk = (dir: string, depth: number) => {
      if (depth > 8) return;
      try {
        for (const p of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (p) pids.add(Number(p));
        for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name), depth + 1);
      } catch {
        // removed meanwhile
      }
    };
    for (const d of this.cgroupDirs()) walk(d, 0);
    return [...pids];
  }

  /** Bytes charged to our memory cgroup (the pods' containers, and conmon if the agent put it there). */
  memoryCgroupBytes(): number | undefined {
    const mem = this.cgroupMounts().find((m) => /\/memory$/.test(m));
    if (!mem) return undefined;
    try {
      return Number(readFileSync(join(mem, this.cgroupRoot, 'memory.usage_in_bytes'), 'utf8').trim());
    } catch {
      return undefined;
    }
  }

  /**
   * Removes everything this run left on the host; call after the skiff process has exited.
   * Synchronous so the watchdog can call it on its way out. Returns what it could not remove.
   */
  cleanupSync(): string[] {
    const problems: string[] = [];
    const kill = (pids: number[]) => {
      for (const p of pids) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    };
    // Bounded: conmon first (it would report the containers' exits to nobody), then what is in our cgroups.
    for (let i = 0; i < 5; i++) {
      const pids = [...this.conmonPids(), ...this.cgroupPids()];
      if (!pids.length) break;
      kill(pids);
      sleepSync(200);
    }
    const left = [...this.conmonPids(), ...this.cgroupPids()];
    if (left.length) problems.push(`processes still alive: ${left.join(', ')}`);

    // Mounts under our dirs, deepest first (rootfs overlays, netns bind mounts, volume tmpfs).
    for (let i = 0; i < 3; i++) {
      const mounts = this.mountsUnder();
      if (!mounts.length) break;
      for (const m of mounts) {
        try {
          execFileSync('umount', [m], { stdio: 'ignore', timeout: 10_000 });
        } catch {
          try {
            execFileSync('umount', ['-l', m], { stdio: 'ignore', timeout: 10_000 });
          } catch {
            // reported below
          }
        }
      }
    }
    const stillMounted = this.mountsUnder();
    if (stillMounted.length) problems.push(`still mounted: ${stillMounted.slice(0, 5).join(', ')}`);

    try {
      execFileSync('ip', ['link', 'show', this.bridge], { stdio: 'ignore', timeout: 10_000 });
      execFileSync('ip', ['link', 'del', this.bridge], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      // no such bridge
    }

    // Masquerade rules for our pod CIDR the agent did not remove (normally none).
    try {
      const listing = execFileSync('iptables', ['-w', '-t', 'nat', '-S', 'POSTROUTING'], { encoding: 'utf8', timeout: 10_000 });
      const prefix = `10.${this.secondOctet}.`;
      for (const line of listing.split('\n')) {
        const m = /^-A POSTROUTING -s (\S+)/.exec(line);
        if (!m || !m[1].startsWith(prefix)) continue;
        const words = line.split(' ').slice(1);
        const target = /-j (CNI-\S+)/.exec(line)?.[1];
        try {
          execFileSync('sh', ['-c', `iptables -w -t nat -D ${words.join(' ')}`], { stdio: 'ignore', timeout: 10_000 });
          if (target) {
            execFileSync('iptables', ['-w', '-t', 'nat', '-F', target], { stdio: 'ignore', timeout: 10_000 });
            execFileSync('iptables', ['-w', '-t', 'nat', '-X', target], { stdio: 'ignore', timeout: 10_000 });
          }
          problems.push(`removed a leftover masquerade rule: ${line.slice(0, 120)}`);
        } catch {
          problems.push(`could not remove ${line.slice(0, 120)}`);
        }
      }
    } catch {
      // no iptables: nothing of ours either
    }

    for (const d of this.cgroupDirs()) {
      if (!rmdirDeep(d, 0)) problems.push(`cgroup left: ${d}`);
    }
    for (const d of [this.runDir, this.base]) {
      if (this.mountsUnder().some((m) => m.startsWith(d))) {
        problems.push(`not removing ${d}: something is still mounted below it`);
        continue;
      }
      try {
        rmSync(d, { recursive: true, force: true });
      } catch (err) {
        problems.push(`rm ${d}: ${(err as Error).message}`);
      }
    }
    return problems;
  }

  /** Mounts under our run and root dirs (pods' rootfs overlays, sandbox namespaces), deepest first. */
  mountsUnder(): string[] {
    const out: string[] = [];
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const mp = line.split(' ')[4];
      if (!mp) continue;
      const p = unescapeMount(mp);
      if (p === this.runDir || p.startsWith(`${this.runDir}/`) || p === this.base || p.startsWith(`${this.base}/`)) out.push(p);
    }
    return out.sort((a, b) => b.length - a.length);
  }
}

/** rmdir a cgroup and its children, leaves first; true when it is gone. */
function rmdirDeep(dir: string, depth: number): boolean {
  if (depth > 8) return false;
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) rmdirDeep(join(dir, e.name), depth + 1);
  } catch {
    return !existsSync(dir);
  }
  for (let i = 0; i < 10; i++) {
    try {
      rmdirSync(dir);
      return true;
    } catch {
      if (!existsSync(dir)) return true;
      sleepSync(100);
    }
  }
  return false;
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** CPU-seconds of a process's waited-for children (crun, CNI plugins, iptables, mount… spawned by the agent). */
export function childrenCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // cutime (16) and cstime (17) are indexes 13 and 14 after "pid (comm) ".
    return (Number(f[13]) + Number(f[14])) / 100;
  } catch {
    return NaN;
  }
}

/** RSS (KiB) of a process from /proc, 0 when it is gone. */
export function rssKiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}
