/**
 * What a node needs before it can run real pods, checked one thing at a time, each with the exact
 * fix. `skiff doctor` prints these; prepareHost applies the fixes that are safe to automate.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './exec.js';
import { CGROUP_ROOT, cgroupLayout, HYBRID_UNIFIED, hybridRebinds, missingControllers, parseMountinfo, type CgroupLayout } from './cgroups.js';
import { readSysctl } from './sysctl.js';
import { DEFAULT_CNI_BIN_DIRS } from '../network/cni.js';

export interface HostCheck {
  /** Stable key: 'root', 'crun', 'cgroups-hybrid', … */
  id: string;
  name: string;
  ok: boolean;
  detail: string;
  /** The exact command (or package to install) that fixes it. */
  fix?: string;
  /** A failed required check means pods cannot run here; the others only degrade something. */
  required: boolean;
  /** prepareHost (skiff doctor --fix) fixes it by itself. */
  autoFix?: boolean;
}

export const CNI_PLUGINS = ['bridge', 'host-local', 'loopback', 'portmap'];
export const CNI_BIN_DIRS = DEFAULT_CNI_BIN_DIRS;
const REQUIRED_CONTROLLERS = ['memory', 'cpu', 'pids'];
const CAP_SYS_ADMIN = 21n;

export interface HostFacts {
  mountinfo: string;
  /** /sys/fs/cgroup/unified/cgroup.controllers (hybrid) or /sys/fs/cgroup/cgroup.controllers (unified). */
  unifiedControllers: string;
  unifiedSubtreeControl: string;
  layout: CgroupLayout;
}

async function readOr(path: string, fallback = ''): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return fallback;
  }
}

export async function readHostFacts(): Promise<HostFacts> {
  const mountinfo = await readOr('/proc/self/mountinfo');
  const layout = cgroupLayout(parseMountinfo(mountinfo));
  const dir = layout.mode === 'unified' ? CGROUP_ROOT : HYBRID_UNIFIED;
  return {
    mountinfo,
    layout,
    unifiedControllers: layout.mode === 'unified' || layout.mode === 'hybrid' ? await readOr(join(dir, 'cgroup.controllers')) : '',
    unifiedSubtreeControl: layout.mode === 'hybrid' ? await readOr(join(dir, 'cgroup.subtree_control')) : '',
  };
}

/** The cgroup checks, from facts alone (pure, so they can be tested on any host's text). */
export function cgroupChecks(facts: Omit<HostFacts, 'mountinfo'>): HostCheck[] {
  const { layout } = facts;
  const modeText = {
    unified: 'v2 (unified hierarchy at /sys/fs/cgroup)',
    hybrid: `hybrid (v1 controllers, cgroup2 at ${HYBRID_UNIFIED})`,
    legacy: 'v1 (legacy hierarchies)',
    none: 'no cgroup hierarchy mounted under /sys/fs/cgroup',
  }[layout.mode];
  const checks: HostCheck[] = [];
  const rebinds = hybridRebinds(layout, facts.unifiedControllers, facts.unifiedSubtreeControl);
  if (layout.mode === 'none') {
    checks.push({ id: 'cgroups', name: 'cgroups', ok: false, required: true, detail: modeText, fix: `mount -t cgroup2 none ${CGROUP_ROOT}` });
    return checks;
  }
  checks.push({
    id: 'cgroups',
    name: 'cgroups',
    required: true,
    autoFix: rebinds.length > 0,
    ok: rebinds.length === 0,
    detail:
      rebinds.length === 0
        ? modeText + (layout.mode === 'hybrid' ? '; no controller left on the unified hierarchy, so crun accepts it' : '')
        : `${modeText}; ${rebinds.map((r) => r.controller).join(', ')} still on the unified hierarchy: crun refuses to start containers ("cgroups in hybrid mode not supported, drop all controllers from cgroupv2")`,
    ...(rebinds.length ? { fix: rebinds.flatMap((r) => r.commands).join(' && ') + '   (or: skiff doctor --fix)' } : {}),
  });
  const missing = missingControllers(layout, REQUIRED_CONTROLLERS, facts.unifiedControllers);
  checks.push({
    id: 'cgroup-controllers',
    name: 'cgroup controllers',
    required: true,
    ok: missing.length === 0,
    detail: missing.length === 0 ? `${REQUIRED_CONTROLLERS.join(', ')} available` : `missing: ${missing.join(', ')}`,
    ...(missing.length
      ? {
          fix:
            layout.mode === 'unified'
              ? `the kernel does not offer ${missing.join(', ')} on cgroup v2: boot with cgroup_enable=${missing.join(',')} (or check cgroup_disable= on the kernel command line)`
              : missing.map((c) => `mkdir -p ${CGROUP_ROOT}/${c} && mount -t cgroup -o ${c} cgroup ${CGROUP_ROOT}/${c}`).join(' && '),
        }
      : {}),
  });
  return checks;
}

