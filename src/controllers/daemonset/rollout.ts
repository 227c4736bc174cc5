/**
 * The DaemonSet RollingUpdate strategy, after upstream's daemon/update.go: which old pods to delete
 * (maxUnavailable) or which nodes get a new pod beside the old one (maxSurge), given the daemon pods
 * per node. Pure decisions; the controller carries them out.
 */
import type { KubeObject } from '../../api/types.js';
import { byCreationThenName, isPodAvailable, isPodReady } from '../pods.js';
import { CONTROLLER_REVISION_HASH_LABEL } from '../history.js';

/** extensions/v1beta1's DaemonSetTemplateGenerationKey, still put on daemon pods. */
export const POD_TEMPLATE_GENERATION_LABEL = 'pod-template-generation';

/** A pod is at the DaemonSet's current revision: its hash (or, for old pods, its template generation) matches. */
export function isPodUpdated(pod: KubeObject, hash: string, templateGeneration: number | undefined): boolean {
  const labels = pod.metadata?.labels ?? {};
  const generationMatches = templateGeneration !== undefined && labels[POD_TEMPLATE_GENERATION_LABEL] === String(templateGeneration);
  const hashMatches = hash !== '' && labels[CONTROLLER_REVISION_HASH_LABEL] === hash;
  return hashMatches || generationMatches;
}

/** upstream's GetScaledValueFromIntOrPercent(v, total, roundUp=true); undefined when invalid. */
export function scaledValue(v: unknown, total: number): number | undefined {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return Number.isInteger(v) ? v : undefined;
  if (typeof v === 'string') {
    const m = /^(\d+)%$/.exec(v);
    // A string that is not a percentage is an error to intstr, even when it looks like a number.
    return m ? Math.ceil((Number(m[1]) * total) / 100) : undefined;
  }
  return undefined;
}

function rollingUpdateOf(ds: KubeObject): Record<string, unknown> | undefined {
  const s = ds.spec?.updateStrategy;
  return s?.type === 'RollingUpdate' && s.rollingUpdate && typeof s.rollingUpdate === 'object' ? s.rollingUpdate : undefined;
}

/** maxSurge out of `n` (0 unless RollingUpdate asks for it). */
export function surgeCount(ds: KubeObject, n: number): number | undefined {
  const ru = rollingUpdateOf(ds);
  return ru ? scaledValue(ru.maxSurge, n) : 0;
}

/** maxUnavailable out of `n` (0 unless RollingUpdate). */
export function unavailableCount(ds: KubeObject, n: number): number | undefined {
  const ru = rollingUpdateOf(ds);
  return ru ? scaledValue(ru.maxUnavailable, n) : 0;
}

/** Whether the DaemonSet may run two pods on a node during an update (upstream's AllowsSurge). */
export function allowsSurge(ds: KubeObject): boolean {
  return (surgeCount(ds, 1) ?? 0) > 0;
}

/**
 * The one new and one old non-terminating pod of a node; ok=false when there are more of either
 * (the manage loop prunes those first).
 */
export function findUpdatedPodsOnNode(pods: readonly KubeObject[], hash: string, generation: number | undefined): { newPod?: KubeObject; oldPod?: KubeObject; ok: boolean } {
  let newPod: KubeObject | undefined;
  let oldPod: KubeObject | undefined;
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp) continue;
    if (isPodUpdated(pod, hash, generation)) {
      if (newPod) return { ok: false };
      newPod = pod;
    } else {
      if (oldPod) return { ok: false };
      oldPod = pod;
    }
  }
  return { newPod, oldPod, ok: true };
}

/** Scheduled pods first, then oldest first, then by name (upstream's podByCreationTimestampAndPhase). */
export function compareDaemonPods(a: KubeObject, b: KubeObject): number {
  const sa = a.spec?.nodeName ? 0 : 1;
  const sb = b.spec?.nodeName ? 0 : 1;
  if (sa !== sb) return sa - sb;
  return byCreationThenName(a, b);
}

