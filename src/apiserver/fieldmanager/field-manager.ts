/**
 * Upstream's field manager (k8s.io/apimachinery/pkg/util/managedfields): keeps
 * metadata.managedFields up to date on every write and performs server-side apply. The layers
 * upstream stacks (version check, last-applied upgrade and sync, skipping untracked objects,
 * capping update managers, manager identities, timestamps, stripping system metadata) are the
 * steps of `update` and `apply` below, in the same order.
 */
import type { KubeObject, ResourceEntry } from '../../api/types.js';
import { ApiError, errors } from '../../api/errors.js';
import { deepEqual, nowTimestamp } from '../objects.js';
import type { SchemaSource } from '../schemas.js';
import { difference, fieldElement, has, intersection, isEmpty, memberPaths, pathString, union, type Fields } from './field-set.js';
import { decodeManagedFields, encodeManagedFields, isReset, managerId, printManager, type Managed, type ManagerEntry } from './managed-fields.js';
import { DEDUCED, TypeCompiler, type TypeNode } from './schema-types.js';
import { compare, merge, prune, toFieldSet, TypedError, type Comparison } from './typed.js';

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';
export const MAX_UPDATE_MANAGERS = 10;
const ANCIENT_CHANGES = 'ancient-changes';
const BEFORE_FIRST_APPLY = 'before-first-apply';

/** System metadata nobody owns (upstream's stripMetaManager): exact members only. */
const STRIPPED: Fields = {
  'f:apiVersion': {},
  'f:kind': {},
  'f:metadata': {
    '.': {},
    'f:clusterName': {},
    'f:creationTimestamp': {},
    'f:generation': {},
    'f:managedFields': {},
    'f:name': {},
    'f:namespace': {},
    'f:resourceVersion': {},
    'f:selfLink': {},
    'f:uid': {},
  },
};

export interface Conflict {
  manager: ManagerEntry;
  path: string[];
}

/** Upstream's manager name when a request names none: the User-Agent up to its first "/". */
export function managerFromUserAgent(userAgent: string | undefined): string {
  return (userAgent ?? '').split('/')[0];
}

export class FieldManager {
  private compiler: TypeCompiler | undefined;
  private compilerDefs: Record<string, any> | undefined;
  private readonly types = new WeakMap<object, TypeNode>();
  private readonly zeros = new WeakMap<object, Record<string, unknown>>();

