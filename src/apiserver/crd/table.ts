/**
 * Table output of a custom resource (what `kubectl get` prints): Name, then the version's
 * additionalPrinterColumns (Age when it declares none), valued like upstream's CRD table convertor.
 */
import type { PrinterColumn, ResourceEntry, TableColumn, TableDef } from '../../api/types.js';
import { formatAge, NAME_COLUMN } from '../../api/tables.js';
import { evaluateJsonPath, parseJsonPath } from '../../api/jsonpath.js';

const AGE: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description:
    'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
};

const tables = new WeakMap<ResourceEntry, TableDef>();

export function customTableFor(entry: ResourceEntry): TableDef {
  let t = tables.get(entry);
  if (!t) {
    t = printerColumnTable(entry.custom?.printerColumns.length ? entry.custom.printerColumns : [AGE]);
    tables.set(entry, t);
  }
  return t;
}

function printerColumnTable(printerColumns: PrinterColumn[]): TableDef {
  const columns: TableColumn[] = [
    NAME_COLUMN,
    ...printerColumns.map((c) => ({ name: c.name, type: c.type as TableColumn['type'], format: c.format ?? '', description: c.description ?? '', priority: c.priority ?? 0 })),
  ];
  const paths = printerColumns.map((c) => {
    try {
      return parseJsonPath(c.jsonPath);
    } catch {
      return undefined; // CRD validation refuses these; an old stored CRD still prints empty cells
    }
  });
  return {
    columns,
    cells(obj, now) {
      const cells: unknown[] = [obj.metadata?.name ?? ''];
      printerColumns.forEach((c, i) => {
        const path = paths[i];
        const found = path ? evaluateJsonPath(path, obj) : [];
        cells.push(found.length === 0 ? null : cell(c.type, found[0], now));
      });
      return cells;
    },
  };
}

/** Upstream keeps only the first result and types it by the column (a wrong type prints empty). */
function cell(type: string, v: unknown, now: Date): unknown {
  switch (type) {
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v) ? v : null;
    case 'number':
      return typeof v === 'number' ? v : null;
    case 'boolean':
      return typeof v === 'boolean' ? v : null;
    case 'date':
      return typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? formatAge(v, now) : null;
    default:
      return typeof v === 'string' ? v : v === null ? null : typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
}
