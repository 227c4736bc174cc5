/**
 * ServiceAccount admission, after upstream's plugin/pkg/admission/serviceaccount: a new pod runs
 * as `default` unless it names a ServiceAccount, and the account it runs as must exist. A namespace
 * created a moment ago may not have its `default` yet (the serviceaccount controller makes it), so
 * that one is waited for briefly, as upstream retries its live lookup. Pods without pull secrets
 * take the account's imagePullSecrets. Mirror pods (the kubelet's static pods) are not changed and
 * may reference neither service accounts nor secrets.
 *
 *
 * Unless automountServiceAccountToken (the pod's, else the account's) is false, every container and
 * init container mounts a projected `kube-api-access-<5 random>` volume (a bound token of 3607 s,
 * the cluster CA from `kube-root-ca.crt`, the namespace) read-only at
 * /var/run/secrets/kubernetes.io/serviceaccount, unless it already mounts something there —
 * upstream's shape exactly, so tools that look for the token find it where they expect.
 */
import { randomInt } from 'node:crypto';
import type { KubeObject } from '../../api/types.js';
import type { Store } from '../../storage/store.js';
import { decodeStored, type WatchCache } from '../watch-cache.js';
import type { AdmissionPlugin } from './types.js';
import { admissionForbidden } from './forbidden.js';

export const DEFAULT_SERVICE_ACCOUNT = 'default';
const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';
const SA_PREFIX = '/registry/serviceaccounts/';
export const SERVICE_ACCOUNT_VOLUME_NAME = 'kube-api-access';
export const DEFAULT_API_TOKEN_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface ServiceAccountAdmissionOptions {
  /** How long to wait for a namespace's `default` account to appear (upstream: 10 tries, 100-200 ms apart). */
  defaultWaitMs?: number;
  pollMs?: number;
}

