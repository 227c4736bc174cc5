/**
 * The rules of a custom resource, from its CRD version: upstream's customResourceStrategy and the
 * apiextensions-apiserver's decoding (pruning, defaulting, ObjectMeta decoding), as KindRules hooks.
 */
import type { CustomResourceInfo, KubeObject, Strategy } from '../../api/types.js';
import { applyDefaults, pruneUnknownFields, validateCustomResource } from '../../api/crd/index.js';
import { validateCelRules } from '../../api/cel/crd-rules.js';
import { checkAgainstSchema, type FieldValidation } from '../../api/validation/schema-check.js';
import type { SchemaCheckResult } from '../kind-rules.js';
import { deepEqual } from '../objects.js';

const OBJECT_META_ROOT = { type: 'object', properties: { metadata: { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' } } };

/** Upstream's customResourceStrategy for one served version. */
export function customResourceStrategy(info: CustomResourceInfo, hasStatus: boolean): Strategy {
  const schema = info.schema;
  const validate = (obj: KubeObject, old?: KubeObject) => (schema ? [...validateCustomResource(obj, schema), ...validateCelRules(obj, old, schema)] : []);
  return {
    default(obj) {
      if (schema) applyDefaults(obj, schema);
    },
    prepareForCreate(obj) {
      // With a status subresource, status is written only through it.
      if (hasStatus) delete obj.status;
      obj.metadata!.generation = 1;
    },
    prepareForUpdate(obj, old) {
      // Generation counts every change outside metadata (and outside status when status is a subresource).
      if (!deepEqual(content(obj, hasStatus), content(old, hasStatus))) obj.metadata!.generation = (old.metadata?.generation ?? 0) + 1;
      else obj.metadata!.generation = old.metadata?.generation ?? 1;
    },
    validate,
    validateStatusUpdate: validate,
  };
}

function content(obj: KubeObject, hasStatus: boolean): KubeObject {
  const { metadata: _m, status: _s, ...rest } = obj;
  return hasStatus ? rest : { ...rest, status: _s };
}

/**
 * Decoding a custom resource: ObjectMeta as a typed struct (unknown metadata fields dropped and
 * reported, type errors are 400s), everything else pruned by the schema. Unknown fields come back
 * as upstream reports them under fieldValidation (`unknown field "spec.foo"`).
 */
export function checkCustomResource(info: CustomResourceInfo, obj: KubeObject, fieldValidation: FieldValidation, defs: Record<string, any>): SchemaCheckResult {
  const meta = checkAgainstSchema({ metadata: obj.metadata }, OBJECT_META_ROOT, defs, { fieldValidation });
  obj.metadata = (meta.pruned as KubeObject).metadata ?? {};
  const pruned = info.schema ? pruneUnknownFields(obj, info.schema) : [];
  return { typeErrors: meta.typeErrors, unknownFields: [...meta.unknownFields, ...(fieldValidation === 'Ignore' ? [] : pruned)], object: obj };
}
