/**
 * The in-process transport: the same generic machinery the HTTP handlers use (resource store,
 * watch cache), with no sockets in between. Semantics match the HTTPS client: ApiErrors for
 * failures, watch events in order from the watch cache.
 */
import type { KubeObject, ResourceEntry } from '../api/types.js';
import type { ApiServer } from '../apiserver/server.js';
import { causes, errors } from '../api/errors.js';
import { APPLY_PATCH, applyPatch } from '../apiserver/patch/index.js';
import { buildFilter } from '../apiserver/handlers.js';
import { itemObject, newWriteContext, parseResourceVersion } from '../apiserver/resource-store.js';
import { storagePrefix } from '../apiserver/registry.js';
import { toApiError } from '../apiserver/http.js';
import { bindPod } from '../apiserver/pod-binding.js';
import { fieldSelectorName } from '../apiserver/request-info.js';
import { evictPod } from '../apiserver/pod-eviction.js';
import { LOOPBACK_USER, type UserInfo } from '../apiserver/auth/user.js';
import type { Client, DeleteOptions, ListOptions, ListResult, PatchType, ResourceRef, WatchEventType, WatchHandle, WatchOptions, WriteOptions } from './interface.js';

export interface InProcessClientOptions {
  /** Names the field manager of writes that set no fieldManager, as a User-Agent does over HTTPS. */
  userAgent?: string;
  /**
   * Who the client acts as; every call is authorized as that user's would be over HTTPS. Without
   * one the client is the API server's own loopback client (system:masters).
   */
  user?: UserInfo;
}

export class InProcessClient implements Client {
  private readonly userAgent: string;
  private readonly user: UserInfo;

  constructor(
    private readonly server: ApiServer,
    opts: InProcessClientOptions = {},
  ) {
    this.userAgent = opts.userAgent ?? 'skiff';
    this.user = opts.user ?? LOOPBACK_USER;
  }

  private writeContext(opts: WriteOptions) {
    return newWriteContext({ dryRun: !!opts.dryRun, fieldManager: opts.fieldManager, userAgent: this.userAgent, user: this.user });
  }

  /** Whether a create of `ref` (or its `subresource`) is answered by code without storing anything (TokenRequest, the reviews). */
  protected storesNothing(ref: ResourceRef, subresource = ''): boolean {
    return !!this.server.createOnly.lookup(ref.group, ref.resource, subresource);
  }

  private entry(ref: ResourceRef, verb: string, namespace = '', name = '', subresource = '', fieldSelector?: string): ResourceEntry {
    const e = this.server.registry.lookup(ref.group, ref.version, ref.resource);
    if (!e) throw errors.pathNotFound(`the server could not find the requested resource (${ref.resource}.${ref.group}/${ref.version})`);
    if (this.user !== LOOPBACK_USER) {
      this.server.authorize({
        user: this.user,
        verb,
        resourceRequest: true,
        path: '',
        apiGroup: ref.group,
        apiVersion: ref.version,
        resource: ref.resource,
        subresource,
        namespace: e.namespaced ? namespace : '',
        name,
        fieldSelector,
      });
    }
    return e;
  }

  async get(ref: ResourceRef, namespace: string, name: string): Promise<KubeObject> {
    return clone((await this.server.resources.get(this.entry(ref, 'get', namespace, name), namespace, name)).obj);
  }

  async list(ref: ResourceRef, namespace: string, opts: ListOptions = {}): Promise<ListResult> {
    const e = this.entry(ref, 'list', namespace, fieldSelectorName(opts.fieldSelector), '', opts.fieldSelector);
    const r = await this.server.resources.list(e, namespace, {
      filter: buildFilter(e, queryOf(opts), ''),
      limit: opts.limit,
      continueToken: opts.continue,
      resourceVersion: opts.resourceVersion,
    });
    return { items: r.items.map((i) => clone(itemObject(i))), resourceVersion: String(r.resourceVersion), continue: r.continueToken };
  }

  async create(ref: ResourceRef, namespace: string, obj: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    const ctx = this.writeContext(opts);
    const e = this.entry(ref, 'create', namespace, opts.subresource ? (obj.metadata?.name ?? '') : '', opts.subresource ?? '');
    if (opts.subresource === 'binding' && e.subresources.binding) return bindPod(this.server.resources, e, namespace, obj.metadata?.name ?? '', obj, ctx);
    if (opts.subresource === 'eviction' && e.subresources.eviction) {
      const budgets = this.server.registry.lookup('policy', 'v1', 'poddisruptionbudgets');
      return evictPod(this.server.resources, e, budgets, namespace, obj.metadata?.name ?? '', obj, ctx);
    }
    const special = this.server.createOnly.lookup(e.group, e.plural, opts.subresource ?? '');
    if (special) {
      const parent = opts.subresource ? (obj.metadata?.name ?? '') : '';
      return special({ user: this.user, entry: e, namespace: e.namespaced ? namespace : '', name: parent, dryRun: !!opts.dryRun }, clone(obj));
    }
    if (opts.subresource) throw errors.pathNotFound();
    // Writes answer with the object the write itself built from the caller's copy: nothing else
    // holds it (the watch cache decodes its own from the store), so it is handed over uncopied.
    return (await this.server.resources.create(e, namespace, clone(obj), ctx)).obj;
  }

