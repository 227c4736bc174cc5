/**
 * Conversions between versions that share stored objects. Each stored kind has one storage
 * version; requests in another version are converted on the way in and out, as upstream does
 * through its internal version.
 *
 * - events.k8s.io/v1 Event is stored as core/v1 Event (upstream keeps both under /registry/events).
 * - autoscaling/v1 HorizontalPodAutoscaler is stored as autoscaling/v2.
 */
import type { KubeObject } from './types.js';

export interface Conversion {
  /** apiVersion/kind of the storage version. */
  storageApiVersion: string;
  storageKind: string;
  toStorage(obj: KubeObject): KubeObject;
  fromStorage(obj: KubeObject): KubeObject;
}

function rename(src: Record<string, any>, pairs: [string, string][], into: Record<string, any>): void {
  for (const [from, to] of pairs) if (src[from] !== undefined) into[to] = src[from];
}

/** core/v1 field ↔ events.k8s.io/v1 field (pkg/apis/events/v1 conversion upstream). */
const EVENT_FIELDS: [string, string][] = [
  ['involvedObject', 'regarding'],
  ['related', 'related'],
  ['message', 'note'],
  ['reason', 'reason'],
  ['type', 'type'],
  ['action', 'action'],
  ['eventTime', 'eventTime'],
  ['series', 'series'],
  ['reportingComponent', 'reportingController'],
  ['reportingInstance', 'reportingInstance'],
  ['source', 'deprecatedSource'],
  ['firstTimestamp', 'deprecatedFirstTimestamp'],
  ['lastTimestamp', 'deprecatedLastTimestamp'],
  ['count', 'deprecatedCount'],
];

const eventsV1: Conversion = {
  storageApiVersion: 'v1',
  storageKind: 'Event',
  toStorage(obj) {
    const out: KubeObject = { apiVersion: 'v1', kind: 'Event', metadata: obj.metadata };
    rename(obj, EVENT_FIELDS.map(([a, b]) => [b, a]), out);
    return out;
  },
  fromStorage(obj) {
    const out: KubeObject = { apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: obj.metadata };
    rename(obj, EVENT_FIELDS, out);
    return out;
  },
};

const CPU_ANNOTATION = 'autoscaling.alpha.kubernetes.io/metrics';

const hpaV1: Conversion = {
  storageApiVersion: 'autoscaling/v2',
  storageKind: 'HorizontalPodAutoscaler',
  toStorage(obj) {
    const spec = obj.spec ?? {};
    const v2spec: Record<string, unknown> = { scaleTargetRef: spec.scaleTargetRef, minReplicas: spec.minReplicas, maxReplicas: spec.maxReplicas };
    if (spec.targetCPUUtilizationPercentage !== undefined) {
      v2spec.metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: spec.targetCPUUtilizationPercentage } } }];
    }
    const out: KubeObject = { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: obj.metadata, spec: v2spec };
    if (obj.status) {
      const st = obj.status;
      out.status = { observedGeneration: st.observedGeneration, lastScaleTime: st.lastScaleTime, currentReplicas: st.currentReplicas ?? 0, desiredReplicas: st.desiredReplicas ?? 0 };
      if (st.currentCPUUtilizationPercentage !== undefined) {
        out.status.currentMetrics = [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: st.currentCPUUtilizationPercentage } } }];
      }
    }
    return out;
  },
  fromStorage(obj) {
    const spec = obj.spec ?? {};
    const cpu = (spec.metrics ?? []).find((m: any) => m?.type === 'Resource' && m.resource?.name === 'cpu' && m.resource?.target?.type === 'Utilization');
    const v1spec: Record<string, unknown> = { scaleTargetRef: spec.scaleTargetRef, minReplicas: spec.minReplicas, maxReplicas: spec.maxReplicas };
    if (cpu) v1spec.targetCPUUtilizationPercentage = cpu.resource.target.averageUtilization;
    const metadata = { ...(obj.metadata ?? {}) };
    const others = (spec.metrics ?? []).filter((m: any) => m !== cpu);
    // v1 cannot express other metrics; upstream keeps them in an annotation so nothing is lost.
    if (others.length) metadata.annotations = { ...(metadata.annotations ?? {}), [CPU_ANNOTATION]: JSON.stringify(others) };
    const out: KubeObject = { apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata, spec: v1spec };
    if (obj.status) {
      const st = obj.status;
      const cur = (st.currentMetrics ?? []).find((m: any) => m?.type === 'Resource' && m.resource?.name === 'cpu');
      out.status = { observedGeneration: st.observedGeneration, lastScaleTime: st.lastScaleTime, currentReplicas: st.currentReplicas ?? 0, desiredReplicas: st.desiredReplicas ?? 0 };
      if (cur?.resource?.current?.averageUtilization !== undefined) out.status.currentCPUUtilizationPercentage = cur.resource.current.averageUtilization;
    }
    return out;
  },
};

const CONVERSIONS: Record<string, Conversion> = {
  'events.k8s.io/v1/Event': eventsV1,
  'autoscaling/v1/HorizontalPodAutoscaler': hpaV1,
};

/** The conversion for objects requested as apiVersion/kind, when they are stored in another version. */
export function conversionFor(apiVersion: string, kind: string): Conversion | undefined {
  return CONVERSIONS[`${apiVersion}/${kind}`];
}