export interface RolloutInput {
  /** Daemon pods by target node; nodes that want a pod and have none map to []. */
  nodeToDaemonPods: ReadonlyMap<string, readonly KubeObject[]>;
  hash: string;
  templateGeneration: number | undefined;
  minReadySeconds: number;
  nowMs: number;
  maxSurge: number;
  maxUnavailable: number;
  desiredNumberScheduled: number;
  /** Whether the node (by name) should run a daemon pod; false for nodes that are gone. */
  shouldRun: (node: string) => boolean;
}

export interface RolloutStep {
  podsToDelete: KubeObject[];
  nodesNeedingPods: string[];
}

/** One step of the rolling update (upstream's rollingUpdate). */
export function rollingUpdateStep(i: RolloutInput): RolloutStep {
  const available = (pod: KubeObject) => isPodAvailable(pod, i.minReadySeconds, i.nowMs);
  if (i.maxSurge === 0) {
    // Delete just enough old pods to stay within maxUnavailable; the manage loop creates their successors.
    let numUnavailable = 0;
    const allowedReplacements: KubeObject[] = [];
    const candidates: KubeObject[] = [];
    for (const pods of i.nodeToDaemonPods.values()) {
      const { newPod, oldPod, ok } = findUpdatedPodsOnNode(pods, i.hash, i.templateGeneration);
      if (!ok) {
        numUnavailable++;
        continue;
      }
      if ((!oldPod && !newPod) || (oldPod && newPod)) {
        numUnavailable++;
      } else if (newPod) {
        if (!available(newPod)) numUnavailable++;
      } else if (oldPod) {
        if (!available(oldPod)) {
          allowedReplacements.push(oldPod);
          numUnavailable++;
        } else if (numUnavailable < i.maxUnavailable) {
          candidates.push(oldPod);
        }
      }
    }
    const remaining = Math.min(Math.max(i.maxUnavailable - numUnavailable, 0), candidates.length);
    return { podsToDelete: [...allowedReplacements, ...candidates.slice(0, remaining)], nodesNeedingPods: [] };
  }

  // Surging: a new pod beside each old one, at most maxSurge at once; an old pod goes once its successor is available.
  const podsToDelete: KubeObject[] = [];
  const shouldNotRun: KubeObject[] = [];
  const candidateNodes: string[] = [];
  const allowedNodes: string[] = [];
  let numSurge = 0;
  let numAvailable = 0;
  for (const [node, pods] of i.nodeToDaemonPods) {
    const { newPod, oldPod, ok } = findUpdatedPodsOnNode(pods, i.hash, i.templateGeneration);
    if (!ok) {
      numSurge++;
      continue;
    }
    if (oldPod) {
      if (available(oldPod)) numAvailable++;
    } else if (newPod && available(newPod)) {
      numAvailable++;
    }
    if (!oldPod) continue;
    if (!newPod) {
      if (!available(oldPod)) {
        if (!i.shouldRun(node)) podsToDelete.push(oldPod);
        else allowedNodes.push(node);
        continue;
      }
      if (!i.shouldRun(node)) {
        shouldNotRun.push(oldPod);
        continue;
      }
      if (numSurge >= i.maxSurge) continue;
      candidateNodes.push(node);
      continue;
    }
    if (!available(newPod)) {
      numSurge++;
      continue;
    }
    podsToDelete.push(oldPod);
  }
  // Pods on nodes that should no longer run one go only once as many are available elsewhere.
  const deletable = Math.min(numAvailable - i.desiredNumberScheduled, shouldNotRun.length);
  if (deletable > 0) podsToDelete.push(...shouldNotRun.slice(0, deletable));
  const remainingSurge = Math.min(Math.max(i.maxSurge - numSurge, 0), candidateNodes.length);
  return { podsToDelete, nodesNeedingPods: [...allowedNodes, ...candidateNodes.slice(0, remainingSurge)] };
}

/** Whether the ready pod is also available (for status: numberAvailable counts only ready pods). */
export function readyAndAvailable(pod: KubeObject, minReadySeconds: number, nowMs: number): { ready: boolean; available: boolean } {
  const ready = isPodReady(pod);
  return { ready, available: ready && isPodAvailable(pod, minReadySeconds, nowMs) };
}