export function serviceAccountAdmission(store: Store, cache: WatchCache, opts: ServiceAccountAdmissionOptions = {}): AdmissionPlugin {
  const waitMs = opts.defaultWaitMs ?? 2000;
  const pollMs = opts.pollMs ?? 20;

  /** The account from the cache, else the store; the default one is waited for. */
  async function lookup(namespace: string, name: string): Promise<KubeObject | undefined> {
    const key = `${SA_PREFIX}${namespace}/${name}`;
    const deadline = Date.now() + (name === DEFAULT_SERVICE_ACCOUNT ? waitMs : 0);
    for (;;) {
      const cached = cache.resource(SA_PREFIX).objects.get(key);
      if (cached) return cached.obj;
      const kv = await store.get(key);
      if (kv) return decodeStored(kv).obj;
      if (Date.now() >= deadline) return undefined;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  return {
    name: 'ServiceAccount',
    // Defaults objects, so it runs in the mutating phase (its checks with it).
    async mutate(a) {
      if (a.operation !== 'CREATE' && a.operation !== 'UPDATE') return;
      if (a.operation !== 'CREATE' || a.subresource || a.entry.group !== '' || a.entry.plural !== 'pods') return;
      const pod = a.obj;
      const spec = (pod.spec ??= {});
      const namespace = pod.metadata?.namespace ?? '';
      if (pod.metadata?.annotations?.[MIRROR_POD_ANNOTATION] !== undefined) {
        const why = mirrorPodProblem(pod);
        if (why) throw admissionForbidden(a, why);
        return;
      }
      // v1's deprecated serviceAccount stands in for an unset serviceAccountName (upstream's conversion).
      if (!spec.serviceAccountName) spec.serviceAccountName = typeof spec.serviceAccount === 'string' && spec.serviceAccount ? spec.serviceAccount : DEFAULT_SERVICE_ACCOUNT;
      const name: string = spec.serviceAccountName;
      const sa = await lookup(namespace, name);
      if (!sa) throw admissionForbidden(a, `error looking up service account ${namespace}/${name}: serviceaccount "${name}" not found`);
      // The deprecated field mirrors the name, as upstream's conversion writes it.
      spec.serviceAccount = name;
      if (shouldAutomount(sa, pod)) mountServiceAccountToken(pod);
      const pullSecrets = Array.isArray(sa.imagePullSecrets) ? sa.imagePullSecrets : [];
      if ((!Array.isArray(spec.imagePullSecrets) || spec.imagePullSecrets.length === 0) && pullSecrets.length > 0) {
        spec.imagePullSecrets = pullSecrets.filter((s: any) => s && typeof s === 'object').map((s: any) => ({ name: s.name }));
      }
    },
  };
}

function shouldAutomount(sa: KubeObject, pod: KubeObject): boolean {
  if (typeof pod.spec?.automountServiceAccountToken === 'boolean') return pod.spec.automountServiceAccountToken;
  if (typeof sa.automountServiceAccountToken === 'boolean') return sa.automountServiceAccountToken;
  return true;
}

// names.SimpleNameGenerator's alphabet: no vowels, no look-alikes.
const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function randomSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += NAME_ALPHABET[randomInt(NAME_ALPHABET.length)];
  return s;
}

/** The projected volume upstream's TokenVolumeSource describes. */
export function tokenVolumeSource(): Record<string, unknown> {
  return {
    // Set explicitly, as upstream does (kubernetes#104464).
    defaultMode: 0o644,
    sources: [
      { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
      { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
    ],
  };
}

/** mountServiceAccountToken: one volume, a read-only mount in each container that lacks one at the path. */
function mountServiceAccountToken(pod: KubeObject): void {
  const spec = pod.spec;
  const volumes: any[] = Array.isArray(spec.volumes) ? spec.volumes : [];
  const existing = volumes.find((v) => typeof v?.name === 'string' && v.name.startsWith(`${SERVICE_ACCOUNT_VOLUME_NAME}-`));
  const volumeName: string = existing?.name ?? `${SERVICE_ACCOUNT_VOLUME_NAME}-${randomSuffix()}`;
  let needsVolume = false;
  for (const list of [spec.initContainers, spec.containers]) {
    if (!Array.isArray(list)) continue;
    for (const c of list) {
      if (!c || typeof c !== 'object') continue;
      const mounts: any[] = Array.isArray(c.volumeMounts) ? c.volumeMounts : [];
      if (mounts.some((m) => m?.mountPath === DEFAULT_API_TOKEN_MOUNT_PATH)) continue;
      c.volumeMounts = [...mounts, { name: volumeName, readOnly: true, mountPath: DEFAULT_API_TOKEN_MOUNT_PATH }];
      needsVolume = true;
    }
  }
  if (!existing && needsVolume) spec.volumes = [...volumes, { name: volumeName, projected: tokenVolumeSource() }];
}

/** What a mirror pod may not reference: service accounts, secrets, service account tokens. */
function mirrorPodProblem(pod: KubeObject): string | undefined {
  const spec = pod.spec ?? {};
  if (spec.serviceAccountName) return 'a mirror pod may not reference service accounts';
  if (referencesSecrets(spec)) return 'a mirror pod may not reference secrets';
  for (const v of Array.isArray(spec.volumes) ? spec.volumes : []) {
    for (const s of Array.isArray(v?.projected?.sources) ? v.projected.sources : []) {
      if (s?.serviceAccountToken) return 'a mirror pod may not use ServiceAccountToken volume projections';
    }
  }
  return undefined;
}

/** podutil.VisitPodSecretNames, reduced to "any at all". */
function referencesSecrets(spec: any): boolean {
  if (Array.isArray(spec.imagePullSecrets) && spec.imagePullSecrets.length > 0) return true;
  for (const v of Array.isArray(spec.volumes) ? spec.volumes : []) {
    if (!v || typeof v !== 'object') continue;
    if (v.secret || v.azureFile?.secretName || v.cephfs?.secretRef || v.cinder?.secretRef || v.flexVolume?.secretRef || v.rbd?.secretRef) return true;
    if (v.scaleIO?.secretRef || v.iscsi?.secretRef || v.storageos?.secretRef || v.csi?.nodePublishSecretRef) return true;
    for (const s of Array.isArray(v.projected?.sources) ? v.projected.sources : []) if (s?.secret) return true;
  }
  const containers = [...(spec.containers ?? []), ...(spec.initContainers ?? []), ...(spec.ephemeralContainers ?? [])];
  for (const c of containers) {
    if (!c || typeof c !== 'object') continue;
    for (const e of Array.isArray(c.envFrom) ? c.envFrom : []) if (e?.secretRef) return true;
    for (const e of Array.isArray(c.env) ? c.env : []) if (e?.valueFrom?.secretKeyRef) return true;
  }
  return false;
}
