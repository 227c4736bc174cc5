/**
 * Creating and deleting pods on behalf of a workload, after upstream's RealPodControl: pods made
 * from the owner's template (labels, annotations, finalizers and spec copied; a controller
 * reference to the owner; `generateName` from the owner's name), with `SuccessfulCreate` /
 * `FailedCreate` / `SuccessfulDelete` / `FailedDelete` events on the owner.
 */
import type { KubeObject, OwnerReference } from '../api/types.js';
import type { Client } from '../client/interface.js';
import type { EventRecorder } from '../client/events.js';
import { ApiError } from '../api/errors.js';
import { PODS } from './pods.js';

export interface PodOverrides {
  /** A fixed name (StatefulSet); otherwise `generateName` is `<owner>-`. */
  name?: string;
  generateName?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Extra spec fields (a DaemonSet's node affinity, a Job's hostname). */
  spec?: Record<string, unknown>;
}

/** A pod from `template`, owned by `owner`: upstream's GetPodFromTemplate. */
export function podFromTemplate(template: KubeObject, owner: KubeObject, controllerRef: OwnerReference, o: PodOverrides = {}): KubeObject {
  const tm = template.metadata ?? {};
  const metadata: KubeObject['metadata'] = {
    labels: { ...tm.labels, ...o.labels },
    annotations: { ...tm.annotations, ...o.annotations },
    ownerReferences: [controllerRef],
    namespace: owner.metadata?.namespace,
  };
  if (tm.finalizers) metadata.finalizers = [...tm.finalizers];
  if (o.name) metadata.name = o.name;
  else metadata.generateName = o.generateName ?? `${owner.metadata?.name}-`;
  if (Object.keys(metadata.annotations!).length === 0) delete metadata.annotations;
  if (Object.keys(metadata.labels!).length === 0) delete metadata.labels;
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec: { ...structuredClone(template.spec ?? {}), ...o.spec } };
}

export class PodControl {
  constructor(
    private readonly client: Client,
    private readonly recorder: EventRecorder,
  ) {}

  /** Creates a pod for `owner`; events say how it went; errors are rethrown for the caller's retry. */
  async create(owner: KubeObject, template: KubeObject, controllerRef: OwnerReference, o: PodOverrides = {}): Promise<KubeObject> {
    const pod = podFromTemplate(template, owner, controllerRef, o);
    const ns = owner.metadata!.namespace!;
    try {
      const created = await this.client.create(PODS, ns, pod);
      this.recorder.event(owner, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata!.name}`);
      return created;
    } catch (err) {
      // A terminating namespace refuses pods: that is not worth an event (upstream skips it too).
      if (!(err instanceof ApiError && err.code === 403 && err.message.includes('being terminated'))) {
        this.recorder.event(owner, 'Warning', 'FailedCreate', `Error creating: ${(err as Error).message}`);
      }
      throw err;
    }
  }

  /**
   * Deletes `pod` of `owner`; a pod already gone counts as deleted, and resolves false (so callers
   * waiting on expectations know no deletion event of theirs is coming).
   */
  async delete(owner: KubeObject, pod: KubeObject): Promise<boolean> {
    const name = pod.metadata!.name!;
    try {
      await this.client.delete(PODS, pod.metadata!.namespace!, name, { preconditions: { uid: pod.metadata!.uid } });
      this.recorder.event(owner, 'Normal', 'SuccessfulDelete', `Deleted pod: ${name}`);
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return false;
      this.recorder.event(owner, 'Warning', 'FailedDelete', `Error deleting: ${(err as Error).message}`);
      throw err;
    }
  }
}
