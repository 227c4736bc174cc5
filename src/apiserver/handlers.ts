/**
 * One handler per verb, generic over catalog entries: decode the request, call the resource store,
 * encode the answer (JSON, YAML or Table).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KubeObject, ResourceEntry } from '../api/types.js';
import { groupKind } from '../api/types.js';
import { customResourceFieldGetters, fieldGetters } from '../api/fields.js';
import { decodeBody, negotiate, parseJson, readBody, type Negotiated } from './codec.js';
import { causes, errors } from '../api/errors.js';
import { addWarning, sendBody, sendJson } from './http.js';
import { isTrue, type RequestInfo } from './request-info.js';
import {
  EVERYTHING,
  itemObject,
  newWriteContext,
  parseResourceVersion,
  type DeleteOptions,
  type FieldValidation,
  type ListedItem,
  type ObjectFilter,
  type ResourceStore,
  type StoredObject,
  type WriteContext,
} from './resource-store.js';
import { parseFieldSelector, parseLabelSelector } from '../api/selectors.js';
import { parseIncludeObject, partialMetadata, toTable } from './table.js';
import { APPLY_PATCH, applyPatch, checkPatchType, patchMediaType } from './patch/index.js';
import { bindPod } from './pod-binding.js';
import { evictPod } from './pod-eviction.js';
import type { SchemaSource } from './schemas.js';
import { serveWatch } from './watch.js';
import { scaleOf, applyScale } from './scale.js';
import type { ResourceRegistry } from './registry.js';
import { conversionFor } from '../api/conversion.js';
import { supportsStrategicMerge } from './openapi.js';
import { LOOPBACK_USER, type UserInfo } from './auth/user.js';
import type { CreateOnlyHandlers } from './create-only.js';

export interface HandlerDeps {
  resources: ResourceStore;
  schemas: SchemaSource;
  registry: ResourceRegistry;
  createOnly?: CreateOnlyHandlers;
}

/**
 * How a request's version sees stored objects. Most entries are their own storage version; the
 * few that share storage with another version convert on the way in and out.
 */
export interface VersionView {
  /** The entry the resource store works with (the storage version). */
  storage: ResourceEntry;
  toStorage(obj: unknown): unknown;
  fromStorage(o: StoredObject): StoredObject;
}

export function versionView(registry: ResourceRegistry, entry: ResourceEntry): VersionView {
  if (entry.custom?.storage) {
    if (entry.custom.conversion !== 'None') {
      // Honest about what is missing rather than converting with the wrong semantics.
      throw errors.internal(`conversion webhook for ${entry.group}/${entry.custom.storage.version}, Kind=${entry.kind} failed: skiff does not call conversion webhooks yet; use version ${entry.custom.storage.version}`);
    }
    return customVersionView(entry, entry.custom.storage);
  }
  const conv = conversionFor(apiVersionOf(entry), entry.kind);
  const storage = conv && registry.findByKind(conv.storageApiVersion, conv.storageKind);
  if (!conv || !storage) return { storage: entry, toStorage: (o) => o, fromStorage: (o) => o };
  return {
    storage,
    toStorage: (o) => (o && typeof o === 'object' && !Array.isArray(o) ? conv.toStorage(o as KubeObject) : o),
    fromStorage: (o) => {
      const obj = conv.fromStorage(o.obj);
      return { obj, json: JSON.stringify(obj), rv: o.rv };
    },
  };
}

/**
 * Versions of a custom resource convert with upstream's `None` strategy: only apiVersion changes.
 * (The storage version's schema validates and prunes what is written through any version.)
 */
function customVersionView(requested: ResourceEntry, storage: ResourceEntry): VersionView {
  const setVersion = (o: unknown, apiVersion: string) => (o && typeof o === 'object' && !Array.isArray(o) ? { ...(o as KubeObject), apiVersion } : o);
  const storageApiVersion = apiVersionOf(storage);
  const requestedApiVersion = apiVersionOf(requested);
  return {
    storage,
    toStorage: (o) => {
      const obj = o as KubeObject | undefined;
      if (obj?.apiVersion !== undefined && obj.apiVersion !== requestedApiVersion) return o; // the store refuses it with upstream's message
      return setVersion(o, storageApiVersion);
    },
    fromStorage: (o) => {
      const obj = setVersion(o.obj, requestedApiVersion) as KubeObject;
      return { obj, json: JSON.stringify(obj), rv: o.rv };
    },
  };
}

