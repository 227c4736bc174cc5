/**
 * Writing a pod worker's view to the API, as the kubelet's status manager does: the status fields
 * the kubelet owns, written through the status subresource only when they differ from what is
 * stored, guarded by the pod's UID (a JSON patch `test`), and, once a deleted pod is torn down and
 * its terminal status stored, the final delete with grace 0 and a UID precondition. Simulated and
 * real pod workers share it; each says what the status should be.
 */
import type { KubeObject } from '../../api/types.js';
import { ApiError } from '../../api/errors.js';
import type { Client } from '../../client/interface.js';
import { PODS } from '../../controllers/pods.js';
import { deepEqual } from '../../api/json.js';
import { isTerminalPhase, ownedStatus } from './pod-status.js';

const WRITE_RETRY_BASE_MS = 50;
const WRITE_RETRY_MAX_MS = 5000;

export interface PodSyncOwner {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  /** The newest copy of the pod the worker has. */
  pod(): KubeObject;
  adoptWritten(pod: KubeObject): void;
  /** The status as it should be now, or undefined when there is nothing to write yet. */
  desiredStatus(): Record<string, unknown> | undefined;
  hasInitContainers(): boolean;
  /** Containers stopped and sandbox released: a terminal phase may go out. */
  killed(): boolean;
  /** Asks for another write after `ms` (a retry). */
  retryAfter(ms: number): void;
  log(message: string): void;
}

export class PodStatusSync {
  private deleteSent = false;
  private failures = 0;
  private lastWritten: { status: Record<string, unknown>; rv: string } | undefined;

  constructor(
    private readonly client: Client,
    private readonly owner: PodSyncOwner,
  ) {}

  /** One turn at the status writer: the status if it changed, then the final delete when due. */
  async flush(): Promise<void> {
    const o = this.owner;
    let pod = o.pod();
    // A stored terminal phase is final: the kubelet never writes over it.
    if (!isTerminalPhase(pod.status?.phase)) {
      const desired = o.desiredStatus();
      // A terminal phase goes out once the pod is torn down (sandbox gone), in one final write.
      const early = desired !== undefined && isTerminalPhase(desired.phase) && !o.killed();
      if (desired && !early && !this.alreadyStored(pod, desired)) {
        const ops = [
          { op: 'test', path: '/metadata/uid', value: o.uid },
          ...(pod.status ? Object.entries(desired).map(([k, v]) => ({ op: 'add', path: `/status/${k}`, value: v })) : [{ op: 'add', path: '/status', value: desired }]),
        ];
        try {
          const updated = await this.client.patch(PODS, o.namespace, o.name, 'application/json-patch+json', ops, { subresource: 'status' });
          this.failures = 0;
          this.lastWritten = { status: desired, rv: updated.metadata?.resourceVersion ?? '' };
          o.adoptWritten(updated);
          pod = o.pod();
        } catch (err) {
          this.failed(err);
          return;
        }
      }
    }
    if (o.killed() && pod.metadata?.deletionTimestamp && !this.deleteSent) {
      // Only once the terminal status is stored: controllers (the Job controller's finalizer) read it.
      if (!isTerminalPhase(pod.status?.phase)) return;
      this.deleteSent = true;
      try {
        await this.client.delete(PODS, o.namespace, o.name, { gracePeriodSeconds: 0, preconditions: { uid: o.uid } });
      } catch (err) {
        // 404: gone already; 409: the name now belongs to another pod. Either way this pod is done.
        if (err instanceof ApiError && (err.code === 404 || err.code === 409)) return;
        this.deleteSent = false;
        this.failed(err);
      }
    }
  }

  /** Whether `desired` is what the API already holds (or what we last wrote, if nothing newer was seen since). */
  private alreadyStored(pod: KubeObject, desired: Record<string, unknown>): boolean {
    if (deepEqual(withoutNulls(desired), withoutNulls(ownedStatus(pod.status, this.owner.hasInitContainers())))) return true;
    const w = this.lastWritten;
    return w !== undefined && w.rv === (pod.metadata?.resourceVersion ?? '') && deepEqual(desired, w.status);
  }

  private failed(err: unknown): void {
    if (err instanceof ApiError && err.code === 404) return; // the informer will say it is gone
    // The UID test failed: the name belongs to another pod now. The informer will say so.
    if (err instanceof ApiError && err.code === 422 && this.owner.pod().metadata?.uid !== this.owner.uid) return;
    const delay = Math.min(WRITE_RETRY_BASE_MS * 2 ** this.failures++, WRITE_RETRY_MAX_MS);
    if (!(err instanceof ApiError && (err.code === 409 || err.code === 422))) {
      this.owner.log(`pod ${this.owner.namespace}/${this.owner.name}: status write failed (retrying in ${delay} ms): ${(err as Error).message}`);
    }
    this.owner.retryAfter(delay);
  }
}

/**
 * `v` without object members that are null: the store drops them (lastProbeTime: null, say), and a
 * status that differs from the stored one only there is the same status.
 */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = withoutNulls(x);
  return out;
}

/** Whether `a` is at least as new as `b` (resourceVersions are the store's revision). */
export function newer(a: KubeObject, b: KubeObject): boolean {
  const ra = Number(a.metadata?.resourceVersion);
  const rb = Number(b.metadata?.resourceVersion);
  if (!Number.isFinite(ra) || !Number.isFinite(rb)) return true;
  return ra >= rb;
}
