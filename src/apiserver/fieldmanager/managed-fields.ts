/**
 * metadata.managedFields on the wire and in memory: one entry per manager identity (manager name,
 * operation, apiVersion for updates, subresource), with its time and field set. Entries are
 * ordered and shaped as upstream encodes them.
 */
import { canonicalize, isEmpty, type Fields } from './field-set.js';

export type Operation = 'Apply' | 'Update';

export interface ManagerEntry {
  manager: string;
  operation: Operation;
  apiVersion: string;
  subresource?: string;
  time?: string;
  fields: Fields;
}

/** Entries by manager identity (see managerId). Insertion order is irrelevant: encode sorts. */
export type Managed = Map<string, ManagerEntry>;

/**
 * Upstream's BuildManagerIdentifier: the entry without fields and time, as JSON; appliers leave out
 * the apiVersion so applying at another version is still the same applier.
 */
export function managerId(e: { manager: string; operation: Operation; apiVersion: string; subresource?: string }): string {
  const id: Record<string, string> = {};
  if (e.manager) id.manager = e.manager;
  id.operation = e.operation;
  if (e.operation !== 'Apply' && e.apiVersion) id.apiVersion = e.apiVersion;
  if (e.subresource) id.subresource = e.subresource;
  return JSON.stringify(id);
}

/** How conflicts name a manager: `"kubectl"`, or `"x" with subresource "status" using v1` for updaters. */
export function printManager(e: ManagerEntry): string {
  let s = JSON.stringify(e.manager);
  if (e.subresource) s += ` with subresource ${JSON.stringify(e.subresource)}`;
  if (e.operation === 'Update') s += ` using ${e.apiVersion}`;
  return s;
}

/** Whether the client asked to wipe managedFields: `[]` or `[{}]`. */
export function isReset(raw: unknown): boolean {
  if (!Array.isArray(raw)) return false;
  if (raw.length === 0) return true;
  if (raw.length !== 1) return false;
  const e = raw[0] as Record<string, unknown> | null;
  if (e === null || typeof e !== 'object' || Array.isArray(e)) return false;
  return Object.values(e).every((v) => v === undefined || v === null || v === '');
}

/**
 * Reads managedFields; throws on anything upstream would fail to decode. `stored`: they come from
 * the stored object, which only this code writes, so their sets are already in canonical form.
 */
export function decodeManagedFields(raw: unknown, stored = false): Managed {
  const out: Managed = new Map();
  if (raw === undefined || raw === null) return out;
  if (!Array.isArray(raw)) throw new Error('managedFields must be a list');
  for (const item of raw) {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) throw new Error('managedFields entries must be objects');
    const e = item as Record<string, unknown>;
    if (e.operation !== 'Apply' && e.operation !== 'Update') throw new Error('operation must be `Apply` or `Update`');
    if (e.fieldsType !== 'FieldsV1') throw new Error(`unsupported fieldsType: ${String(e.fieldsType ?? '')}`);
    const str = (k: string) => {
      const v = e[k];
      if (v !== undefined && v !== null && typeof v !== 'string') throw new Error(`managedFields ${k} must be a string`);
      return (v ?? '') as string;
    };
    const entry: ManagerEntry = {
      manager: str('manager'),
      operation: e.operation,
      apiVersion: str('apiVersion'),
      fields: e.fieldsV1 === undefined || e.fieldsV1 === null ? {} : stored ? (e.fieldsV1 as Fields) : canonicalize(e.fieldsV1),
    };
    const sub = str('subresource');
    if (sub) entry.subresource = sub;
    const time = str('time');
    if (time) {
      if (Number.isNaN(Date.parse(time))) throw new Error(`invalid time ${JSON.stringify(time)}`);
      entry.time = time;
    }
    out.set(managerId(entry), entry);
  }
  return out;
}

/** Upstream's order: appliers first, then by time, manager, apiVersion, subresource. */
function entryOrder(p: ManagerEntry, q: ManagerEntry): number {
  if (p.operation !== q.operation) return p.operation < q.operation ? -1 : 1;
  const pt = p.time ? Math.floor(Date.parse(p.time) / 1000) : 0;
  const qt = q.time ? Math.floor(Date.parse(q.time) / 1000) : 0;
  if (pt !== qt) return pt - qt;
  for (const k of ['manager', 'apiVersion', 'subresource'] as const) {
    const a = p[k] ?? '';
    const b = q[k] ?? '';
    if (a !== b) return a < b ? -1 : 1;
  }
  return 0;
}

/** The managedFields list to store, or undefined when no manager owns anything. */
export function encodeManagedFields(managed: Managed): Record<string, unknown>[] | undefined {
  const entries = [...managed.values()].filter((e) => !isEmpty(e.fields)).sort(entryOrder);
  if (entries.length === 0) return undefined;
  return entries.map((e) => {
    const out: Record<string, unknown> = {};
    if (e.manager) out.manager = e.manager;
    out.operation = e.operation;
    if (e.apiVersion) out.apiVersion = e.apiVersion;
    if (e.time) out.time = e.time;
    out.fieldsType = 'FieldsV1';
    out.fieldsV1 = e.fields;
    if (e.subresource) out.subresource = e.subresource;
    return out;
  });
}
