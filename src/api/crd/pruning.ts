/**
 * Pruning as the apiextensions-apiserver does it on decode: fields the schema does not specify are
 * dropped (pruning.PruneWithOptions with the object as resource root), except where
 * x-kubernetes-preserve-unknown-fields keeps them; apiVersion, kind and metadata of the root and of
 * embedded resources are left to ObjectMeta handling, which for embedded resources drops what
 * ObjectMeta does not know (schemaobjectmeta.Coerce). The dropped paths are returned sorted, as
 * upstream reports them in fieldValidation warnings and strict errors.
 */
import { compileSchema, type JSONSchemaProps, type SchemaNode } from './compile.js';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const META_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

/** The fields of metav1.ObjectMeta: anything else under an embedded resource's metadata is unknown. */
const OBJECT_META_FIELDS = new Set([
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
]);

const join = (base: string, k: string): string => (base ? `${base}.${k}` : k);

export class Pruner {
  readonly paths: string[] = [];

  prune(x: unknown, s: SchemaNode | undefined, embedded: boolean, path: string): void {
    if (s?.preserveUnknownFields) {
      this.skipPrune(x, s, embedded, path);
      return;
    }
    if (isObj(x)) {
      if (!s) {
        for (const k of Object.keys(x)) {
          this.paths.push(join(path, k));
          delete x[k];
        }
        return;
      }
      this.pruneFields(x, s, embedded, path, false);
    } else if (Array.isArray(x)) {
      const items = s?.items;
      for (let i = 0; i < x.length; i++) this.prune(x[i], items, items?.embeddedResource ?? false, `${path}[${i}]`);
    }
  }

  private skipPrune(x: unknown, s: SchemaNode, embedded: boolean, path: string): void {
    if (isObj(x)) {
      this.pruneFields(x, s, embedded, path, true);
    } else if (Array.isArray(x)) {
      const items = s.items;
      if (!items) return;
      // Upstream keeps skipping (not pruning) through list items under preserve-unknown-fields.
      for (let i = 0; i < x.length; i++) this.skipPrune(x[i], items, items.embeddedResource, `${path}[${i}]`);
    }
  }

  /** Prunes under each field the schema specifies; the others go, unless `keepUnknown` (preserve-unknown-fields). */
  private pruneFields(x: Obj, s: SchemaNode, embedded: boolean, path: string, keepUnknown: boolean): void {
    if (embedded) this.coerceMetadata(x, path);
    for (const k of Object.keys(x)) {
      if (embedded && META_FIELDS.has(k)) continue;
      const prop = s.properties?.get(k);
      if (prop) this.prune(x[k], prop, prop.embeddedResource, join(path, k));
      else if (s.additional) this.prune(x[k], s.additional.schema, s.additional.schema?.embeddedResource ?? false, join(path, k));
      else if (!keepUnknown) {
        if (!META_FIELDS.has(k) || path !== '') this.paths.push(join(path, k));
        delete x[k];
      }
    }
  }

  /** An embedded resource's metadata round-trips through ObjectMeta: unknown fields and nulls go (the root's is handled by the server). */
  private coerceMetadata(x: Obj, path: string): void {
    if (path === '') return;
    const meta = x.metadata;
    if (!isObj(meta)) return;
    for (const k of Object.keys(meta)) {
      if (!OBJECT_META_FIELDS.has(k)) {
        this.paths.push(`${join(path, 'metadata')}.${k}`);
        delete meta[k];
      } else if (meta[k] === null) delete meta[k];
    }
  }
}

/**
 * Pruning, in place: removes fields the schema does not specify and returns their paths, sorted
 * ("spec.foo", "spec.items[0].bar"). The root's apiVersion, kind and metadata are never pruned.
 */
export function pruneUnknownFields(obj: unknown, schema: JSONSchemaProps): string[] {
  const pruner = new Pruner();
  pruner.prune(obj, compileSchema(schema), true, '');
  return pruner.paths.sort();
}