  async update(ref: ResourceRef, namespace: string, obj: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    const ctx = this.writeContext(opts);
    const name = obj.metadata?.name ?? '';
    const r = await this.server.resources.update(this.entry(ref, 'update', namespace, name, opts.subresource ?? ''), namespace, name, clone(obj), ctx, opts.subresource ?? '');
    return r.object.obj;
  }

  async patch(ref: ResourceRef, namespace: string, name: string, type: PatchType, patch: unknown, opts: WriteOptions = {}): Promise<KubeObject> {
    const e = this.entry(ref, 'patch', namespace, name, opts.subresource ?? '');
    const ctx = this.writeContext(opts);
    if (type === APPLY_PATCH) {
      if (!opts.fieldManager) {
        throw errors.invalid('meta.k8s.io', 'PatchOptions', '', [causes.required('fieldManager', 'Required value: is required for apply patch')]);
      }
      const r = await this.server.resources.apply(e, namespace, name, clone(patch) as KubeObject, ctx, !!opts.force, opts.subresource ?? '');
      return r.object.obj;
    }
    const schemas = this.server.schemas;
    const schema = schemas.schemaFor(e.definition);
    const r = await this.server.resources.patch(
      e,
      namespace,
      name,
      (cur) => applyPatch(type, cur, clone(patch), { schema, defs: schemas.definitions() }) as KubeObject,
      ctx,
      opts.subresource ?? '',
    );
    return r.obj;
  }

  async delete(ref: ResourceRef, namespace: string, name: string, opts: DeleteOptions = {}): Promise<void> {
    await this.server.resources.delete(this.entry(ref, 'delete', namespace, name), namespace, name, opts, newWriteContext({ user: this.user, userAgent: this.userAgent }));
  }

  watch(ref: ResourceRef, namespace: string, opts: WatchOptions, onEvent: (type: WatchEventType, obj: KubeObject) => void): WatchHandle {
    const e = this.entry(ref, 'watch', namespace, fieldSelectorName(opts.fieldSelector), '', opts.fieldSelector);
    const filter = buildFilter(e, queryOf(opts), '');
    const after = opts.resourceVersion && opts.resourceVersion !== '0' ? parseResourceVersion(opts.resourceVersion) : undefined;
    let stopped = false;
    let handle: { stop(): void } | undefined;
    const start = async () => {
      if (after !== undefined) await this.server.cache.waitFor(after);
      if (stopped) return;
      handle = this.server.cache.watch(
        storagePrefix(e),
        {
          keyPrefix: this.server.resources.listPrefix(e, namespace),
          matches: (o) => filter.matches(o),
          // Watchers share the cache's object, frozen, instead of a copy each: the garbage collector
          // watches everything, and a clone per event per watcher was 7% of a create. Delivered after
          // the current tick so a handler's own writes never re-enter the cache's fan-out.
          onEvent: (type, ev) => {
            const obj = deepFreeze(ev.obj);
            queueMicrotask(() => !stopped && onEvent(type, obj));
          },
        },
        after,
      );
    };
    start().catch((err) => {
      if (!stopped) onEvent('ERROR', toApiError(err).toStatus() as unknown as KubeObject);
    });
    return {
      stop: () => {
        stopped = true;
        handle?.stop();
      },
    };
  }

  async resources() {
    const reg = this.server.registry;
    const preferredVersion = new Map(reg.groups().map((g) => [g.group, g.versions[0]]));
    return reg.all().map((e) => ({
      ref: { group: e.group, version: e.version, resource: e.plural },
      namespaced: e.namespaced,
      kind: e.kind,
      verbs: e.verbs,
      preferred: preferredVersion.get(e.group) === e.version,
    }));
  }
}

function queryOf(opts: ListOptions): URLSearchParams {
  const q = new URLSearchParams();
  if (opts.labelSelector) q.set('labelSelector', opts.labelSelector);
  if (opts.fieldSelector) q.set('fieldSelector', opts.fieldSelector);
  return q;
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

/** Freezes an object graph once; objects already frozen at the top are taken as done. */
function deepFreeze<T>(v: T): T {
  if (v === null || typeof v !== 'object' || Object.isFrozen(v)) return v;
  for (const child of Object.values(v as object)) deepFreeze(child);
  return Object.freeze(v);
}
