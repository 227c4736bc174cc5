/**
 * The volumes of the pods on this node, after the kubelet's volume plugins: each volume is set up
 * under the pod's directory (`<root>/<podUid>/volumes/kubernetes.io~<plugin>/<name>`, upstream's
 * layout) or is a path on the host, and containers bind-mount it.
 *
 * - emptyDir: a 0777 directory; `medium: Memory` mounts a tmpfs there (sized as upstream: the
 *   smallest of sizeLimit, the pod's memory limit and node allocatable memory), shared by all
 *   containers of the pod.
 * - configMap (disk) and secret, downwardAPI, projected (tmpfs, as upstream wraps them in a
 *   memory-backed emptyDir): written by the AtomicWriter, so `refresh` can update them in running
 *   containers. They are always mounted read-only.
 * - hostPath: the host's path, after upstream's type checks.
 * - anything else is refused with a message naming the type.
 *
 * Projected serviceAccountToken sources get pod-bound tokens from the token manager; the manager
 * rewrites a pod's projected volumes when its first token is due for a refresh (the kubelet does it
 * in its periodic pod sync), and stops when the pod is torn down.
 *
 * Errors are VolumeErrors carrying upstream's FailedMount message
 * (`MountVolume.SetUp failed for volume "x" : …`) for the pod worker's event.
 */
