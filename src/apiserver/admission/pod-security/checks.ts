/**
 * The Pod Security Standards' checks, as upstream's policy/check_*.go in v1.32: each names what it
 * refuses (the reason) and where (the detail) in upstream's words, since those strings are what
 * users see in denials, warnings and audit annotations. A check may change between policy versions;
 * each version lists the policy version it starts at. Objects come from clients (pod templates too),
 * so every field is read defensively.
 */
import type { Level } from './api.js';

export interface CheckResult {
  allowed: boolean;
  forbiddenReason?: string;
  forbiddenDetail?: string;
}

export type CheckPod = (meta: any, spec: any) => CheckResult;

export interface VersionedCheck {
  /** The first v1.<minor> this version of the check applies to. */
  minimumMinor: number;
  checkPod: CheckPod;
  /** Baseline checks this restricted check replaces (it is stricter about the same fields). */
  overrides?: string[];
}

export interface Check {
  id: string;
  level: Exclude<Level, 'privileged'>;
  versions: VersionedCheck[];
}

const ALLOWED: CheckResult = { allowed: true };
const forbidden = (forbiddenReason: string, forbiddenDetail: string): CheckResult => ({ allowed: false, forbiddenReason, forbiddenDetail });

// ---- helpers (upstream's joinQuote, pluralize, visitContainers) ---------------------------------

function joinQuote(items: string[]): string {
  return items.length === 0 ? '' : `"${items.join('", "')}"`;
}

function pluralize(singular: string, plural: string, count: number): string {
  return count === 1 ? singular : plural;
}

/** Go's sets.String.List(): distinct and sorted. */
function sortedSet(s: Set<string>): string[] {
  return [...s].sort();
}

function obj(v: unknown): any {
  return v && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

function list(v: unknown): any[] {
  return Array.isArray(v) ? v : [];
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}

/** Init containers, containers, then ephemeral containers, as upstream visits them. */
function visitContainers(spec: any, visit: (c: any, name: string) => void): void {
  for (const key of ['initContainers', 'containers', 'ephemeralContainers']) {
    for (const c of list(spec?.[key])) {
      const container = obj(c);
      if (container) visit(container, str(container.name));
    }
  }
}

function securityContext(c: any): any {
  return obj(c.securityContext);
}

function podSecurityContext(spec: any): any {
  return obj(spec?.securityContext);
}

function annotations(meta: any): Record<string, unknown> {
  return obj(meta?.annotations) ?? {};
}

function isWindows(spec: any): boolean {
  return obj(spec?.os)?.name === 'windows';
}

function containersPhrase(names: string[]): string {
  return `${pluralize('container', 'containers', names.length)} ${joinQuote(names)}`;
}

// ---- baseline --------------------------------------------------------------------------------

function windowsHostProcess(_meta: any, spec: any): CheckResult {
  const bad: string[] = [];
  visitContainers(spec, (c, name) => {
    if (obj(securityContext(c)?.windowsOptions)?.hostProcess === true) bad.push(name);
  });
  const setters: string[] = [];
  if (obj(podSecurityContext(spec)?.windowsOptions)?.hostProcess === true) setters.push('pod');
  if (bad.length > 0) setters.push(containersPhrase(bad));
  if (setters.length === 0) return ALLOWED;
  return forbidden('hostProcess', `${setters.join(' and ')} must not set securityContext.windowsOptions.hostProcess=true`);
}

function hostNamespaces(_meta: any, spec: any): CheckResult {
  const used: string[] = [];
  if (spec?.hostNetwork === true) used.push('hostNetwork=true');
  if (spec?.hostPID === true) used.push('hostPID=true');
  if (spec?.hostIPC === true) used.push('hostIPC=true');
  return used.length === 0 ? ALLOWED : forbidden('host namespaces', used.join(', '));
}

function privileged(_meta: any, spec: any): CheckResult {
  const bad: string[] = [];
  visitContainers(spec, (c, name) => {
    if (securityContext(c)?.privileged === true) bad.push(name);
  });
  return bad.length === 0 ? ALLOWED : forbidden('privileged', `${containersPhrase(bad)} must not set securityContext.privileged=true`);
}

/** What a container may add at baseline: the container runtime's default set. */
const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);

