/**
 * Where the agent reads the ConfigMaps and Secrets its pods use, after the kubelet's watch-based
 * configmap and secret managers (pkg/kubelet/util/manager/watch_based_manager.go): each object some
 * pod on this node references gets its own informer, a watch of that one name in its namespace
 * (field selector `metadata.name=<name>`), counted by the pods that reference it and stopped when
 * the last of them goes. Immutable objects need no watch once seen. Reads are served from memory.
 */
import type { KubeObject } from '../../api/types.js';
import { Informer } from '../../client/informer.js';
import type { Client, ResourceRef } from '../../client/interface.js';

/** Reads for env and volumes; undefined when the object does not exist. */
export interface ConfigSource {
  configMap(namespace: string, name: string): Promise<KubeObject | undefined>;
  secret(namespace: string, name: string): Promise<KubeObject | undefined>;
}

export const CONFIG_MAPS: ResourceRef = { group: '', version: 'v1', resource: 'configmaps' };
export const SECRETS: ResourceRef = { group: '', version: 'v1', resource: 'secrets' };

export type ConfigKind = 'ConfigMap' | 'Secret';

/** The ConfigMaps and Secrets a pod references: volumes (also projected), envFrom, env and image pull secrets. */
export function referencedObjects(pod: KubeObject): { configMaps: Set<string>; secrets: Set<string> } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  const spec = pod.spec ?? {};
  const add = (set: Set<string>, name: unknown) => {
    if (typeof name === 'string' && name) set.add(name);
  };
  for (const v of spec.volumes ?? []) {
    add(configMaps, v?.configMap?.name);
    add(secrets, v?.secret?.secretName);
    for (const s of v?.projected?.sources ?? []) {
      add(configMaps, s?.configMap?.name);
      add(secrets, s?.secret?.name);
    }
  }
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])]) {
    for (const f of c?.envFrom ?? []) {
      add(configMaps, f?.configMapRef?.name);
      add(secrets, f?.secretRef?.name);
    }
    for (const e of c?.env ?? []) {
      add(configMaps, e?.valueFrom?.configMapKeyRef?.name);
      add(secrets, e?.valueFrom?.secretKeyRef?.name);
    }
  }
  for (const s of spec.imagePullSecrets ?? []) add(secrets, s?.name);
  return { configMaps, secrets };
}

export interface WatchingConfigSourceOptions {
  /** How long a read waits for a new watch's first list before asking the API directly (default 1 s, as upstream). */
  syncTimeoutMs?: number;
  /** Informer backoff (tests shorten it). */
  backoffBaseMs?: number;
  log?: (msg: string) => void;
}

/** Called when a watched object changes or goes away, with the pods that reference it. */
export type ConfigChangeListener = (kind: ConfigKind, namespace: string, name: string, podUids: string[]) => void;

interface Item {
  kind: ConfigKind;
  namespace: string;
  name: string;
  pods: Set<string>;
  informer: Informer | undefined;
  /** An immutable object, kept after its informer stopped. */
  frozen: KubeObject | undefined;
}

export class WatchingConfigSource implements ConfigSource {
  private readonly items = new Map<string, Item>();
  /** What each pod registered, so unregistering needs no pod. */
  private readonly byPod = new Map<string, string[]>();
  private readonly listeners: ConfigChangeListener[] = [];
  private readonly syncTimeoutMs: number;
  private stopped = false;

  constructor(
    private readonly client: Client,
    private readonly opts: WatchingConfigSourceOptions = {},
  ) {
    this.syncTimeoutMs = opts.syncTimeoutMs ?? 1000;
  }

  onChange(fn: ConfigChangeListener): void {
    this.listeners.push(fn);
  }

