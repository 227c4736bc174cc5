/**
 * What a pod (and a persistent volume) lets the node it runs on read: upstream's
 * podutil.VisitPodSecretNames / VisitPodConfigmapNames and the volume walk of the node
 * authorizer's graph populator, as a flat list of vertex keys.
 *
 * A key is `<type>:<namespace>/<name>`; cluster-scoped vertices have an empty namespace.
 */
import type { KubeObject } from '../../../api/types.js';

export type VertexType = 'secret' | 'configmap' | 'pvc' | 'pv' | 'serviceaccount' | 'pod' | 'volumeattachment';

export function vertexKey(type: VertexType, namespace: string, name: string): string {
  return `${type}:${namespace}/${name}`;
}

type Obj = Record<string, any>;

function asObj(v: unknown): Obj | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
}

function asArray(v: unknown): Obj[] {
  return Array.isArray(v) ? (v.filter((x) => asObj(x)) as Obj[]) : [];
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** Every container of a pod: init, regular and ephemeral (upstream's AllContainers). */
function containersOf(spec: Obj): Obj[] {
  return [...asArray(spec.initContainers), ...asArray(spec.containers), ...asArray(spec.ephemeralContainers)];
}

/** The secrets and config maps a pod refers to, by name (its own namespace). */
export function podSecretNames(spec: Obj): string[] {
  const out: string[] = [];
  const add = (n: unknown) => {
    if (str(n)) out.push(str(n));
  };
  for (const s of asArray(spec.imagePullSecrets)) add(s.name);
  for (const c of containersOf(spec)) {
    for (const f of asArray(c.envFrom)) add(asObj(f.secretRef)?.name);
    for (const e of asArray(c.env)) add(asObj(asObj(e.valueFrom)?.secretKeyRef)?.name);
  }
  for (const v of asArray(spec.volumes)) {
    add(asObj(v.secret)?.secretName);
    add(asObj(v.azureFile)?.secretName);
    for (const src of ['cephfs', 'cinder', 'flexVolume', 'rbd', 'scaleIO', 'iscsi', 'storageos']) add(asObj(asObj(v[src])?.secretRef)?.name);
    add(asObj(asObj(v.csi)?.nodePublishSecretRef)?.name);
    for (const p of asArray(asObj(v.projected)?.sources)) add(asObj(p.secret)?.name);
  }
  return out;
}

export function podConfigMapNames(spec: Obj): string[] {
  const out: string[] = [];
  const add = (n: unknown) => {
    if (str(n)) out.push(str(n));
  };
  for (const c of containersOf(spec)) {
    for (const f of asArray(c.envFrom)) add(asObj(f.configMapRef)?.name);
    for (const e of asArray(c.env)) add(asObj(asObj(e.valueFrom)?.configMapKeyRef)?.name);
  }
  for (const v of asArray(spec.volumes)) {
    add(asObj(v.configMap)?.name);
    for (const p of asArray(asObj(v.projected)?.sources)) add(asObj(p.configMap)?.name);
  }
  return out;
}

/** Claims a pod mounts: named ones, and the `<pod>-<volume>` claim of each generic ephemeral volume. */
export function podClaimNames(podName: string, spec: Obj): string[] {
  const out: string[] = [];
  for (const v of asArray(spec.volumes)) {
    const claim = str(asObj(v.persistentVolumeClaim)?.claimName);
    if (claim) out.push(claim);
    if (asObj(v.ephemeral) && str(v.name)) out.push(`${podName}-${str(v.name)}`);
  }
  return out;
}

/** What a pod bound to a node lets that node reach (the pod itself included), without duplicates, sorted. */
export function podReferences(pod: KubeObject): string[] {
  const ns = pod.metadata?.namespace ?? '';
  const name = pod.metadata?.name ?? '';
  const spec = asObj(pod.spec) ?? {};
  const keys = new Set<string>([vertexKey('pod', ns, name)]);
  for (const s of podSecretNames(spec)) keys.add(vertexKey('secret', ns, s));
  for (const c of podConfigMapNames(spec)) keys.add(vertexKey('configmap', ns, c));
  for (const c of podClaimNames(name, spec)) keys.add(vertexKey('pvc', ns, c));
  const sa = str(spec.serviceAccountName) || str(spec.serviceAccount);
  if (sa) keys.add(vertexKey('serviceaccount', ns, sa));
  return [...keys].sort();
}

/**
 * The secrets a persistent volume hands the kubelet (upstream's VisitPVSecretNames, kubelet-visible
 * ones only), as secret vertex keys. A secret without its own namespace lives in the bound claim's.
 */
export function pvSecretKeys(pv: KubeObject, claimNamespace: string): string[] {
  const spec = asObj(pv.spec) ?? {};
  const out = new Set<string>();
  const add = (ref: Obj | undefined, nsField = 'namespace') => {
    const name = str(ref?.name);
    if (name) out.add(vertexKey('secret', str(ref?.[nsField]) || claimNamespace, name));
  };
  const azure = asObj(spec.azureFile);
  if (azure && str(azure.secretName)) out.add(vertexKey('secret', str(azure.secretNamespace) || claimNamespace, str(azure.secretName)));
  for (const src of ['cephfs', 'cinder', 'flexVolume', 'rbd', 'scaleIO', 'iscsi', 'storageos']) add(asObj(asObj(spec[src])?.secretRef));
  const csi = asObj(spec.csi);
  if (csi) for (const f of ['nodePublishSecretRef', 'nodeStageSecretRef', 'nodeExpandSecretRef']) add(asObj(csi[f]));
  return [...out];
}
