/**
 * The identity of a StatefulSet's pods, after upstream's stateful_set_utils.go: a pod is
 * `<set>-<ordinal>` with hostname = its name and subdomain = the governing service, labelled with
 * its name, index and revision, and mounts one PersistentVolumeClaim per claim template, named
 * `<claim>-<set>-<ordinal>`. Also the claims' owner references for the PVC retention policy.
 */
import type { KubeObject, OwnerReference } from '../../api/types.js';
import { podFromTemplate } from '../pod-control.js';
import { CONTROLLER_REVISION_HASH_LABEL } from '../history.js';
import { isPodAvailable, isPodReady, newControllerRef } from '../pods.js';

export const STATEFULSET_POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

const ORDINAL = /^(.*)-([0-9]+)$/;
const INT32_MAX = 2 ** 31 - 1;

/** The parent's name and the ordinal of a pod named `<parent>-<ordinal>`; ordinal -1 when it is not. */
export function parentAndOrdinal(pod: KubeObject): { parent: string; ordinal: number } {
  const m = ORDINAL.exec(pod.metadata?.name ?? '');
  if (!m) return { parent: '', ordinal: -1 };
  const ordinal = Number(m[2]);
  return { parent: m[1], ordinal: ordinal <= INT32_MAX ? ordinal : -1 };
}

export function ordinalOf(pod: KubeObject): number {
  return parentAndOrdinal(pod).ordinal;
}

export function replicasOf(set: KubeObject): number {
  return typeof set.spec?.replicas === 'number' ? set.spec.replicas : 1;
}

/** spec.ordinals.start (StatefulSetStartOrdinal, on by default in 1.30). */
export function startOrdinal(set: KubeObject): number {
  const start = set.spec?.ordinals?.start;
  return typeof start === 'number' && start > 0 ? start : 0;
}

export function endOrdinal(set: KubeObject): number {
  return startOrdinal(set) + replicasOf(set) - 1;
}

export function inOrdinalRange(pod: KubeObject, set: KubeObject): boolean {
  const o = ordinalOf(pod);
  return o >= startOrdinal(set) && o <= endOrdinal(set);
}

export function podName(set: KubeObject, ordinal: number): string {
  return `${set.metadata!.name}-${ordinal}`;
}

export function claimName(set: KubeObject, template: string, ordinal: number): string {
  return `${template}-${set.metadata!.name}-${ordinal}`;
}

/** The pod belongs to the set by name (upstream's isMemberOf). */
export function isMemberOf(set: KubeObject, pod: KubeObject): boolean {
  return parentAndOrdinal(pod).parent === set.metadata?.name;
}

export function podRevision(pod: KubeObject): string {
  return pod.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL] ?? '';
}

function claimTemplates(set: KubeObject): KubeObject[] {
  return Array.isArray(set.spec?.volumeClaimTemplates) ? set.spec.volumeClaimTemplates : [];
}

function templateName(t: KubeObject): string {
  return t.metadata?.name ?? '';
}

/** Name, namespace and name label are what they must be (upstream's identityMatches). */
export function identityMatches(set: KubeObject, pod: KubeObject): boolean {
  const { parent, ordinal } = parentAndOrdinal(pod);
  return (
    ordinal >= 0 &&
    parent === set.metadata?.name &&
    pod.metadata?.name === podName(set, ordinal) &&
    pod.metadata?.namespace === set.metadata?.namespace &&
    pod.metadata?.labels?.[STATEFULSET_POD_NAME_LABEL] === pod.metadata?.name
  );
}

/** Every claim template is mounted from the pod's own claim (upstream's storageMatches). */
export function storageMatches(set: KubeObject, pod: KubeObject): boolean {
  const ordinal = ordinalOf(pod);
  if (ordinal < 0) return false;
  const volumes = new Map<string, KubeObject>();
  for (const v of Array.isArray(pod.spec?.volumes) ? pod.spec.volumes : []) volumes.set(v.name, v);
  return claimTemplates(set).every((t) => volumes.get(templateName(t))?.persistentVolumeClaim?.claimName === claimName(set, templateName(t), ordinal));
}

