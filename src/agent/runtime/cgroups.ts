/**
 * The node's cgroup hierarchies as crun sees them with its cgroupfs driver: cgroup v2 (one unified
 * tree) or v1, where every controller is a hierarchy of its own and a "hybrid" host also mounts an
 * empty cgroup2 tree at /sys/fs/cgroup/unified (crun makes its directories there too). A path here is
 * always relative to a hierarchy's root ("/skiff/pod<uid>"), as an OCI cgroupsPath is.
 */
import { readFileSync, statfsSync, existsSync, mkdirSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const CGROUP2_SUPER_MAGIC = 0x63677270;

export interface Hierarchy {
  /** Where it is mounted ("/sys/fs/cgroup/memory"). */
  mountPoint: string;
  /** 'cgroup2' for the unified tree, else the v1 controllers it carries ("cpu", "name=systemd"). */
  controllers: string[];
  v2: boolean;
}

export class Cgroups {
  readonly version: 1 | 2;
  readonly hierarchies: Hierarchy[];

  constructor(readonly mountRoot = '/sys/fs/cgroup') {
    this.version = statfsSync(mountRoot).type === CGROUP2_SUPER_MAGIC ? 2 : 1;
    this.hierarchies = this.version === 2 ? [{ mountPoint: mountRoot, controllers: [], v2: true }] : readHierarchies(mountRoot);
  }

  /** The directory of `path` in the hierarchy carrying `controller` ('' for the v2 tree). */
  dir(path: string, controller: string): string | undefined {
    const h = this.version === 2 ? this.hierarchies[0] : this.hierarchies.find((x) => !x.v2 && x.controllers.includes(controller));
    return h ? join(h.mountPoint, path) : undefined;
  }

  /** Creates `path` in every hierarchy (v1 cpuset needs its cpus and mems filled before use). */
  ensure(path: string): void {
    for (const h of this.hierarchies) {
      const segments = path.split('/').filter(Boolean);
      let cur = h.mountPoint;
      for (const s of segments) {
        const parent = cur;
        cur = join(cur, s);
        if (existsSync(cur)) continue;
        try {
          mkdirSync(cur);
        } catch (err: any) {
          if (err?.code === 'EEXIST') continue; // made by someone else meanwhile
          throw err;
        }
        if (!h.v2 && h.controllers.includes('cpuset')) {
          for (const f of ['cpuset.cpus', 'cpuset.mems']) {
            try {
              if (readFileSync(join(cur, f), 'utf8').trim() === '') writeFileSync(join(cur, f), readFileSync(join(parent, f), 'utf8').trim());
            } catch {
              /* an unusual cpuset tree: crun fills its own cgroups either way */
            }
          }
        }
      }
    }
  }

  /**
   * Removes `path` and what is left below it from every hierarchy; true when it is gone everywhere
   * (a cgroup that still holds a process cannot be removed: EBUSY).
   */
  remove(path: string): boolean {
    let gone = true;
    for (const h of this.hierarchies) {
      if (!removeTree(join(h.mountPoint, path))) gone = false;
    }
    return gone;
  }

  exists(path: string): boolean {
    return this.hierarchies.some((h) => existsSync(join(h.mountPoint, path)));
  }

  /** Moves a process into `path` in every hierarchy (crun does this itself for containers). */
  addProcess(path: string, pid: number): void {
    for (const h of this.hierarchies) {
      try {
        writeFileSync(join(h.mountPoint, path, 'cgroup.procs'), String(pid));
      } catch {
        /* a hierarchy that refuses it (a v2 tree with an inner process) only loses accounting */
      }
    }
  }

  /** How many times the kernel's OOM killer killed a process in `path` (v1 memory.oom_control, v2 memory.events). */
  oomKills(path: string): number {
    try {
      if (this.version === 2) return counter(readFileSync(join(this.mountRoot, path, 'memory.events'), 'utf8'), 'oom_kill');
      const dir = this.dir(path, 'memory');
      return dir ? counter(readFileSync(join(dir, 'memory.oom_control'), 'utf8'), 'oom_kill') : 0;
    } catch {
      return 0;
    }
  }

  /** True when the memory controller can limit swap too (v1 memsw, v2 memory.swap.max). */
  get swapAccounting(): boolean {
    if (this.version === 2) return readRootControllers(this.mountRoot).includes('memory');
    const dir = this.dir('/', 'memory');
    return !!dir && existsSync(join(dir, 'memory.memsw.limit_in_bytes'));
  }
}

function counter(text: string, key: string): number {
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k === key) return Number(v) || 0;
  }
  return 0;
}

function readRootControllers(root: string): string[] {
  try {
    return readFileSync(join(root, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
  } catch {
    return [];
  }
}

function readHierarchies(mountRoot: string): Hierarchy[] {
  const out: Hierarchy[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const [fstype, , superOpts = ''] = line.slice(sep + 3).split(' ');
    const mountPoint = left[4];
    if (!mountPoint || !mountPoint.startsWith(mountRoot + '/')) continue;
    if (fstype === 'cgroup2') out.push({ mountPoint, controllers: ['cgroup2'], v2: true });
    else if (fstype === 'cgroup') {
      const controllers = superOpts.split(',').filter((o) => o !== 'rw' && o !== 'ro' && !o.startsWith('clone_children') && !o.startsWith('release_agent') && o !== 'xattr' && o !== 'noprefix');
      out.push({ mountPoint, controllers, v2: false });
    }
  }
  return out;
}

function removeTree(dir: string): boolean {
  if (!existsSync(dir)) return true;
  let ok = true;
  let entries: string[] = [];
  try {
    entries = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return false;
  }
  for (const e of entries) if (!removeTree(join(dir, e))) ok = false;
  try {
    rmdirSync(dir);
  } catch (err: any) {
    if (err?.code !== 'ENOENT') ok = false;
  }
  return ok;
}
