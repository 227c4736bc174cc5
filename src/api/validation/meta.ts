/**
 * ObjectMeta validation, as upstream's apimachinery api/validation/objectmeta.go plus the extra
 * finalizer rule the built-in (k8s.io/kubernetes) kinds add. Every built-in strategy calls
 * validateObjectMeta on create and validateObjectMetaUpdate on update, with the kind's name rule.
 */
import type { StatusCause } from '../errors.js';
import { causes } from '../errors.js';
import type { KubeObject, ResourceEntry } from '../types.js';
import { groupKind } from '../types.js';
import { isQualifiedName, nameIsDNS1035Label, nameIsDNSLabel, nameIsDNSSubdomain, nameIsPathSegment, type NameFn } from './names.js';
import { arr, child, index, invalidRaw, isObj, semanticEqual, str, validateLabels, validateQualifiedName, type Causes, type Obj } from './util.js';

export {
  isDNS1123Label,
  isDNS1123Subdomain,
  isDNS1035Label,
  isQualifiedName,
  isValidLabelValue,
  isConfigMapKey,
  isValidPathSegmentName,
  nameIsDNSSubdomain,
  nameIsDNSLabel,
  nameIsDNS1035Label,
  nameIsPathSegment,
  type NameFn,
} from './names.js';
export { validateLabels, validateLabelSelector, selectorMatches } from './util.js';

export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

/** Finalizers without a domain prefix that the built-in kinds accept. */
const STANDARD_FINALIZERS = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);

export interface MetaRules {
  namespaced: boolean;
  nameFn: NameFn;
}

/**
 * Each kind's name rule (upstream's per-kind ValidateNameFunc); kinds not listed use DNS-1123
 * subdomains, as most upstream kinds and all custom resources do.
 */
const NAME_RULES: Record<string, NameFn> = {
  Namespace: nameIsDNSLabel,
  Service: nameIsDNS1035Label,
  // core/v1 Events skip ObjectMeta validation upstream; only the path-segment rule keeps keys sane.
  Event: nameIsPathSegment,
  'Role.rbac.authorization.k8s.io': nameIsPathSegment,
  'ClusterRole.rbac.authorization.k8s.io': nameIsPathSegment,
  'RoleBinding.rbac.authorization.k8s.io': nameIsPathSegment,
  'ClusterRoleBinding.rbac.authorization.k8s.io': nameIsPathSegment,
  // "We don't care what you call your certificate requests" (kubelets name theirs node-csr-<base64url>).
  'CertificateSigningRequest.certificates.k8s.io': nameIsPathSegment,
};

export function nameRuleFor(gk: string): NameFn {
  return NAME_RULES[gk] ?? nameIsDNSSubdomain;
}

/**
 * The metadata checks for a write of `entry`'s kind: create rules when `old` is absent, update
 * rules (immutable identity, no new finalizers while deleting) when it is present.
 */
export function validateObjectMeta(entry: ResourceEntry, obj: KubeObject, old?: KubeObject): StatusCause[] {
  const rules: MetaRules = { namespaced: entry.namespaced, nameFn: nameRuleFor(groupKind(entry.group, entry.kind)) };
  return old ? validateObjectMetaUpdate(obj, old, rules) : validateObjectMetaCreate(obj, rules);
}

const META = 'metadata';

export function validateAnnotations(annotations: unknown, field: string, errs: Causes): void {
  if (!isObj(annotations)) return;
  let total = 0;
  for (const k of Object.keys(annotations)) {
    // Annotation keys are qualified names compared case-insensitively.
    for (const m of isQualifiedName(k.toLowerCase())) errs.push(causes.invalid(field, k, m));
    const v = annotations[k];
    total += Buffer.byteLength(k) + (typeof v === 'string' ? Buffer.byteLength(v) : 0);
  }
  if (total > TOTAL_ANNOTATION_SIZE_LIMIT) errs.push(causes.tooLong(field, TOTAL_ANNOTATION_SIZE_LIMIT));
}

function parseGroupVersion(apiVersion: string): { group: string; version: string } | undefined {
  if (apiVersion === '') return { group: '', version: '' };
  const parts = apiVersion.split('/');
  if (parts.length === 1) return { group: '', version: parts[0] };
  if (parts.length === 2) return { group: parts[0], version: parts[1] };
  return undefined;
}

