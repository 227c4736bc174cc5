/**
 * The real container runtime: OCI containers run by crun under conmon, in pod sandboxes made of
 * namespaces alone.
 *
 * A sandbox has no pause container: its network, IPC and UTS namespaces are bind-mounted onto files
 * under `<runDir>/sandboxes/<id>/` (they live as long as the mount, without a process), its /etc files
 * and /dev/shm tmpfs sit in `<root>/sandboxes/<id>/`, and its cgroup is `<cgroupRoot>/pod<uid>`. A pod
 * with shareProcessNamespace gets one small process, `sleep` as pid 1 of a PID namespace every
 * container joins (it does not reap orphans the way upstream's pause does: a process orphaned inside
 * such a pod stays a zombie until the pod ends).
 *
 * A container is a bundle `<root>/containers/<id>/` (config.json, rootfs from the image service, and
 * conmon's persist files `exit` and `oom`), created by `crun create` under conmon and started by
 * `crun start`. Everything a restarted agent needs is on disk: sandbox.json, the bundle's annotations,
 * `state.json` (start time, reported exit), conmon's exit files, crun's own state.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { constants as osConstants, networkInterfaces } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import pty from 'node-pty';
import {
  NetworkError,
  type ContainerRuntime,
  type ContainerSpec,
  type ContainerStatus,
  type ImageService,
  type PodNetwork,
  type PodNetworkRequest,
  type ProcessIO,
  type SandboxInfo,
  type SandboxSpec,
} from '../cri.js';
import { Cgroups } from './cgroups.js';
import { createUnderConmon, REOPEN_LOG, resizeLine, writeControl } from './conmon.js';
import { CommandError, createNamespaces, mountTmpfs, processStartTime, removeMountFile, run, spawnDetached, unmount } from './host.js';
import { canRelayAttach, relayAttach } from './attach.js';
import { followLog } from './log-follow.js';
import { ANNOTATIONS, buildOciSpec, capabilitiesFromMask } from './oci-spec.js';

export interface CrunRuntimeOptions {
  /** Persistent state: sandboxes' files and containers' bundles ("/var/lib/skiff/runtime"). */
  root: string;
  /** Volatile state: namespace files, exit files, crun's state ("/run/skiff"). */
  runDir?: string;
  network: PodNetwork;
  /** Where a container's root filesystem comes from (the image service). */
  images: Pick<ImageService, 'mountRootfs' | 'unmountRootfs'>;
  /** Parent of every pod cgroup, relative to the hierarchies' roots ("skiff"). */
  cgroupRoot?: string;
  crun?: string;
  conmon?: string;
  /** conmon truncates a log beyond this size (the agent rotates before that). Default: no limit. */
  logSizeMax?: number;
  log?: (m: string) => void;
}

interface SandboxRecord {
  info: SandboxInfo;
  spec: SandboxSpec;
  namespaces: { net?: string; ipc?: string; uts?: string; pid?: string };
  shmPath?: string;
  cgroupPath: string;
  /** The process holding a shared PID namespace open (shareProcessNamespace). */
  pause?: { pid: number; startTime: string };
  networkReady: boolean;
}

interface ContainerState {
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  exitCode?: number;
  oomKilled?: boolean;
  /** onExit was called for this exit (by this agent or a previous one). */
  exitReported?: boolean;
}

interface ContainerRecord {
  status: ContainerStatus;
  bundle: string;
  cgroupsPath: string;
  tty: boolean;
  state: ContainerState;
  exitWaiters: (() => void)[];
}

const EXEC_OUTPUT_CAP = 16 * 1024;
const POLL_MS = 2000;

