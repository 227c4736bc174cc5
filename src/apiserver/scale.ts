/** The scale subresource: an autoscaling/v1 Scale view of any kind whose entry declares one. */
import type { KubeObject, ResourceEntry } from '../api/types.js';
import { errors } from '../api/errors.js';
import { labelSelectorToString } from '../api/selectors.js';

function readPath(obj: KubeObject, path: string): unknown {
  let cur: any = obj;
  for (const p of path.split('.').filter(Boolean)) cur = cur?.[p];
  return cur;
}

function writePath(obj: KubeObject, path: string, value: unknown): void {
  const parts = path.split('.').filter(Boolean);
  let cur: any = obj;
  for (const p of parts.slice(0, -1)) cur = cur[p] ??= {};
  cur[parts[parts.length - 1]] = value;
}

export function scaleOf(entry: ResourceEntry, obj: KubeObject): KubeObject {
  const spec = entry.subresources.scale!;
  const m = obj.metadata ?? {};
  const selector = obj.spec?.selector;
  const status: Record<string, unknown> = { replicas: Number(readPath(obj, spec.statusReplicasPath) ?? 0) };
  if (entry.custom) {
    // A custom resource names where its selector lives, already in string form (labelSelectorPath).
    const sel = spec.labelSelectorPath ? readPath(obj, spec.labelSelectorPath) : undefined;
    if (typeof sel === 'string') status.selector = sel;
  } else if (selector && typeof selector === 'object') {
    // Built-in kinds keep a structured selector in spec; the Scale carries it in string form.
    status.selector = 'matchLabels' in selector || 'matchExpressions' in selector ? labelSelectorToString(selector) : labelSelectorToString({ matchLabels: selector });
  }
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: Number(readPath(obj, spec.specReplicasPath) ?? 0) },
    status,
  };
}

/** Writes a Scale's desired replicas back into the object (PUT or PATCH on /scale). */
export function applyScale(entry: ResourceEntry, current: KubeObject, scaleBody: unknown): KubeObject {
  if (typeof scaleBody !== 'object' || scaleBody === null) throw errors.badRequest('the body of a scale request must be a Scale object');
  const scale = scaleBody as KubeObject;
  if (scale.kind !== undefined && scale.kind !== 'Scale') throw errors.badRequest(`the kind in the data (${String(scale.kind)}) does not match the expected kind (Scale)`);
  const replicas = scale.spec?.replicas ?? 0;
  if (!Number.isInteger(replicas)) throw errors.badRequest('json: cannot unmarshal into Go struct field ScaleSpec.spec.replicas of type int32');
  if (replicas < 0) {
    throw errors.invalid('autoscaling', 'Scale', current.metadata?.name ?? '', [
      { reason: 'FieldValueInvalid', field: 'spec.replicas', message: `Invalid value: ${replicas}: must be greater than or equal to 0` },
    ]);
  }
  const rv = scale.metadata?.resourceVersion;
  if (rv && rv !== current.metadata?.resourceVersion) {
    throw errors.conflict(entry.group, entry.plural, current.metadata?.name ?? '', 'the object has been modified; please apply your changes to the latest version and try again');
  }
  const next = structuredClone(current);
  writePath(next, entry.subresources.scale!.specReplicasPath, replicas);
  return next;
}