export function validateOwnerReferences(refs: unknown, field: string, errs: Causes): void {
  if (!Array.isArray(refs)) return;
  let firstController = '';
  for (const r of refs) {
    const ref: Obj = isObj(r) ? r : {};
    const apiVersion = str(ref.apiVersion);
    const kind = str(ref.kind);
    const gv = parseGroupVersion(apiVersion) ?? { group: '', version: '' };
    // Upstream reports these under the list's path, without an index.
    if (gv.version === '') errs.push(causes.invalid(child(field, 'apiVersion'), apiVersion, 'version must not be empty'));
    if (kind === '') errs.push(causes.invalid(child(field, 'kind'), kind, 'must not be empty'));
    if (str(ref.name) === '') errs.push(causes.invalid(child(field, 'name'), str(ref.name), 'must not be empty'));
    if (str(ref.uid) === '') errs.push(causes.invalid(child(field, 'uid'), str(ref.uid), 'must not be empty'));
    if (gv.group === '' && gv.version === 'v1' && kind === 'Event') {
      errs.push(invalidRaw(field, goOwnerReference(ref), '/v1, Kind=Event is disallowed from being an owner'));
    }
    if (ref.controller === true) {
      const cur = `${kind}/${str(ref.name)}`;
      if (firstController !== '') {
        errs.push(
          invalidRaw(
            field,
            `[]v1.OwnerReference{${refs.map((x) => goOwnerReference(isObj(x) ? x : {})).join(', ')}}`,
            `Only one reference can have Controller set to true. Found "true" in references for ${firstController} and ${cur}`,
          ),
        );
      } else {
        firstController = cur;
      }
    }
  }
}

function goOwnerReference(r: Obj): string {
  const ptrBool = (v: unknown) => (typeof v === 'boolean' ? `(*bool)(${v})` : '(*bool)(nil)');
  return `v1.OwnerReference{APIVersion:${JSON.stringify(str(r.apiVersion))}, Kind:${JSON.stringify(str(r.kind))}, Name:${JSON.stringify(str(r.name))}, UID:${JSON.stringify(str(r.uid))}, Controller:${ptrBool(r.controller)}, BlockOwnerDeletion:${ptrBool(r.blockOwnerDeletion)}}`;
}

export function validateFinalizers(finalizers: unknown, field: string, errs: Causes): void {
  if (!Array.isArray(finalizers)) return;
  let orphan = false;
  let foreground = false;
  for (const f of finalizers) {
    const s = str(f);
    validateQualifiedName(s, field, errs);
    if (s === 'orphan') orphan = true;
    if (s === 'foregroundDeletion') foreground = true;
  }
  if (orphan && foreground) errs.push(causes.invalid(field, finalizers, 'finalizer orphan and foregroundDeletion cannot be both set'));
}

/** The built-in kinds also reject unprefixed finalizers other than the standard ones. */
export function validateKubeFinalizerName(name: string, field: string, errs: Causes): void {
  if (!name.includes('/') && !STANDARD_FINALIZERS.has(name)) {
    errs.push(causes.invalid(field, name, 'name is neither a standard finalizer name nor is it fully qualified'));
  }
}

/** Labels, annotations, owner references and finalizers: checked alike on create and on update. */
function validateMetaContent(meta: Obj, errs: Causes): void {
  validateLabels(meta.labels, child(META, 'labels'), errs);
  validateAnnotations(meta.annotations, child(META, 'annotations'), errs);
  validateOwnerReferences(meta.ownerReferences, child(META, 'ownerReferences'), errs);
  validateFinalizers(meta.finalizers, child(META, 'finalizers'), errs);
  arr(meta.finalizers).forEach((f, i) => validateKubeFinalizerName(str(f), index(child(META, 'finalizers'), i), errs));
}

function validateCommon(meta: Obj, namespaced: boolean, errs: Causes): void {
  const ns = str(meta.namespace);
  if (namespaced) {
    if (ns === '') errs.push(causes.required(child(META, 'namespace')));
    else for (const m of nameIsDNSLabel(ns, false)) errs.push(causes.invalid(child(META, 'namespace'), ns, m));
  } else if (ns !== '') {
    errs.push(causes.forbidden(child(META, 'namespace'), 'not allowed on this type'));
  }
  if (typeof meta.generation === 'number' && meta.generation < 0) {
    errs.push(causes.invalid(child(META, 'generation'), meta.generation, 'must be greater than or equal to 0'));
  }
  validateMetaContent(meta, errs);
}

/**
 * metadata on create. A missing name is accepted when generateName is set: the name is generated
 * after validation, and generateName itself must be a valid prefix under the kind's rule.
 */