function capabilitiesBaseline(_meta: any, spec: any): CheckResult {
  const bad: string[] = [];
  const nonDefault = new Set<string>();
  visitContainers(spec, (c, name) => {
    const caps = obj(securityContext(c)?.capabilities);
    if (!caps) return;
    let valid = true;
    for (const cap of list(caps.add)) {
      if (!BASELINE_CAPABILITIES.has(str(cap))) {
        valid = false;
        nonDefault.add(str(cap));
      }
    }
    if (!valid) bad.push(name);
  });
  if (bad.length === 0) return ALLOWED;
  return forbidden('non-default capabilities', `${containersPhrase(bad)} must not include ${joinQuote(sortedSet(nonDefault))} in securityContext.capabilities.add`);
}

function hostPathVolumes(_meta: any, spec: any): CheckResult {
  const names = list(spec?.volumes)
    .filter((v) => obj(v) && obj(v.hostPath))
    .map((v) => str(v.name));
  if (names.length === 0) return ALLOWED;
  return forbidden('hostPath volumes', `${pluralize('volume', 'volumes', names.length)} ${joinQuote(names)}`);
}

function hostPorts(_meta: any, spec: any): CheckResult {
  const bad: string[] = [];
  const ports = new Set<string>();
  visitContainers(spec, (c, name) => {
    let valid = true;
    for (const p of list(c.ports)) {
      const hostPort = obj(p)?.hostPort;
      if (hostPort !== undefined && hostPort !== null && hostPort !== 0) {
        valid = false;
        ports.add(String(hostPort));
      }
    }
    if (!valid) bad.push(name);
  });
  if (bad.length === 0) return ALLOWED;
  return forbidden(
    'hostPort',
    `${containersPhrase(bad)} ${pluralize('uses', 'use', bad.length)} ${pluralize('hostPort', 'hostPorts', ports.size)} ${sortedSet(ports).join(', ')}`,
  );
}

const APPARMOR_ANNOTATION_PREFIX = 'container.apparmor.security.beta.kubernetes.io/';

function allowedAppArmorType(t: unknown): boolean {
  return t === 'RuntimeDefault' || t === 'Localhost';
}

function allowedAppArmorAnnotation(v: string): boolean {
  return v === '' || v === 'runtime/default' || v.startsWith('localhost/');
}

/** Go's %q for the strings we meet here. */
function goQuote(s: string): string {
  return JSON.stringify(s);
}

function appArmorProfile(meta: any, spec: any): CheckResult {
  const setters: string[] = [];
  const badValues = new Set<string>();
  const podProfile = obj(podSecurityContext(spec)?.appArmorProfile);
  if (podProfile && !allowedAppArmorType(podProfile.type)) {
    setters.push('pod');
    badValues.add(str(podProfile.type));
  }
  const bad: string[] = [];
  visitContainers(spec, (c, name) => {
    const profile = obj(securityContext(c)?.appArmorProfile);
    if (profile && !allowedAppArmorType(profile.type)) {
      bad.push(name);
      badValues.add(str(profile.type));
    }
  });
  if (bad.length > 0) setters.push(containersPhrase(bad));
  const forbiddenAnnotations: string[] = [];
  for (const [k, v] of Object.entries(annotations(meta))) {
    if (k.startsWith(APPARMOR_ANNOTATION_PREFIX) && !allowedAppArmorAnnotation(str(v))) forbiddenAnnotations.push(`${k}=${goQuote(str(v))}`);
  }
  const values = sortedSet(badValues);
  if (forbiddenAnnotations.length > 0) {
    values.push(...forbiddenAnnotations.sort());
    setters.push(pluralize('annotation', 'annotations', forbiddenAnnotations.length));
  }
  if (setters.length === 0) return ALLOWED;
  return forbidden(
    pluralize('forbidden AppArmor profile', 'forbidden AppArmor profiles', values.length),
    `${setters.join(' and ')} must not set AppArmor profile type to ${joinQuote(values)}`,
  );
}

