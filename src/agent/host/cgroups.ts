/**
 * How this host's cgroups are laid out, read from /proc/self/mountinfo the way crun decides it
 * (libcrun's cgroup mode: /sys/fs/cgroup itself a cgroup2 → unified; a tmpfs with cgroup2 at
 * /sys/fs/cgroup/unified → hybrid; a tmpfs without → legacy v1), and what it takes to make a hybrid
 * host acceptable to crun.
 *
 * crun does not manage hybrid hosts: it refuses to create any container ("cgroups in hybrid mode not
 * supported, drop all controllers from cgroupv2") while /sys/fs/cgroup/unified/cgroup.controllers
 * lists any controller. A controller sits on exactly one hierarchy; mounting a v1 hierarchy for it
 * moves it there, off the unified one. Everything here is pure so it can be tested on any text.
 */

export const CGROUP_ROOT = '/sys/fs/cgroup';
/** Where crun (and systemd's hybrid layout) looks for the cgroup2 mount on a hybrid host. */
export const HYBRID_UNIFIED = `${CGROUP_ROOT}/unified`;

export interface MountEntry {
  mountPoint: string;
  fsType: string;
  /** Per-mount options (rw/ro, nosuid…). */
  mountOptions: string[];
  /** Filesystem options: for a v1 cgroup, its controllers (and name=…). */
  superOptions: string[];
}

export type CgroupMode = 'unified' | 'hybrid' | 'legacy' | 'none';

export interface CgroupLayout {
  mode: CgroupMode;
  /** Where the cgroup2 hierarchy is mounted, if anywhere. */
  unifiedMount?: string;
  /** v1 controller → its mount point (named hierarchies like name=systemd are left out). */
  v1: Map<string, string>;
  /** Whether the tmpfs at /sys/fs/cgroup is read-only (systemd mounts it so once set up). */
  rootReadOnly: boolean;
}

/** The v1 names of the controllers a kernel can have; anything else in a cgroup mount's options is an option. */
export const V1_CONTROLLERS = new Set(['cpuset', 'cpu', 'cpuacct', 'blkio', 'memory', 'devices', 'freezer', 'net_cls', 'perf_event', 'net_prio', 'hugetlb', 'pids', 'rdma', 'misc']);

function unescapeMountPath(p: string): string {
  // mountinfo writes space, tab, newline and backslash as octal escapes
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses /proc/<pid>/mountinfo; a later mount on the same point hides the earlier one, so later wins. */
export function parseMountinfo(text: string): MountEntry[] {
  const byPoint = new Map<string, MountEntry>();
  for (const line of text.split('\n')) {
    const fields = line.trim().split(' ');
    const sep = fields.indexOf('-');
    if (sep < 6 || fields.length < sep + 3) continue;
    const mountPoint = unescapeMountPath(fields[4]!);
    byPoint.delete(mountPoint);
    byPoint.set(mountPoint, {
      mountPoint,
      fsType: fields[sep + 1]!,
      mountOptions: (fields[5] ?? '').split(','),
      superOptions: (fields[sep + 3] ?? '').split(','),
    });
  }
  return [...byPoint.values()];
}

export function cgroupLayout(mounts: MountEntry[]): CgroupLayout {
  const at = (p: string) => mounts.find((m) => m.mountPoint === p);
  const root = at(CGROUP_ROOT);
  const v1 = new Map<string, string>();
  for (const m of mounts) {
    if (m.fsType !== 'cgroup') continue;
    for (const opt of m.superOptions) if (V1_CONTROLLERS.has(opt)) v1.set(opt, m.mountPoint);
  }
  const unifiedMount = mounts.find((m) => m.fsType === 'cgroup2')?.mountPoint;
  const rootReadOnly = root?.mountOptions.includes('ro') ?? false;
  if (root?.fsType === 'cgroup2') return { mode: 'unified', unifiedMount: CGROUP_ROOT, v1, rootReadOnly };
  if (at(HYBRID_UNIFIED)?.fsType === 'cgroup2') return { mode: 'hybrid', unifiedMount: HYBRID_UNIFIED, v1, rootReadOnly };
  if (v1.size > 0) return { mode: 'legacy', unifiedMount, v1, rootReadOnly };
  return { mode: 'none', unifiedMount, v1, rootReadOnly };
}

/** One controller to move from the unified hierarchy to a v1 hierarchy of its own. */
export interface CgroupRebind {
  /** The name cgroup.controllers uses (v2). */
  controller: string;
  /** The v1 subsystem name (`io` is `blkio` in v1). */
  v1Name: string;
  target: string;
  /** The shell commands that do it, in order, for a human to run. */
  commands: string[];
}

export function v1NameOf(controller: string): string {
  return controller === 'io' ? 'blkio' : controller;
}

export function parseControllers(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

/**
 * What must move for crun to accept a hybrid host: every controller still listed in the unified
 * hierarchy's cgroup.controllers. `subtreeControl` is that hierarchy's root cgroup.subtree_control: a
 * controller enabled there is busy and must be disabled before it can move.
 */
export function hybridRebinds(layout: CgroupLayout, unifiedControllers: string, subtreeControl = ''): CgroupRebind[] {
  if (layout.mode !== 'hybrid') return [];
  const busy = new Set(parseControllers(subtreeControl));
  return parseControllers(unifiedControllers).map((controller) => {
    const v1Name = v1NameOf(controller);
    const target = `${CGROUP_ROOT}/${v1Name}`;
    const commands: string[] = [];
    if (busy.has(controller)) commands.push(`echo -${controller} > ${HYBRID_UNIFIED}/cgroup.subtree_control`);
    if (layout.rootReadOnly) commands.push(`mount -o remount,rw ${CGROUP_ROOT}`);
    commands.push(`mkdir -p ${target}`, `mount -t cgroup -o ${v1Name} cgroup ${target}`);
    if (layout.rootReadOnly) commands.push(`mount -o remount,ro ${CGROUP_ROOT}`);
    return { controller, v1Name, target, commands };
  });
}

/** Why a required controller is unusable, or undefined when it is fine. */
export function missingControllers(layout: CgroupLayout, required: string[], unifiedRootControllers: string): string[] {
  if (layout.mode === 'unified') {
    const have = new Set(parseControllers(unifiedRootControllers));
    return required.filter((c) => !have.has(c));
  }
  return required.filter((c) => !layout.v1.has(v1NameOf(c)));
}
