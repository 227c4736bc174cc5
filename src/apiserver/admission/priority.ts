/**
 * Priority admission, after upstream's plugin/pkg/admission/priority: a new pod's priorityClassName
 * is resolved to spec.priority and spec.preemptionPolicy (the global default class when it names
 * none, priority 0 when there is no default), a class that does not exist is refused, and so is a
 * priority or preemption policy the client set that differs from its class's. Updates keep what
 * create resolved. For PriorityClasses it allows one globalDefault only.
 *
 * Upstream no longer limits the two system classes to kube-system (1.17 moved that to quota's
 * limitedResources configuration), so neither does this.
 */
import type { KubeObject, ResourceEntry } from '../../api/types.js';
import { decodeStored, type WatchCache } from '../watch-cache.js';
import { ApiError } from '../../api/errors.js';
import type { Store } from '../../storage/store.js';
import type { ResourceStore } from '../resource-store.js';
import { newWriteContext } from '../resource-store.js';
import type { AdmissionPlugin } from './types.js';
import { admissionForbidden } from './forbidden.js';

const PRIORITY_CLASS_PREFIX = '/registry/scheduling.k8s.io/priorityclasses/';

/** The classes every cluster has, created by the API server at start (upstream's post-start hook). */
export const SYSTEM_PRIORITY_CLASSES: readonly KubeObject[] = [
  {
    apiVersion: 'scheduling.k8s.io/v1',
    kind: 'PriorityClass',
    metadata: { name: 'system-node-critical' },
    value: 2000001000,
    description: 'Used for system critical pods that must not be moved from their current node.',
  },
  {
    apiVersion: 'scheduling.k8s.io/v1',
    kind: 'PriorityClass',
    metadata: { name: 'system-cluster-critical' },
    value: 2000000000,
    description: 'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.',
  },
];

/** Creates the system priority classes that are missing; another API server creating them first is fine. */
export async function ensureSystemPriorityClasses(resources: ResourceStore, entry: ResourceEntry): Promise<void> {
  for (const pc of SYSTEM_PRIORITY_CLASSES) {
    try {
      await resources.get(entry, '', pc.metadata!.name!);
      continue;
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 404)) throw err;
    }
    try {
      await resources.create(entry, '', structuredClone(pc), newWriteContext());
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 409)) throw err;
    }
  }
}

export function priorityAdmission(store: Store, cache: WatchCache): AdmissionPlugin {
  const classes = () => cache.resource(PRIORITY_CLASS_PREFIX).objects;

  /** The global default with the lowest value, as upstream picks when a race made several. */
  function defaultClass(): KubeObject | undefined {
    let best: KubeObject | undefined;
    for (const c of classes().values()) {
      if (c.obj.globalDefault === true && (!best || (best.value ?? 0) > (c.obj.value ?? 0))) best = c.obj;
    }
    return best;
  }

  return {
    name: 'Priority',
    // Defaults objects, so it runs in the mutating phase (its checks with it).
    async mutate(a) {
      if (a.operation !== 'CREATE' && a.operation !== 'UPDATE') return;
      if (a.subresource) return;
      if (a.entry.group === 'scheduling.k8s.io' && a.entry.plural === 'priorityclasses') {
        if (a.obj.globalDefault !== true) return;
        const dpc = defaultClass();
        if (dpc && (a.operation === 'CREATE' || dpc.metadata?.name !== a.obj.metadata?.name)) {
          throw admissionForbidden(a, `PriorityClass ${dpc.metadata?.name} is already marked as default. Only one default can exist`);
        }
        return;
      }
      if (a.entry.group !== '' || a.entry.plural !== 'pods') return;
      const spec = (a.obj.spec ??= {});
      if (a.operation === 'UPDATE') {
        // Validation forbids changing them; a client that left them out keeps what create resolved.
        if (spec.priority === undefined && a.old?.spec?.priority !== undefined) spec.priority = a.old.spec.priority;
        if (spec.preemptionPolicy === undefined && a.old?.spec?.preemptionPolicy !== undefined) spec.preemptionPolicy = a.old.spec.preemptionPolicy;
        return;
      }
      let priority: number;
      let policy: string | undefined;
      if (!spec.priorityClassName) {
        const dpc = defaultClass();
        if (dpc) {
          spec.priorityClassName = dpc.metadata?.name;
          priority = typeof dpc.value === 'number' ? dpc.value : 0;
          policy = dpc.preemptionPolicy;
        } else {
          priority = 0;
          policy = 'PreemptLowerPriority';
        }
      } else {
        const key = PRIORITY_CLASS_PREFIX + spec.priorityClassName;
        // The store answers for a class created a moment ago that the cache has yet to see.
        let pc = classes().get(key)?.obj;
        if (!pc) {
          const kv = await store.get(key);
          if (kv) pc = decodeStored(kv).obj;
        }
        if (!pc) throw admissionForbidden(a, `no PriorityClass with name ${spec.priorityClassName} was found`);
        priority = typeof pc.value === 'number' ? pc.value : 0;
        policy = pc.preemptionPolicy;
      }
      if (spec.priority !== undefined && spec.priority !== null && spec.priority !== priority) {
        throw admissionForbidden(
          a,
          `the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${priority} from the given PriorityClass name`,
        );
      }
      spec.priority = priority;
      if (policy !== undefined) {
        if (spec.preemptionPolicy !== undefined && spec.preemptionPolicy !== null && spec.preemptionPolicy !== policy) {
          throw admissionForbidden(
            a,
            `the string value of PreemptionPolicy (${spec.preemptionPolicy}) must not be provided in pod spec; priority admission controller computed ${policy} from the given PriorityClass name`,
          );
        }
        spec.preemptionPolicy = policy;
      }
    },
  };
}
