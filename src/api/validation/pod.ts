/**
 * PodSpec rules shared by Pods and every workload template: upstream's core/v1 defaulting
 * (SetDefaults_PodSpec, _Container, _Volume, _Probe, …) and core validation (ValidatePodSpec and
 * the container checks), plus the Pod-only pieces (requests from limits, QoS, update rules).
 */
import { causes } from '../errors.js';
import { validateAnnotations } from './meta.js';
import {
  inclusiveRangeError,
  isConfigMapKey,
  isDNS1123Label,
  isDNS1123Subdomain,
  isEnvVarName,
  isHTTPHeaderName,
  isValidIP,
  IP_ERROR,
  isValidLabelValue,
  isValidPortName,
  isValidPortNum,
  isValidUserOrGroupID,
  nameIsDNSSubdomain,
} from './names.js';
import { compareQuantity, quantityNano, quantityString, roundUpToMilli } from './quantity.js';
import {
  arr,
  child,
  clone,
  ensureObj,
  index,
  invalidRaw,
  isObj,
  key,
  nonNegative,
  notFound,
  objs,
  semanticEqual,
  str,
  validateLabelName,
  validateLabels,
  validateLabelSelector,
  validateQualifiedName,
  validateRequirementOperator,
  type Causes,
  type Obj,
} from './util.js';

const MAX_INT32 = 2147483647;

// ---------------------------------------------------------------------------------------------
// defaulting
// ---------------------------------------------------------------------------------------------

