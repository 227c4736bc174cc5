/**
 * Upstream's admission.NewForbidden: `<resource>[.<group>] "<name>" is forbidden: <why>`, 403, with
 * the name of the object being written (its generateName while it has no name yet).
 */
import { ApiError, qualifiedResource, type StatusCause } from '../../api/errors.js';
import type { KubeObject, ResourceEntry } from '../../api/types.js';

export function admissionForbidden(a: { entry: ResourceEntry; obj: KubeObject }, why: string, causes?: StatusCause[]): ApiError {
  const name = a.obj.metadata?.name || a.obj.metadata?.generateName || 'Unknown';
  const resource = qualifiedResource(a.entry.group, a.entry.plural);
  return new ApiError(403, 'Forbidden', `${resource} "${name}" is forbidden: ${why}`, {
    name,
    group: a.entry.group || undefined,
    kind: a.entry.plural,
    ...(causes ? { causes } : {}),
  });
}

/** Go's utilerrors.NewAggregate(...).Error(): one message bare, several in brackets, duplicates once. */
export function aggregateMessage(messages: string[]): string {
  const seen = [...new Set(messages)];
  return seen.length === 1 ? seen[0] : `[${seen.join(', ')}]`;
}
