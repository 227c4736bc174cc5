/**
 * A container's OCI runtime config (the bundle's config.json) from its ContainerSpec, with the
 * defaults containerd's CRI plugin gives a Kubernetes container: its default capability set, the
 * masked and read-only /proc and /sys paths, the standard /dev, /proc, /sys mounts and the pod's
 * /etc/hosts, /etc/resolv.conf and /etc/hostname. Not applied: seccomp (containers run unconfined, as
 * kubelet's default `Unconfined` before SeccompDefault), AppArmor/SELinux, user namespaces, rlimits.
 */
import type { ContainerSpec, SandboxInfo } from '../cri.js';

/** containerd's (and moby's) default capabilities for a non-privileged container. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Every capability the kernel knows, by number (capability.h). */
export const ALL_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

export const DEFAULT_MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

export const DEFAULT_READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Annotations a bundle carries so a restarted agent can tell whose container it is. */
export const ANNOTATIONS = {
  podUid: 'io.kubernetes.pod.uid',
  podNamespace: 'io.kubernetes.pod.namespace',
  podName: 'io.kubernetes.pod.name',
  containerName: 'io.kubernetes.container.name',
  attempt: 'io.kubernetes.container.restartCount',
  sandboxId: 'io.kubernetes.sandbox.id',
  imageRef: 'skiff.io/image-ref',
  logPath: 'skiff.io/log-path',
} as const;

/** "chown", "CAP_CHOWN", "cap_chown" → "CAP_CHOWN"; "ALL" stays "ALL". */
export function normalizeCapability(name: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL') return 'ALL';
  return upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
}

/**
 * The capability set as containerd's CRI plugin computes it: the defaults (all for privileged), "ALL"
 * in add gives all, then "ALL" in drop clears, then the named adds, then the named drops (so a
 * capability both added and dropped is dropped). `available` bounds the result: a runtime cannot
 * hand out a capability its own bounding set lacks.
 */
export function effectiveCapabilities(caps: { add: string[]; drop: string[] }, privileged: boolean, available: readonly string[] = ALL_CAPABILITIES): string[] {
  const add = caps.add.map(normalizeCapability);
  const drop = caps.drop.map(normalizeCapability);
  let set = new Set<string>(privileged ? ALL_CAPABILITIES : DEFAULT_CAPABILITIES);
  if (!privileged) {
    if (add.includes('ALL')) set = new Set(ALL_CAPABILITIES);
    if (drop.includes('ALL')) set.clear();
    for (const c of add) if (ALL_CAPABILITIES.includes(c)) set.add(c);
    for (const c of drop) set.delete(c);
  }
  return ALL_CAPABILITIES.filter((c) => set.has(c) && available.includes(c));
}

export interface OciSpecOptions {
  rootfs: string;
  sandbox: SandboxInfo;
  hostNetwork: boolean;
  hostIPC: boolean;
  hostPID: boolean;
  /** Namespace files of the sandbox; absent for what the pod shares with the host. */
  namespaces: { net?: string; ipc?: string; uts?: string; pid?: string };
  /** The pod's /dev/shm (a tmpfs the sandbox owns, or the host's for hostIPC). */
  shmPath?: string;
  hostname: string;
  cgroupsPath: string;
  cgroupVersion: 1 | 2;
  swapAccounting: boolean;
  /** Capabilities this process may hand out (its own bounding set). */
  availableCapabilities?: readonly string[];
  noNewPrivileges?: boolean;
}