export async function handleResource(
  deps: HandlerDeps,
  req: IncomingMessage,
  res: ServerResponse,
  info: RequestInfo,
  requested: ResourceEntry,
  query: URLSearchParams,
  user: UserInfo = LOOPBACK_USER,
): Promise<void> {
  const view = versionView(deps.registry, requested);
  const writeCtx = (optionsKind: string, bodyDryRun?: string[]) => {
    const ctx = writeContext(user, query, optionsKind, bodyDryRun);
    ctx.userAgent = req.headers['user-agent'];
    return ctx;
  };
  const entry = view.storage;
  const ns = entry.namespaced ? info.namespace : '';
  const method = (req.method ?? 'GET').toUpperCase();
  if (info.watchPath && method !== 'GET') throw methodNotAllowed();
  // Cluster-scoped resources have no namespaced paths; namespaced ones are reachable across
  // namespaces only to list and watch (upstream installs no other all-namespaces routes).
  if (!entry.namespaced && info.namespacedPath) throw errors.pathNotFound();
  if (entry.namespaced && !info.namespacedPath) {
    if (info.name) throw errors.pathNotFound();
    if (info.verb !== 'list' && info.verb !== 'watch') throw methodNotAllowed();
  }
  const sub = info.subresource;
  if (sub && !isServedSubresource(entry, sub)) throw errors.pathNotFound();
  if (sub && !info.name) throw errors.pathNotFound();
  if (!sub && !entry.verbs.includes(info.verb)) throw methodNotAllowed();
  // Subresources written by POST (pods/binding, pods/eviction) take only create; the others never take it.
  const createOnly = sub === 'binding' || sub === 'eviction' || !!entry.subresources.createOnly?.[sub];
  if (sub && (createOnly ? info.verb !== 'create' : info.verb === 'delete' || info.verb === 'create' || info.verb === 'list' || info.verb === 'watch')) throw methodNotAllowed();
  // Refuse what the client cannot read before anything is written.
  negotiate(req.headers.accept, sub !== 'scale');
  if (requested.custom?.deprecationWarning) addWarning(res, requested.custom.deprecationWarning);

  switch (info.verb) {
    case 'get':
      if (sub === 'scale') return respondObject(req, res, entry, 200, wrapScale(entry, await deps.resources.get(entry, ns, info.name), deps), query, [], true);
      return respondObject(req, res, requested, 200, view.fromStorage(await deps.resources.get(entry, ns, info.name, query.get('resourceVersion') ?? undefined)), query);
    case 'list':
      return list(deps, req, res, requested, view, ns, query);
    case 'watch':
      return serveWatch(deps.resources, req, res, requested, view, ns, info.name, query, buildFilter(entry, query, info.name));
    case 'create': {
      if (sub === 'binding') {
        const ctx = writeCtx('CreateOptions');
        const status = await bindPod(deps.resources, entry, ns, info.name, decodeBody(await readBody(req), req.headers['content-type']), ctx);
        return sendJson(res, 201, status);
      }
      if (sub === 'eviction') {
        const ctx = writeCtx('CreateOptions');
        const body = decodeBody(await readBody(req), req.headers['content-type']);
        const status = await evictPod(deps.resources, entry, deps.registry.lookup('policy', 'v1', 'poddisruptionbudgets'), ns, info.name, body, ctx);
        return sendJson(res, 201, status);
      }
      const special = deps.createOnly?.lookup(entry.group, entry.plural, sub);
      if (special) {
        const ctx = writeCtx('CreateOptions');
        const body = decodeBody(await readBody(req), req.headers['content-type']);
        const answer = await special({ user, entry: requested, namespace: ns, name: sub ? info.name : '', dryRun: ctx.dryRun }, body);
        return sendJson(res, 201, answer);
      }
      if (info.name) throw methodNotAllowed();
      if (requested.custom?.terminating) throw errors.methodNotAllowed('create not allowed while custom resource definition is terminating');
      const ctx = writeCtx('CreateOptions');
      const body = view.toStorage(decodeBody(await readBody(req), req.headers['content-type'], duplicatesOf(ctx)));
      const created = await deps.resources.create(entry, ns, body, ctx);
      return respondObject(req, res, requested, 201, view.fromStorage(created), query, ctx.warnings);
    }
    case 'update': {
      if (!info.name) throw methodNotAllowed();
      const ctx = writeCtx('UpdateOptions');
      const body = decodeBody(await readBody(req), req.headers['content-type'], duplicatesOf(ctx));
      if (sub === 'scale') {
        const updated = await deps.resources.patch(entry, ns, info.name, (cur) => applyScale(entry, cur, body), ctx);
        return respondObject(req, res, entry, 200, wrapScale(entry, updated, deps), query, ctx.warnings, true);
      }
      const { object, created } = await deps.resources.update(entry, ns, info.name, view.toStorage(body), ctx, sub);
      return respondObject(req, res, requested, created ? 201 : 200, view.fromStorage(object), query, ctx.warnings);
    }
    case 'patch': {
      if (!info.name) throw methodNotAllowed();
      const ctx = writeCtx('PatchOptions');
      const contentType = req.headers['content-type'] ?? '';
      checkPatchType(contentType, supportsStrategicMerge(requested));
      const apply = patchMediaType(contentType) === APPLY_PATCH;
      checkPatchOptions(ctx, query, apply);
      if (apply) {
        if (sub === 'scale') throw errors.badRequest('server-side apply is not supported on the scale subresource');
        const applied = decodeBody(await readBody(req), contentType);
        if (typeof applied !== 'object' || applied === null || Array.isArray(applied)) throw errors.badRequest('error decoding YAML: the applied configuration must be an object');
        const { object, created } = await deps.resources.apply(entry, ns, info.name, view.toStorage(applied) as KubeObject, ctx, isTrue(query.get('force')), sub);
        return respondObject(req, res, requested, created ? 201 : 200, view.fromStorage(object), query, ctx.warnings);
      }
      const patchBody = decodePatch(await readBody(req));
      if (sub === 'scale') {
        const scaleSchema = deps.schemas.schemaFor('io.k8s.api.autoscaling.v1.Scale');
        const updated = await deps.resources.patch(
          entry,
          ns,
          info.name,
          (cur) => applyScale(entry, cur, applyPatch(contentType, scaleOf(entry, cur), patchBody, { schema: scaleSchema, defs: deps.schemas.definitions() })),
          ctx,
        );
        return respondObject(req, res, entry, 200, wrapScale(entry, updated, deps), query, ctx.warnings, true);
      }
      // Patches apply to the object as the client sees it, in the version it asked for.
      const schema = deps.schemas.schemaFor(requested.definition);
      const patched = await deps.resources.patch(
        entry,
        ns,
        info.name,
        (cur) => {
          const seen = view.fromStorage({ obj: cur, json: '', rv: 0 }).obj;
          return view.toStorage(applyPatch(contentType, seen, patchBody, { schema, defs: deps.schemas.definitions() })) as KubeObject;
        },
        ctx,
        sub,
        JSON.stringify(patchBody),
      );
      return respondObject(req, res, requested, 200, view.fromStorage(patched), query, ctx.warnings);
    }
    case 'delete': {
      const { opts, dryRun } = await deleteOptions(req, query);
      const ctx = writeCtx('DeleteOptions', dryRun);
      const result = await deps.resources.delete(entry, ns, info.name, opts, ctx);
      if (result.deleted && !returnsDeletedObject(entry)) {
        const o = result.object.obj;
        return sendJson(res, 200, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Success',
          details: { name: info.name, group: entry.group || undefined, kind: entry.plural, uid: o.metadata?.uid },
        }, undefined, ctx.warnings);
      }
      return respondObject(req, res, requested, 200, view.fromStorage(result.object), query, ctx.warnings);
    }
    case 'deletecollection': {
      const { opts, dryRun } = await deleteOptions(req, query);
      const ctx = writeCtx('DeleteOptions', dryRun);
      const listed = await deps.resources.list(entry, ns, { filter: buildFilter(entry, query, '') });
      const deleted: KubeObject[] = [];
      for (const item of listed.items) {
        const o = itemObject(item);
        try {
          const r = await deps.resources.delete(entry, o.metadata?.namespace ?? '', o.metadata!.name!, opts, ctx);
          deleted.push(view.fromStorage(r.object).obj);
        } catch (err) {
          // Objects deleted by someone else meanwhile are simply gone already.
          if (!(err instanceof Error && (err as any).code === 404)) throw err;
        }
      }
      return sendJson(res, 200, { kind: requested.listKind, apiVersion: apiVersionOf(requested), metadata: { resourceVersion: String(listed.resourceVersion) }, items: deleted });
    }
    default:
      throw methodNotAllowed();
  }
}