async function tool(id: string, name: string, cmd: string, args: string[], pkg: string, versionOf = (out: string) => out.split('\n')[0]?.trim() ?? ''): Promise<HostCheck> {
  const r = await run(cmd, args, { timeoutMs: 10_000 });
  if (r.spawnError) return { id, name, ok: false, required: true, detail: `${cmd} not found in PATH`, fix: `apt-get install ${pkg}` };
  const out = `${r.stdout}\n${r.stderr}`.trim();
  if (r.code !== 0) return { id, name, ok: false, required: true, detail: `${cmd} ${args.join(' ')} failed: ${out.slice(0, 300)}`, fix: `apt-get install --reinstall ${pkg}` };
  return { id, name, ok: true, required: true, detail: versionOf(r.stdout || r.stderr) };
}

async function rootCheck(): Promise<HostCheck> {
  const status = await readOr('/proc/self/status');
  const capEff = /^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1];
  const hasSysAdmin = capEff !== undefined && ((BigInt(`0x${capEff}`) >> CAP_SYS_ADMIN) & 1n) === 1n;
  const uid = process.getuid?.() ?? -1;
  const ok = uid === 0 || hasSysAdmin;
  return {
    id: 'root',
    name: 'privileges',
    required: true,
    ok,
    detail: uid === 0 ? 'running as root' : hasSysAdmin ? `uid ${uid} with CAP_SYS_ADMIN` : `uid ${uid} without CAP_SYS_ADMIN`,
    ...(ok ? {} : { fix: 'run skiff as root: sudo skiff …' }),
  };
}

function cniCheck(): HostCheck {
  const dir = CNI_BIN_DIRS.find((d) => CNI_PLUGINS.every((p) => existsSync(join(d, p))));
  if (dir) return { id: 'cni-plugins', name: 'CNI plugins', ok: true, required: true, detail: `${CNI_PLUGINS.join(', ')} in ${dir}` };
  const partial = CNI_BIN_DIRS.find((d) => existsSync(d));
  const missing = partial ? CNI_PLUGINS.filter((p) => !existsSync(join(partial, p))) : CNI_PLUGINS;
  return { id: 'cni-plugins', name: 'CNI plugins', ok: false, required: true, detail: `missing in ${partial ?? CNI_BIN_DIRS.join(' and ')}: ${missing.join(', ')}`, fix: 'apt-get install containernetworking-plugins' };
}

async function iptablesCheck(): Promise<HostCheck> {
  const r = await run('iptables', ['-w', '-t', 'nat', '-S'], { timeoutMs: 15_000 });
  if (r.spawnError) return { id: 'iptables', name: 'iptables', ok: false, required: true, detail: 'iptables not found in PATH', fix: 'apt-get install iptables' };
  if (r.code !== 0) return { id: 'iptables', name: 'iptables', ok: false, required: true, detail: `iptables -t nat -S failed: ${r.stderr.trim().slice(0, 300)}`, fix: 'modprobe iptable_nat (or nf_tables); apt-get install iptables' };
  const version = (await run('iptables', ['--version'])).stdout.trim();
  return { id: 'iptables', name: 'iptables', ok: true, required: true, detail: `${version}; the nat table is usable` };
}

