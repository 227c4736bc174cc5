/**
 * meta.k8s.io Table responses (what `kubectl get` prints): the kind's columns from src/api/tables,
 * one row per object, and the object itself as metadata, whole, or not at all (includeObject).
 */
import type { KubeObject, ResourceEntry } from '../api/types.js';
import { groupKind } from '../api/types.js';
import { rowConditions, tableFor } from '../api/tables.js';
import { errors } from '../api/errors.js';
import { customTableFor } from './crd/table.js';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export function parseIncludeObject(v: string | null): IncludeObject {
  if (v === null || v === '' || v === 'Metadata') return 'Metadata';
  if (v === 'None' || v === 'Object') return v;
  throw errors.badRequest(`includeObject: Unsupported value: "${v}": supported values: "None", "Metadata", "Object"`);
}

export function partialMetadata(obj: KubeObject): object {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata ?? {} };
}

export interface TableOptions {
  include: IncludeObject;
  tableVersion: 'v1' | 'v1beta1';
  /** List metadata to carry (resourceVersion, continue, remainingItemCount). */
  listMeta?: Record<string, unknown>;
  /** The moment ages are computed against (tests pin it). */
  now?: Date;
}

export function toTable(entry: ResourceEntry, objects: KubeObject[], opts: TableOptions): object {
  const gk = groupKind(entry.group, entry.kind);
  const def = entry.custom ? customTableFor(entry) : tableFor(gk);
  const now = opts.now ?? new Date();
  const rows = objects.map((obj) => {
    const row: Record<string, unknown> = { cells: def.cells(obj, now) };
    // Upstream marks the rows of finished pods with a Completed condition; so do we.
    const conditions = rowConditions(gk, obj);
    if (conditions) row.conditions = conditions;
    if (opts.include === 'Metadata') row.object = partialMetadata(obj);
    else if (opts.include === 'Object') row.object = obj;
    return row;
  });
  return {
    kind: 'Table',
    apiVersion: `meta.k8s.io/${opts.tableVersion}`,
    metadata: opts.listMeta ?? {},
    columnDefinitions: def.columns,
    rows,
  };
}