function methodNotAllowed() {
  return errors.methodNotAllowed('the server does not allow this method on the requested resource');
}

function isServedSubresource(entry: ResourceEntry, sub: string): boolean {
  if (sub === 'status') return !!entry.subresources.status;
  if (sub === 'scale') return !!entry.subresources.scale;
  if (sub === 'finalize') return !!entry.subresources.finalize;
  if (sub === 'binding') return !!entry.subresources.binding;
  if (sub === 'eviction') return !!entry.subresources.eviction;
  if (sub === 'approval') return !!entry.subresources.approval;
  return !!entry.subresources.createOnly?.[sub];
}

/** Pods and namespaces answer a delete with the object, like upstream; others with a Status. */
function returnsDeletedObject(entry: ResourceEntry): boolean {
  return entry.group === '' && (entry.plural === 'pods' || entry.plural === 'namespaces');
}

export function apiVersionOf(entry: ResourceEntry): string {
  return entry.group ? `${entry.group}/${entry.version}` : entry.version;
}

function wrapScale(entry: ResourceEntry, obj: StoredObject, _deps: HandlerDeps): StoredObject {
  const scale = scaleOf(entry, obj.obj);
  return { obj: scale, json: JSON.stringify(scale), rv: obj.rv };
}

/** Where a body's repeated keys are collected; with fieldValidation=Ignore no one reads them, so none are. */
function duplicatesOf(ctx: WriteContext): string[] | undefined {
  return ctx.fieldValidation === 'Ignore' ? undefined : (ctx.duplicateFields = []);
}