const SELINUX_TYPES_1_0 = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t']);
const SELINUX_TYPES_1_31 = new Set([...SELINUX_TYPES_1_0, 'container_engine_t']);

function seLinuxOptions(allowedTypes: Set<string>): CheckPod {
  return (_meta, spec) => {
    const badTypes = new Set<string>();
    let setUser = false;
    let setRole = false;
    const valid = (opts: any): boolean => {
      let ok = true;
      const type = str(opts.type);
      if (!allowedTypes.has(type)) {
        ok = false;
        badTypes.add(type);
      }
      if (str(opts.user).length > 0) {
        ok = false;
        setUser = true;
      }
      if (str(opts.role).length > 0) {
        ok = false;
        setRole = true;
      }
      return ok;
    };
    const setters: string[] = [];
    const podOpts = obj(podSecurityContext(spec)?.seLinuxOptions);
    if (podOpts && !valid(podOpts)) setters.push('pod');
    const bad: string[] = [];
    visitContainers(spec, (c, name) => {
      const opts = obj(securityContext(c)?.seLinuxOptions);
      if (opts && !valid(opts)) bad.push(name);
    });
    if (bad.length > 0) setters.push(containersPhrase(bad));
    if (setters.length === 0) return ALLOWED;
    const data: string[] = [];
    if (badTypes.size > 0) data.push(`${pluralize('type', 'types', badTypes.size)} ${joinQuote(sortedSet(badTypes))}`);
    if (setUser) data.push('user may not be set');
    if (setRole) data.push('role may not be set');
    return forbidden('seLinuxOptions', `${setters.join(' and ')} set forbidden securityContext.seLinuxOptions: ${data.join('; ')}`);
  };
}

function procMount(_meta: any, spec: any): CheckResult {
  const bad: string[] = [];
  const types = new Set<string>();
  visitContainers(spec, (c, name) => {
    const pm = securityContext(c)?.procMount;
    if (pm === undefined || pm === null) return;
    if (pm !== 'Default') {
      bad.push(name);
      types.add(str(pm));
    }
  });
  if (bad.length === 0) return ALLOWED;
  return forbidden('procMount', `${containersPhrase(bad)} must not set securityContext.procMount to ${joinQuote(sortedSet(types))}`);
}

const SECCOMP_POD_ANNOTATION = 'seccomp.security.alpha.kubernetes.io/pod';
const SECCOMP_CONTAINER_ANNOTATION_PREFIX = 'container.seccomp.security.alpha.kubernetes.io/';

function validSeccompType(t: unknown): boolean {
  return t === 'Localhost' || t === 'RuntimeDefault';
}

function validSeccompAnnotation(v: string): boolean {
  return v === 'runtime/default' || v === 'docker/default' || v.startsWith('localhost/');
}

/** Before v1.19 seccomp was set by annotations. */
function seccompBaseline_1_0(meta: any, spec: any): CheckResult {
  const anns = annotations(meta);
  const bad = new Set<string>();
  const check = (key: string) => {
    if (!Object.hasOwn(anns, key)) return;
    const v = str(anns[key]);
    if (!validSeccompAnnotation(v)) bad.add(`${key}=${goQuote(v)}`);
  };
  check(SECCOMP_POD_ANNOTATION);
  visitContainers(spec, (_c, name) => check(SECCOMP_CONTAINER_ANNOTATION_PREFIX + name));
  if (bad.size === 0) return ALLOWED;
  return forbidden('seccompProfile', `forbidden ${pluralize('annotation', 'annotations', bad.size)} ${sortedSet(bad).join(', ')}`);
}

function seccompBaseline_1_19(_meta: any, spec: any): CheckResult {
  const setters: string[] = [];
  const badValues = new Set<string>();
  const podProfile = obj(podSecurityContext(spec)?.seccompProfile);
  if (podProfile && !validSeccompType(podProfile.type)) {
    setters.push('pod');
    badValues.add(str(podProfile.type));
  }
  const bad: string[] = [];
  visitContainers(spec, (c, name) => {
    const profile = obj(securityContext(c)?.seccompProfile);
    if (profile && !validSeccompType(profile.type)) {
      bad.push(name);
      badValues.add(str(profile.type));
    }
  });
  if (bad.length > 0) setters.push(containersPhrase(bad));
  if (setters.length === 0) return ALLOWED;
  return forbidden('seccompProfile', `${setters.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(sortedSet(badValues))}`);
}

