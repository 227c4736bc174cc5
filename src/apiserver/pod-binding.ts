/**
 * The `pods/binding` subresource, after upstream's BindingREST: the scheduler's one way to put a pod
 * on a node. A Binding names the pod and its target node; the pod gets `spec.nodeName` and a
 * `PodScheduled=True` condition in one compare-and-swap, and a pod that is already bound, being
 * deleted, or still gated is a 409 — so two schedulers racing for one pod cannot both win.
 */
import type { KubeObject, ResourceEntry } from '../api/types.js';
import { causes, errors, type StatusCause } from '../api/errors.js';
import type { ResourceStore, WriteContext } from './resource-store.js';

export function validateBinding(body: unknown, podName: string): { node: string; annotations: Record<string, string>; uid?: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw errors.badRequest('the body of a binding must be a Binding object');
  const b = body as KubeObject & { target?: { kind?: unknown; name?: unknown } };
  const name = b.metadata?.name ?? '';
  if (name !== '' && name !== podName) throw errors.badRequest(`the name of the object (${name}) does not match the name on the URL (${podName})`);
  const found: StatusCause[] = [];
  const target = b.target;
  if (typeof target !== 'object' || target === null) {
    found.push(causes.required('target.name'));
  } else {
    if (target.kind !== undefined && target.kind !== '' && target.kind !== 'Node') found.push(causes.notSupported('target.kind', target.kind, ['Node']));
    if (typeof target.name !== 'string' || target.name === '') found.push(causes.required('target.name'));
  }
  if (found.length > 0) throw errors.invalid('', 'Binding', podName, found);
  const annotations = (b.metadata?.annotations ?? {}) as Record<string, string>;
  return { node: String((target as { name: string }).name), annotations, uid: b.metadata?.uid };
}

/** Binds pod `name` to the Binding's node; answers upstream's Success Status. */
export async function bindPod(resources: ResourceStore, pods: ResourceEntry, namespace: string, name: string, body: unknown, ctx: WriteContext): Promise<KubeObject> {
  const binding = validateBinding(body, name);
  const conflict = (why: string) => errors.conflict('', 'pods/binding', name, why);
  await resources.patch(
    pods,
    namespace,
    name,
    (pod) => {
      if (binding.uid && pod.metadata?.uid !== binding.uid) {
        throw conflict(`Precondition failed: UID in precondition: ${binding.uid}, UID in object meta: ${pod.metadata?.uid ?? ''}`);
      }
      if (pod.metadata?.deletionTimestamp) throw conflict(`pod ${name} is being deleted, cannot be assigned to a host`);
      if (pod.spec?.nodeName) throw conflict(`pod ${name} is already assigned to node "${pod.spec.nodeName}"`);
      if ((pod.spec?.schedulingGates?.length ?? 0) > 0) throw conflict(`pod ${name} has non-empty .spec.schedulingGates`);
      pod.spec = { ...pod.spec, nodeName: binding.node };
      if (Object.keys(binding.annotations).length > 0) pod.metadata = { ...pod.metadata, annotations: { ...pod.metadata?.annotations, ...binding.annotations } };
      const conditions = [...((pod.status?.conditions ?? []) as Record<string, unknown>[])];
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      const scheduled = { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now };
      const at = conditions.findIndex((c) => c.type === 'PodScheduled');
      if (at < 0) conditions.push(scheduled);
      else if (conditions[at].status !== 'True') conditions[at] = scheduled;
      pod.status = { ...pod.status, conditions };
      return pod;
    },
    ctx,
    'binding',
  );
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 } as unknown as KubeObject;
}