/** Options every write takes; bad values are 422s on the options kind (CreateOptions…), like upstream. */
export function writeContext(user: UserInfo, query: URLSearchParams, optionsKind: string, bodyDryRun: string[] = []): WriteContext {
  const dry = [...query.getAll('dryRun'), ...bodyDryRun];
  if (dry.some((d) => d !== 'All')) {
    throw errors.invalid('meta.k8s.io', optionsKind, '', [causes.notSupported('dryRun', dry, ['All'])]);
  }
  const fv = query.get('fieldValidation') ?? 'Warn';
  if (fv !== 'Strict' && fv !== 'Warn' && fv !== 'Ignore') {
    throw errors.badRequest(`fieldValidation: Unsupported value: "${fv}": supported values: "Ignore", "Strict", "Warn"`);
  }
  const fm = query.get('fieldManager');
  if (fm !== null && fm.length > 128) throw errors.badRequest('fieldManager: Too long: may not be more than 128 bytes');
  return newWriteContext({ dryRun: dry.length > 0, fieldValidation: fv as FieldValidation, fieldManager: fm ?? undefined, user });
}

/** PatchOptions upstream validates: force only for apply, which needs a fieldManager. */
function checkPatchOptions(ctx: WriteContext, query: URLSearchParams, apply: boolean): void {
  if (!apply && query.has('force')) {
    throw errors.invalid('meta.k8s.io', 'PatchOptions', '', [causes.forbidden('force', 'may not be specified for non-apply patch')]);
  }
  if (apply && !ctx.fieldManager) {
    throw errors.invalid('meta.k8s.io', 'PatchOptions', '', [causes.required('fieldManager', 'Required value: is required for apply patch')]);
  }
}

