/**
 * What the scheduler writes to pods besides bindings: the PodScheduled condition and
 * nominatedNodeName of pods it could not place (level-based: only what changed), and the eviction of
 * preemption victims (a DisruptionTarget condition, a graceful delete, a Preempted event), as
 * upstream's handleSchedulingFailure and preemption Evaluator do.
 */
import type { KubeObject } from '../api/types.js';
import { ApiError } from '../api/errors.js';
import type { Client } from '../client/interface.js';
import type { EventRecorder } from '../client/events.js';
import { PODS, podCondition, rfc3339 } from '../controllers/pods.js';
import type { PodInfo } from './pod-info.js';

export class PodWriter {
  /** Status patches in flight, by pod key: an identical one is not sent twice. */
  private readonly inFlight = new Map<string, string>();
  stopped = false;

  constructor(
    private readonly client: Client,
    private readonly recorder: EventRecorder,
    private readonly schedulerName: string,
    private readonly now: () => number,
    private readonly log: (message: string) => void,
  ) {}

  /**
   * Sets PodScheduled=False with `reason` and `message`, and nominatedNodeName ('' clears it,
   * undefined leaves it), when the pod does not already say so.
   */
  notScheduled(pod: KubeObject, reason: string, message: string, nominated: string | undefined): void {
    const cond = podCondition(pod, 'PodScheduled');
    const condChanged = !(cond && cond.status === 'False' && cond.reason === reason && cond.message === message);
    const current = typeof pod.status?.nominatedNodeName === 'string' ? pod.status.nominatedNodeName : '';
    const nominationChanged = nominated !== undefined && current !== nominated;
    if (!condChanged && !nominationChanged) return;
    const status: Record<string, unknown> = {};
    if (condChanged) {
      // As UpdatePodCondition: the transition time moves only when the status does.
      const since = cond?.status === 'False' && cond.lastTransitionTime ? cond.lastTransitionTime : rfc3339(this.now());
      status.conditions = [{ type: 'PodScheduled', status: 'False', lastProbeTime: null, lastTransitionTime: since, reason, message }];
    }
    if (nominationChanged) status.nominatedNodeName = nominated === '' ? null : nominated;
    this.patchStatus(pod, { status });
  }

  clearNomination(pod: KubeObject): void {
    if (pod.status?.nominatedNodeName) this.patchStatus(pod, { status: { nominatedNodeName: null } });
  }

  /** Evicts a preemption victim: DisruptionTarget condition, graceful delete, Preempted event. */
  evict(victim: PodInfo, preemptor: PodInfo, node: string): void {
    const condition = {
      type: 'DisruptionTarget',
      status: 'True',
      lastProbeTime: null,
      lastTransitionTime: rfc3339(this.now()),
      reason: 'PreemptionByScheduler',
      message: `${this.schedulerName}: preempting to accommodate a higher priority pod`,
    };
    void (async () => {
      try {
        await this.client.patch(PODS, victim.namespace, victim.name, 'application/strategic-merge-patch+json', { status: { conditions: [condition] } }, { subresource: 'status' });
        await this.client.delete(PODS, victim.namespace, victim.name);
        this.recorder.event(victim.pod, 'Normal', 'Preempted', `Preempted by pod ${preemptor.uid} on node ${node}`);
      } catch (err) {
        // Gone already: the room is free all the same.
        if (!(err instanceof ApiError && err.code === 404) && !this.stopped) this.log(`preempting pod ${victim.key}: ${(err as Error).message}`);
      }
    })();
  }

  private patchStatus(pod: KubeObject, patch: unknown): void {
    const ns = pod.metadata?.namespace ?? '';
    const name = pod.metadata?.name ?? '';
    const key = `${ns}/${name}`;
    const sig = JSON.stringify(patch);
    if (this.inFlight.get(key) === sig) return;
    this.inFlight.set(key, sig);
    this.client
      .patch(PODS, ns, name, 'application/strategic-merge-patch+json', patch, { subresource: 'status' })
      .catch((err) => {
        // A pod deleted meanwhile needs no status; the next attempt writes what is still true.
        if (!(err instanceof ApiError && (err.code === 404 || err.code === 409)) && !this.stopped) this.log(`updating status of pod ${key}: ${(err as Error).message}`);
      })
      .finally(() => {
        if (this.inFlight.get(key) === sig) this.inFlight.delete(key);
      });
  }
}