const SYSCTLS_1_0 = new Set(['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range', 'net.ipv4.ip_unprivileged_port_start']);
const SYSCTLS_1_27 = new Set([...SYSCTLS_1_0, 'net.ipv4.ip_local_reserved_ports']);
const SYSCTLS_1_29 = new Set([...SYSCTLS_1_27, 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes']);
const SYSCTLS_1_32 = new Set([...SYSCTLS_1_29, 'net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem']);

function sysctls(allowed: Set<string>): CheckPod {
  return (_meta, spec) => {
    const bad = list(podSecurityContext(spec)?.sysctls)
      .map((s) => str(obj(s)?.name))
      .filter((name) => !allowed.has(name));
    return bad.length === 0 ? ALLOWED : forbidden('forbidden sysctls', bad.join(', '));
  };
}

// ---- restricted ------------------------------------------------------------------------------

function allowPrivilegeEscalation_1_8(_meta: any, spec: any): CheckResult {
  const bad: string[] = [];
  visitContainers(spec, (c, name) => {
    if (securityContext(c)?.allowPrivilegeEscalation !== false) bad.push(name);
  });
  if (bad.length === 0) return ALLOWED;
  return forbidden('allowPrivilegeEscalation != false', `${containersPhrase(bad)} must set securityContext.allowPrivilegeEscalation=false`);
}

/** From v1.25 some restricted checks do not apply to Windows pods (spec.os.name=windows). */
function unlessWindows(check: CheckPod): CheckPod {
  return (meta, spec) => (isWindows(spec) ? ALLOWED : check(meta, spec));
}

function capabilitiesRestricted_1_22(_meta: any, spec: any): CheckResult {
  const missingDropAll: string[] = [];
  const addingForbidden: string[] = [];
  const forbiddenCaps = new Set<string>();
  visitContainers(spec, (c, name) => {
    const caps = obj(securityContext(c)?.capabilities);
    if (!caps) {
      missingDropAll.push(name);
      return;
    }
    if (!list(caps.drop).some((d) => d === 'ALL')) missingDropAll.push(name);
    let added = false;
    for (const cap of list(caps.add)) {
      if (cap !== 'NET_BIND_SERVICE') {
        added = true;
        forbiddenCaps.add(str(cap));
      }
    }
    if (added) addingForbidden.push(name);
  });
  const details: string[] = [];
  if (missingDropAll.length > 0) details.push(`${containersPhrase(missingDropAll)} must set securityContext.capabilities.drop=["ALL"]`);
  if (addingForbidden.length > 0) {
    details.push(`${containersPhrase(addingForbidden)} must not include ${joinQuote(sortedSet(forbiddenCaps))} in securityContext.capabilities.add`);
  }
  return details.length === 0 ? ALLOWED : forbidden('unrestricted capabilities', details.join('; '));
}

/** Inline volume sources restricted pods may use. */
const RESTRICTED_ALLOWED_VOLUMES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];
/** The forbidden ones, in upstream's order of precedence when naming a volume's type. */
const RESTRICTED_FORBIDDEN_VOLUMES = [
  'hostPath',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'nfs',
  'iscsi',
  'glusterfs',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'fc',
  'azureFile',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'portworxVolume',
  'scaleIO',
  'storageos',
];
const ALL_VOLUME_SOURCES = [...RESTRICTED_ALLOWED_VOLUMES, ...RESTRICTED_FORBIDDEN_VOLUMES];

function restrictedVolumes(_meta: any, spec: any): CheckResult {
  const badVolumes: string[] = [];
  const badTypes = new Set<string>();
  for (const raw of list(spec?.volumes)) {
    const v = obj(raw);
    if (!v) continue;
    const has = (k: string) => v[k] !== undefined && v[k] !== null;
    if (RESTRICTED_ALLOWED_VOLUMES.some(has)) continue;
    // A volume naming no source at all is an emptyDir once defaulted (upstream's SetDefaults_Volume).
    if (!ALL_VOLUME_SOURCES.some(has) && Object.keys(v).every((k) => k === 'name')) continue;
    badVolumes.push(str(v.name));
    badTypes.add(RESTRICTED_FORBIDDEN_VOLUMES.find(has) ?? 'unknown');
  }
  if (badVolumes.length === 0) return ALLOWED;
  return forbidden(
    'restricted volume types',
    `${pluralize('volume', 'volumes', badVolumes.length)} ${joinQuote(badVolumes)} ${pluralize('uses', 'use', badVolumes.length)} ${pluralize('restricted volume type', 'restricted volume types', badTypes.size)} ${joinQuote(sortedSet(badTypes))}`,
  );
}

function runAsNonRoot(_meta: any, spec: any): CheckResult {
  const setters: string[] = [];
  let podRunAsNonRoot = false;
  const podValue = podSecurityContext(spec)?.runAsNonRoot;
  if (typeof podValue === 'boolean') {
    if (!podValue) setters.push('pod');
    else podRunAsNonRoot = true;
  }
  const explicitlyBad: string[] = [];
  const implicitlyBad: string[] = [];
  visitContainers(spec, (c, name) => {
    const v = securityContext(c)?.runAsNonRoot;
    if (typeof v === 'boolean') {
      if (!v) explicitlyBad.push(name);
    } else if (!podRunAsNonRoot) {
      implicitlyBad.push(name);
    }
  });
  if (explicitlyBad.length > 0) setters.push(containersPhrase(explicitlyBad));
  if (setters.length > 0) return forbidden('runAsNonRoot != true', `${setters.join(' and ')} must not set securityContext.runAsNonRoot=false`);
  if (implicitlyBad.length > 0) return forbidden('runAsNonRoot != true', `pod or ${containersPhrase(implicitlyBad)} must set securityContext.runAsNonRoot=true`);
  return ALLOWED;
}

function runAsUser(_meta: any, spec: any): CheckResult {
  const setters: string[] = [];
  if (podSecurityContext(spec)?.runAsUser === 0) setters.push('pod');
  const bad: string[] = [];
  visitContainers(spec, (c, name) => {
    if (securityContext(c)?.runAsUser === 0) bad.push(name);
  });
  if (bad.length > 0) setters.push(containersPhrase(bad));
  return setters.length === 0 ? ALLOWED : forbidden('runAsUser=0', `${setters.join(' and ')} must not set runAsUser=0`);
}

function seccompRestricted_1_19(_meta: any, spec: any): CheckResult {
  const setters: string[] = [];
  const badValues = new Set<string>();
  let podSet = false;
  const podProfile = obj(podSecurityContext(spec)?.seccompProfile);
  if (podProfile) {
    if (!validSeccompType(podProfile.type)) {
      setters.push('pod');
      badValues.add(str(podProfile.type));
    } else {
      podSet = true;
    }
  }
  const explicitlyBad: string[] = [];
  const implicitlyBad: string[] = [];
  visitContainers(spec, (c, name) => {
    const profile = obj(securityContext(c)?.seccompProfile);
    if (profile) {
      if (!validSeccompType(profile.type)) {
        explicitlyBad.push(name);
        badValues.add(str(profile.type));
      }
    } else if (!podSet) {
      implicitlyBad.push(name);
    }
  });
  if (explicitlyBad.length > 0) setters.push(containersPhrase(explicitlyBad));
  if (setters.length > 0) {
    return forbidden('seccompProfile', `${setters.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(sortedSet(badValues))}`);
  }
  if (implicitlyBad.length > 0) {
    return forbidden('seccompProfile', `pod or ${containersPhrase(implicitlyBad)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`);
  }
  return ALLOWED;
}

// ---- the registry of checks ------------------------------------------------------------------

export const CHECK_CAPABILITIES_BASELINE = 'capabilities_baseline';
export const CHECK_HOST_PATH_VOLUMES = 'hostPathVolumes';
export const CHECK_SECCOMP_BASELINE = 'seccompProfile_baseline';

/** Every check of v1.32's policy, with the versions at which each changed. */
export const DEFAULT_CHECKS: readonly Check[] = [
  { id: 'appArmorProfile', level: 'baseline', versions: [{ minimumMinor: 0, checkPod: appArmorProfile }] },
  { id: CHECK_CAPABILITIES_BASELINE, level: 'baseline', versions: [{ minimumMinor: 0, checkPod: capabilitiesBaseline }] },
  { id: 'hostNamespaces', level: 'baseline', versions: [{ minimumMinor: 0, checkPod: hostNamespaces }] },
  { id: CHECK_HOST_PATH_VOLUMES, level: 'baseline', versions: [{ minimumMinor: 0, checkPod: hostPathVolumes }] },
  { id: 'hostPorts', level: 'baseline', versions: [{ minimumMinor: 0, checkPod: hostPorts }] },
  { id: 'privileged', level: 'baseline', versions: [{ minimumMinor: 0, checkPod: privileged }] },
  { id: 'procMount', level: 'baseline', versions: [{ minimumMinor: 0, checkPod: procMount }] },
  {
    id: 'seLinuxOptions',
    level: 'baseline',
    versions: [
      { minimumMinor: 0, checkPod: seLinuxOptions(SELINUX_TYPES_1_0) },
      { minimumMinor: 31, checkPod: seLinuxOptions(SELINUX_TYPES_1_31) },
    ],
  },
  {
    id: CHECK_SECCOMP_BASELINE,
    level: 'baseline',
    versions: [
      { minimumMinor: 0, checkPod: seccompBaseline_1_0 },
      { minimumMinor: 19, checkPod: seccompBaseline_1_19 },
    ],
  },
  {
    id: 'sysctls',
    level: 'baseline',
    versions: [
      { minimumMinor: 0, checkPod: sysctls(SYSCTLS_1_0) },
      { minimumMinor: 27, checkPod: sysctls(SYSCTLS_1_27) },
      { minimumMinor: 29, checkPod: sysctls(SYSCTLS_1_29) },
      { minimumMinor: 32, checkPod: sysctls(SYSCTLS_1_32) },
    ],
  },
  { id: 'windowsHostProcess', level: 'baseline', versions: [{ minimumMinor: 0, checkPod: windowsHostProcess }] },
  {
    id: 'allowPrivilegeEscalation',
    level: 'restricted',
    versions: [
      { minimumMinor: 8, checkPod: allowPrivilegeEscalation_1_8 },
      { minimumMinor: 25, checkPod: unlessWindows(allowPrivilegeEscalation_1_8) },
    ],
  },
  {
    id: 'capabilities_restricted',
    level: 'restricted',
    versions: [
      { minimumMinor: 22, checkPod: capabilitiesRestricted_1_22, overrides: [CHECK_CAPABILITIES_BASELINE] },
      { minimumMinor: 25, checkPod: unlessWindows(capabilitiesRestricted_1_22), overrides: [CHECK_CAPABILITIES_BASELINE] },
    ],
  },
  { id: 'restrictedVolumes', level: 'restricted', versions: [{ minimumMinor: 0, checkPod: restrictedVolumes, overrides: [CHECK_HOST_PATH_VOLUMES] }] },
  { id: 'runAsNonRoot', level: 'restricted', versions: [{ minimumMinor: 0, checkPod: runAsNonRoot }] },
  { id: 'runAsUser', level: 'restricted', versions: [{ minimumMinor: 23, checkPod: runAsUser }] },
  {
    id: 'seccompProfile_restricted',
    level: 'restricted',
    versions: [
      { minimumMinor: 19, checkPod: seccompRestricted_1_19, overrides: [CHECK_SECCOMP_BASELINE] },
      { minimumMinor: 25, checkPod: unlessWindows(seccompRestricted_1_19), overrides: [CHECK_SECCOMP_BASELINE] },
    ],
  },
];