// Docker reference grammar (distribution/reference), enough to find the tag the way kubelet does.
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?`;
// The separator is never empty ([-]+, as distribution/reference now writes it; [-]* matched the same
// names but let a backtracking engine split "aaaa…!" in exponentially many ways: a pod's image
// could hang the server).
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const REFERENCE_RE = new RegExp(
  `^((?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::([\\w][\\w.-]{0,127}))?(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$`,
);

/** The pull policy upstream defaults to: Always for ":latest" or no tag and no digest, else IfNotPresent. */
export function defaultPullPolicy(image: string): string {
  const m = REFERENCE_RE.exec(image);
  // An unparsable reference leaves the tag empty upstream, which is not "latest".
  if (!m) return 'IfNotPresent';
  const tag = m[2] ?? (m[3] ? '' : 'latest');
  return tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultResourceList(rl: unknown): void {
  if (!isObj(rl)) return;
  for (const k of Object.keys(rl)) {
    const v = rl[k];
    if (typeof v === 'string') rl[k] = roundUpToMilli(v);
  }
}

function defaultHandler(h: unknown): void {
  if (!isObj(h) || !isObj(h.httpGet)) return;
  if (!h.httpGet.path) h.httpGet.path = '/';
  if (!h.httpGet.scheme) h.httpGet.scheme = 'HTTP';
}

function defaultProbe(p: unknown): void {
  if (!isObj(p)) return;
  if (!p.timeoutSeconds) p.timeoutSeconds = 1;
  if (!p.periodSeconds) p.periodSeconds = 10;
  if (!p.successThreshold) p.successThreshold = 1;
  if (!p.failureThreshold) p.failureThreshold = 3;
  defaultHandler(p);
  if (isObj(p.grpc) && p.grpc.service === undefined) p.grpc.service = '';
}

function defaultFieldRef(ref: unknown): void {
  if (isObj(ref) && !ref.apiVersion) ref.apiVersion = 'v1';
}

export function defaultContainer(c: Obj): void {
  if (!c.imagePullPolicy) c.imagePullPolicy = defaultPullPolicy(str(c.image));
  if (!c.terminationMessagePath) c.terminationMessagePath = '/dev/termination-log';
  if (!c.terminationMessagePolicy) c.terminationMessagePolicy = 'File';
  // A Go struct field without omitempty: always present in what upstream returns.
  if (!isObj(c.resources)) c.resources = {};
  defaultResourceList(c.resources.limits);
  defaultResourceList(c.resources.requests);
  for (const p of objs(c.ports)) if (!p.protocol) p.protocol = 'TCP';
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  if (isObj(c.lifecycle)) {
    defaultHandler(c.lifecycle.postStart);
    defaultHandler(c.lifecycle.preStop);
  }
  for (const e of objs(c.env)) if (isObj(e.valueFrom)) defaultFieldRef(e.valueFrom.fieldRef);
}

const DEFAULT_MODE = 420; // 0644

function defaultDownwardItems(items: unknown): void {
  for (const it of objs(items)) defaultFieldRef(it.fieldRef);
}

export function defaultPVCSpec(spec: unknown): void {
  if (!isObj(spec)) return;
  if (!spec.volumeMode) spec.volumeMode = 'Filesystem';
  if (isObj(spec.resources)) {
    defaultResourceList(spec.resources.requests);
    defaultResourceList(spec.resources.limits);
  }
}

export function defaultVolume(v: Obj): void {
  const sources = Object.keys(v).filter((k) => k !== 'name' && v[k] !== undefined && v[k] !== null);
  if (sources.length === 0) {
    v.emptyDir = {};
    return;
  }
  defaultVolumeSources(v);
}

/**
 * Defaults of the volume source types, wherever they appear (pod volumes and PersistentVolume
 * specs share most of them).
 */
export function defaultVolumeSources(v: Obj): void {
  if (isObj(v.secret) && v.secret.defaultMode === undefined) v.secret.defaultMode = DEFAULT_MODE;
  if (isObj(v.configMap) && v.configMap.defaultMode === undefined) v.configMap.defaultMode = DEFAULT_MODE;
  if (isObj(v.downwardAPI)) {
    if (v.downwardAPI.defaultMode === undefined) v.downwardAPI.defaultMode = DEFAULT_MODE;
    defaultDownwardItems(v.downwardAPI.items);
  }
  if (isObj(v.projected)) {
    if (v.projected.defaultMode === undefined) v.projected.defaultMode = DEFAULT_MODE;
    for (const s of objs(v.projected.sources)) {
      if (isObj(s.serviceAccountToken) && s.serviceAccountToken.expirationSeconds === undefined) s.serviceAccountToken.expirationSeconds = 3600;
      if (isObj(s.downwardAPI)) defaultDownwardItems(s.downwardAPI.items);
    }
  }
  if (isObj(v.hostPath) && v.hostPath.type === undefined) v.hostPath.type = '';
  if (isObj(v.iscsi) && !v.iscsi.iscsiInterface) v.iscsi.iscsiInterface = 'default';
  if (isObj(v.rbd)) {
    if (!v.rbd.pool) v.rbd.pool = 'rbd';
    if (!v.rbd.user) v.rbd.user = 'admin';
    if (!v.rbd.keyring) v.rbd.keyring = '/etc/ceph/keyring';
  }
  if (isObj(v.azureDisk)) {
    if (!v.azureDisk.cachingMode) v.azureDisk.cachingMode = 'ReadWrite';
    if (!v.azureDisk.kind) v.azureDisk.kind = 'Shared';
    if (!v.azureDisk.fsType) v.azureDisk.fsType = 'ext4';
    if (v.azureDisk.readOnly === undefined) v.azureDisk.readOnly = false;
  }
  if (isObj(v.scaleIO)) {
    if (!v.scaleIO.storageMode) v.scaleIO.storageMode = 'ThinProvisioned';
    if (!v.scaleIO.fsType) v.scaleIO.fsType = 'xfs';
  }
  if (isObj(v.ephemeral) && isObj(v.ephemeral.volumeClaimTemplate)) defaultPVCSpec(v.ephemeral.volumeClaimTemplate.spec);
}

/** SetDefaults_PodSpec and everything nested (containers, volumes, probes). */
export function defaultPodSpec(spec: Obj): void {
  if (!spec.dnsPolicy) spec.dnsPolicy = 'ClusterFirst';
  if (!spec.restartPolicy) spec.restartPolicy = 'Always';
  if (!isObj(spec.securityContext)) spec.securityContext = {};
  if (spec.terminationGracePeriodSeconds === undefined) spec.terminationGracePeriodSeconds = 30;
  if (!spec.schedulerName) spec.schedulerName = 'default-scheduler';
  for (const c of objs(spec.containers)) defaultContainer(c);
  for (const c of objs(spec.initContainers)) defaultContainer(c);
  for (const c of objs(spec.ephemeralContainers)) defaultContainer(c);
  for (const v of objs(spec.volumes)) defaultVolume(v);
  if (isObj(spec.overhead)) defaultResourceList(spec.overhead);
}

/** The template's metadata as upstream returns it: an unset creationTimestamp marshals as null. */
export function defaultTemplateMeta(template: Obj): void {
  const meta = ensureObj(template, 'metadata');
  if (meta.creationTimestamp === undefined) meta.creationTimestamp = null;
}

export function defaultPodTemplateSpec(template: unknown): void {
  if (!isObj(template)) return;
  defaultTemplateMeta(template);
  defaultPodSpec(ensureObj(template, 'spec'));
}

/** SetDefaults_Pod: only real Pods get these, not templates. */
export function defaultPodOnly(spec: Obj): void {
  if (spec.enableServiceLinks === undefined) spec.enableServiceLinks = true;
  for (const c of [...objs(spec.containers), ...objs(spec.initContainers)]) {
    const res = isObj(c.resources) ? c.resources : undefined;
    if (!res || !isObj(res.limits)) continue;
    const req = ensureObj(res, 'requests');
    for (const [k, v] of Object.entries(res.limits)) if (req[k] === undefined) req[k] = v;
  }
  if (spec.hostNetwork === true) {
    for (const c of [...objs(spec.containers), ...objs(spec.initContainers)]) {
      for (const p of objs(c.ports)) if (!p.hostPort) p.hostPort = p.containerPort;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// QoS
// ---------------------------------------------------------------------------------------------

/** qos.ComputePodQOS: BestEffort, Guaranteed or Burstable from cpu/memory requests and limits. */
export function computeQOS(spec: Obj): string {
  const requests = new Map<string, bigint>();
  const limits = new Map<string, bigint>();
  let guaranteed = true;
  for (const c of [...objs(spec.containers), ...objs(spec.initContainers)]) {
    const res: Obj = isObj(c.resources) ? c.resources : {};
    for (const [name, q] of Object.entries(isObj(res.requests) ? res.requests : {})) {
      if (name !== 'cpu' && name !== 'memory') continue;
      const v = quantityNano(q);
      if (v > 0n) requests.set(name, (requests.get(name) ?? 0n) + v);
    }
    const found = new Set<string>();
    for (const [name, q] of Object.entries(isObj(res.limits) ? res.limits : {})) {
      if (name !== 'cpu' && name !== 'memory') continue;
      const v = quantityNano(q);
      if (v > 0n) {
        found.add(name);
        limits.set(name, (limits.get(name) ?? 0n) + v);
      }
    }
    if (!found.has('cpu') || !found.has('memory')) guaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return 'BestEffort';
  if (guaranteed) {
    for (const [name, r] of requests) {
      if (limits.get(name) !== r) {
        guaranteed = false;
        break;
      }
    }
  }
  return guaranteed && requests.size === limits.size ? 'Guaranteed' : 'Burstable';
}

// ---------------------------------------------------------------------------------------------
// validation
// ---------------------------------------------------------------------------------------------

export interface PodSpecOptions {
  /** The spec belongs to a Pod, not a template (some rules only apply to real pods). */
  isPod: boolean;
}

function dns1123Label(value: string, field: string, errs: Causes): void {
  for (const m of isDNS1123Label(value)) errs.push(causes.invalid(field, value, m));
}

function dns1123Subdomain(value: string, field: string, errs: Causes): void {
  for (const m of isDNS1123Subdomain(value)) errs.push(causes.invalid(field, value, m));
}

const VOLUME_SOURCES = [
  'emptyDir', 'hostPath', 'gitRepo', 'gcePersistentDisk', 'awsElasticBlockStore', 'secret', 'nfs', 'iscsi', 'glusterfs',
  'persistentVolumeClaim', 'rbd', 'cinder', 'cephfs', 'flocker', 'downwardAPI', 'fc', 'flexVolume', 'configMap', 'azureFile',
  'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'portworxVolume', 'scaleIO', 'storageos', 'projected',
  'csi', 'ephemeral',
];

function validateFileMode(mode: unknown, field: string, errs: Causes): void {
  if (typeof mode === 'number' && (mode > 0o777 || mode < 0)) errs.push(causes.invalid(field, mode, 'must be a number between 0 and 0777 (octal), both inclusive'));
}

/** Relative paths that stay inside the volume ("must not contain '..'"). */
function validateLocalDescendingPath(p: string, field: string, errs: Causes): void {
  if (p.startsWith('/')) errs.push(causes.invalid(field, p, 'must be a relative path'));
  if (p.split('/').includes('..')) errs.push(causes.invalid(field, p, "must not contain '..'"));
}

function validateKeyToPaths(items: unknown, field: string, errs: Causes): void {
  objs(items).forEach((it, i) => {
    const p = index(field, i);
    if (str(it.key) === '') errs.push(causes.required(child(p, 'key')));
    if (str(it.path) === '') errs.push(causes.required(child(p, 'path')));
    else validateLocalDescendingPath(str(it.path), child(p, 'path'), errs);
    validateFileMode(it.mode, child(p, 'mode'), errs);
  });
}

function validateVolumeSource(v: Obj, field: string, errs: Causes): void {
  let n = 0;
  for (const src of VOLUME_SOURCES) {
    if (!isObj(v[src])) continue;
    if (n > 0) {
      errs.push(causes.forbidden(child(field, src), 'may not specify more than 1 volume type'));
      continue;
    }
    n++;
    const s = v[src];
    const p = child(field, src);
    switch (src) {
      case 'emptyDir':
        if (s.sizeLimit !== undefined && quantityNano(s.sizeLimit) < 0n) errs.push(causes.forbidden(child(p, 'sizeLimit'), 'SizeLimit field must be a valid resource quantity'));
        break;
      case 'hostPath':
        if (str(s.path) === '') errs.push(causes.required(child(p, 'path')));
        else if (str(s.path).split('/').includes('..')) errs.push(causes.invalid(child(p, 'path'), s.path, "must not contain '..'"));
        if (s.type && !['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice'].includes(s.type)) {
          errs.push(causes.notSupported(child(p, 'type'), s.type, ['BlockDevice', 'CharDevice', 'Directory', 'DirectoryOrCreate', 'File', 'FileOrCreate', 'Socket']));
        }
        break;
      case 'secret':
        if (str(s.secretName) === '') errs.push(causes.required(child(p, 'secretName')));
        validateFileMode(s.defaultMode, child(p, 'defaultMode'), errs);
        validateKeyToPaths(s.items, child(p, 'items'), errs);
        break;
      case 'configMap':
        if (str(s.name) === '') errs.push(causes.required(child(p, 'name')));
        validateFileMode(s.defaultMode, child(p, 'defaultMode'), errs);
        validateKeyToPaths(s.items, child(p, 'items'), errs);
        break;
      case 'persistentVolumeClaim':
        if (str(s.claimName) === '') errs.push(causes.required(child(p, 'claimName')));
        break;
      case 'nfs':
        if (str(s.server) === '') errs.push(causes.required(child(p, 'server')));
        if (str(s.path) === '') errs.push(causes.required(child(p, 'path')));
        else if (!str(s.path).startsWith('/')) errs.push(causes.invalid(child(p, 'path'), s.path, 'must be an absolute path'));
        break;
      case 'downwardAPI':
        validateFileMode(s.defaultMode, child(p, 'defaultMode'), errs);
        break;
      case 'projected':
        validateFileMode(s.defaultMode, child(p, 'defaultMode'), errs);
        objs(s.sources).forEach((ps, i) => {
          const sp = index(child(p, 'sources'), i);
          const kinds = ['secret', 'configMap', 'downwardAPI', 'serviceAccountToken', 'clusterTrustBundle'].filter((k) => isObj(ps[k]));
          if (kinds.length > 1) errs.push(causes.forbidden(child(sp, kinds[1]), 'may not specify more than 1 volume type per source'));
          if (isObj(ps.serviceAccountToken)) {
            const exp = ps.serviceAccountToken.expirationSeconds;
            if (typeof exp === 'number' && exp < 600) errs.push(causes.invalid(child(child(sp, 'serviceAccountToken'), 'expirationSeconds'), exp, 'may not specify a duration less than 10 minutes'));
            if (typeof exp === 'number' && exp > 2 ** 32) errs.push(causes.invalid(child(child(sp, 'serviceAccountToken'), 'expirationSeconds'), exp, 'may not specify a duration larger than 2^32 seconds'));
            if (str(ps.serviceAccountToken.path) === '') errs.push(causes.required(child(child(sp, 'serviceAccountToken'), 'path')));
          }
          if (isObj(ps.secret)) validateKeyToPaths(ps.secret.items, child(child(sp, 'secret'), 'items'), errs);
          if (isObj(ps.configMap)) validateKeyToPaths(ps.configMap.items, child(child(sp, 'configMap'), 'items'), errs);
        });
        break;
      case 'csi':
        if (str(s.driver) === '') errs.push(causes.required(child(p, 'driver')));
        break;
      case 'gitRepo':
        if (str(s.repository) === '') errs.push(causes.required(child(p, 'repository')));
        break;
      case 'ephemeral':
        if (!isObj(s.volumeClaimTemplate)) errs.push(causes.required(child(p, 'volumeClaimTemplate')));
        break;
      default:
        break;
    }
  }
  if (n === 0) errs.push(causes.required(field, 'Required value: must specify a volume type'));
}

/** ValidateVolumes; returns the names of the valid volumes (for mount checks). */
function validateVolumes(volumes: unknown, field: string, errs: Causes): Map<string, Obj> {
  const out = new Map<string, Obj>();
  objs(volumes).forEach((v, i) => {
    const p = index(field, i);
    const el: Causes = [];
    validateVolumeSource(v, p, el);
    const name = str(v.name);
    if (name === '') el.push(causes.required(child(p, 'name')));
    else dns1123Label(name, child(p, 'name'), el);
    if (out.has(name)) el.push(causes.duplicate(child(p, 'name'), name));
    if (el.length === 0) out.set(name, v);
    else errs.push(...el);
  });
  return out;
}

const SUPPORTED_PROTOCOLS = ['SCTP', 'TCP', 'UDP'];

function validateContainerPorts(ports: unknown, field: string, errs: Causes): void {
  const names = new Set<string>();
  objs(ports).forEach((port, i) => {
    const p = index(field, i);
    const name = str(port.name);
    if (name !== '') {
      const msgs = isValidPortName(name);
      if (msgs.length > 0) for (const m of msgs) errs.push(causes.invalid(child(p, 'name'), name, m));
      else if (names.has(name)) errs.push(causes.duplicate(child(p, 'name'), name));
      else names.add(name);
    }
    const cp = typeof port.containerPort === 'number' ? port.containerPort : 0;
    if (cp === 0) errs.push(causes.required(child(p, 'containerPort')));
    else for (const m of isValidPortNum(cp)) errs.push(causes.invalid(child(p, 'containerPort'), cp, m));
    if (typeof port.hostPort === 'number' && port.hostPort !== 0) {
      for (const m of isValidPortNum(port.hostPort)) errs.push(causes.invalid(child(p, 'hostPort'), port.hostPort, m));
    }
    const proto = str(port.protocol);
    if (proto === '') errs.push(causes.required(child(p, 'protocol')));
    else if (!SUPPORTED_PROTOCOLS.includes(proto)) errs.push(causes.notSupported(child(p, 'protocol'), proto, SUPPORTED_PROTOCOLS));
  });
}

const ENV_FIELD_PATHS = ['metadata.name', 'metadata.namespace', 'metadata.uid', 'spec.nodeName', 'spec.serviceAccountName', 'status.hostIP', 'status.hostIPs', 'status.podIP', 'status.podIPs'];
const RESOURCE_FIELD_PATHS = ['limits.cpu', 'limits.memory', 'limits.ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.ephemeral-storage'];

function validateEnv(env: unknown, field: string, errs: Causes): void {
  objs(env).forEach((ev, i) => {
    const p = index(field, i);
    const name = str(ev.name);
    if (name === '') errs.push(causes.required(child(p, 'name')));
    else for (const m of isEnvVarName(name)) errs.push(causes.invalid(child(p, 'name'), name, m));
    if (!isObj(ev.valueFrom)) return;
    const vp = child(p, 'valueFrom');
    const vf = ev.valueFrom;
    let n = 0;
    if (isObj(vf.fieldRef)) {
      n++;
      const fp = child(vp, 'fieldRef');
      if (str(vf.fieldRef.apiVersion) === '') errs.push(causes.required(child(fp, 'apiVersion')));
      else if (str(vf.fieldRef.fieldPath) === '') errs.push(causes.required(child(fp, 'fieldPath')));
      else {
        const path = str(vf.fieldRef.fieldPath);
        const sub = /^(metadata\.(?:labels|annotations))\['(.*)'\]$/.exec(path);
        if (sub) validateQualifiedName(sub[1] === 'metadata.annotations' ? sub[2].toLowerCase() : sub[2], fp, errs);
        else if (!ENV_FIELD_PATHS.includes(path)) errs.push(causes.notSupported(child(fp, 'fieldPath'), path, [...ENV_FIELD_PATHS].sort()));
      }
    }
    if (isObj(vf.resourceFieldRef)) {
      n++;
      const rp = child(vp, 'resourceFieldRef');
      const r = str(vf.resourceFieldRef.resource);
      if (r === '') errs.push(causes.required(child(rp, 'resource')));
      else if (!RESOURCE_FIELD_PATHS.includes(r) && !r.startsWith('requests.hugepages-') && !r.startsWith('limits.hugepages-')) {
        errs.push(causes.notSupported(child(rp, 'resource'), r, [...RESOURCE_FIELD_PATHS].sort()));
      }
    }
    for (const kind of ['configMapKeyRef', 'secretKeyRef']) {
      if (!isObj(vf[kind])) continue;
      n++;
      const kp = child(vp, kind);
      const refName = str(vf[kind].name);
      for (const m of nameIsDNSSubdomain(refName, false)) errs.push(causes.invalid(child(kp, 'name'), refName, m));
      const k = str(vf[kind].key);
      if (k === '') errs.push(causes.required(child(kp, 'key')));
      else for (const m of isConfigMapKey(k)) errs.push(causes.invalid(child(kp, 'key'), k, m));
    }
    if (n === 0) errs.push(causes.invalid(vp, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'));
    else if (str(ev.value) !== '') errs.push(causes.invalid(vp, '', 'may not be specified when `value` is not empty'));
    else if (n > 1) errs.push(causes.invalid(vp, '', 'may not have more than one field specified at a time'));
  });
}

function validateEnvFrom(envFrom: unknown, field: string, errs: Causes): void {
  objs(envFrom).forEach((ef, i) => {
    const p = index(field, i);
    const prefix = str(ef.prefix);
    if (prefix !== '') for (const m of isEnvVarName(prefix)) errs.push(causes.invalid(child(p, 'prefix'), prefix, m));
    let n = 0;
    for (const kind of ['configMapRef', 'secretRef']) {
      if (!isObj(ef[kind])) continue;
      n++;
      const refName = str(ef[kind].name);
      if (refName === '') errs.push(causes.required(child(child(p, kind), 'name')));
      else for (const m of nameIsDNSSubdomain(refName, true)) errs.push(causes.invalid(child(child(p, kind), 'name'), refName, m));
    }
    if (n === 0) errs.push(causes.invalid(field, '', 'must specify one of: `configMapRef` or `secretRef`'));
    else if (n > 1) errs.push(causes.invalid(field, '', 'may not have more than one field specified at a time'));
  });
}

function validateVolumeMounts(mounts: unknown, volumes: Map<string, Obj>, field: string, errs: Causes): void {
  const points = new Set<string>();
  objs(mounts).forEach((m, i) => {
    const p = index(field, i);
    const name = str(m.name);
    if (name === '') errs.push(causes.required(child(p, 'name')));
    if (!volumes.has(name)) errs.push(notFound(child(p, 'name'), name));
    const mp = str(m.mountPath);
    if (mp === '') errs.push(causes.required(child(p, 'mountPath')));
    if (points.has(mp)) errs.push(causes.invalid(child(p, 'mountPath'), mp, 'must be unique'));
    points.add(mp);
    if (str(m.subPath) !== '') validateLocalDescendingPath(str(m.subPath), child(field, 'subPath'), errs);
    if (str(m.subPathExpr) !== '') {
      if (str(m.subPath) !== '') errs.push(causes.invalid(child(p, 'subPathExpr'), m.subPathExpr, 'subPathExpr and subPath are mutually exclusive'));
      validateLocalDescendingPath(str(m.subPathExpr), child(field, 'subPathExpr'), errs);
    }
    if (m.mountPropagation !== undefined && !['None', 'HostToContainer', 'Bidirectional'].includes(m.mountPropagation)) {
      errs.push(causes.notSupported(child(field, 'mountPropagation'), m.mountPropagation, ['Bidirectional', 'HostToContainer', 'None']));
    }
  });
}

const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const STANDARD_CONTAINER_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage']);

function isNativeResource(name: string): boolean {
  return !name.includes('/') || name.includes('kubernetes.io/');
}

function isHugePages(name: string): boolean {
  return name.startsWith('hugepages-');
}

/** Resources that may be requested below their limit (cpu, memory, storage); extended ones may not. */
function isOvercommitAllowed(name: string): boolean {
  return isNativeResource(name) && !isHugePages(name);
}

function validateContainerResourceName(name: string, field: string, errs: Causes): void {
  const before = errs.length;
  validateQualifiedName(name, field, errs);
  if (errs.length > before) return;
  if (!name.includes('/')) {
    if (!STANDARD_CONTAINER_RESOURCES.has(name) && !isHugePages(name)) errs.push(causes.invalid(field, name, 'must be a standard resource for containers'));
  } else if (!isNativeResource(name)) {
    if (name.startsWith('requests.')) errs.push(causes.invalid(field, name, "doesn't follow extended resource name standard"));
  }
}

function validateResourceQuantity(name: string, q: unknown, field: string, errs: Causes): void {
  if (quantityNano(q) < 0n) errs.push(causes.invalid(field, quantityString(q), 'must be greater than or equal to 0'));
  // Extended resources are whole units.
  if (!isNativeResource(name) && quantityNano(q) % 1_000_000_000n !== 0n) errs.push(invalidRaw(field, quantityString(q), 'must be an integer'));
}

export function validateResourceRequirements(res: unknown, field: string, errs: Causes): void {
  if (!isObj(res)) return;
  const limPath = child(field, 'limits');
  const reqPath = child(field, 'requests');
  const limits: Obj = isObj(res.limits) ? res.limits : {};
  const requests: Obj = isObj(res.requests) ? res.requests : {};
  let limCpuMem = false;
  let reqCpuMem = false;
  let hugePages = false;
  for (const [name, q] of Object.entries(limits)) {
    const p = key(limPath, name);
    validateContainerResourceName(name, p, errs);
    validateResourceQuantity(name, q, p, errs);
    if (isHugePages(name)) hugePages = true;
    if (name === 'cpu' || name === 'memory') limCpuMem = true;
  }
  for (const [name, q] of Object.entries(requests)) {
    const p = key(reqPath, name);
    validateContainerResourceName(name, p, errs);
    validateResourceQuantity(name, q, p, errs);
    if (limits[name] !== undefined) {
      const cmp = compareQuantity(q, limits[name]);
      if (cmp !== 0 && !isOvercommitAllowed(name)) {
        errs.push(causes.invalid(reqPath, quantityString(q), `must be equal to ${name} limit of ${quantityString(limits[name])}`));
      } else if (cmp > 0) {
        errs.push(causes.invalid(reqPath, quantityString(q), `must be less than or equal to ${name} limit of ${quantityString(limits[name])}`));
      }
    } else if (!isOvercommitAllowed(name)) {
      errs.push(causes.required(limPath, 'Required value: Limit must be set for non overcommitable resources'));
    }
    if (isHugePages(name)) hugePages = true;
    if (name === 'cpu' || name === 'memory') reqCpuMem = true;
  }
  if (hugePages && !limCpuMem && !reqCpuMem) errs.push(causes.forbidden(field, 'HugePages require cpu or memory'));
}

function validateSecurityContext(sc: unknown, field: string, errs: Causes): void {
  if (!isObj(sc)) return;
  for (const k of ['runAsUser', 'runAsGroup']) {
    if (typeof sc[k] === 'number') for (const m of isValidUserOrGroupID(sc[k])) errs.push(causes.invalid(child(field, k), sc[k], m));
  }
  if (sc.privileged === true && sc.allowPrivilegeEscalation === false) {
    errs.push(causes.invalid(field, sc, 'cannot set `allowPrivilegeEscalation` to false and `privileged` to true'));
  }
  if (isObj(sc.capabilities) && arr(sc.capabilities.add).includes('CAP_SYS_ADMIN') && sc.allowPrivilegeEscalation === false) {
    errs.push(causes.invalid(field, sc, 'cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN'));
  }
}

function validateHandler(h: Obj, gracePeriod: unknown, field: string, errs: Causes): void {
  let n = 0;
  for (const kind of ['exec', 'httpGet', 'tcpSocket', 'grpc', 'sleep']) {
    if (!isObj(h[kind])) continue;
    if (n > 0) {
      errs.push(causes.forbidden(child(field, kind), 'may not specify more than 1 handler type'));
      continue;
    }
    n++;
    const a = h[kind];
    const p = child(field, kind);
    if (kind === 'exec' && arr(a.command).length === 0) errs.push(causes.required(child(p, 'command')));
    if (kind === 'httpGet') {
      if (str(a.path) === '') errs.push(causes.required(child(p, 'path')));
      validatePortNumOrName(a.port, child(p, 'port'), errs);
      if (!['HTTP', 'HTTPS'].includes(str(a.scheme))) errs.push(causes.notSupported(child(p, 'scheme'), str(a.scheme), ['HTTP', 'HTTPS']));
      for (const hd of objs(a.httpHeaders)) for (const m of isHTTPHeaderName(str(hd.name))) errs.push(causes.invalid(child(p, 'httpHeaders'), str(hd.name), m));
    }
    if (kind === 'tcpSocket') validatePortNumOrName(a.port, child(p, 'port'), errs);
    if (kind === 'grpc') validatePortNumOrName(typeof a.port === 'number' ? a.port : 0, child(p, 'port'), errs);
    if (kind === 'sleep') {
      const g = typeof gracePeriod === 'number' ? gracePeriod : 30;
      const secs = typeof a.seconds === 'number' ? a.seconds : 0;
      if (secs <= 0 || secs > g) errs.push(causes.invalid(p, secs, `must be greater than 0 and less than terminationGracePeriodSeconds (${g})`));
    }
  }
  if (n === 0) errs.push(causes.required(field, 'Required value: must specify a handler type'));
}

export function validatePortNumOrName(port: unknown, field: string, errs: Causes): void {
  if (typeof port === 'number') for (const m of isValidPortNum(port)) errs.push(causes.invalid(field, port, m));
  else if (typeof port === 'string') for (const m of isValidPortName(port)) errs.push(causes.invalid(field, port, m));
  else for (const m of isValidPortNum(0)) errs.push(causes.invalid(field, 0, m));
}

function validateProbe(probe: unknown, gracePeriod: unknown, field: string, errs: Causes, kind: 'liveness' | 'readiness' | 'startup'): void {
  if (!isObj(probe)) return;
  validateHandler(probe, gracePeriod, field, errs);
  for (const k of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold']) nonNegative(probe[k], child(field, k), errs);
  if (typeof probe.terminationGracePeriodSeconds === 'number' && probe.terminationGracePeriodSeconds <= 0) {
    errs.push(causes.invalid(child(field, 'terminationGracePeriodSeconds'), probe.terminationGracePeriodSeconds, 'must be greater than 0'));
  }
  if (kind === 'readiness' && probe.terminationGracePeriodSeconds !== undefined) {
    errs.push(causes.invalid(child(field, 'terminationGracePeriodSeconds'), probe.terminationGracePeriodSeconds, 'must not be set for readinessProbes'));
  }
  if (kind !== 'readiness' && typeof probe.successThreshold === 'number' && probe.successThreshold !== 1) {
    errs.push(causes.invalid(child(field, 'successThreshold'), probe.successThreshold, 'must be 1'));
  }
}

function validateLifecycle(lc: unknown, gracePeriod: unknown, field: string, errs: Causes): void {
  if (!isObj(lc)) return;
  if (isObj(lc.postStart)) validateHandler(lc.postStart, gracePeriod, child(field, 'postStart'), errs);
  if (isObj(lc.preStop)) validateHandler(lc.preStop, gracePeriod, child(field, 'preStop'), errs);
}

function validateContainerCommon(c: Obj, volumes: Map<string, Obj>, field: string, errs: Causes): void {
  const name = str(c.name);
  if (name === '') errs.push(causes.required(child(field, 'name')));
  else dns1123Label(name, child(field, 'name'), errs);
  if (str(c.image) === '') errs.push(causes.required(child(field, 'image')));
  const tmp = str(c.terminationMessagePolicy);
  if (tmp === '') errs.push(causes.required(child(field, 'terminationMessagePolicy')));
  else if (tmp !== 'File' && tmp !== 'FallbackToLogsOnError') errs.push(causes.notSupported(child(field, 'terminationMessagePolicy'), tmp, ['File', 'FallbackToLogsOnError']));
  validateContainerPorts(c.ports, child(field, 'ports'), errs);
  validateEnv(c.env, child(field, 'env'), errs);
  validateEnvFrom(c.envFrom, child(field, 'envFrom'), errs);
  validateVolumeMounts(c.volumeMounts, volumes, child(field, 'volumeMounts'), errs);
  const pp = str(c.imagePullPolicy);
  if (pp === '') errs.push(causes.required(child(field, 'imagePullPolicy')));
  else if (!PULL_POLICIES.includes(pp)) errs.push(causes.notSupported(child(field, 'imagePullPolicy'), pp, PULL_POLICIES));
  validateResourceRequirements(c.resources, child(field, 'resources'), errs);
  validateSecurityContext(c.securityContext, child(field, 'securityContext'), errs);
}

function checkHostPortConflicts(containers: Obj[], field: string, errs: Causes): void {
  const seen = new Set<string>();
  containers.forEach((c, ci) => {
    objs(c.ports).forEach((p, pi) => {
      const hp = typeof p.hostPort === 'number' ? p.hostPort : 0;
      if (hp === 0) return;
      const k = `${str(p.protocol)}/${str(p.hostIP)}/${hp}`;
      if (seen.has(k)) errs.push(causes.duplicate(child(index(child(index(field, ci), 'ports'), pi), 'hostPort'), k));
      else seen.add(k);
    });
  });
}

function validateContainers(spec: Obj, volumes: Map<string, Obj>, field: string, errs: Causes): void {
  const containers = objs(spec.containers);
  if (containers.length === 0) {
    errs.push(causes.required(field));
    return;
  }
  const names = new Set<string>();
  containers.forEach((c, i) => {
    const p = index(field, i);
    validateContainerCommon(c, volumes, p, errs);
    const name = str(c.name);
    if (names.has(name)) errs.push(causes.duplicate(child(p, 'name'), name));
    else names.add(name);
    validateLifecycle(c.lifecycle, spec.terminationGracePeriodSeconds, child(p, 'lifecycle'), errs);
    validateProbe(c.livenessProbe, spec.terminationGracePeriodSeconds, child(p, 'livenessProbe'), errs, 'liveness');
    validateProbe(c.readinessProbe, spec.terminationGracePeriodSeconds, child(p, 'readinessProbe'), errs, 'readiness');
    validateProbe(c.startupProbe, spec.terminationGracePeriodSeconds, child(p, 'startupProbe'), errs, 'startup');
    if (c.restartPolicy !== undefined) errs.push(causes.forbidden(child(p, 'restartPolicy'), 'may not be set for non-init containers'));
  });
  checkHostPortConflicts(containers, field, errs);
}

function validateInitContainers(spec: Obj, volumes: Map<string, Obj>, field: string, errs: Causes): void {
  const names = new Set(objs(spec.containers).map((c) => str(c.name)));
  objs(spec.initContainers).forEach((c, i) => {
    const p = index(field, i);
    validateContainerCommon(c, volumes, p, errs);
    let restartAlways = false;
    if (c.restartPolicy !== undefined) {
      if (c.restartPolicy !== 'Always') errs.push(causes.notSupported(child(p, 'restartPolicy'), c.restartPolicy, ['Always']));
      restartAlways = c.restartPolicy === 'Always';
    }
    const name = str(c.name);
    if (names.has(name)) errs.push(causes.duplicate(child(p, 'name'), name));
    else if (name !== '') names.add(name);
    checkHostPortConflicts([c], field, errs);
    if (restartAlways) {
      validateLifecycle(c.lifecycle, spec.terminationGracePeriodSeconds, child(p, 'lifecycle'), errs);
      validateProbe(c.livenessProbe, spec.terminationGracePeriodSeconds, child(p, 'livenessProbe'), errs, 'liveness');
      validateProbe(c.readinessProbe, spec.terminationGracePeriodSeconds, child(p, 'readinessProbe'), errs, 'readiness');
      validateProbe(c.startupProbe, spec.terminationGracePeriodSeconds, child(p, 'startupProbe'), errs, 'startup');
    } else {
      for (const k of ['lifecycle', 'livenessProbe', 'readinessProbe', 'startupProbe']) {
        if (c[k] !== undefined) errs.push(causes.forbidden(child(p, k), 'may not be set for init containers without restartPolicy=Always'));
      }
    }
    if (arr(c.resizePolicy).length > 0) errs.push(causes.invalid(child(p, 'resizePolicy'), c.resizePolicy, 'must not be set for init containers'));
  });
}

const EPHEMERAL_FORBIDDEN = ['ports', 'resources', 'livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle'];

function validateEphemeralContainers(spec: Obj, volumes: Map<string, Obj>, field: string, errs: Causes): void {
  const others = new Set([...objs(spec.containers), ...objs(spec.initContainers)].map((c) => str(c.name)));
  const all = new Set(others);
  objs(spec.ephemeralContainers).forEach((c, i) => {
    const p = index(field, i);
    validateContainerCommon(c, volumes, p, errs);
    const name = str(c.name);
    if (all.has(name)) errs.push(causes.duplicate(child(p, 'name'), name));
    else all.add(name);
    if (str(c.targetContainerName) !== '' && !others.has(c.targetContainerName)) errs.push(notFound(child(p, 'targetContainerName'), c.targetContainerName));
    for (const k of EPHEMERAL_FORBIDDEN) {
      const v = c[k];
      const empty = v === undefined || (isObj(v) && Object.keys(v).length === 0) || (Array.isArray(v) && v.length === 0);
      if (!empty) errs.push(causes.forbidden(child(p, k), 'cannot be set for an Ephemeral Container'));
    }
    objs(c.volumeMounts).forEach((vm, j) => {
      if (str(vm.subPath) !== '') errs.push(causes.forbidden(child(index(child(p, 'volumeMounts'), j), 'subPath'), 'cannot be set for an Ephemeral Container'));
      if (str(vm.subPathExpr) !== '') errs.push(causes.forbidden(child(index(child(p, 'volumeMounts'), j), 'subPathExpr'), 'cannot be set for an Ephemeral Container'));
    });
  });
}

const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

export function validateTolerations(tolerations: unknown, field: string, errs: Causes): void {
  objs(tolerations).forEach((t, i) => {
    const p = index(field, i);
    const k = str(t.key);
    if (k !== '') validateLabelName(k, child(p, 'key'), errs);
    const op = str(t.operator);
    if (k === '' && op !== 'Exists') {
      errs.push(causes.invalid(child(p, 'operator'), op, 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    }
    if (t.tolerationSeconds !== undefined && t.tolerationSeconds !== null && t.effect !== 'NoExecute') {
      errs.push(causes.invalid(child(p, 'effect'), str(t.effect), "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    }
    if (op === 'Equal' || op === '') {
      const msgs = isValidLabelValue(str(t.value));
      if (msgs.length > 0) errs.push(causes.invalid(child(p, 'operator'), str(t.value), msgs.join(';')));
    } else if (op === 'Exists') {
      if (str(t.value) !== '') errs.push(causes.invalid(child(p, 'operator'), t, "value must be empty when `operator` is 'Exists'"));
    } else {
      errs.push(causes.notSupported(child(p, 'operator'), op, ['Equal', 'Exists']));
    }
    const eff = str(t.effect);
    if (eff !== '' && !TAINT_EFFECTS.includes(eff)) errs.push(causes.notSupported(child(p, 'effect'), eff, TAINT_EFFECTS));
  });
}

function validateNodeSelectorTerm(term: Obj, field: string, errs: Causes): void {
  objs(term.matchExpressions).forEach((rq, j) => {
    const p = index(child(field, 'matchExpressions'), j);
    validateRequirementOperator(rq.operator, arr(rq.values), p, errs, true);
    validateLabelName(str(rq.key), child(p, 'key'), errs);
  });
  objs(term.matchFields).forEach((rq, j) => {
    const p = index(child(field, 'matchFields'), j);
    if (rq.operator === 'In' || rq.operator === 'NotIn') {
      if (arr(rq.values).length !== 1) errs.push(causes.required(child(p, 'values'), "Required value: must be only one value when `operator` is 'In' or 'NotIn' for node field selector"));
    } else {
      errs.push(causes.invalid(child(p, 'operator'), str(rq.operator), 'not a valid selector operator'));
    }
    if (rq.key !== 'metadata.name') errs.push(causes.invalid(child(p, 'key'), str(rq.key), 'not a valid field selector key'));
  });
}

function validatePodAffinityTerm(term: Obj, field: string, errs: Causes): void {
  validateLabelSelector(term.labelSelector, child(field, 'labelSelector'), errs);
  validateLabelSelector(term.namespaceSelector, child(field, 'namespaceSelector'), errs);
  arr(term.namespaces).forEach((ns) => {
    for (const m of isDNS1123Label(str(ns))) errs.push(causes.invalid(child(field, 'namespace'), ns, m));
  });
  if (str(term.topologyKey) === '') errs.push(causes.required(child(field, 'topologyKey'), 'Required value: can not be empty'));
  else validateLabelName(str(term.topologyKey), child(field, 'topologyKey'), errs);
}

function validateAffinity(aff: unknown, field: string, errs: Causes): void {
  if (!isObj(aff)) return;
  if (isObj(aff.nodeAffinity)) {
    const na = aff.nodeAffinity;
    const np = child(field, 'nodeAffinity');
    const req = na.requiredDuringSchedulingIgnoredDuringExecution;
    if (isObj(req)) {
      const tp = child(child(np, 'requiredDuringSchedulingIgnoredDuringExecution'), 'nodeSelectorTerms');
      const terms = objs(req.nodeSelectorTerms);
      if (terms.length === 0) errs.push(causes.required(tp, 'Required value: must have at least one node selector term'));
      terms.forEach((t, i) => validateNodeSelectorTerm(t, index(tp, i), errs));
    }
    objs(na.preferredDuringSchedulingIgnoredDuringExecution).forEach((pt, i) => {
      const p = index(child(np, 'preferredDuringSchedulingIgnoredDuringExecution'), i);
      const w = typeof pt.weight === 'number' ? pt.weight : 0;
      if (w <= 0 || w > 100) errs.push(causes.invalid(child(p, 'weight'), w, 'must be in the range 1-100'));
      validateNodeSelectorTerm(isObj(pt.preference) ? pt.preference : {}, child(p, 'preference'), errs);
    });
  }
  for (const kind of ['podAffinity', 'podAntiAffinity']) {
    if (!isObj(aff[kind])) continue;
    const kp = child(field, kind);
    objs(aff[kind].requiredDuringSchedulingIgnoredDuringExecution).forEach((t, i) => validatePodAffinityTerm(t, index(child(kp, 'requiredDuringSchedulingIgnoredDuringExecution'), i), errs));
    objs(aff[kind].preferredDuringSchedulingIgnoredDuringExecution).forEach((wt, i) => {
      const p = index(child(kp, 'preferredDuringSchedulingIgnoredDuringExecution'), i);
      const w = typeof wt.weight === 'number' ? wt.weight : 0;
      if (w <= 0 || w > 100) errs.push(causes.invalid(child(p, 'weight'), w, 'must be in the range 1-100'));
      validatePodAffinityTerm(isObj(wt.podAffinityTerm) ? wt.podAffinityTerm : {}, child(p, 'podAffinityTerm'), errs);
    });
  }
}

function validateTopologySpreadConstraints(tscs: unknown, field: string, errs: Causes): void {
  const seen = new Set<string>();
  objs(tscs).forEach((c, i) => {
    const p = index(field, i);
    const skew = typeof c.maxSkew === 'number' ? c.maxSkew : 0;
    if (skew <= 0) errs.push(causes.invalid(child(p, 'maxSkew'), skew, 'must be greater than zero'));
    const tk = str(c.topologyKey);
    if (tk === '') errs.push(causes.required(child(p, 'topologyKey'), 'Required value: can not be empty'));
    else validateLabelName(tk, child(p, 'topologyKey'), errs);
    const wu = str(c.whenUnsatisfiable);
    if (wu === '') errs.push(causes.required(child(p, 'whenUnsatisfiable')));
    else if (wu !== 'DoNotSchedule' && wu !== 'ScheduleAnyway') errs.push(causes.notSupported(child(p, 'whenUnsatisfiable'), wu, ['DoNotSchedule', 'ScheduleAnyway']));
    const pair = `${tk}/${wu}`;
    if (seen.has(pair)) errs.push(causes.duplicate(p, `{${tk}, ${wu}}`));
    seen.add(pair);
    if (c.minDomains !== undefined && c.minDomains !== null) {
      if (typeof c.minDomains === 'number' && c.minDomains <= 0) errs.push(causes.invalid(child(p, 'minDomains'), c.minDomains, 'must be greater than 0'));
      else if (wu !== 'DoNotSchedule') errs.push(causes.invalid(child(p, 'minDomains'), c.minDomains, 'can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway'));
    }
    validateLabelSelector(c.labelSelector, child(p, 'labelSelector'), errs);
  });
}

function validateDNSConfig(spec: Obj, field: string, errs: Causes): void {
  const cfg = spec.dnsConfig;
  if (spec.dnsPolicy === 'None') {
    if (!isObj(cfg)) {
      errs.push(causes.required(field, 'Required value: must provide `dnsConfig` when `dnsPolicy` is None'));
      return;
    }
    if (arr(cfg.nameservers).length === 0) {
      errs.push(causes.required(child(field, 'nameservers'), 'Required value: must provide at least one DNS nameserver when `dnsPolicy` is None'));
      return;
    }
  }
  if (!isObj(cfg)) return;
  const ns = arr(cfg.nameservers);
  if (ns.length > 3) errs.push(causes.invalid(child(field, 'nameservers'), ns, 'must not have more than 3 nameservers'));
  ns.forEach((ip, i) => {
    if (!isValidIP(str(ip))) errs.push(causes.invalid(index(child(field, 'nameservers'), i), ip, IP_ERROR));
  });
  const searches = arr(cfg.searches);
  if (searches.length > 32) errs.push(causes.invalid(child(field, 'searches'), searches, 'must not have more than 32 search paths'));
  if (searches.join(' ').length > 2048) errs.push(causes.invalid(child(field, 'searches'), searches, 'must not have more than 2048 characters (including spaces) in the search list'));
  searches.forEach((s, i) => dns1123Subdomain(str(s).replace(/\.$/, ''), index(child(field, 'searches'), i), errs));
  objs(cfg.options).forEach((o, i) => {
    if (str(o.name) === '') errs.push(causes.required(index(child(field, 'options'), i), 'Required value: must not be empty'));
  });
}

function validatePodSecurityContext(spec: Obj, field: string, errs: Causes): void {
  const sc = spec.securityContext;
  if (!isObj(sc)) return;
  for (const k of ['fsGroup', 'runAsUser', 'runAsGroup']) {
    if (typeof sc[k] === 'number') for (const m of isValidUserOrGroupID(sc[k])) errs.push(causes.invalid(child(field, k), sc[k], m));
  }
  arr(sc.supplementalGroups).forEach((g, i) => {
    if (typeof g === 'number') for (const m of isValidUserOrGroupID(g)) errs.push(causes.invalid(index(child(field, 'supplementalGroups'), i), g, m));
  });
  if (sc.shareProcessNamespace === true && spec.hostPID === true) {
    errs.push(causes.invalid(child(field, 'shareProcessNamespace'), true, 'ShareProcessNamespace and HostPID cannot both be enabled'));
  }
  if (sc.fsGroupChangePolicy !== undefined && !['Always', 'OnRootMismatch'].includes(sc.fsGroupChangePolicy)) {
    errs.push(causes.notSupported(child(field, 'fsGroupChangePolicy'), sc.fsGroupChangePolicy, ['Always', 'OnRootMismatch']));
  }
  objs(sc.sysctls).forEach((s, i) => {
    if (str(s.name) === '') errs.push(causes.required(child(index(child(field, 'sysctls'), i), 'name')));
  });
}

const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];

/** ValidatePodSpec, in upstream's order of checks. */
export function validatePodSpec(spec: Obj, field: string, opts: PodSpecOptions, errs: Causes): void {
  if (spec.terminationGracePeriodSeconds === undefined || spec.terminationGracePeriodSeconds === null) {
    errs.push(causes.required(child(field, 'terminationGracePeriodSeconds')));
  }
  const volumes = validateVolumes(spec.volumes, child(field, 'volumes'), errs);
  validateContainers(spec, volumes, child(field, 'containers'), errs);
  validateInitContainers(spec, volumes, child(field, 'initContainers'), errs);
  validateEphemeralContainers(spec, volumes, child(field, 'ephemeralContainers'), errs);
  if (spec.hostNetwork === true) {
    objs(spec.containers).forEach((c, i) => {
      objs(c.ports).forEach((port, j) => {
        const hp = typeof port.hostPort === 'number' ? port.hostPort : 0;
        if ((opts.isPod || hp !== 0) && hp !== port.containerPort) {
          errs.push(causes.invalid(child(index(child(index(child(field, 'containers'), i), 'ports'), j), 'hostPort'), hp, 'must match `containerPort` when `hostNetwork` is true'));
        }
      });
    });
  }
  const rp = str(spec.restartPolicy);
  if (rp === '') errs.push(causes.required(child(field, 'restartPolicy')));
  else if (!RESTART_POLICIES.includes(rp)) errs.push(causes.notSupported(child(field, 'restartPolicy'), rp, RESTART_POLICIES));
  const dp = str(spec.dnsPolicy);
  if (dp === '') errs.push(causes.required(child(field, 'dnsPolicy')));
  else if (!DNS_POLICIES.includes(dp)) errs.push(causes.notSupported(child(field, 'dnsPolicy'), dp, DNS_POLICIES));
  validateLabels(spec.nodeSelector, child(field, 'nodeSelector'), errs);
  validatePodSecurityContext(spec, child(field, 'securityContext'), errs);
  objs(spec.imagePullSecrets).forEach((s, i) => {
    if (Object.keys(s).some((k) => k !== 'name')) errs.push(causes.invalid(index(child(field, 'imagePullSecrets'), i), s, 'only name may be set'));
  });
  validateAffinity(spec.affinity, child(field, 'affinity'), errs);
  validateDNSConfig(spec, child(field, 'dnsConfig'), errs);
  objs(spec.readinessGates).forEach((g, i) => validateQualifiedName(str(g.conditionType), child(index(child(field, 'readinessGates'), i), 'conditionType'), errs));
  const gates = new Set<string>();
  objs(spec.schedulingGates).forEach((g, i) => {
    const p = index(child(field, 'schedulingGates'), i);
    validateQualifiedName(str(g.name), p, errs);
    if (gates.has(str(g.name))) errs.push(causes.duplicate(p, str(g.name)));
    gates.add(str(g.name));
  });
  validateTopologySpreadConstraints(spec.topologySpreadConstraints, child(field, 'topologySpreadConstraints'), errs);
  if (str(spec.serviceAccountName) !== '') {
    for (const m of nameIsDNSSubdomain(spec.serviceAccountName, false)) errs.push(causes.invalid(child(field, 'serviceAccountName'), spec.serviceAccountName, m));
  }
  if (str(spec.nodeName) !== '') {
    for (const m of nameIsDNSSubdomain(spec.nodeName, false)) errs.push(causes.invalid(child(field, 'nodeName'), spec.nodeName, m));
  }
  if (typeof spec.activeDeadlineSeconds === 'number' && (spec.activeDeadlineSeconds < 1 || spec.activeDeadlineSeconds > MAX_INT32)) {
    errs.push(causes.invalid(child(field, 'activeDeadlineSeconds'), spec.activeDeadlineSeconds, inclusiveRangeError(1, MAX_INT32)));
  }
  if (str(spec.hostname) !== '') dns1123Label(spec.hostname, child(field, 'hostname'), errs);
  if (str(spec.subdomain) !== '') dns1123Label(spec.subdomain, child(field, 'subdomain'), errs);
  validateTolerations(spec.tolerations, child(field, 'tolerations'), errs);
  objs(spec.hostAliases).forEach((ha, i) => {
    const p = index(child(field, 'hostAliases'), i);
    if (!isValidIP(str(ha.ip))) errs.push(causes.invalid(child(p, 'ip'), str(ha.ip), IP_ERROR));
    arr(ha.hostnames).forEach((h, j) => dns1123Subdomain(str(h), index(child(p, 'hostnames'), j), errs));
  });
  if (str(spec.priorityClassName) !== '') {
    for (const m of nameIsDNSSubdomain(spec.priorityClassName, false)) errs.push(causes.invalid(child(field, 'priorityClassName'), spec.priorityClassName, m));
  }
  if (typeof spec.runtimeClassName === 'string') {
    for (const m of nameIsDNSSubdomain(spec.runtimeClassName, false)) errs.push(causes.invalid(child(field, 'runtimeClassName'), spec.runtimeClassName, m));
  }
  if (spec.preemptionPolicy !== undefined) {
    const pp = str(spec.preemptionPolicy);
    if (pp === '') errs.push(causes.required(child(field, 'preemptionPolicy')));
    else if (pp !== 'PreemptLowerPriority' && pp !== 'Never') errs.push(causes.notSupported(child(field, 'preemptionPolicy'), pp, ['PreemptLowerPriority', 'Never']));
  }
  if (isObj(spec.overhead)) validateResourceRequirements({ limits: spec.overhead }, child(field, 'overhead'), errs);
  if (isObj(spec.os)) {
    const os = str(spec.os.name);
    if (os === '') errs.push(causes.required(child(child(field, 'os'), 'name')));
    else if (os !== 'linux' && os !== 'windows') errs.push(causes.notSupported(child(child(field, 'os'), 'name'), os, ['linux', 'windows']));
  }
}

/** ValidatePodTemplateSpec: template labels/annotations plus the spec. */
export function validatePodTemplateSpec(template: unknown, field: string, errs: Causes): void {
  const t: Obj = isObj(template) ? template : {};
  const meta: Obj = isObj(t.metadata) ? t.metadata : {};
  validateLabels(meta.labels, child(field, 'labels'), errs);
  validateAnnotations(meta.annotations, child(field, 'annotations'), errs);
  const spec: Obj = isObj(t.spec) ? t.spec : {};
  validatePodSpec(spec, child(field, 'spec'), { isPod: false }, errs);
  if (arr(spec.ephemeralContainers).length > 0) errs.push(causes.forbidden(child(child(field, 'spec'), 'ephemeralContainers'), 'ephemeral containers not allowed in pod template'));
}

/** Checks only a real Pod gets (ValidatePodCreate's additions). */
export function validatePodOnly(pod: Obj, errs: Causes, create: boolean): void {
  const spec: Obj = isObj(pod.spec) ? pod.spec : {};
  if (str(spec.serviceAccountName) === '') {
    objs(spec.volumes).forEach((v, vi) => {
      if (!isObj(v.projected)) return;
      objs(v.projected.sources).forEach((s, si) => {
        if (isObj(s.serviceAccountToken)) {
          errs.push(causes.forbidden(`spec.volumes[${vi}].projected.sources[${si}].serviceAccountToken`, 'must not be specified when serviceAccountName is not set'));
        }
      });
    });
  }
  for (const list of ['containers', 'initContainers']) {
    objs(spec[list]).forEach((c, i) => {
      const image = str(c.image);
      if (image !== image.trim()) errs.push(causes.invalid(`spec.${list}[${i}].image`, image, 'must not have leading or trailing whitespace'));
    });
  }
  if (!create) return;
  if (arr(spec.ephemeralContainers).length > 0) errs.push(causes.forbidden('spec.ephemeralContainers', 'cannot be set on create'));
  if (str(spec.nodeName) !== '' && arr(spec.schedulingGates).length > 0) {
    errs.push(causes.forbidden('spec.nodeName', 'cannot be set until all schedulingGates have been cleared'));
  }
}

const UPDATABLE_POD_FIELDS = [
  '`spec.containers[*].image`',
  '`spec.initContainers[*].image`',
  '`spec.activeDeadlineSeconds`',
  '`spec.tolerations` (only additions to existing tolerations)',
  '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
];

/**
 * ValidatePodUpdate's spec rules: only images, a shrinking activeDeadlineSeconds, added
 * tolerations and removed scheduling gates may change (plus nodeSelector/affinity additions
 * while the pod is still gated).
 */
export function validatePodSpecUpdate(spec: Obj, oldSpec: Obj, errs: Causes): void {
  for (const list of ['containers', 'initContainers']) {
    const n = objs(spec[list]);
    const o = objs(oldSpec[list]);
    if (n.length !== o.length) {
      errs.push(causes.forbidden(`spec.${list}`, 'pod updates may not add or remove containers'));
      return;
    }
    n.forEach((c, i) => {
      const image = str(c.image);
      if (image === '') errs.push(causes.required(`spec.${list}[${i}].image`));
      if (image.trim() !== image) errs.push(causes.invalid(`spec.${list}[${i}].image`, image, 'must not have leading or trailing whitespace'));
    });
  }
  const ads = spec.activeDeadlineSeconds;
  const oldAds = oldSpec.activeDeadlineSeconds;
  if (typeof ads === 'number') {
    if (ads < 0 || ads > MAX_INT32) {
      errs.push(causes.invalid('spec.activeDeadlineSeconds', ads, inclusiveRangeError(0, MAX_INT32)));
      return;
    }
    if (typeof oldAds === 'number' && oldAds < ads) {
      errs.push(causes.invalid('spec.activeDeadlineSeconds', ads, 'must be less than or equal to previous value'));
      return;
    }
  } else if (typeof oldAds === 'number') {
    errs.push(causes.invalid('spec.activeDeadlineSeconds', null, 'must not update from a positive integer to nil value'));
  }
  // Existing tolerations must stay, though their tolerationSeconds may change.
  const newTols = objs(spec.tolerations);
  for (const old of objs(oldSpec.tolerations)) {
    const found = newTols.some((t) => semanticEqual({ ...old, tolerationSeconds: t.tolerationSeconds }, t));
    if (!found) {
      errs.push(causes.forbidden('spec.tolerations', 'existing toleration can not be modified except its tolerationSeconds'));
      break;
    }
  }
  const oldGates = new Set(objs(oldSpec.schedulingGates).map((g) => str(g.name)));
  objs(spec.schedulingGates).forEach((g, i) => {
    if (!oldGates.has(str(g.name))) {
      errs.push(causes.forbidden(`spec.schedulingGates[${i}].name`, `only deletion is allowed, but found new scheduling gate '${str(g.name)}'`));
    }
  });
  if (semanticEqual(spec, oldSpec)) return;

  const munged = clone(spec);
  for (const list of ['containers', 'initContainers']) {
    objs(munged[list]).forEach((c, i) => {
      c.image = objs(oldSpec[list])[i]?.image;
    });
  }
  if (oldAds === undefined) delete munged.activeDeadlineSeconds;
  else munged.activeDeadlineSeconds = oldAds;
  munged.schedulingGates = oldSpec.schedulingGates;
  munged.tolerations = oldSpec.tolerations;
  if (typeof oldSpec.terminationGracePeriodSeconds === 'number' && oldSpec.terminationGracePeriodSeconds < 0 && munged.terminationGracePeriodSeconds === 1) {
    munged.terminationGracePeriodSeconds = oldSpec.terminationGracePeriodSeconds;
  }
  if (arr(oldSpec.schedulingGates).length > 0) {
    // A gated pod may gain node constraints (the scheduler has not acted on it yet).
    munged.nodeSelector = oldSpec.nodeSelector;
    if (isObj(munged.affinity)) munged.affinity = { ...munged.affinity, nodeAffinity: isObj(oldSpec.affinity) ? oldSpec.affinity.nodeAffinity : undefined };
  }
  if (!semanticEqual(munged, oldSpec)) {
    errs.push(causes.forbidden('spec', `pod updates may not change fields other than ${UPDATABLE_POD_FIELDS.join(',')}\n${specDiff(oldSpec, munged)}`));
  }
}

/** A short readable diff in place of upstream's cmp.Diff output, which cannot be reproduced. */
function specDiff(oldSpec: Obj, newSpec: Obj): string {
  const lines: string[] = ['  core.PodSpec{'];
  const keys = [...new Set([...Object.keys(oldSpec), ...Object.keys(newSpec)])].sort();
  for (const k of keys) {
    if (semanticEqual(oldSpec[k], newSpec[k])) continue;
    if (oldSpec[k] !== undefined) lines.push(`- \t${k}: ${JSON.stringify(oldSpec[k])},`);
    if (newSpec[k] !== undefined) lines.push(`+ \t${k}: ${JSON.stringify(newSpec[k])},`);
  }
  lines.push('  }');
  return lines.join('\n');
}