/** The pod with its name label and index label as they should be (upstream's updateIdentity). */
export function withIdentity(set: KubeObject, pod: KubeObject): KubeObject {
  const ordinal = ordinalOf(pod);
  const name = podName(set, ordinal);
  return {
    ...pod,
    metadata: { ...pod.metadata, name, namespace: set.metadata?.namespace, labels: { ...pod.metadata?.labels, [STATEFULSET_POD_NAME_LABEL]: name, [POD_INDEX_LABEL]: String(ordinal) } },
  };
}

/** The pod's volumes with one claim volume per template first, the template's other volumes after (upstream's updateStorage). */
export function withStorage(set: KubeObject, pod: KubeObject): KubeObject {
  const ordinal = ordinalOf(pod);
  const templates = claimTemplates(set);
  if (templates.length === 0) return pod;
  const names = new Set(templates.map(templateName));
  const volumes: KubeObject[] = templates.map((t) => ({ name: templateName(t), persistentVolumeClaim: { claimName: claimName(set, templateName(t), ordinal) } }));
  for (const v of Array.isArray(pod.spec?.volumes) ? pod.spec.volumes : []) if (!names.has(v.name)) volumes.push(v);
  return { ...pod, spec: { ...pod.spec, volumes } };
}

/** The claims a pod of ordinal `ordinal` mounts: claim templates named for it, carrying the set's selector labels. */
export function claimsFor(set: KubeObject, ordinal: number): KubeObject[] {
  const selectorLabels = set.spec?.selector?.matchLabels ?? {};
  return claimTemplates(set).map((t) => {
    const { creationTimestamp: _created, ...meta } = t.metadata ?? {};
    void _created;
    return {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { ...meta, name: claimName(set, templateName(t), ordinal), namespace: set.metadata?.namespace, labels: { ...t.metadata?.labels, ...selectorLabels } },
      spec: structuredClone(t.spec ?? {}),
    };
  });
}

/** A new pod of `set` for `ordinal` (upstream's newStatefulSetPod): template, identity, storage. */
export function newStatefulSetPod(set: KubeObject, ordinal: number): KubeObject {
  const name = podName(set, ordinal);
  let pod = podFromTemplate(set.spec?.template ?? {}, set, newControllerRef(set, 'apps/v1', 'StatefulSet'), { name });
  // Upstream's GetPodFromTemplate sets generateName too; the fixed name wins.
  pod.metadata = { ...pod.metadata, generateName: `${set.metadata!.name}-` };
  pod = withIdentity(set, pod);
  const spec: Record<string, unknown> = { ...pod.spec, hostname: name };
  if (set.spec?.serviceName) spec.subdomain = set.spec.serviceName;
  return withStorage(set, { ...pod, spec });
}

/**
 * The pod for `ordinal` at the revision it should have: ordinals below the partition keep the
 * current revision, the others get the update revision (upstream's newVersionedStatefulSetPod,
 * operator precedence included).
 */
export function newVersionedStatefulSetPod(currentSet: KubeObject, updateSet: KubeObject, currentRevision: string, updateRevision: string, ordinal: number): KubeObject {
  const strategy = currentSet.spec?.updateStrategy ?? {};
  const ru = strategy.rollingUpdate;
  const start = startOrdinal(currentSet);
  const keepsCurrent =
    (strategy.type === 'RollingUpdate' && !ru && ordinal < start + Number(currentSet.status?.currentReplicas ?? 0)) || (ru && ordinal < start + Number(ru.partition ?? 0));
  const pod = newStatefulSetPod(keepsCurrent ? currentSet : updateSet, ordinal);
  pod.metadata!.labels = { ...pod.metadata!.labels, [CONTROLLER_REVISION_HASH_LABEL]: keepsCurrent ? currentRevision : updateRevision };
  return pod;
}