export function validateObjectMetaCreate(obj: KubeObject, rules: MetaRules, errs: Causes = []): Causes {
  const meta: Obj = isObj(obj.metadata) ? obj.metadata : {};
  const name = str(meta.name);
  const generateName = str(meta.generateName);
  if (generateName !== '') {
    for (const m of rules.nameFn(generateName, true)) errs.push(causes.invalid(child(META, 'generateName'), generateName, m));
  }
  if (name === '') {
    if (generateName === '') errs.push(causes.required(child(META, 'name'), 'Required value: name or generateName is required'));
  } else {
    for (const m of rules.nameFn(name, false)) errs.push(causes.invalid(child(META, 'name'), name, m));
  }
  validateCommon(meta, rules.namespaced, errs);
  return errs;
}

/** metav1.Time as Go prints it in messages ("2024-01-02 03:04:05 +0000 UTC"). */
function goTime(ts: unknown): string {
  if (typeof ts !== 'string' || ts === '') return '0001-01-01 00:00:00 +0000 UTC';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(ts);
  return m ? `${m[1]} ${m[2]} +0000 UTC` : ts;
}

/**
 * metadata on update. System fields the update path restores from the stored object (uid,
 * creationTimestamp, deletionTimestamp when omitted) are only checked when the client sent them,
 * so this gives the same answer whether it runs before or after prepareMetaForUpdate.
 */
export function validateObjectMetaUpdate(obj: KubeObject, old: KubeObject, _rules: MetaRules, errs: Causes = []): Causes {
  const meta: Obj = isObj(obj.metadata) ? obj.metadata : {};
  const oldMeta: Obj = isObj(old.metadata) ? old.metadata : {};

  if (oldMeta.deletionTimestamp) {
    const oldSet = new Set(arr(oldMeta.finalizers));
    const extra = [...new Set(arr(meta.finalizers).filter((f) => !oldSet.has(f)))].sort();
    if (extra.length > 0) {
      errs.push(
        causes.forbidden(
          child(META, 'finalizers'),
          `no new finalizers can be added if the object is being deleted, found new finalizers []string{${extra.map((f) => JSON.stringify(f)).join(', ')}}`,
        ),
      );
    }
  }
  const gen = typeof meta.generation === 'number' ? meta.generation : 0;
  const oldGen = typeof oldMeta.generation === 'number' ? oldMeta.generation : 0;
  if (meta.generation !== undefined && gen < oldGen) errs.push(causes.invalid(child(META, 'generation'), gen, 'must not be decremented'));

  const same = (k: string) => semanticEqual(meta[k] ?? '', oldMeta[k] ?? '');
  if (!same('name')) errs.push(causes.invalid(child(META, 'name'), str(meta.name), 'field is immutable'));
  if (!same('namespace')) errs.push(causes.invalid(child(META, 'namespace'), str(meta.namespace), 'field is immutable'));
  if (str(meta.uid) !== '' && !same('uid')) errs.push(causes.invalid(child(META, 'uid'), str(meta.uid), 'field is immutable'));
  if (str(meta.creationTimestamp) !== '' && str(oldMeta.creationTimestamp) !== '' && !same('creationTimestamp')) {
    errs.push(invalidRaw(child(META, 'creationTimestamp'), goTime(meta.creationTimestamp), 'field is immutable'));
  }
  if (meta.deletionTimestamp && !same('deletionTimestamp')) {
    errs.push(invalidRaw(child(META, 'deletionTimestamp'), goTime(meta.deletionTimestamp), 'field is immutable'));
  }
  if (meta.deletionGracePeriodSeconds !== undefined && !same('deletionGracePeriodSeconds')) {
    errs.push(causes.invalid(child(META, 'deletionGracePeriodSeconds'), meta.deletionGracePeriodSeconds, 'field is immutable'));
  }

  validateMetaContent(meta, errs);
  return errs;
}

/**
 * What upstream's rest.BeforeUpdate restores from the stored object before validating: the uid
 * when omitted, the creation time always, and a deletion timestamp / grace period once set.
 */
export function prepareMetaForUpdate(obj: KubeObject, old: KubeObject): void {
  if (!isObj(obj.metadata)) obj.metadata = {};
  const meta = obj.metadata;
  const oldMeta: Obj = isObj(old.metadata) ? old.metadata : {};
  if (!meta.uid && oldMeta.uid) meta.uid = oldMeta.uid;
  if (oldMeta.creationTimestamp) meta.creationTimestamp = oldMeta.creationTimestamp;
  if (oldMeta.deletionTimestamp && meta.deletionTimestamp !== oldMeta.deletionTimestamp) meta.deletionTimestamp = oldMeta.deletionTimestamp;
  if (oldMeta.deletionGracePeriodSeconds !== undefined && meta.deletionGracePeriodSeconds === undefined) {
    meta.deletionGracePeriodSeconds = oldMeta.deletionGracePeriodSeconds;
  }
}