export function buildOciSpec(spec: ContainerSpec, o: OciSpecOptions): any {
  const caps = effectiveCapabilities(spec.capabilities, spec.privileged, o.availableCapabilities);
  const env = [...spec.env];
  if (!env.some((e) => e.startsWith('PATH='))) env.unshift(DEFAULT_PATH);
  if (!env.some((e) => e.startsWith('HOSTNAME='))) env.unshift(`HOSTNAME=${o.hostname}`);
  if (spec.tty && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');

  const ro = spec.readOnlyRootFilesystem;
  const mounts: any[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    spec.privileged
      ? { destination: '/dev', type: 'bind', source: '/dev', options: ['rbind', 'nosuid'] }
      : { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    o.shmPath
      ? { destination: '/dev/shm', type: 'bind', source: o.shmPath, options: ['rbind', 'nosuid', 'noexec', 'nodev'] }
      : { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', spec.privileged ? 'rw' : 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', spec.privileged ? 'rw' : 'ro'] },
    { destination: '/etc/hosts', type: 'bind', source: o.sandbox.hostsPath, options: ['rbind', 'rprivate', ro ? 'ro' : 'rw'] },
    { destination: '/etc/resolv.conf', type: 'bind', source: o.sandbox.resolvConfPath, options: ['rbind', 'rprivate', ro ? 'ro' : 'rw'] },
    { destination: '/etc/hostname', type: 'bind', source: o.sandbox.hostnamePath, options: ['rbind', 'rprivate', ro ? 'ro' : 'rw'] },
  ];
  for (const m of spec.mounts) {
    if (m.tmpfsSizeBytes !== undefined) {
      const opts = ['nosuid', 'nodev', 'mode=1777'];
      if (m.tmpfsSizeBytes > 0) opts.push(`size=${m.tmpfsSizeBytes}`);
      if (m.readOnly) opts.push('ro');
      mounts.push({ destination: m.containerPath, type: 'tmpfs', source: 'tmpfs', options: opts });
    } else {
      mounts.push({ destination: m.containerPath, type: 'bind', source: m.hostPath, options: ['rbind', 'rprivate', m.readOnly ? 'ro' : 'rw'] });
    }
  }

  const namespaces: any[] = [{ type: 'mount' }];
  if (!o.hostPID) namespaces.push(o.namespaces.pid ? { type: 'pid', path: o.namespaces.pid } : { type: 'pid' });
  if (!o.hostNetwork && o.namespaces.net) namespaces.push({ type: 'network', path: o.namespaces.net });
  if (!o.hostIPC) namespaces.push(o.namespaces.ipc ? { type: 'ipc', path: o.namespaces.ipc } : { type: 'ipc' });
  if (o.namespaces.uts) namespaces.push({ type: 'uts', path: o.namespaces.uts });
  if (o.cgroupVersion === 2) namespaces.push({ type: 'cgroup' });

  const r = spec.resources;
  const resources: any = {
    devices: spec.privileged ? [{ allow: true, access: 'rwm' }] : [{ allow: false, access: 'rwm' }],
  };
  if (r.cpuShares !== undefined || r.cpuQuotaUs !== undefined) {
    resources.cpu = {};
    if (r.cpuShares !== undefined) resources.cpu.shares = r.cpuShares;
    if (r.cpuQuotaUs !== undefined) {
      resources.cpu.quota = r.cpuQuotaUs;
      resources.cpu.period = r.cpuPeriodUs ?? 100000;
    }
  }
  if (r.memoryLimitBytes !== undefined && r.memoryLimitBytes > 0) {
    resources.memory = { limit: r.memoryLimitBytes };
    // No swap for a container with a memory limit, as the kubelet's default (NoSwap).
    if (o.swapAccounting) resources.memory.swap = r.memoryLimitBytes;
  }
  if (r.pidsLimit !== undefined && r.pidsLimit > 0) resources.pids = { limit: r.pidsLimit };

  const linux: any = {
    namespaces,
    resources,
    cgroupsPath: o.cgroupsPath,
  };
  if (!spec.privileged) {
    linux.maskedPaths = DEFAULT_MASKED_PATHS;
    linux.readonlyPaths = DEFAULT_READONLY_PATHS;
  }

  return {
    ociVersion: '1.0.2',
    process: {
      terminal: spec.tty,
      user: { uid: spec.uid, gid: spec.gid, ...(spec.additionalGids.length ? { additionalGids: spec.additionalGids } : {}) },
      args: spec.args,
      env,
      cwd: spec.cwd || '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] },
      noNewPrivileges: o.noNewPrivileges ?? false,
    },
    root: { path: o.rootfs, readonly: spec.readOnlyRootFilesystem },
    mounts,
    annotations: {
      [ANNOTATIONS.podUid]: spec.podUid,
      [ANNOTATIONS.podNamespace]: spec.namespace,
      [ANNOTATIONS.podName]: spec.podName,
      [ANNOTATIONS.containerName]: spec.containerName,
      [ANNOTATIONS.attempt]: String(spec.attempt),
      [ANNOTATIONS.sandboxId]: spec.sandboxId,
      [ANNOTATIONS.imageRef]: spec.image.imageRef,
      [ANNOTATIONS.logPath]: spec.logPath,
    },
    linux,
  };
}

/** The capabilities in a /proc/<pid>/status bitmask line ("CapBnd:\t000001ffffffffff"). */
export function capabilitiesFromMask(hex: string): string[] {
  const mask = BigInt(`0x${hex.trim()}`);
  return ALL_CAPABILITIES.filter((_, i) => (mask >> BigInt(i)) & 1n);
}