  constructor(
    private readonly schemas: SchemaSource,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The compiled type of a kind; cached per schema object, so a changed CRD schema compiles anew. */
  typeOf(entry: ResourceEntry): TypeNode {
    const schema = this.schemas.schemaFor(entry.definition);
    if (!schema || typeof schema !== 'object') return DEDUCED;
    const known = this.types.get(schema);
    if (known) return known;
    const defs = this.schemas.definitions();
    if (!this.compiler || this.compilerDefs !== defs) {
      this.compiler = new TypeCompiler(defs);
      this.compilerDefs = defs;
    }
    const t = this.compiler.compile(schema);
    this.types.set(schema, t);
    return t;
  }

  /** Go's zero object of the kind: what a create compares against. */
  private zeroOf(t: TypeNode): Record<string, unknown> {
    if (t.kind !== 'map' || !t.zero) return {};
    let z = this.zeros.get(t);
    if (!z) {
      z = t.zero();
      this.zeros.set(t, z);
    }
    return structuredClone(z);
  }

  /**
   * Records a write that is not an apply: `old` is undefined for a create. Sets (or removes)
   * next.metadata.managedFields. Never fails the write: on an object it cannot type, the live
   * managedFields are kept, as upstream's UpdateNoErrors does.
   */
  update(entry: ResourceEntry, old: KubeObject | undefined, next: KubeObject, manager: string, subresource = ''): void {
    const meta = next.metadata ?? (next.metadata = {});
    const requested = meta.managedFields;
    let managed: Managed;
    let fromLive = true;
    try {
      if (subresource) managed = decodeOrEmpty(old?.metadata?.managedFields);
      else if (isReset(requested)) {
        managed = new Map();
        fromLive = false;
      } else {
        let mine: Managed | undefined;
        try {
          mine = old !== undefined && deepEqual(requested, old.metadata?.managedFields) ? undefined : decodeManagedFields(requested);
        } catch {
          mine = undefined;
        }
        if (old !== undefined && requested !== undefined && deepEqual(requested, old.metadata?.managedFields)) {
          // The usual read-modify-write: the client sent back what it read.
          managed = decodeOrEmpty(old.metadata?.managedFields);
        } else if (mine && mine.size > 0) {
          managed = mine;
          fromLive = false;
        } else managed = decodeOrEmpty(old?.metadata?.managedFields);
      }
      delete meta.managedFields;
      // Upstream tracks an object from its creation or from its first apply, never from an update.
      if (managed.size === 0 && old !== undefined) return;
      const t = this.typeOf(entry);
      const cmp = this.excludeIgnored(entry, subresource, compare(old ? withoutManagedFields(old) : this.zeroOf(t), withoutManagedFields(next), t));
      const changed = union(cmp.added, cmp.modified);
      let dirty = !fromLive;
      if (!isEmpty(changed) || !isEmpty(cmp.removed)) {
        for (const [id, e] of managed) {
          const kept = difference(difference(e.fields, changed), cmp.removed);
          if (kept !== e.fields) {
            dirty = true;
            if (isEmpty(kept)) managed.delete(id);
            else managed.set(id, { ...e, fields: kept });
          }
        }
        const mine = difference(changed, STRIPPED);
        if (!isEmpty(mine)) {
          dirty = true;
          const key = { manager, operation: 'Update' as const, apiVersion: apiVersionOf(entry), subresource: subresource || undefined };
          const id = managerId(key);
          const previous = managed.get(id);
          managed.set(id, { ...key, fields: union(previous?.fields, mine), time: nowTimestamp(this.now()) });
          if (!key.subresource) delete managed.get(id)!.subresource;
        }
      }
      if (!dirty && old?.metadata?.managedFields !== undefined) {
        meta.managedFields = old.metadata.managedFields;
        return;
      }
      capUpdateManagers(managed);
      const encoded = encodeManagedFields(managed);
      if (encoded) meta.managedFields = encoded;
    } catch (err) {
      if (!(err instanceof TypedError) && !(err instanceof Error)) throw err;
      if (old?.metadata?.managedFields !== undefined) meta.managedFields = old.metadata.managedFields;
      else delete meta.managedFields;
    }
  }

  /**
   * Server-side apply of `applied` onto `live` (undefined: the object does not exist yet) by
   * `manager`. Returns the object to store, managedFields included. Conflicts are a 409 unless
   * `force`; a configuration the schema cannot type is a 400.
   */
  apply(entry: ResourceEntry, live: KubeObject | undefined, applied: KubeObject, manager: string, force: boolean, subresource = ''): KubeObject {
    const gv = apiVersionOf(entry);
    this.checkApplied(entry, applied);
    let managed: Managed;
    try {
      managed = decodeManagedFields(live?.metadata?.managedFields, true);
    } catch (err) {
      throw errors.internal(`failed to decode managed fields: ${(err as Error).message}`);
    }
    const t = this.typeOf(entry);
    const liveObj = live ? withoutManagedFields(live) : {};
    try {
      if (managed.size === 0 && live) this.beforeFirstApply(entry, t, liveObj, managed);
      let result: { object: KubeObject; managed: Managed; noop: boolean };
      try {
        result = this.applyTyped(entry, t, liveObj, applied, managed, manager, force, subresource);
      } catch (err) {
        if (!(err instanceof ConflictsError) || manager !== 'kubectl' || !live) throw err;
        // kubectl's first server-side apply after client-side ones: fields its last-applied
        // annotation set, still at those values, are kubectl's to take.
        const allowed = this.allowedFromLastApplied(entry, t, liveObj);
        const remaining = allowed ? err.conflicts.filter((c) => !has(allowed, c.path)) : err.conflicts;
        if (remaining.length > 0) throw new ConflictsError(remaining);
        result = this.applyTyped(entry, t, liveObj, applied, managed, manager, true, subresource);
      }
      const object = result.noop ? structuredClone(liveObj) : result.object;
      if (!result.noop) {
        const e = result.managed.get(managerId({ manager, operation: 'Apply', apiVersion: gv, subresource }));
        if (e) e.time = nowTimestamp(this.now());
      }
      if (manager === 'kubectl' && object.metadata?.annotations?.[LAST_APPLIED_ANNOTATION]) {
        object.metadata.annotations[LAST_APPLIED_ANNOTATION] = lastAppliedOf(applied);
      }
      capUpdateManagers(result.managed);
      const encoded = encodeManagedFields(result.managed);
      object.metadata ??= {};
      if (encoded) object.metadata.managedFields = encoded;
      else delete object.metadata.managedFields;
      return object as KubeObject;
    } catch (err) {
      if (err instanceof ConflictsError) throw conflictError(err.conflicts);
      if (err instanceof TypedError) throw errors.badRequest(`failed to create typed patch object (${objectGvkNn(applied)}): ${err.message}`);
      throw err;
    }
  }

  /** What upstream refuses before applying: another kind or version, or managedFields in the configuration. */
  checkApplied(entry: ResourceEntry, applied: KubeObject): void {
    if (applied.apiVersion !== apiVersionOf(entry) || applied.kind !== entry.kind) {
      throw errors.badRequest(`invalid object type: ${gvkString(applied.apiVersion, applied.kind)}`);
    }
    if (applied.metadata?.managedFields !== undefined && applied.metadata.managedFields !== null) {
      throw errors.badRequest('metadata.managedFields must be nil');
    }
  }

  /** Who owned what before anyone applied: everything set so far belongs to `before-first-apply`. */
  private beforeFirstApply(entry: ResourceEntry, t: TypeNode, liveObj: KubeObject, managed: Managed): void {
    const cmp = this.excludeIgnored(entry, '', compare(this.zeroOf(t), liveObj, t));
    const set = difference(union(cmp.added, cmp.modified), STRIPPED);
    if (isEmpty(set)) return;
    const key = { manager: BEFORE_FIRST_APPLY, operation: 'Update' as const, apiVersion: apiVersionOf(entry) };
    managed.set(managerId(key), { ...key, fields: set, time: nowTimestamp(this.now()) });
  }

  private applyTyped(
    entry: ResourceEntry,
    t: TypeNode,
    liveObj: KubeObject,
    applied: KubeObject,
    managedIn: Managed,
    manager: string,
    force: boolean,
    subresource: string,
  ): { object: KubeObject; managed: Managed; noop: boolean } {
    const managed: Managed = new Map(managedIn);
    const key = { manager, operation: 'Apply' as const, apiVersion: apiVersionOf(entry), subresource: subresource || undefined };
    const id = managerId(key);
    const last = managed.get(id)?.fields;
    let object = merge(liveObj, applied, t) as KubeObject;
    const set = this.excludeIgnoredSet(entry, subresource, toFieldSet(applied, t));
    const mine: ManagerEntry = { ...key, fields: set, time: managed.get(id)?.time };
    if (!key.subresource) delete mine.subresource;
    managed.set(id, mine);
    if (last && !isEmpty(last)) {
      let everyone: Fields = {};
      for (const e of managed.values()) everyone = union(everyone, e.fields);
      object = prune(object, t, last, everyone) as KubeObject;
    }
    const cmp = this.excludeIgnored(entry, subresource, compare(liveObj, object, t));
    const changed = union(cmp.modified, cmp.added);
    const conflicts: Conflict[] = [];
    const taken = new Map<string, Fields>();
    for (const [other, e] of managed) {
      if (other === id) continue;
      const c = intersection(e.fields, changed);
      if (!isEmpty(c)) {
        taken.set(other, c);
        for (const path of memberPaths(c)) conflicts.push({ manager: e, path });
      }
    }
    if (!force && conflicts.length > 0) throw new ConflictsError(conflicts);
    for (const [other, e] of managed) {
      if (other === id) continue;
      const kept = difference(difference(e.fields, taken.get(other)), cmp.removed);
      if (isEmpty(kept)) managed.delete(other);
      else if (kept !== e.fields) managed.set(other, { ...e, fields: kept });
    }
    mine.fields = difference(mine.fields, STRIPPED);
    if (isEmpty(mine.fields)) managed.delete(id);
    return { object, managed, noop: deepEqual(liveObj, object) };
  }

  /** The fields of the last-applied annotation that the live object still has, at those values. */
  private allowedFromLastApplied(entry: ResourceEntry, t: TypeNode, liveObj: KubeObject): Fields | undefined {
    const raw = liveObj.metadata?.annotations?.[LAST_APPLIED_ANNOTATION];
    if (!raw) return undefined;
    try {
      const lastApplied = JSON.parse(raw) as KubeObject;
      if (lastApplied?.apiVersion !== apiVersionOf(entry)) return undefined;
      const set = toFieldSet(lastApplied, t);
      const cmp = compare(lastApplied, liveObj, t);
      return difference(difference(difference(set, cmp.modified), cmp.added), cmp.removed);
    } catch {
      return undefined;
    }
  }

  /**
   * Upstream's reset fields: what a write through this endpoint cannot change is nobody's to own
   * there (status on the main resource of kinds with a status subresource; all but status on it).
   */
  private excludeIgnored(entry: ResourceEntry, subresource: string, c: Comparison): Comparison {
    if (!ignoresAnything(entry, subresource)) return c;
    return {
      added: this.excludeIgnoredSet(entry, subresource, c.added),
      modified: this.excludeIgnoredSet(entry, subresource, c.modified),
      removed: this.excludeIgnoredSet(entry, subresource, c.removed),
    };
  }

  private excludeIgnoredSet(entry: ResourceEntry, subresource: string, set: Fields): Fields {
    if (!ignoresAnything(entry, subresource)) return set;
    const status = fieldElement('status');
    if (subresource === 'status') return set[status] ? { [status]: set[status] } : {};
    if (!set[status]) return set;
    const { [status]: _dropped, ...rest } = set;
    return rest;
  }
}

function ignoresAnything(entry: ResourceEntry, subresource: string): boolean {
  return subresource === 'status' || (subresource === '' && !!entry.subresources.status);
}

class ConflictsError extends Error {
  constructor(readonly conflicts: Conflict[]) {
    super('conflicts');
  }
}

/** Upstream's NewConflictError: 409 with one cause per conflicting field. */
export function conflictError(conflicts: Conflict[]): ApiError {
  const causes = conflicts.map((c) => ({ type: 'FieldManagerConflict', message: `conflict with ${printManager(c.manager)}`, field: pathString(c.path) }));
  let message: string;
  if (conflicts.length === 1) {
    message = `Apply failed with 1 conflict: conflict with ${printManager(conflicts[0].manager)}: ${pathString(conflicts[0].path)}`;
  } else {
    const byManager = new Map<string, Conflict[]>();
    for (const c of conflicts) {
      const id = managerId(c.manager);
      byManager.set(id, [...(byManager.get(id) ?? []), c]);
    }
    const lines: string[] = [];
    for (const id of [...byManager.keys()].sort()) {
      const group = byManager.get(id)!;
      lines.push(`conflicts with ${printManager(group[0].manager)}:`);
      for (const c of group) lines.push(`- ${pathString(c.path)}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new ApiError(409, 'Conflict', message, { causes: causes as any });
}

function decodeOrEmpty(raw: unknown): Managed {
  try {
    return decodeManagedFields(raw, true);
  } catch {
    return new Map();
  }
}

function withoutManagedFields(obj: KubeObject): KubeObject {
  if (!obj.metadata || !('managedFields' in obj.metadata)) return obj;
  const { managedFields: _m, ...meta } = obj.metadata;
  return { ...obj, metadata: meta };
}

export function apiVersionOf(entry: ResourceEntry): string {
  return entry.group ? `${entry.group}/${entry.version}` : entry.version;
}

/** Go's GroupVersionKind.String(): "apps/v1, Kind=Deployment", "/v1, Kind=Pod". */
function gvkString(apiVersion: unknown, kind: unknown): string {
  const av = typeof apiVersion === 'string' ? apiVersion : '';
  const slash = av.indexOf('/');
  const group = slash >= 0 ? av.slice(0, slash) : '';
  const version = slash >= 0 ? av.slice(slash + 1) : av;
  return `${group}/${version}, Kind=${typeof kind === 'string' ? kind : ''}`;
}

function objectGvkNn(obj: KubeObject): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}; ${gvkString(obj.apiVersion, obj.kind)}`;
}

/** The annotation kubectl would write for this configuration: Go's JSON of it (keys sorted), newline-terminated. */
function lastAppliedOf(applied: KubeObject): string {
  const copy = structuredClone(applied);
  if (copy.metadata?.annotations) {
    delete copy.metadata.annotations[LAST_APPLIED_ANNOTATION];
  }
  return goJson(copy) + '\n';
}

function goJson(v: unknown): string {
  if (Array.isArray(v)) return '[' + v.map(goJson).join(',') + ']';
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return '{' + Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => goString(k) + ':' + goJson(o[k])).join(',') + '}';
  }
  return typeof v === 'string' ? goString(v) : JSON.stringify(v);
}

/** Go's encoding/json escapes <, > and & (and the JS line separators) inside strings. */
function goString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/**
 * At most MAX_UPDATE_MANAGERS update entries: the oldest are folded, per apiVersion, into an
 * `ancient-changes` entry carrying the time of the newest change merged into it.
 */
export function capUpdateManagers(managed: Managed): void {
  const updaters = [...managed.entries()].filter(([, e]) => e.operation === 'Update');
  if (updaters.length <= MAX_UPDATE_MANAGERS) return;
  const time = (e: ManagerEntry) => (e.time ? Date.parse(e.time) : -Infinity);
  updaters.sort((a, b) => time(a[1]) - time(b[1]) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const firstOfVersion = new Map<string, string>();
  let length = updaters.length;
  for (let i = 0; i < updaters.length && length > MAX_UPDATE_MANAGERS; i++) {
    const [id, e] = updaters[i];
    const bucketKey = { manager: ANCIENT_CHANGES, operation: 'Update' as const, apiVersion: e.apiVersion };
    const bucketId = managerId(bucketKey);
    const first = firstOfVersion.get(e.apiVersion);
    if (first === undefined) {
      firstOfVersion.set(e.apiVersion, id);
      continue;
    }
    if (!managed.has(bucketId)) {
      const f = managed.get(first)!;
      managed.delete(first);
      managed.set(bucketId, { ...bucketKey, fields: f.fields, time: f.time });
    }
    const bucket = managed.get(bucketId)!;
    managed.set(bucketId, { ...bucketKey, fields: union(e.fields, bucket.fields), time: e.time });
    if (id !== bucketId) managed.delete(id);
    length--;
  }
}