  /**
   * Starts watching what `pod` references (idempotent; a pod whose references changed is
   * re-registered, releasing what it no longer uses).
   */
  registerPod(pod: KubeObject): void {
    const uid = pod.metadata?.uid;
    const ns = pod.metadata?.namespace ?? '';
    if (!uid || this.stopped) return;
    const refs = referencedObjects(pod);
    const keys = [...[...refs.configMaps].map((n) => itemKey('ConfigMap', ns, n)), ...[...refs.secrets].map((n) => itemKey('Secret', ns, n))];
    const before = this.byPod.get(uid) ?? [];
    this.byPod.set(uid, keys);
    for (const key of keys) {
      let item = this.items.get(key);
      if (!item) {
        const [kind, , name] = splitKey(key);
        item = { kind, namespace: ns, name, pods: new Set(), informer: undefined, frozen: undefined };
        this.items.set(key, item);
        this.startInformer(item);
      }
      item.pods.add(uid);
    }
    const now = new Set(keys);
    for (const key of before) if (!now.has(key)) this.release(key, uid);
  }

  unregisterPod(uid: string): void {
    const keys = this.byPod.get(uid);
    if (!keys) return;
    this.byPod.delete(uid);
    for (const key of keys) this.release(key, uid);
  }

  /** Objects watched now (for tests and debugging): "ConfigMap ns/name". */
  watched(): string[] {
    return [...this.items.values()].map((i) => `${i.kind} ${i.namespace}/${i.name}`).sort();
  }

  configMap(namespace: string, name: string): Promise<KubeObject | undefined> {
    return this.read('ConfigMap', namespace, name);
  }

  secret(namespace: string, name: string): Promise<KubeObject | undefined> {
    return this.read('Secret', namespace, name);
  }

  stop(): void {
    this.stopped = true;
    for (const item of this.items.values()) item.informer?.stop();
    this.items.clear();
    this.byPod.clear();
  }

  private async read(kind: ConfigKind, namespace: string, name: string): Promise<KubeObject | undefined> {
    const item = this.items.get(itemKey(kind, namespace, name));
    if (item?.frozen) return item.frozen;
    const inf = item?.informer;
    if (inf && (inf.hasSynced() || (await this.waitSynced(inf)))) return inf.get(`${namespace}/${name}`);
    // Not registered (or its first list is slow): one read from the API, as a kubelet without a cache would.
    try {
      return await this.client.get(kind === 'ConfigMap' ? CONFIG_MAPS : SECRETS, namespace, name);
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  }

  private waitSynced(inf: Informer): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), this.syncTimeoutMs);
      timer.unref();
      void inf.waitForSync().then((ok) => {
        clearTimeout(timer);
        resolve(ok);
      });
    });
  }

  private startInformer(item: Item): void {
    const inf = new Informer(this.client, item.kind === 'ConfigMap' ? CONFIG_MAPS : SECRETS, item.namespace, {
      fieldSelector: `metadata.name=${item.name}`,
      backoffBaseMs: this.opts.backoffBaseMs,
      onHandlerError: (err) => this.opts.log?.(`config source: ${item.kind} ${item.namespace}/${item.name}: ${String(err)}`),
    });
    item.informer = inf;
    const changed = (obj: KubeObject) => {
      if (obj.immutable === true && item.informer === inf) {
        // An immutable object cannot change again: keep it and drop the watch (upstream does the same).
        item.frozen = obj;
        item.informer = undefined;
        queueMicrotask(() => inf.stop());
      }
      this.notify(item);
    };
    inf.onAdd(changed).onUpdate((_o, n) => changed(n)).onDelete(() => this.notify(item));
    inf.start();
  }

  private notify(item: Item): void {
    const pods = [...item.pods];
    for (const fn of this.listeners) {
      try {
        fn(item.kind, item.namespace, item.name, pods);
      } catch (err) {
        this.opts.log?.(`config source: change listener failed: ${String(err)}`);
      }
    }
  }

  private release(key: string, uid: string): void {
    const item = this.items.get(key);
    if (!item) return;
    item.pods.delete(uid);
    if (item.pods.size > 0) return;
    item.informer?.stop();
    this.items.delete(key);
  }
}

function itemKey(kind: ConfigKind, namespace: string, name: string): string {
  return `${kind}\x00${namespace}\x00${name}`;
}

function splitKey(key: string): [ConfigKind, string, string] {
  const [kind, ns, name] = key.split('\x00');
  return [kind as ConfigKind, ns, name];
}