export class CrunRuntime implements ContainerRuntime {
  readonly version: string;
  private readonly root: string;
  private readonly runDir: string;
  private readonly crun: string;
  private readonly conmon: string;
  private readonly crunRoot: string;
  private readonly exitDir: string;
  private readonly cgroupRoot: string;
  private readonly cgroups: Cgroups;
  private readonly availableCaps: string[];
  private readonly sandboxes = new Map<string, SandboxRecord>();
  private readonly containers = new Map<string, ContainerRecord>();
  private readonly exitListeners: ((s: ContainerStatus) => void)[] = [];
  private readonly log: (m: string) => void;
  private watcher?: FSWatcher;
  private poller?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly opts: CrunRuntimeOptions) {
    this.root = opts.root;
    this.runDir = opts.runDir ?? '/run/skiff';
    this.crun = opts.crun ?? '/usr/bin/crun';
    this.conmon = opts.conmon ?? '/usr/bin/conmon';
    this.crunRoot = join(this.runDir, 'crun');
    this.exitDir = join(this.runDir, 'exits');
    this.cgroupRoot = '/' + (opts.cgroupRoot ?? 'skiff').replace(/^\/+|\/+$/g, '');
    this.log = opts.log ?? (() => {});
    for (const tool of [this.crun, this.conmon]) {
      if (!existsSync(tool)) throw new Error(`${tool} not found: install it (apt-get install crun conmon)`);
    }
    this.version = `crun://${crunVersion(this.crun)}`;
    this.cgroups = new Cgroups();
    this.availableCaps = ownBoundingSet();
    for (const d of [join(this.root, 'sandboxes'), join(this.root, 'containers'), join(this.runDir, 'sandboxes'), this.crunRoot, this.exitDir, join(this.runDir, 'sockets')]) {
      mkdirSync(d, { recursive: true });
    }
    this.watchExits();
  }

  // ------------------------------------------------------------------------------------------
  // Sandboxes

  async runPodSandbox(spec: SandboxSpec): Promise<SandboxInfo> {
    const id = randomBytes(32).toString('hex');
    const dir = join(this.root, 'sandboxes', id);
    const nsDir = join(this.runDir, 'sandboxes', id);
    mkdirSync(dir, { recursive: true });
    mkdirSync(nsDir, { recursive: true });
    const rec: SandboxRecord = {
      info: {
        id,
        podUid: spec.podUid,
        namespace: spec.namespace,
        name: spec.name,
        ip: '',
        resolvConfPath: join(dir, 'resolv.conf'),
        hostsPath: join(dir, 'hosts'),
        hostnamePath: join(dir, 'hostname'),
        createdAt: Date.now(),
      },
      spec,
      namespaces: {},
      cgroupPath: spec.cgroupParent ? '/' + spec.cgroupParent.replace(/^\/+|\/+$/g, '') : `${this.cgroupRoot}/pod${spec.podUid}`,
      networkReady: false,
    };
    try {
      writeFileSync(rec.info.resolvConfPath, spec.resolvConf);
      writeFileSync(rec.info.hostsPath, spec.hosts);
      // A hostNetwork pod shares the node's UTS namespace too, so it sees the node's hostname.
      const hostname = spec.hostNetwork ? hostHostname() : spec.hostname;
      writeFileSync(rec.info.hostnamePath, hostname + '\n');

      const files: { net?: string; ipc?: string; uts?: string } = {};
      if (!spec.hostNetwork) {
        files.net = join(nsDir, 'net');
        files.uts = join(nsDir, 'uts');
      }
      if (!spec.hostIPC) files.ipc = join(nsDir, 'ipc');
      rec.namespaces = { ...files };
      await createNamespaces(files, spec.hostNetwork ? undefined : spec.hostname);

      if (spec.hostIPC) rec.shmPath = '/dev/shm';
      else {
        rec.shmPath = join(dir, 'shm');
        mkdirSync(rec.shmPath, { recursive: true });
        await mountTmpfs(rec.shmPath, 'nosuid,nodev,noexec,mode=1777,size=65536k');
      }

      this.cgroups.ensure(rec.cgroupPath);

      if (spec.shareProcessNamespace && !spec.hostPID) {
        rec.namespaces.pid = join(nsDir, 'pid');
        rec.pause = await this.startPidHolder(rec.namespaces.pid, rec.cgroupPath);
      }

      if (spec.hostNetwork) rec.info.ip = hostIPv4();
      else {
        rec.info.netnsPath = files.net;
        this.saveSandbox(rec);
        const res = await this.opts.network.setUp(this.networkRequest(rec));
        rec.networkReady = true;
        rec.info.ip = res.ip;
      }
      this.sandboxes.set(id, rec);
      this.saveSandbox(rec);
      return { ...rec.info };
    } catch (err) {
      await this.destroySandbox(rec).catch((e) => this.log(`sandbox ${id}: cleanup after failure: ${e}`));
      if (err instanceof NetworkError) throw err;
      throw err instanceof Error ? err : new Error(String(err));
    }
  }

  async stopPodSandbox(id: string): Promise<void> {
    const rec = this.sandboxes.get(id);
    if (!rec) return;
    await Promise.all(this.sandboxContainers(id).map((c) => this.stopContainer(c.status.id, 0)));
    await this.stopPidHolder(rec);
    if (!rec.spec.hostNetwork) {
      await this.opts.network.tearDown(this.networkRequest(rec));
      rec.networkReady = false;
      this.saveSandbox(rec);
    }
  }

  async removePodSandbox(id: string): Promise<void> {
    const rec = this.sandboxes.get(id);
    if (!rec) return;
    await this.stopPodSandbox(id);
    for (const c of this.sandboxContainers(id)) await this.removeContainer(c.status.id);
    await this.destroySandbox(rec);
    this.sandboxes.delete(id);
  }

  listSandboxes(): SandboxInfo[] {
    return [...this.sandboxes.values()].map((r) => ({ ...r.info }));
  }

  private async destroySandbox(rec: SandboxRecord): Promise<void> {
    const id = rec.info.id;
    await this.stopPidHolder(rec);
    if (!rec.spec.hostNetwork && rec.info.netnsPath) {
      await this.opts.network.tearDown(this.networkRequest(rec)).catch((e) => this.log(`sandbox ${id}: network teardown: ${e}`));
    }
    for (const f of Object.values(rec.namespaces)) if (f) await removeMountFile(f);
    if (rec.shmPath && rec.shmPath !== '/dev/shm') await unmount(rec.shmPath);
    const podCgroupShared = [...this.sandboxes.values()].some((o) => o !== rec && o.cgroupPath === rec.cgroupPath);
    if (!podCgroupShared && !this.cgroups.remove(rec.cgroupPath)) {
      // A process just killed may take a moment to leave its cgroup.
      for (let i = 0; i < 20 && !this.cgroups.remove(rec.cgroupPath); i++) await sleep(100);
      if (this.cgroups.exists(rec.cgroupPath)) this.log(`sandbox ${id}: cgroup ${rec.cgroupPath} is still busy`);
    }
    rmSync(join(this.runDir, 'sandboxes', id), { recursive: true, force: true });
    const dir = join(this.root, 'sandboxes', id);
    if (rec.shmPath && rec.shmPath !== '/dev/shm' && isMountPoint(rec.shmPath)) throw new Error(`sandbox ${id}: ${rec.shmPath} is still mounted`);
    rmSync(dir, { recursive: true, force: true });
  }

  private networkRequest(rec: SandboxRecord): PodNetworkRequest {
    return {
      podUid: rec.spec.podUid,
      namespace: rec.spec.namespace,
      name: rec.spec.name,
      netnsPath: rec.info.netnsPath ?? rec.namespaces.net ?? '',
      sandboxId: rec.info.id,
      portMappings: rec.spec.portMappings,
    };
  }

  private saveSandbox(rec: SandboxRecord): void {
    const { info, spec, namespaces, shmPath, cgroupPath, pause, networkReady } = rec;
    writeFileSync(join(this.root, 'sandboxes', info.id, 'sandbox.json'), JSON.stringify({ info, spec, namespaces, shmPath, cgroupPath, pause, networkReady }));
  }

  private sandboxContainers(id: string): ContainerRecord[] {
    return [...this.containers.values()].filter((c) => c.status.sandboxId === id);
  }

  /** `sleep` as pid 1 of a new PID namespace, bind-mounted at `file`, in the pod's cgroup. */
  private async startPidHolder(file: string, cgroupPath: string): Promise<{ pid: number; startTime: string }> {
    writeFileSync(file, '');
    const pid = spawnDetached('unshare', [`--pid=${file}`, '--fork', '--kill-child=SIGKILL', 'sleep', 'infinity']);
    // unshare bind-mounts the namespace once its child runs; joining before that would join nothing.
    for (let i = 0; i < 100; i++) {
      if (isMountPoint(file) || nsfsMounted(file)) break;
      await sleep(20);
    }
    if (!nsfsMounted(file)) throw new Error('could not create the pod PID namespace');
    this.cgroups.addProcess(cgroupPath, pid);
    for (const child of childPids(pid)) this.cgroups.addProcess(cgroupPath, child);
    return { pid, startTime: processStartTime(pid) ?? '' };
  }

  private async stopPidHolder(rec: SandboxRecord): Promise<void> {
    const p = rec.pause;
    if (!p) return;
    if (processStartTime(p.pid) === p.startTime) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      for (let i = 0; i < 50 && processStartTime(p.pid) === p.startTime; i++) await sleep(20);
    }
    rec.pause = undefined;
  }

  // ------------------------------------------------------------------------------------------
  // Containers

  async createContainer(spec: ContainerSpec): Promise<string> {
    const sb = this.sandboxes.get(spec.sandboxId);
    if (!sb) throw new Error(`sandbox ${spec.sandboxId} not found`);
    const id = randomBytes(32).toString('hex');
    const bundle = join(this.root, 'containers', id);
    mkdirSync(bundle, { recursive: true });
    mkdirSync(dirname(spec.logPath), { recursive: true });
    const cgroupsPath = `${sb.cgroupPath}/${id}`;
    let rootfsMounted = false;
    try {
      const rootfs = await this.opts.images.mountRootfs(spec.image, bundle);
      rootfsMounted = true;
      const oci = buildOciSpec(spec, {
        rootfs,
        sandbox: sb.info,
        hostNetwork: sb.spec.hostNetwork,
        hostIPC: sb.spec.hostIPC,
        hostPID: sb.spec.hostPID,
        namespaces: sb.namespaces,
        shmPath: sb.shmPath,
        hostname: sb.spec.hostNetwork ? hostHostname() : sb.spec.hostname,
        cgroupsPath,
        cgroupVersion: this.cgroups.version,
        swapAccounting: this.cgroups.swapAccounting,
        availableCapabilities: this.availableCaps,
      });
      writeFileSync(join(bundle, 'config.json'), JSON.stringify(oci, null, 1));
      const state: ContainerState = { createdAt: Date.now() };
      writeFileSync(join(bundle, 'state.json'), JSON.stringify(state));
      const pid = await createUnderConmon({
        conmon: this.conmon,
        crun: this.crun,
        crunRoot: this.crunRoot,
        id,
        bundle,
        name: `${spec.namespace}_${spec.podName}_${spec.containerName}_${spec.attempt}`,
        exitDir: this.exitDir,
        socketDir: join(this.runDir, 'sockets'),
        logPath: spec.logPath,
        logSizeMax: this.opts.logSizeMax,
        stdin: spec.stdin,
        stdinOnce: spec.stdinOnce,
        tty: spec.tty,
        beforeStart: (conmonPid) => {
          this.cgroups.ensure(`${this.cgroupRoot}/conmon`);
          this.cgroups.addProcess(`${this.cgroupRoot}/conmon`, conmonPid);
        },
      });
      this.containers.set(id, {
        status: {
          id,
          sandboxId: spec.sandboxId,
          podUid: spec.podUid,
          namespace: spec.namespace,
          podName: spec.podName,
          containerName: spec.containerName,
          attempt: spec.attempt,
          imageRef: spec.image.imageRef,
          phase: 'created',
          pid,
          createdAt: state.createdAt,
          oomKilled: false,
          logPath: spec.logPath,
        },
        bundle,
        cgroupsPath,
        tty: spec.tty,
        state,
        exitWaiters: [],
      });
      return id;
    } catch (err) {
      await this.crunQuiet(['delete', '--force', id]);
      if (rootfsMounted) await this.opts.images.unmountRootfs(bundle).catch(() => {});
      if (!rootfsMounted || !isMountPoint(join(bundle, 'rootfs'))) rmSync(bundle, { recursive: true, force: true });
      throw err;
    }
  }

  async startContainer(id: string): Promise<void> {
    const c = this.mustGet(id);
    if (c.status.phase !== 'created') throw new Error(`container ${id} is ${c.status.phase}, not created`);
    // Taken before the start: a process that ends at once can be seen exited (its exit file) while
    // `crun start` is still returning, and its exit must say when it started.
    c.state.startedAt = Date.now();
    try {
      await run(this.crun, [`--root=${this.crunRoot}`, 'start', id]);
    } catch (err) {
      c.state.startedAt = undefined;
      throw err;
    }
    this.saveState(c);
    if (c.status.phase === 'created') c.status.phase = 'running';
    c.status.startedAt = c.state.startedAt;
    // A process that ended at once may have written its exit file before we looked.
    this.checkExit(c);
  }

  async stopContainer(id: string, graceSeconds: number): Promise<void> {
    const c = this.containers.get(id);
    if (!c) return;
    this.checkExit(c);
    if (c.status.phase === 'exited') return;
    const exited = this.waitExit(c);
    if (graceSeconds > 0) {
      await this.crunQuiet(['kill', id, 'TERM']);
      if (await within(exited, graceSeconds * 1000)) return;
    }
    await this.crunQuiet(['kill', '--all', id, 'KILL']);
    if (!(await within(exited, 30_000))) {
      this.checkExit(c, true);
      if ((c.status.phase as string) !== 'exited') throw new Error(`container ${id} did not exit after SIGKILL`);
    }
  }

  async removeContainer(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (!c) return;
    this.checkExit(c);
    if (c.status.phase !== 'exited') await this.stopContainer(id, 0);
    await this.crunQuiet(['delete', '--force', id]);
    await this.opts.images.unmountRootfs(c.bundle);
    if (isMountPoint(join(c.bundle, 'rootfs'))) throw new Error(`container ${id}: its rootfs is still mounted`);
    this.cgroups.remove(c.cgroupsPath);
    rmSync(c.bundle, { recursive: true, force: true });
    rmSync(join(this.exitDir, id), { force: true });
    rmSync(join(this.runDir, 'sockets', id), { force: true });
    this.containers.delete(id);
  }

  containerStatus(id: string): ContainerStatus | undefined {
    const c = this.containers.get(id);
    return c ? { ...c.status } : undefined;
  }

  listContainers(): ContainerStatus[] {
    return [...this.containers.values()].map((c) => ({ ...c.status }));
  }

  onExit(listener: (status: ContainerStatus) => void): void {
    this.exitListeners.push(listener);
  }

  /** Resolves once the container is not running (at once if it is not, or is unknown). */
  waitForExit(id: string): Promise<void> {
    if (this.containers.get(id)?.status.phase !== 'running') return Promise.resolve();
    return new Promise((resolve) => {
      const check = (st: ContainerStatus) => {
        if (st.id !== id) return;
        this.exitListeners.splice(this.exitListeners.indexOf(check), 1);
        resolve();
      };
      this.exitListeners.push(check);
    });
  }

  // ------------------------------------------------------------------------------------------
  // Exits

  private watchExits(): void {
    try {
      this.watcher = watch(this.exitDir, (_event, name) => {
        const c = name ? this.containers.get(String(name)) : undefined;
        if (c) this.checkExit(c);
      });
      this.watcher.on('error', (e) => this.log(`exit dir watch: ${e}`));
    } catch (e) {
      this.log(`exit dir watch: ${e}`);
    }
    // The watch can miss an event (a restart, an overflow): a slow poll catches what it missed.
    this.poller = setInterval(() => {
      for (const c of this.containers.values()) if (c.status.phase !== 'exited') this.checkExit(c, true);
    }, POLL_MS);
    this.poller.unref();
  }

  /**
   * Marks the container exited when conmon wrote its exit file. With `deep`, a container whose
   * conmon is gone without an exit file (killed, or the node rebooted) is taken as exited too.
   */
  private checkExit(c: ContainerRecord, deep = false): void {
    if (c.status.phase === 'exited') return;
    const file = [join(c.bundle, 'exit'), join(this.exitDir, c.status.id)].find((f) => existsSync(f));
    let exitCode: number | undefined;
    let finishedAt: number | undefined;
    if (file) {
      const text = readFileSync(file, 'utf8').trim();
      if (text === '') return; // written but not flushed yet: the next event or poll reads it
      exitCode = Number.parseInt(text, 10);
      if (!Number.isFinite(exitCode)) exitCode = 255;
      // File times come from a coarse clock that can lag the start time taken just before.
      finishedAt = Math.max(Math.floor(statSync(file).mtimeMs), c.state.startedAt ?? 0);
    } else if (deep && c.status.phase === 'running' && !this.monitorAlive(c)) {
      exitCode = 255;
      finishedAt = Date.now();
    } else return;
    const oomFile = existsSync(join(c.bundle, 'oom'));
    const oomKilled = oomFile || (exitCode === 137 && this.cgroups.oomKills(c.cgroupsPath) > 0);
    c.state = { ...c.state, finishedAt, exitCode, oomKilled };
    c.status = { ...c.status, phase: 'exited', finishedAt, exitCode, oomKilled, startedAt: c.state.startedAt };
    this.report(c);
  }

  private report(c: ContainerRecord): void {
    const first = !c.state.exitReported;
    c.state.exitReported = true;
    this.saveState(c);
    for (const w of c.exitWaiters.splice(0)) w();
    if (!first || this.closed) return;
    const status = { ...c.status };
    for (const l of this.exitListeners) {
      try {
        l(status);
      } catch (e) {
        this.log(`onExit listener: ${e}`);
      }
    }
  }

  private waitExit(c: ContainerRecord): Promise<void> {
    if (c.status.phase === 'exited') return Promise.resolve();
    return new Promise((resolve) => c.exitWaiters.push(resolve));
  }

  private monitorAlive(c: ContainerRecord): boolean {
    try {
      const pid = Number(readFileSync(join(c.bundle, 'conmon.pid'), 'utf8').trim());
      if (!pid) return false;
      process.kill(pid, 0);
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return cmdline.includes(c.status.id);
    } catch {
      return false;
    }
  }

  private saveState(c: ContainerRecord): void {
    try {
      writeFileSync(join(c.bundle, 'state.json'), JSON.stringify(c.state));
    } catch (e) {
      this.log(`container ${c.status.id}: saving state: ${e}`);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Exec, attach, logs

  execSync(id: string, cmd: string[], timeoutMs: number): Promise<{ exitCode: number; output: string; timedOut: boolean }> {
    const c = this.mustGet(id);
    const pidFile = join(c.bundle, `exec-${randomBytes(6).toString('hex')}.pid`);
    return new Promise((resolve) => {
      const child = spawn(this.crun, [`--root=${this.crunRoot}`, 'exec', '--pid-file', pidFile, id, ...cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
      const chunks: Buffer[] = [];
      let size = 0;
      const collect = (d: Buffer) => {
        if (size >= EXEC_OUTPUT_CAP) return;
        const part = d.subarray(0, EXEC_OUTPUT_CAP - size);
        chunks.push(part);
        size += part.length;
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        // Killing crun's client would leave the command running inside: kill the command itself.
        killPidFile(pidFile);
        child.kill('SIGKILL');
      }, Math.max(1, timeoutMs));
      const done = (exitCode: number) => {
        clearTimeout(timer);
        rmSync(pidFile, { force: true });
        resolve({ exitCode, output: Buffer.concat(chunks).toString('utf8'), timedOut });
      };
      child.on('error', (e) => {
        collect(Buffer.from(String(e.message)));
        done(126);
      });
      child.on('close', (code, signal) => done(timedOut ? 137 : code ?? (signal ? 128 + (signalNumber(signal) ?? 9) : 1)));
    });
  }

  exec(id: string, cmd: string[], opts: { tty: boolean; stdin: boolean; cols?: number; rows?: number }): ProcessIO {
    const c = this.mustGet(id);
    if (c.status.phase !== 'running') throw new Error(`container ${id} is not running`);
    const pidFile = join(c.bundle, `exec-${randomBytes(6).toString('hex')}.pid`);
    const args = [`--root=${this.crunRoot}`, 'exec', '--pid-file', pidFile];
    // crun exec takes the container's environment unless told one --env: then it takes only those.
    if (opts.tty) for (const e of withTerm(this.containerEnv(c))) args.push('--env', e);
    // With --tty (and no console socket) crun gives the process a terminal of the container's own
    // devpts, as its session leader, as CRI runtimes do: a shell gets job control and `tty` names it.
    // crun relays that terminal to its own stdin and stdout (the agent's pty below).
    if (opts.tty) args.push('--tty');
    args.push(id, ...cmd);
    if (opts.tty) {
      const term = pty.spawn(this.crun, args, { name: 'xterm', cols: opts.cols ?? 80, rows: opts.rows ?? 24, cwd: '/', env: process.env as Record<string, string> });
      const resizeInside = innerTerminalResizer(pidFile);
      const stdout = new PassThrough();
      term.onData((d) => stdout.write(d));
      let stdin: PassThrough | undefined;
      if (opts.stdin) {
        stdin = new PassThrough();
        stdin.on('data', (d: Buffer) => term.write(d.toString('utf8')));
        // The end of input is the terminal's end-of-file character.
        stdin.on('end', () => term.write('\x04'));
      }
      const exited = new Promise<number>((resolve) => {
        term.onExit(({ exitCode, signal }) => {
          rmSync(pidFile, { force: true });
          // node-pty reports the exit before the last output: give it a turn to arrive.
          setTimeout(() => stdout.end(), 50);
          resolve(signal ? 128 + signal : exitCode);
        });
      });
      return {
        stdin,
        stdout,
        resize: (cols, rows) => {
          try {
            term.resize(Math.max(1, cols), Math.max(1, rows));
          } catch {
            /* already exited */
          }
          resizeInside(Math.max(1, cols), Math.max(1, rows));
        },
        exited,
        kill: () => {
          killPidFile(pidFile);
          term.kill('SIGKILL');
        },
      };
    }
    const child = spawn(this.crun, args, { stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number>((resolve) => {
      child.on('error', () => resolve(126));
      child.on('close', (code, signal) => {
        rmSync(pidFile, { force: true });
        resolve(code ?? (signal ? 128 + (signalNumber(signal) ?? 9) : 1));
      });
    });
    child.stdin?.on('error', () => {});
    return {
      stdin: child.stdin ?? undefined,
      stdout: child.stdout!,
      stderr: child.stderr!,
      resize: () => {},
      exited,
      kill: () => {
        killPidFile(pidFile);
        child.kill('SIGKILL');
      },
    };
  }

  attach(id: string, opts: { stdin: boolean; tty: boolean }): ProcessIO {
    const c = this.mustGet(id);
    this.checkExit(c);
    if (c.status.phase === 'exited') throw new Error(`container ${id} has exited: cannot attach`);
    const resize = (cols: number, rows: number) => {
      if (c.tty) writeControl(c.bundle, resizeLine(cols, rows));
    };
    const exitCode = async () => {
      // conmon closes the attach socket just before it writes the exit file.
      await within(this.waitExit(c), 5000);
      return c.status.exitCode ?? 0;
    };
    if (canRelayAttach()) {
      const r = relayAttach(c.bundle, opts.stdin);
      return {
        stdin: r.stdin,
        stdout: r.stdout,
        stderr: c.tty ? undefined : r.stderr,
        resize,
        exited: r.closed.then(async ({ error }) => {
          this.checkExit(c);
          if (error && c.status.phase !== 'exited') throw new Error(`attach to ${id}: ${error}`);
          return exitCode();
        }),
        kill: () => r.kill(),
      };
    }
    // Without perl: output only, from the log.
    if (opts.stdin) throw new Error('attach with stdin is not supported without perl');
    const f = followLog(c.status.logPath, () => {
      this.checkExit(c);
      return c.status.phase === 'exited';
    });
    return {
      stdout: f.stdout,
      stderr: c.tty ? undefined : f.stderr,
      resize,
      exited: new Promise<number>((resolve) => f.stdout.on('end', () => resolve(exitCode()))),
      kill: () => f.stop(),
    };
  }

  async reopenLog(id: string): Promise<void> {
    const c = this.mustGet(id);
    if (c.status.phase === 'exited') return;
    if (!writeControl(c.bundle, REOPEN_LOG)) throw new Error(`container ${id}: its conmon does not answer on ${join(c.bundle, 'ctl')}`);
  }

  // ------------------------------------------------------------------------------------------
  // Restart

  async restore(): Promise<void> {
    for (const id of safeReaddir(join(this.root, 'sandboxes'))) {
      if (this.sandboxes.has(id)) continue;
      try {
        const saved = JSON.parse(readFileSync(join(this.root, 'sandboxes', id, 'sandbox.json'), 'utf8')) as SandboxRecord;
        if (saved.pause && processStartTime(saved.pause.pid) !== saved.pause.startTime) saved.pause = undefined;
        // After a reboot the namespaces (under runDir, a tmpfs) are gone: such a sandbox is dead, and
        // the pod worker makes a new one, as the kubelet does when a sandbox changed.
        const lost = Object.values(saved.namespaces).some((f) => f && !nsfsMounted(f)) || (saved.spec.shareProcessNamespace && !saved.spec.hostPID && !saved.pause);
        if (lost) {
          this.log(`sandbox ${id}: its namespaces are gone; removing it`);
          await this.destroySandbox(saved).catch((e) => this.log(`sandbox ${id}: ${e}`));
          continue;
        }
        this.sandboxes.set(id, saved);
      } catch (e) {
        this.log(`sandbox ${id}: not restored: ${e}`);
      }
    }
    const toReport: ContainerRecord[] = [];
    for (const id of safeReaddir(join(this.root, 'containers'))) {
      if (this.containers.has(id)) continue;
      const bundle = join(this.root, 'containers', id);
      try {
        const oci = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
        const a = oci.annotations ?? {};
        const state = JSON.parse(readFileSync(join(bundle, 'state.json'), 'utf8')) as ContainerState;
        const crunState = await this.crunState(id);
        const phase = state.exitCode !== undefined ? 'exited' : crunState === 'running' ? 'running' : crunState === 'created' ? 'created' : 'running';
        const rec: ContainerRecord = {
          status: {
            id,
            sandboxId: a[ANNOTATIONS.sandboxId],
            podUid: a[ANNOTATIONS.podUid],
            namespace: a[ANNOTATIONS.podNamespace],
            podName: a[ANNOTATIONS.podName],
            containerName: a[ANNOTATIONS.containerName],
            attempt: Number(a[ANNOTATIONS.attempt] ?? 0),
            imageRef: a[ANNOTATIONS.imageRef] ?? '',
            phase,
            pid: readPid(join(bundle, 'pidfile')),
            createdAt: state.createdAt,
            startedAt: state.startedAt,
            finishedAt: state.finishedAt,
            exitCode: state.exitCode,
            oomKilled: state.oomKilled ?? false,
            logPath: a[ANNOTATIONS.logPath] ?? '',
          },
          bundle,
          cgroupsPath: oci.linux?.cgroupsPath ?? '',
          tty: !!oci.process?.terminal,
          state,
          exitWaiters: [],
        };
        this.containers.set(id, rec);
        if (phase === 'exited') {
          if (!state.exitReported) toReport.push(rec);
        } else {
          // Exited while no agent watched: conmon's exit file says how.
          this.checkExitQuiet(rec);
          if (rec.status.phase === 'exited') toReport.push(rec);
        }
      } catch (e) {
        this.log(`container ${id}: not restored: ${e}`);
      }
    }
    for (const c of toReport) {
      c.state.exitReported = false;
      this.report(c);
    }
  }

  /** checkExit without reporting (restore reports once everything is loaded). */
  private checkExitQuiet(c: ContainerRecord): void {
    const listeners = this.exitListeners.splice(0);
    try {
      this.checkExit(c, true);
    } finally {
      this.exitListeners.push(...listeners);
    }
    c.state.exitReported = false;
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    if (this.poller) clearInterval(this.poller);
    for (const c of this.containers.values()) for (const w of c.exitWaiters.splice(0)) w();
  }

  // ------------------------------------------------------------------------------------------

  private containerEnv(c: ContainerRecord): string[] {
    try {
      return JSON.parse(readFileSync(join(c.bundle, 'config.json'), 'utf8')).process?.env ?? [];
    } catch {
      return [];
    }
  }

  private mustGet(id: string): ContainerRecord {
    const c = this.containers.get(id);
    if (!c) throw new Error(`container ${id} not found`);
    return c;
  }

  private async crunState(id: string): Promise<string | undefined> {
    try {
      const { stdout } = await run(this.crun, [`--root=${this.crunRoot}`, 'state', id]);
      return JSON.parse(stdout).status;
    } catch {
      return undefined;
    }
  }

  private async crunQuiet(args: string[]): Promise<void> {
    try {
      await run(this.crun, [`--root=${this.crunRoot}`, ...args]);
    } catch (e) {
      const msg = e instanceof CommandError ? e.stderr : String(e);
      if (!/not exist|no such|not running|stopped|ESRCH/i.test(msg)) this.log(`crun ${args.join(' ')}: ${msg.trim()}`);
    }
  }
}

function withTerm(env: string[]): string[] {
  return env.some((e) => e.startsWith('TERM=')) ? env : [...env, 'TERM=xterm'];
}

function crunVersion(crun: string): string {
  try {
    const out = execFileSync(crun, ['--version'], { encoding: 'utf8' });
    return /crun version (\S+)/.exec(out)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function ownBoundingSet(): string[] {
  try {
    const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('CapBnd:'));
    return line ? capabilitiesFromMask(line.slice('CapBnd:'.length)) : [];
  } catch {
    return [];
  }
}

function hostHostname(): string {
  try {
    return readFileSync('/proc/sys/kernel/hostname', 'utf8').trim();
  } catch {
    return 'localhost';
  }
}

/** The host's primary IPv4: the source address of the default route's interface, else the first non-internal one. */
function hostIPv4(): string {
  let ifname: string | undefined;
  try {
    for (const line of readFileSync('/proc/net/route', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[1] === '00000000' && f[7] === '00000000') {
        ifname = f[0];
        break;
      }
    }
  } catch {
    /* no procfs route table */
  }
  const ifaces = networkInterfaces();
  const pick = (name: string) => ifaces[name]?.find((a) => a.family === 'IPv4' && !a.internal)?.address;
  if (ifname && pick(ifname)) return pick(ifname)!;
  for (const name of Object.keys(ifaces)) {
    const a = pick(name);
    if (a) return a;
  }
  return '127.0.0.1';
}

function isMountPoint(path: string): boolean {
  try {
    return statSync(path).dev !== statSync(dirname(path)).dev;
  } catch {
    return false;
  }
}

function nsfsMounted(file: string): boolean {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === file);
  } catch {
    return false;
  }
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function readPid(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Resizes the terminal crun made for an exec'd process. crun copies the size of its own terminal
 * only when it makes that one and relays no later change, so the new size is set on the process's
 * terminal itself (its fd 0, reached through /proc), which signals SIGWINCH to it as a resize does.
 * Until crun has written the process's pid, the size set on the agent's pty is the one crun copies;
 * changes are applied one at a time, in order.
 */
function innerTerminalResizer(pidFile: string): (cols: number, rows: number) => void {
  let chain = Promise.resolve();
  const apply = async (cols: number, rows: number) => {
    let pid = readPid(pidFile);
    for (let i = 0; !pid && i < 20 && existsSync(dirname(pidFile)); i++) {
      await new Promise((r) => setTimeout(r, 50));
      pid = readPid(pidFile);
    }
    if (!pid) return;
    await new Promise<void>((resolve) => {
      const p = spawn('stty', ['-F', `/proc/${pid}/fd/0`, 'rows', String(rows), 'cols', String(cols)], { stdio: 'ignore' });
      p.on('error', () => resolve());
      p.on('close', () => resolve());
    });
  };
  return (cols, rows) => {
    chain = chain.then(() => apply(cols, rows));
  };
}

function killPidFile(file: string): void {
  const pid = readPid(file);
  if (!pid) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  return (osConstants.signals as Record<string, number>)[signal];
}

/** True when `p` settles within `ms` (the timer does not outlive the answer). */
function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    p.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
