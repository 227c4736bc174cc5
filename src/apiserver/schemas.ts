/**
 * Where handlers get schemas from: the generated definitions of built-in kinds, plus the
 * definitions of the custom kinds CRDs serve (replaced whenever the served CRDs change).
 */
import { loadDefinitions, resolveRef, type Definitions } from '../api/schema.js';
import type { ResourceEntry } from '../api/types.js';

export interface SchemaSource {
  definitions(): Record<string, any>;
  /** The resolved root schema of a definition, or undefined when there is none (then merge semantics apply). */
  schemaFor(definition: string): any;
}

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const API_VERSION_DOC =
  'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources';
const KIND_DOC =
  'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds';

/** Built-in definitions and those of served custom resources, as one SchemaSource. */
export class ServedSchemas implements SchemaSource {
  private readonly builtin: Definitions = loadDefinitions();
  private custom: Definitions = {};
  private merged: Definitions | undefined;

  /** Replaces the custom definitions with those of `entries` (the registry's custom entries). */
  setCustomEntries(entries: readonly ResourceEntry[]): void {
    const defs: Definitions = {};
    for (const e of entries) if (e.custom) Object.assign(defs, customDefinitions(e));
    this.custom = defs;
    this.merged = undefined;
  }

  definitions(): Definitions {
    return (this.merged ??= { ...this.builtin, ...this.custom });
  }

  schemaFor(name: string): any {
    const d = this.custom[name] ?? this.builtin[name];
    return d ? resolveRef(d, this.definitions()) : undefined;
  }
}

/**
 * A custom kind's OpenAPI definitions as upstream's CRD OpenAPI builder publishes them: the
 * version's schema with apiVersion, kind and metadata (ObjectMeta) filled in, and its List.
 */
export function customDefinitions(e: ResourceEntry): Definitions {
  const schema = e.custom?.schema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  const gvk = (kind: string) => [{ group: e.group, kind, version: e.version }];
  const properties = { ...(schema.properties ?? {}) };
  properties.apiVersion = { description: API_VERSION_DOC, type: 'string' };
  properties.kind = { description: KIND_DOC, type: 'string' };
  properties.metadata = {
    allOf: [{ $ref: `#/components/schemas/${META}.ObjectMeta` }],
    description: "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
  };
  const def = { ...schema, type: 'object', properties, 'x-kubernetes-group-version-kind': gvk(e.kind) };
  const list = {
    description: `${e.kind}List is a list of ${e.kind}`,
    properties: {
      apiVersion: { description: API_VERSION_DOC, type: 'string' },
      items: { description: `List of ${e.plural}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md`, items: { $ref: `#/components/schemas/${e.definition}` }, type: 'array' },
      kind: { description: KIND_DOC, type: 'string' },
      metadata: { allOf: [{ $ref: `#/components/schemas/${META}.ListMeta` }], description: 'Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds' },
    },
    required: ['items'],
    type: 'object',
    'x-kubernetes-group-version-kind': gvk(e.listKind),
  };
  return { [e.definition]: def, [`${e.definition}List`]: list };
}