/** DeleteOptions from the body and the query (kubectl sends them in the body, dryRun included). */
async function deleteOptions(req: IncomingMessage, query: URLSearchParams): Promise<{ opts: DeleteOptions; dryRun: string[] }> {
  const raw = await readBody(req);
  let body: Record<string, any> = {};
  if (raw.length > 0) {
    const decoded = decodeBody(raw, req.headers['content-type']);
    if (decoded !== null && (typeof decoded !== 'object' || Array.isArray(decoded))) throw errors.badRequest('DeleteOptions must be an object');
    body = (decoded as Record<string, any>) ?? {};
  }
  const opts: DeleteOptions = {};
  const grace = query.get('gracePeriodSeconds') ?? body.gracePeriodSeconds;
  if (grace !== undefined && grace !== null) {
    const n = Number(grace);
    if (!Number.isInteger(n)) throw errors.badRequest(`invalid gracePeriodSeconds: ${String(grace)}`);
    opts.gracePeriodSeconds = Math.max(0, n);
  }
  const policy = query.get('propagationPolicy') ?? body.propagationPolicy;
  if (policy !== undefined && policy !== null) {
    if (policy !== 'Orphan' && policy !== 'Background' && policy !== 'Foreground') {
      throw errors.invalid('meta.k8s.io', 'DeleteOptions', '', [
        { reason: 'FieldValueNotSupported', field: 'propagationPolicy', message: `Unsupported value: "${String(policy)}": supported values: "Foreground", "Background", "Orphan"` },
      ]);
    }
    opts.propagationPolicy = policy;
  }
  const orphan = query.get('orphanDependents') ?? body.orphanDependents;
  if (orphan !== undefined && orphan !== null) {
    if (opts.propagationPolicy) throw errors.invalid('meta.k8s.io', 'DeleteOptions', '', [{ reason: 'FieldValueInvalid', field: 'propagationPolicy', message: 'Invalid value: "": orphanDependents and deletionPropagation cannot be both set' }]);
    opts.orphanDependents = orphan === true || orphan === 'true';
  }
  if (body.preconditions && typeof body.preconditions === 'object') opts.preconditions = body.preconditions;
  const dryRun = body.dryRun === undefined || body.dryRun === null ? [] : Array.isArray(body.dryRun) ? body.dryRun.map(String) : [String(body.dryRun)];
  return { opts, dryRun };
}

const customGetters = new WeakMap<ResourceEntry, ReturnType<typeof fieldGetters>>();

function gettersOf(entry: ResourceEntry): ReturnType<typeof fieldGetters> {
  if (!entry.custom) return fieldGetters(groupKind(entry.group, entry.kind));
  let g = customGetters.get(entry);
  if (!g) {
    g = customResourceFieldGetters(entry.namespaced, entry.custom.selectableFields);
    customGetters.set(entry, g);
  }
  return g;
}

export function buildFilter(entry: ResourceEntry, query: URLSearchParams, pinnedName: string): ObjectFilter {
  const ls = query.get('labelSelector');
  const fs = query.get('fieldSelector');
  if (!ls && !fs && !pinnedName) return EVERYTHING;
  const labels = ls ? parseLabelSelector(ls) : undefined;
  const fields = fs ? parseFieldSelector(fs, gettersOf(entry)) : undefined;
  const exactName = pinnedName || fields?.exactName;
  return {
    everything: false,
    exactName,
    matches: (obj: KubeObject) =>
      (!pinnedName || obj.metadata?.name === pinnedName) && (!labels || labels.matches(obj.metadata?.labels ?? {})) && (!fields || fields.matches(obj)),
  };
}

