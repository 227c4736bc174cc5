/**
 * The order in which a controller gives up active pods, after upstream's controller.ActivePods:
 * the least progressed first, so deleting the head of the list costs the least work.
 */
import type { KubeObject } from '../../api/types.js';
import { isPodReady, parseTime, podCondition } from '../pods.js';

const PHASE_ORDER: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/** Upstream's afterOrZero: a zero time sorts first, then the later time. */
function afterOrZero(a: number | undefined, b: number | undefined): boolean {
  if (a === undefined || b === undefined) return a === undefined;
  return a > b;
}

function maxRestarts(pod: KubeObject): number {
  let max = 0;
  for (const s of (pod.status?.containerStatuses as { restartCount?: number }[] | undefined) ?? []) max = Math.max(max, s.restartCount ?? 0);
  return max;
}

/** True when `a` should go before `b`. */
function less(a: KubeObject, b: KubeObject): boolean {
  // 1. Unassigned < assigned.
  const na = a.spec?.nodeName ?? '';
  const nb = b.spec?.nodeName ?? '';
  if (na !== nb && (na === '' || nb === '')) return na === '';
  // 2. Pending < Unknown < Running.
  const pa = PHASE_ORDER[a.status?.phase] ?? 0;
  const pb = PHASE_ORDER[b.status?.phase] ?? 0;
  if (pa !== pb) return pa < pb;
  // 3. Not ready < ready.
  const ra = isPodReady(a);
  const rb = isPodReady(b);
  if (ra !== rb) return !ra;
  // 4. Ready for less time < ready for longer.
  if (ra && rb) {
    const ta = parseTime(podCondition(a, 'Ready')?.lastTransitionTime);
    const tb = parseTime(podCondition(b, 'Ready')?.lastTransitionTime);
    if (ta !== tb) return afterOrZero(ta, tb);
  }
  // 5. More container restarts < fewer.
  const ma = maxRestarts(a);
  const mb = maxRestarts(b);
  if (ma !== mb) return ma > mb;
  // 6. Newer < older.
  const ca = parseTime(a.metadata?.creationTimestamp);
  const cb = parseTime(b.metadata?.creationTimestamp);
  if (ca !== cb) return afterOrZero(ca, cb);
  return false;
}

export function compareActivePodsForRemoval(a: KubeObject, b: KubeObject): number {
  return less(a, b) ? -1 : less(b, a) ? 1 : 0;
}