import { chmod, chown, mkdir, readdir, realpath, rm, rmdir, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { KubeObject } from '../../api/types.js';
import { quantityNano } from '../../api/validation/quantity.js';
import type { Mount } from '../cri.js';
import type { ConfigSource } from '../podconfig/config-source.js';
import { envMap, type EnvVar } from '../podconfig/env.js';
import { ContainerConfigError } from '../podconfig/errors.js';
import { expand } from '../podconfig/expansion.js';
import type { ResourceList } from '../podconfig/fieldpath.js';
import { AtomicWriter, type Payload } from './atomic-writer.js';
import { checkHostPathType } from './host-path.js';
import { isMountPoint, mountTmpfs, unmountUnder } from './mounts.js';
import type { ServiceAccountTokenManager } from './token-manager.js';
import { configMapPayload, DEFAULT_MODE, downwardAPIPayload, projectedPayload, secretPayload, UnsupportedSourceError } from './payload.js';

export interface VolumeManagerOptions {
  /** Where pod directories live, e.g. /var/lib/skiff/pods. */
  root: string;
  source: ConfigSource;
  log?: (msg: string) => void;
  now?: () => Date;
  /** node.status.allocatable, for tmpfs sizes and resourceFieldRef files. */
  nodeAllocatable?: ResourceList;
  /** Where projected serviceAccountToken sources get their tokens (without it they fail to mount). */
  tokens?: ServiceAccountTokenManager;
  /** Milliseconds since the epoch, for token refresh timing (default Date.now). */
  clock?: () => number;
  /** How soon a failed token refresh is tried again (default 10 s). */
  tokenRetryMs?: number;
}

export interface VolumeContext {
  nodeName: string;
  hostIP: string;
  podIP?: string;
}

export interface SetUpVolume {
  /** What containers bind-mount. */
  hostPath: string;
  /** Set for volumes on a tmpfs the manager mounted (its size limit; 0 when unlimited). */
  tmpfsSizeBytes?: number;
  /** Containers mount it read-only whatever their volumeMount says. */
  readOnly?: boolean;
}

export type PodVolumes = Map<string, SetUpVolume>;

/** A volume that could not be set up; `message` is upstream's FailedMount event text. */
export class VolumeError extends Error {
  readonly reason = 'FailedMount';
  constructor(
    readonly volume: string,
    readonly detail: string,
  ) {
    super(`MountVolume.SetUp failed for volume "${volume}" : ${detail}`);
    this.name = 'VolumeError';
  }
}

export const PLUGIN_DIRS = {
  emptyDir: 'kubernetes.io~empty-dir',
  configMap: 'kubernetes.io~configmap',
  secret: 'kubernetes.io~secret',
  downwardAPI: 'kubernetes.io~downward-api',
  projected: 'kubernetes.io~projected',
} as const;

type PluginType = keyof typeof PLUGIN_DIRS | 'hostPath';

const SUPPORTED = new Set<string>([...Object.keys(PLUGIN_DIRS), 'hostPath']);

/** The volume source's field name: "emptyDir", "persistentVolumeClaim", … */
export function volumeType(volume: any): string | undefined {
  for (const k of Object.keys(volume ?? {})) if (k !== 'name' && volume[k] !== null && volume[k] !== undefined) return k;
  return undefined;
}

/** The pod's memory limit when every container sets one (ResourceConfigForPod): max(sum, largest init). */
function podMemoryLimit(pod: KubeObject): bigint | undefined {
  let sum = 0n;
  for (const c of pod.spec?.containers ?? []) {
    const l = c?.resources?.limits?.memory;
    if (l === undefined) return undefined;
    sum += quantityNano(l) / 1_000_000_000n;
  }
  for (const c of pod.spec?.initContainers ?? []) {
    const l = c?.resources?.limits?.memory;
    if (l === undefined) return undefined;
    const v = quantityNano(l) / 1_000_000_000n;
    if (v > sum) sum = v;
  }
  return sum;
}

interface PodState {
  pod: KubeObject;
  volumes: PodVolumes;
  /** The pending token refresh of its projected volumes. */
  refreshTimer?: NodeJS.Timeout;
}

export class VolumeManager {
  private readonly pods = new Map<string, PodState>();
  /** The last operation queued per pod: setUp, refresh and tearDown of one pod never overlap. */
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly now: () => Date;
  private readonly log: (msg: string) => void;

  constructor(private readonly opts: VolumeManagerOptions) {
    this.now = opts.now ?? (() => new Date());
    this.log = opts.log ?? (() => {});
  }

  podDir(podUid: string): string {
    return join(this.opts.root, podUid);
  }

  volumeDir(podUid: string, type: keyof typeof PLUGIN_DIRS, name: string): string {
    return join(this.opts.root, podUid, 'volumes', PLUGIN_DIRS[type], name);
  }

  /**
   * Sets up every volume of the pod (idempotent: what is there is kept, projected contents are
   * brought up to date). Tries them all, then throws the first VolumeError.
   */
  async setUp(pod: KubeObject, _ctx: VolumeContext): Promise<PodVolumes> {
    const uid = pod.metadata?.uid;
    if (!uid || uid.includes('/') || uid === '.' || uid === '..') throw new Error('pod has no usable uid');
    return this.serialized(uid, () => this.setUpNow(uid, pod));
  }

  private async setUpNow(uid: string, pod: KubeObject): Promise<PodVolumes> {
    const state = this.pods.get(uid) ?? { pod, volumes: new Map() };
    state.pod = pod;
    this.pods.set(uid, state);
    const errors: VolumeError[] = [];
    for (const volume of pod.spec?.volumes ?? []) {
      const name: string = volume?.name ?? '';
      try {
        state.volumes.set(name, await this.setUpVolume(pod, volume));
      } catch (err) {
        const e = err instanceof VolumeError ? err : new VolumeError(name, (err as Error).message ?? String(err));
        this.log(e.message);
        errors.push(e);
      }
    }
    this.scheduleTokenRefresh(uid, state);
    if (errors.length > 0) throw errors[0];
    return new Map(state.volumes);
  }

  /** Arms one timer per pod for its first token due; a refresh that failed is retried after tokenRetryMs. */
  private scheduleTokenRefresh(uid: string, state: PodState): void {
    const tokens = this.opts.tokens;
    if (!tokens) return;
    if (state.refreshTimer) clearTimeout(state.refreshTimer);
    state.refreshTimer = undefined;
    const next = tokens.nextRefresh(uid);
    if (next === undefined) return;
    const now = (this.opts.clock ?? Date.now)();
    const delay = next > now ? next - now : (this.opts.tokenRetryMs ?? 10_000);
    state.refreshTimer = setTimeout(() => {
      state.refreshTimer = undefined;
      if (this.pods.get(uid) !== state) return;
      this.refresh(state.pod).then(
        (r) => {
          for (const e of r.errors) this.log(e.message);
        },
        (err) => this.log(`refreshing tokens of pod ${uid}: ${(err as Error).message}`),
      );
    }, Math.min(delay, 2 ** 31 - 1));
    state.refreshTimer.unref();
  }

  /** Stops every pending token refresh (the agent is stopping). */
  stop(): void {
    for (const s of this.pods.values()) if (s.refreshTimer) clearTimeout(s.refreshTimer);
  }

  /**
   * Rewrites configMap, secret, downwardAPI and projected volumes whose sources changed (the pod
   * worker calls it periodically and on ConfigMap/Secret events). Returns the volumes whose
   * contents changed and those that failed (their old contents stay, as upstream).
   */
  refresh(pod: KubeObject): Promise<{ changed: string[]; errors: VolumeError[] }> {
    const uid = pod.metadata?.uid ?? '';
    return this.serialized(uid, () => this.refreshNow(uid, pod));
  }

  private async refreshNow(uid: string, pod: KubeObject): Promise<{ changed: string[]; errors: VolumeError[] }> {
    const state = this.pods.get(uid);
    const changed: string[] = [];
    const errors: VolumeError[] = [];
    if (!state) return { changed, errors };
    state.pod = pod;
    for (const volume of pod.spec?.volumes ?? []) {
      const type = volumeType(volume);
      if (type !== 'configMap' && type !== 'secret' && type !== 'downwardAPI' && type !== 'projected') continue;
      if (!state.volumes.has(volume.name)) continue;
      try {
        if (await this.writeProjection(pod, volume, type)) changed.push(volume.name);
      } catch (err) {
        errors.push(new VolumeError(volume.name, (err as Error).message ?? String(err)));
      }
    }
    this.scheduleTokenRefresh(uid, state);
    return { changed, errors };
  }

  /** The volumes set up for a pod (after setUp), e.g. after an agent restart re-ran setUp. */
  volumesOf(podUid: string): PodVolumes | undefined {
    const s = this.pods.get(podUid);
    return s ? new Map(s.volumes) : undefined;
  }

  /**
   * A container's mounts (makeMounts): each volumeMount's volume, or its subPath (subPathExpr
   * expanded against the container's env), read-only when the mount or the volume says so.
   * Errors are CreateContainerConfigErrors, as upstream.
   */
  async mountsFor(_pod: KubeObject, container: any, volumes: PodVolumes, env: readonly EnvVar[] = []): Promise<Mount[]> {
    const mounts: Mount[] = [];
    const vars = envMap(env);
    for (const vm of container?.volumeMounts ?? []) {
      const vol = volumes.get(vm?.name);
      if (!vol) throw new ContainerConfigError(`cannot find volume "${vm?.name}" to mount into container "${container?.name}"`);
      let subPath: string = vm.subPath ?? '';
      if (vm.subPathExpr) {
        const missing = new Set<string>();
        subPath = expand(vm.subPathExpr, (key) => {
          const v = vars.get(key);
          if (v === undefined || v === '') missing.add(key);
          return v ?? '';
        });
        if (missing.size > 0) throw new ContainerConfigError(`missing value for ${[...missing].sort().join(', ')}`);
      }
      let hostPath = vol.hostPath;
      if (subPath) {
        if (posix.isAbsolute(subPath)) throw new ContainerConfigError(`error SubPath \`${subPath}\` must not be an absolute path`);
        if (subPath.split('/').includes('..')) throw new ContainerConfigError(`unable to provision SubPath \`${subPath}\`: must not contain '..'`);
        hostPath = await this.prepareSubPath(vol.hostPath, subPath, vm.name, container?.name ?? '');
      }
      mounts.push({
        containerPath: vm.mountPath,
        hostPath,
        readOnly: vm.readOnly === true || vol.readOnly === true,
      });
    }
    return mounts;
  }

  /** Unmounts the pod's tmpfs volumes and removes its volume directories. */
  async tearDown(podUid: string): Promise<void> {
    if (!podUid || podUid.includes('/') || podUid === '.' || podUid === '..') return;
    return this.serialized(podUid, () => this.tearDownNow(podUid));
  }

  private async tearDownNow(podUid: string): Promise<void> {
    const state = this.pods.get(podUid);
    if (state?.refreshTimer) clearTimeout(state.refreshTimer);
    this.pods.delete(podUid);
    this.opts.tokens?.deletePodTokens(podUid);
    const volumesDir = join(this.podDir(podUid), 'volumes');
    await unmountUnder(volumesDir);
    await rm(volumesDir, { recursive: true, force: true });
    try {
      if ((await readdir(this.podDir(podUid))).length === 0) await rmdir(this.podDir(podUid));
    } catch {
      // the pod dir was never made, or holds what others keep there
    }
  }

  private serialized<T>(uid: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(uid) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    this.tails.set(uid, tail);
    void tail.then(() => {
      if (this.tails.get(uid) === tail) this.tails.delete(uid);
    });
    return next;
  }

  // ---- per type ----

  private async setUpVolume(pod: KubeObject, volume: any): Promise<SetUpVolume> {
    const name: string = volume?.name ?? '';
    const type = volumeType(volume);
    if (!type) throw new VolumeError(name, 'volume has no source');
    if (!SUPPORTED.has(type)) throw new VolumeError(name, `volume type ${type} is not supported by skiff`);
    const uid: string = pod.metadata!.uid!;
    switch (type as PluginType) {
      case 'hostPath': {
        const path: string = volume.hostPath.path ?? '';
        await checkHostPathType(path, volume.hostPath.type);
        return { hostPath: path };
      }
      case 'emptyDir': {
        const dir = this.volumeDir(uid, 'emptyDir', name);
        await mkdir(dir, { recursive: true, mode: 0o750 });
        if (volume.emptyDir.medium === 'Memory') {
          const size = this.tmpfsSize(pod, volume.emptyDir.sizeLimit);
          await mountTmpfs(dir, size);
          await this.ownEmptyDir(dir, pod);
          return { hostPath: dir, tmpfsSizeBytes: size ?? 0 };
        }
        await this.ownEmptyDir(dir, pod);
        return { hostPath: dir };
      }
      case 'configMap':
      case 'secret':
      case 'downwardAPI':
      case 'projected': {
        const t = type as 'configMap' | 'secret' | 'downwardAPI' | 'projected';
        const dir = this.volumeDir(uid, t, name);
        await mkdir(dir, { recursive: true, mode: 0o750 });
        let size: number | undefined;
        if (t !== 'configMap') {
          size = this.tmpfsSize(pod, undefined);
          await mountTmpfs(dir, size);
        } else {
          await chmod(dir, 0o777);
        }
        await this.writeProjection(pod, volume, t);
        return t === 'configMap' ? { hostPath: dir, readOnly: true } : { hostPath: dir, readOnly: true, tmpfsSizeBytes: size ?? 0 };
      }
    }
  }

  /** Writes a projected type's payload; true when its contents changed. */
  private async writeProjection(pod: KubeObject, volume: any, type: 'configMap' | 'secret' | 'downwardAPI' | 'projected'): Promise<boolean> {
    const payload = await this.payloadFor(pod, volume, type);
    const dir = this.volumeDir(pod.metadata!.uid!, type, volume.name);
    const fsGroup = pod.spec?.securityContext?.fsGroup;
    const writer = new AtomicWriter(dir, this.now);
    const r = await writer.write(payload, { fsGroup: typeof fsGroup === 'number' ? fsGroup : undefined });
    return r.written;
  }

  private async payloadFor(pod: KubeObject, volume: any, type: 'configMap' | 'secret' | 'downwardAPI' | 'projected'): Promise<Payload> {
    const ns = pod.metadata?.namespace ?? '';
    const alloc = this.opts.nodeAllocatable;
    switch (type) {
      case 'configMap': {
        const src = volume.configMap;
        const optional = src.optional === true;
        const cm = await this.opts.source.configMap(ns, src.name ?? '');
        if (!cm && !optional) throw new Error(`configmap "${src.name ?? ''}" not found`);
        return configMapPayload(src.items, cm ?? {}, src.defaultMode ?? DEFAULT_MODE, optional);
      }
      case 'secret': {
        const src = volume.secret;
        const optional = src.optional === true;
        const s = await this.opts.source.secret(ns, src.secretName ?? '');
        if (!s && !optional) throw new Error(`secret "${src.secretName ?? ''}" not found`);
        return secretPayload(src.items, s ?? {}, src.defaultMode ?? DEFAULT_MODE, optional);
      }
      case 'downwardAPI':
        return downwardAPIPayload(volume.downwardAPI.items, pod, volume.downwardAPI.defaultMode ?? DEFAULT_MODE, alloc);
      case 'projected':
        try {
          return await projectedPayload(volume, pod, this.opts.source, alloc, this.opts.tokens);
        } catch (err) {
          if (err instanceof UnsupportedSourceError) throw new VolumeError(volume.name, err.message);
          throw err;
        }
    }
  }

  /** calculateEmptyDirMemorySize: node allocatable, lowered by the pod's memory limit, lowered by sizeLimit. */
  private tmpfsSize(pod: KubeObject, sizeLimit: unknown): number | undefined {
    const allocMem = this.opts.nodeAllocatable?.memory;
    let size: bigint | undefined = allocMem !== undefined ? quantityNano(allocMem) / 1_000_000_000n : undefined;
    const podLimit = podMemoryLimit(pod);
    if (podLimit !== undefined && podLimit > 0n && (size === undefined || podLimit <= size)) size = podLimit;
    if (sizeLimit !== undefined && sizeLimit !== null) {
      const v = (quantityNano(sizeLimit) + 999_999_999n) / 1_000_000_000n;
      if (v > 0n && (size === undefined || v <= size)) size = v;
    }
    return size === undefined || size <= 0n ? undefined : Number(size);
  }

  /** emptyDir is world-writable (0777); with fsGroup it belongs to that group, setgid. */
  private async ownEmptyDir(dir: string, pod: KubeObject): Promise<void> {
    const fsGroup = pod.spec?.securityContext?.fsGroup;
    if (typeof fsGroup === 'number') {
      const st = await stat(dir);
      await chown(dir, st.uid, fsGroup);
      await chmod(dir, 0o2777);
      return;
    }
    // A fresh tmpfs is 1777 (sticky), which upstream keeps: only the permission bits are checked.
    const st = await stat(dir);
    if ((st.mode & 0o777) !== 0o777) await chmod(dir, 0o777);
  }

  /** The subPath's host path, made if missing (with the volume's mode), and proved to stay inside the volume. */
  private async prepareSubPath(volumePath: string, subPath: string, mountName: string, containerName: string): Promise<string> {
    const target = join(volumePath, subPath);
    try {
      await stat(target);
    } catch {
      try {
        const mode = (await stat(volumePath)).mode & 0o7777;
        await mkdir(target, { recursive: true, mode });
        await chmod(target, mode);
      } catch {
        throw new ContainerConfigError(`failed to create subPath directory for volumeMount "${mountName}" of container "${containerName}"`);
      }
    }
    let real: string;
    let realVolume: string;
    try {
      real = await realpath(target);
      realVolume = await realpath(volumePath);
    } catch {
      throw new ContainerConfigError(`failed to prepare subPath for volumeMount "${mountName}" of container "${containerName}"`);
    }
    if (real !== realVolume && !real.startsWith(realVolume.endsWith('/') ? realVolume : realVolume + '/')) {
      throw new ContainerConfigError(`failed to prepare subPath for volumeMount "${mountName}" of container "${containerName}"`);
    }
    return real;
  }

  /** True when the volume's directory is a tmpfs the manager mounted (for tests and status). */
  async isTmpfs(podUid: string, type: keyof typeof PLUGIN_DIRS, name: string): Promise<boolean> {
    return isMountPoint(this.volumeDir(podUid, type, name));
  }
}