async function namespacesCheck(): Promise<HostCheck> {
  const args = ['--net', '--ipc', '--uts', '--pid', '--fork', '--mount', 'true'];
  const r = await run('unshare', args, { timeoutMs: 10_000 });
  if (r.code === 0) return { id: 'namespaces', name: 'namespaces', ok: true, required: true, detail: 'net, ipc, uts, pid and mount namespaces can be created' };
  return {
    id: 'namespaces',
    name: 'namespaces',
    ok: false,
    required: true,
    detail: `unshare ${args.join(' ')} failed: ${(r.spawnError ?? r.stderr.trim()).slice(0, 300)}`,
    fix: r.spawnError ? 'apt-get install util-linux' : 'new namespaces are forbidden here: run skiff on the host or in a privileged container',
  };
}

async function overlayCheck(): Promise<HostCheck> {
  const listed = (await readOr('/proc/filesystems')).split('\n').some((l) => l.trim().endsWith('overlay'));
  const dir = await mkdtemp(join(tmpdir(), 'skiff-doctor-overlay-'));
  try {
    for (const d of ['lower', 'upper', 'work', 'merged']) await mkdir(join(dir, d));
    await writeFile(join(dir, 'lower', 'f'), 'x');
    const m = await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${dir}/lower,upperdir=${dir}/upper,workdir=${dir}/work`, join(dir, 'merged')], { timeoutMs: 10_000 });
    if (m.code === 0) {
      const seen = existsSync(join(dir, 'merged', 'f'));
      await run('umount', [join(dir, 'merged')]);
      if (seen) return { id: 'overlayfs', name: 'overlayfs', ok: true, required: true, detail: 'a test overlay mount works' };
    }
    return {
      id: 'overlayfs',
      name: 'overlayfs',
      ok: false,
      // The image service falls back to copying layers, which works but costs disk and time.
      required: false,
      detail: `${listed ? 'overlay is listed in /proc/filesystems but a' : 'overlay is not in /proc/filesystems; a'} test mount failed: ${(m.spawnError ?? m.stderr.trim()).slice(0, 200)}; root filesystems will be copied instead`,
      fix: 'modprobe overlay',
    };
  } finally {
    await run('umount', [join(dir, 'merged')]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

async function forwardingChecks(): Promise<HostCheck[]> {
  const fwd = await readSysctl('net.ipv4.ip_forward');
  const checks: HostCheck[] = [
    {
      id: 'ip-forward',
      name: 'ip forwarding',
      // The CNI network turns it on by itself at the first pod; until then it only tells.
      required: false,
      autoFix: fwd !== '1',
      ok: fwd === '1',
      detail: fwd === '1' ? 'net.ipv4.ip_forward = 1' : `net.ipv4.ip_forward = ${fwd ?? 'unreadable'}: pods cannot reach beyond this host`,
      ...(fwd === '1' ? {} : { fix: 'sysctl -w net.ipv4.ip_forward=1   (or: skiff doctor --fix)' }),
    },
  ];
  const brnf = await readSysctl('net.bridge.bridge-nf-call-iptables');
  checks.push({
    id: 'bridge-nf-call-iptables',
    name: 'bridged traffic through iptables',
    required: false,
    autoFix: brnf === '0',
    ok: brnf !== '0',
    detail:
      brnf === undefined
        ? 'br_netfilter is not loaded (hostPort hairpin between pods on one node relies on it)'
        : `net.bridge.bridge-nf-call-iptables = ${brnf}`,
    ...(brnf === '0' ? { fix: 'sysctl -w net.bridge.bridge-nf-call-iptables=1   (or: skiff doctor --fix)' } : {}),
  });
  if (brnf === undefined) checks[checks.length - 1]!.fix = 'modprobe br_netfilter';
  return checks;
}

/** The oci runtime-spec a trivial container needs: busybox, its own namespaces, a cgroup with limits. */
function trivialSpec(args: string[]): object {
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args,
      env: ['PATH=/bin'],
      cwd: '/',
      noNewPrivileges: true,
      capabilities: { bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] },
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'skiff-doctor',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      // Limits exercise the memory and pids controllers the way pods will.
      resources: { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 32 }, cpu: { shares: 256 } },
      maskedPaths: ['/proc/kcore'],
      readonlyPaths: ['/proc/sys'],
    },
  };
}

export function findBusybox(): string | undefined {
  return ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
}

/** The definitive check: crun runs a busybox container here, in a private state dir, and cleans up. */
export async function crunRunCheck(opts: { idPrefix?: string } = {}): Promise<HostCheck> {
  const name = 'crun runs a container';
  const busybox = findBusybox();
  if (!busybox) return { id: 'crun-run', name, ok: false, required: true, detail: 'no busybox to build a test root filesystem from', fix: 'apt-get install busybox-static' };
  const id = `${opts.idPrefix ?? 'skiff-doctor'}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const dir = await mkdtemp(join(tmpdir(), `${id}-`));
  const state = join(dir, 'state');
  const marker = `skiff-doctor-ok-${id}`;
  try {
    await mkdir(join(dir, 'rootfs', 'bin'), { recursive: true });
    for (const d of ['proc', 'dev']) await mkdir(join(dir, 'rootfs', d));
    await copyFile(busybox, join(dir, 'rootfs', 'bin', 'busybox'));
    await chmod(join(dir, 'rootfs', 'bin', 'busybox'), 0o755);
    await writeFile(join(dir, 'config.json'), JSON.stringify(trivialSpec(['/bin/busybox', 'echo', marker])));
    const r = await run('crun', ['--root', state, 'run', '--bundle', dir, id], { timeoutMs: 30_000 });
    if (r.spawnError) return { id: 'crun-run', name, ok: false, required: true, detail: 'crun not found in PATH', fix: 'apt-get install crun' };
    if (r.code === 0 && r.stdout.includes(marker)) return { id: 'crun-run', name, ok: true, required: true, detail: 'a busybox container ran with its own namespaces and a memory/pids-limited cgroup' };
    const said = (r.stderr.trim() || r.stdout.trim() || `exit code ${r.code}`).slice(0, 400);
    const hybrid = said.includes('hybrid mode');
    return {
      id: 'crun-run',
      name,
      ok: false,
      required: true,
      autoFix: hybrid,
      detail: `crun run failed: ${said}`,
      fix: hybrid ? 'skiff doctor --fix (moves the controllers off the unified cgroup hierarchy)' : 'see the error above; busybox must be static (apt-get install busybox-static)',
    };
  } finally {
    await run('crun', ['--root', state, 'delete', '--force', id], { timeoutMs: 10_000 });
    await rm(dir, { recursive: true, force: true });
  }
}

export interface HostCheckOptions {
  /** Also run a real container with crun (the definitive check; ~100 ms). Default true. */
  runContainer?: boolean;
  /** Prefix of the test container's ID (tests give their own unique one). */
  containerIdPrefix?: string;
}

export async function runHostChecks(opts: HostCheckOptions = {}): Promise<HostCheck[]> {
  const facts = await readHostFacts();
  const [root, crun, conmon, iptables, ip, nsenter, unshare, namespaces, overlay, forwarding] = await Promise.all([
    rootCheck(),
    tool('crun', 'crun', 'crun', ['--version'], 'crun'),
    tool('conmon', 'conmon', 'conmon', ['--version'], 'conmon'),
    iptablesCheck(),
    tool('ip', 'ip', 'ip', ['-V'], 'iproute2'),
    tool('nsenter', 'nsenter', 'nsenter', ['--version'], 'util-linux'),
    tool('unshare', 'unshare', 'unshare', ['--version'], 'util-linux'),
    namespacesCheck(),
    overlayCheck(),
    forwardingChecks(),
  ]);
  const checks = [root, crun, conmon, cniCheck(), iptables, ip, nsenter, unshare, namespaces, overlay, ...cgroupChecks(facts), ...forwarding];
  if (opts.runContainer ?? true) {
    if (crun.ok && root.ok) checks.push(await crunRunCheck({ idPrefix: opts.containerIdPrefix }));
    else checks.push({ id: 'crun-run', name: 'crun runs a container', ok: false, required: true, detail: 'not tried: needs crun and root first' });
  }
  return checks;
}