async function list(
  deps: HandlerDeps,
  req: IncomingMessage,
  res: ServerResponse,
  requested: ResourceEntry,
  view: VersionView,
  ns: string,
  query: URLSearchParams,
): Promise<void> {
  const entry = view.storage;
  const neg = negotiate(req.headers.accept, true);
  const limit = parseLimit(query.get('limit'));
  const rv = query.get('resourceVersion') ?? undefined;
  if (rv !== undefined && rv !== '') parseResourceVersion(rv);
  const result = await deps.resources.list(entry, ns, {
    filter: buildFilter(entry, query, ''),
    limit,
    continueToken: query.get('continue') || undefined,
    resourceVersion: rv || undefined,
    resourceVersionMatch: query.get('resourceVersionMatch') || undefined,
  });
  const listMeta: Record<string, unknown> = { resourceVersion: String(result.resourceVersion) };
  if (result.continueToken) listMeta.continue = result.continueToken;
  if (result.remainingItemCount !== undefined) listMeta.remainingItemCount = result.remainingItemCount;
  if (view.storage !== requested) {
    result.items = result.items.map((i) => {
      const o = view.fromStorage({ obj: itemObject(i), json: i.json, rv: i.rv });
      return { key: i.key, json: o.json, rv: o.rv, obj: o.obj };
    });
  }
  if (neg.format === 'table') {
    const include = parseIncludeObject(query.get('includeObject'));
    const objs = result.items.map(itemObject);
    return sendJson(res, 200, toTable(requested, objs, { include, tableVersion: neg.tableVersion!, listMeta }), neg.contentType);
  }
  if (neg.format === 'partial-metadata') {
    const body = { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: listMeta, items: result.items.map((i) => partialMetadata(itemObject(i))) };
    return sendJson(res, 200, body, neg.contentType);
  }
  // Plain lists are assembled from each object's cached JSON: no parse, no re-serialization.
  const head = `{"kind":"${requested.listKind}","apiVersion":"${apiVersionOf(requested)}","metadata":${JSON.stringify(listMeta)},"items":[`;
  if (neg.format === 'yaml') return sendBody(res, 200, head + result.items.map((i) => i.json).join(',') + ']}', neg.format, neg.contentType);
  await streamJsonList(res, head, result.items, neg.contentType);
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Bytes of JSON gathered before each write of a list: large enough to amortize, small enough to stream. */
const LIST_CHUNK = 64 * 1024;

/**
 * Writes a list in chunks, waiting for the socket to drain: a 10,000-object list never exists as
 * one string, and a slow reader holds back the server rather than its memory.
 */
async function streamJsonList(res: ServerResponse, head: string, items: ListedItem[], contentType: string): Promise<void> {
  res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-cache, private' });
  let chunk = head;
  for (let i = 0; i < items.length; i++) {
    chunk += (i ? ',' : '') + items[i].json;
    if (chunk.length >= LIST_CHUNK) {
      const more = res.write(chunk);
      chunk = '';
      if (!more && !res.destroyed) await drained(res);
      if (res.destroyed) return;
    }
  }
  res.end(chunk + ']}');
}

/** limit is an int64 upstream: anything that is not one is a 400; zero or less means no paging. */
function parseLimit(raw: string | null): number | undefined {
  if (raw === null || raw === '') return undefined;
  if (!/^[-+]?\d+$/.test(raw) || BigInt(raw) > 9223372036854775807n || BigInt(raw) < -9223372036854775808n) {
    throw errors.badRequest(`strconv.ParseInt: parsing ${JSON.stringify(raw)}: invalid syntax`);
  }
  const n = Number(raw);
  return n > 0 ? n : undefined;
}

function decodePatch(raw: Buffer): unknown {
  try {
    return parseJson(raw.toString('utf8'));
  } catch (err) {
    throw errors.badRequest(`error decoding patch: ${(err as Error).message}`);
  }
}

function respondObject(
  req: IncomingMessage,
  res: ServerResponse,
  entry: ResourceEntry,
  code: number,
  obj: StoredObject,
  query: URLSearchParams,
  warnings: string[] = [],
  isScale = false,
): void {
  const neg: Negotiated = negotiate(req.headers.accept, !isScale);
  if (neg.format === 'table') {
    const include = parseIncludeObject(query.get('includeObject'));
    return sendJson(res, code, toTable(entry, [obj.obj], { include, tableVersion: neg.tableVersion!, listMeta: { resourceVersion: String(obj.rv) } }), neg.contentType, warnings);
  }
  if (neg.format === 'partial-metadata') return sendJson(res, code, partialMetadata(obj.obj), neg.contentType, warnings);
  sendBody(res, code, obj.json, neg.format, neg.contentType, warnings);
}

export { isTrue };
