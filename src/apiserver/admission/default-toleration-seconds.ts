/**
 * DefaultTolerationSeconds, as upstream's admission plugin: every new pod that does not already
 * tolerate `node.kubernetes.io/not-ready` and `node.kubernetes.io/unreachable` (NoExecute) gets a
 * toleration for each with tolerationSeconds 300, so a node that stops reporting has five minutes
 * to come back before its pods are evicted. (Upstream also runs on updates; since tolerations can
 * only be added, never removed, the ones added at create are always still there.) A mutating
 * plugin, as upstream: the tolerations it adds are validated with the rest of the pod.
 */
import type { AdmissionPlugin } from './types.js';

const NOT_READY = 'node.kubernetes.io/not-ready';
const UNREACHABLE = 'node.kubernetes.io/unreachable';

interface Toleration {
  key?: string;
  operator?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export function defaultTolerationSeconds(notReadySeconds = 300, unreachableSeconds = 300): AdmissionPlugin {
  return {
    name: 'DefaultTolerationSeconds',
    async mutate(a) {
      if (a.operation !== 'CREATE' || a.entry.group !== '' || a.entry.plural !== 'pods') return;
      const spec = (a.obj.spec ??= {}) as { tolerations?: Toleration[] };
      const tolerations = spec.tolerations ?? [];
      const tolerates = (key: string) => tolerations.some((t) => (!t.key || t.key === key) && (!t.effect || t.effect === 'NoExecute'));
      const added: Toleration[] = [];
      if (!tolerates(NOT_READY)) added.push({ key: NOT_READY, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: notReadySeconds });
      if (!tolerates(UNREACHABLE)) added.push({ key: UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: unreachableSeconds });
      if (added.length > 0) spec.tolerations = [...tolerations, ...added];
    },
  };
}