// ---- pod states as the StatefulSet controller sees them ----

/** The API has the pod (a placeholder for a pod to create has no phase). */
export function isCreated(pod: KubeObject): boolean {
  return Boolean(pod.status?.phase);
}

export function isTerminating(pod: KubeObject): boolean {
  return Boolean(pod.metadata?.deletionTimestamp);
}

export function isRunningAndReady(pod: KubeObject): boolean {
  return pod.status?.phase === 'Running' && isPodReady(pod);
}

export function isRunningAndAvailable(pod: KubeObject, minReadySeconds: number, nowMs: number): boolean {
  return pod.status?.phase === 'Running' && isPodAvailable(pod, minReadySeconds, nowMs);
}

export function isHealthy(pod: KubeObject): boolean {
  return isRunningAndReady(pod) && !isTerminating(pod);
}

// ---- PersistentVolumeClaim retention (StatefulSetAutoDeletePVC, beta and on in 1.30) ----

function retention(set: KubeObject): { whenDeleted: string; whenScaled: string } {
  const p = set.spec?.persistentVolumeClaimRetentionPolicy ?? {};
  return { whenDeleted: p.whenDeleted === 'Delete' ? 'Delete' : 'Retain', whenScaled: p.whenScaled === 'Delete' ? 'Delete' : 'Retain' };
}

/** Which owner references a claim of `pod` should carry: the set's (whenDeleted) and the pod's (whenScaled, once scaled away). */
function wantedClaimOwners(set: KubeObject, pod: KubeObject): { set: boolean; pod: boolean } {
  const { whenDeleted, whenScaled } = retention(set);
  const scaledDown = !inOrdinalRange(pod, set);
  if (whenScaled === 'Retain') return { set: whenDeleted === 'Delete', pod: false };
  if (whenDeleted === 'Retain') return { set: false, pod: scaledDown };
  return { set: !scaledDown, pod: scaledDown };
}

function hasOwnerRef(target: KubeObject, owner: KubeObject): boolean {
  return (target.metadata?.ownerReferences ?? []).some((r) => r.uid === owner.metadata?.uid);
}

/** The claim's owners match the retention policy (upstream's claimOwnerMatchesSetAndPod). */
export function claimOwnersMatch(claim: KubeObject, set: KubeObject, pod: KubeObject): boolean {
  const want = wantedClaimOwners(set, pod);
  return hasOwnerRef(claim, set) === want.set && hasOwnerRef(claim, pod) === want.pod;
}

/** The claim's owner references as the retention policy wants them (upstream's updateClaimOwnerRefForSetAndPod). */
export function claimOwnerReferences(claim: KubeObject, set: KubeObject, pod: KubeObject): OwnerReference[] {
  const want = wantedClaimOwners(set, pod);
  let refs = [...(claim.metadata?.ownerReferences ?? [])];
  const apply = (owner: KubeObject, wanted: boolean, apiVersion: string, kind: string) => {
    const has = hasOwnerRef({ metadata: { ownerReferences: refs } }, owner);
    if (wanted && !has && owner.metadata?.uid) refs.push({ apiVersion, kind, name: owner.metadata.name!, uid: owner.metadata.uid });
    if (!wanted && has) refs = refs.filter((r) => r.uid !== owner.metadata?.uid);
  };
  apply(set, want.set, 'apps/v1', 'StatefulSet');
  apply(pod, want.pod, 'v1', 'Pod');
  return refs;
}

/** A claim left by an earlier pod of the same name (upstream's hasStaleOwnerRef). */
export function claimIsStale(claim: KubeObject, pod: KubeObject): boolean {
  return (claim.metadata?.ownerReferences ?? []).some((r) => r.name === pod.metadata?.name && r.uid !== pod.metadata?.uid);
}

export function scalesClaimsAway(set: KubeObject): boolean {
  return retention(set).whenScaled === 'Delete';
}
