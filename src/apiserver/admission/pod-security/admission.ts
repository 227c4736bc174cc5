/**
 * PodSecurity, after upstream's admission plugin (plugin/pkg/admission/security/podsecurity over
 * k8s.io/pod-security-admission/admission), in the validating phase:
 *
 * - Pods (create, and updates that change what the checks read: containers added or removed, an
 *   image changed, an ephemeral container added) are evaluated against their namespace's policy:
 *   the enforce level refuses (403 `pods "x" is forbidden: violates PodSecurity "<level>:<version>":
 *   …`), the warn level adds a Warning, the audit level an audit annotation.
 * - Pod controllers' templates (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob,
 *   ReplicationController, PodTemplate) get warnings and audit annotations, never a refusal: the
 *   pods they make are what enforce judges.
 * - Namespaces must carry valid pod-security.kubernetes.io labels (422 when a create or a change
 *   brings invalid ones); tightening a namespace's enforce level reports, as warnings, which of its
 *   pods would now be refused — at most 3,000 pods and about a second of work, as upstream.
 *
 * Exempt user names, namespaces and RuntimeClasses are never evaluated. Namespaces are read from
 * the watch cache (the store only for one created a moment ago), pods from the watch cache.
 */
import { ApiError, errors, qualifiedResource } from '../../../api/errors.js';
import type { KubeObject } from '../../../api/types.js';
import type { Store } from '../../../storage/store.js';
import { decodeStored, type WatchCache } from '../../watch-cache.js';
import { namespaceObjects } from '../namespace-objects.js';
import type { AdmissionPlugin, AdmissionRequest } from '../types.js';
import {
  AUDIT_ANNOTATION_PREFIX,
  AUDIT_LEVEL_LABEL,
  AUDIT_VERSION_LABEL,
  AUDIT_VIOLATIONS_ANNOTATION,
  ENFORCE_LEVEL_LABEL,
  ENFORCE_VERSION_LABEL,
  ENFORCED_POLICY_ANNOTATION,
  EXEMPTION_REASON_ANNOTATION,
  WARN_LEVEL_LABEL,
  WARN_VERSION_LABEL,
  compareLevels,
  equivalentPolicy,
  fullyPrivileged,
  labelErrorString,
  levelVersionString,
  policyToEvaluate,
  sameLevelVersion,
  versionString,
  type LabelError,
  type LevelVersion,
  type Policy,
} from './api.js';
import { resolvePodSecurityConfiguration, type PodSecurityConfiguration, type ResolvedPodSecurityConfiguration } from './config.js';
import { Evaluator, forbiddenDetail, forbiddenReason, type AggregateCheckResult } from './evaluator.js';

export const POD_SECURITY_PLUGIN_NAME = 'PodSecurity';

export interface PodSecurityAdmissionOptions {
  /** Defaults for unlabelled namespaces and exemptions (default: privileged everywhere, none exempt). */
  configuration?: PodSecurityConfiguration;
  /** How many existing pods a tightened enforce level is checked against (upstream: 3000). */
  namespaceMaxPodsToCheck?: number;
  /** How long that check may take (upstream: 1 s). */
  namespacePodCheckTimeoutMs?: number;
  /**
   * Receives the audit annotations of every request the plugin looked at, keyed as upstream writes
   * them into the audit event (`pod-security.kubernetes.io/enforce-policy`, `…/audit-violations`,
   * `…/exempt`, `…/error`).
   */
  onAuditAnnotations?(a: AdmissionRequest, annotations: Record<string, string>): void;
}

const NAMESPACES_PREFIX = '/registry/namespaces/';
const PODS_PREFIX = '/registry/pods/';

/** Pod subresources that cannot change what the checks read (upstream's ignoredPodSubresources). */
const IGNORED_POD_SUBRESOURCES = new Set(['exec', 'attach', 'binding', 'eviction', 'log', 'portforward', 'proxy', 'status']);

/** Where each pod controller keeps its pod template. */
const POD_TEMPLATE_PATHS: Record<string, string[]> = {
  '/replicationcontrollers': ['spec', 'template'],
  '/podtemplates': ['template'],
  'apps/replicasets': ['spec', 'template'],
  'apps/deployments': ['spec', 'template'],
  'apps/statefulsets': ['spec', 'template'],
  'apps/daemonsets': ['spec', 'template'],
  'batch/jobs': ['spec', 'template'],
  'batch/cronjobs': ['spec', 'jobTemplate', 'spec', 'template'],
};

interface Response {
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
  error?: ApiError;
}

const ALLOWED: Response = {};

export class PodSecurityAdmission implements AdmissionPlugin {
  readonly name = POD_SECURITY_PLUGIN_NAME;
  readonly config: ResolvedPodSecurityConfiguration;
  private readonly evaluator = new Evaluator();
  private readonly maxPodsToCheck: number;
  private readonly podCheckTimeoutMs: number;
  private readonly policies = new WeakMap<KubeObject, { policy: Policy; errors: LabelError[] }>();

  constructor(
    private readonly store: Store,
    private readonly cache: WatchCache,
    private readonly opts: PodSecurityAdmissionOptions = {},
  ) {
    this.config = resolvePodSecurityConfiguration(opts.configuration);
    this.maxPodsToCheck = opts.namespaceMaxPodsToCheck ?? 3000;
    this.podCheckTimeoutMs = opts.namespacePodCheckTimeoutMs ?? 1000;
  }

  async validate(a: AdmissionRequest): Promise<void> {
    if (a.operation !== 'CREATE' && a.operation !== 'UPDATE') return;
    const { group, plural } = a.entry;
    let response: Response;
    if (group === '' && plural === 'namespaces') response = await this.validateNamespace(a);
    else if (group === '' && plural === 'pods') response = await this.validatePod(a);
    else if (POD_TEMPLATE_PATHS[`${group}/${plural}`]) response = await this.validatePodController(a, POD_TEMPLATE_PATHS[`${group}/${plural}`]);
    else return;
    if (response.auditAnnotations && this.opts.onAuditAnnotations) {
      const prefixed: Record<string, string> = {};
      for (const [k, v] of Object.entries(response.auditAnnotations)) prefixed[AUDIT_ANNOTATION_PREFIX + k] = v;
      this.opts.onAuditAnnotations(a, prefixed);
    }
    if (response.error) throw response.error;
    if (response.warnings?.length && a.warnings) {
      // Like upstream's warning recorder, the same text is sent once (an update may be retried).
      for (const w of response.warnings) if (!a.warnings.includes(w)) a.warnings.push(w);
    }
  }

  // ---- namespaces ----------------------------------------------------------------------------

  private async validateNamespace(a: AdmissionRequest & { operation: 'CREATE' | 'UPDATE' }): Promise<Response> {
    if (a.subresource) return ALLOWED;
    const ns = a.obj;
    const name = ns.metadata?.name ?? '';
    const labels = ns.metadata?.labels;
    const { policy: newPolicy, errors: newErrs } = this.policyOf(labels);
    if (a.operation === 'CREATE') {
      if (newErrs.length > 0) return { error: invalidNamespace(name, newErrs) };
      return this.exemptNamespaceWarning(name, newPolicy, labels);
    }
    const { policy: oldPolicy, errors: oldErrs } = this.policyOf(a.old?.metadata?.labels);
    // Labels that were already invalid do not block unrelated updates.
    if (newErrs.length > 0 && (oldErrs.length === 0 || JSON.stringify(newErrs) !== JSON.stringify(oldErrs))) {
      return { error: invalidNamespace(name, newErrs) };
    }
    // Existing pods are checked only when enforcement gets stricter.
    if (sameLevelVersion(newPolicy.enforce, oldPolicy.enforce)) return ALLOWED;
    if (newPolicy.enforce.level === 'privileged') return ALLOWED;
    if (versionString(newPolicy.enforce.version) === versionString(oldPolicy.enforce.version) && compareLevels(newPolicy.enforce.level, oldPolicy.enforce.level) < 1) {
      return ALLOWED;
    }
    if (this.config.exemptNamespaces.has(name)) return this.exemptNamespaceWarning(name, newPolicy, labels);
    return { warnings: await this.evaluatePodsInNamespace(name, newPolicy.enforce) };
  }

  /** Upstream's EvaluatePodsInNamespace: one warning per distinct set of reasons, naming a pod. */
  private async evaluatePodsInNamespace(namespace: string, enforce: LevelVersion): Promise<string[]> {
    const deadline = Date.now() + this.podCheckTimeoutMs;
    let pods: KubeObject[];
    try {
      pods = await namespaceObjects(this.store, this.cache, PODS_PREFIX, namespace);
    } catch {
      return ['failed to list pods while checking new PodSecurity enforce level'];
    }
    let prioritized = this.prioritizePods(pods);
    const total = prioritized.length;
    if (prioritized.length > this.maxPodsToCheck) prioritized = prioritized.slice(0, this.maxPodsToCheck);
    let checked = prioritized.length;
    const order: string[] = [];
    const counts = new Map<string, { podName: string; count: number }>();
    for (let i = 0; i < prioritized.length; i++) {
      const pod = prioritized[i];
      const r = this.evaluator.evaluate(enforce, pod.metadata ?? {}, pod.spec ?? {});
      if (!r.allowed) {
        const warning = forbiddenReason(r);
        const podName = pod.metadata?.name ?? '';
        const c = counts.get(warning);
        if (!c) {
          order.push(warning);
          counts.set(warning, { podName, count: 1 });
        } else {
          if (podName < c.podName) c.podName = podName;
          c.count++;
        }
      }
      if (Date.now() >= deadline) {
        checked = i + 1;
        break;
      }
    }
    const warnings: string[] = [];
    if (checked < total) warnings.push(`new PodSecurity enforce level only checked against the first ${checked} of ${total} existing pods`);
    if (order.length > 0) warnings.push(`existing pods in namespace ${JSON.stringify(namespace)} violate the new PodSecurity enforce level ${JSON.stringify(levelVersionString(enforce))}`);
    const podWarnings = order.map((w) => {
      const { podName, count } = counts.get(w)!;
      if (count === 1) return `${podName}: ${w}`;
      if (count === 2) return `${podName} (and 1 other pod): ${w}`;
      return `${podName} (and ${count - 1} other pods): ${w}`;
    });
    podWarnings.sort();
    return [...warnings, ...podWarnings];
  }

  /** Exempt RuntimeClasses are left out; one pod per controller goes first, its siblings last. */
  private prioritizePods(pods: KubeObject[]): KubeObject[] {
    const first: KubeObject[] = [];
    const siblings: KubeObject[] = [];
    const seenControllers = new Set<string>();
    for (const pod of pods) {
      if (this.exemptRuntimeClass(pod.spec?.runtimeClassName)) continue;
      const owners = Array.isArray(pod.metadata?.ownerReferences) ? pod.metadata.ownerReferences : [];
      const controller = owners.find((o: any) => o && o.controller === true);
      if (!controller) first.push(pod);
      else if (seenControllers.has(String(controller.uid))) siblings.push(pod);
      else {
        seenControllers.add(String(controller.uid));
        first.push(pod);
      }
    }
    return [...first, ...siblings];
  }

  /** An exempt namespace that asks for a policy is told it will be ignored. */
  private exemptNamespaceWarning(name: string, policy: Policy, labels: Record<string, unknown> | undefined): Response {
    if (!this.config.exemptNamespaces.has(name)) return ALLOWED;
    if (fullyPrivileged(policy) || equivalentPolicy(policy, this.config.defaults)) return ALLOWED;
    const has = (key: string) => !!labels && Object.hasOwn(labels, key);
    const parts: string[] = [];
    if (policy.enforce.level !== 'privileged' && (has(ENFORCE_LEVEL_LABEL) || has(ENFORCE_VERSION_LABEL))) parts.push(`enforce=${levelVersionString(policy.enforce)}`);
    if (policy.audit.level !== 'privileged' && (has(AUDIT_LEVEL_LABEL) || has(AUDIT_VERSION_LABEL))) parts.push(`audit=${levelVersionString(policy.audit)}`);
    if (policy.warn.level !== 'privileged' && (has(WARN_LEVEL_LABEL) || has(WARN_VERSION_LABEL))) parts.push(`warn=${levelVersionString(policy.warn)}`);
    return { warnings: [`namespace ${JSON.stringify(name)} is exempt from Pod Security, and the policy (${parts.join(', ')}) will be ignored`] };
  }

  // ---- pods ----------------------------------------------------------------------------------

  private async validatePod(a: AdmissionRequest & { operation: 'CREATE' | 'UPDATE' }): Promise<Response> {
    if (IGNORED_POD_SUBRESOURCES.has(a.subresource ?? '')) return ALLOWED;
    const namespace = a.namespace ?? a.obj.metadata?.namespace ?? '';
    if (this.exemptNamespace(namespace)) return { auditAnnotations: { [EXEMPTION_REASON_ANNOTATION]: 'namespace' } };
    if (this.exemptUser(a.user?.name)) return { auditAnnotations: { [EXEMPTION_REASON_ANNOTATION]: 'user' } };
    const ns = await this.namespace(namespace);
    if (!ns) {
      const error = errors.internal(`failed to lookup namespace ${JSON.stringify(namespace)}`);
      return { error, auditAnnotations: { error: `${error.message}: namespaces ${JSON.stringify(namespace)} not found` } };
    }
    const { policy, errors: labelErrors } = this.namespacePolicy(ns);
    if (labelErrors.length === 0 && fullyPrivileged(policy)) {
      return { auditAnnotations: { [ENFORCED_POLICY_ANNOTATION]: 'privileged:latest' } };
    }
    if (a.operation === 'UPDATE' && a.old && !isSignificantPodUpdate(a.obj, a.old)) return ALLOWED;
    return this.evaluatePod(a, policy, labelErrors, a.obj.metadata ?? {}, a.obj.spec ?? {}, true);
  }

  private async validatePodController(a: AdmissionRequest & { operation: 'CREATE' | 'UPDATE' }, templatePath: string[]): Promise<Response> {
    if (a.subresource) return ALLOWED;
    const namespace = a.namespace ?? a.obj.metadata?.namespace ?? '';
    if (this.exemptNamespace(namespace)) return { auditAnnotations: { [EXEMPTION_REASON_ANNOTATION]: 'namespace' } };
    if (this.exemptUser(a.user?.name)) return { auditAnnotations: { [EXEMPTION_REASON_ANNOTATION]: 'user' } };
    const ns = await this.namespace(namespace);
    if (!ns) return { auditAnnotations: { error: `failed to lookup namespace ${JSON.stringify(namespace)}: namespaces ${JSON.stringify(namespace)} not found` } };
    const { policy, errors: labelErrors } = this.namespacePolicy(ns);
    if (labelErrors.length === 0 && policy.warn.level === 'privileged' && policy.audit.level === 'privileged') return ALLOWED;
    let template: any = a.obj;
    for (const key of templatePath) template = template && typeof template === 'object' ? template[key] : undefined;
    // A controller whose template is optional and absent has nothing to evaluate.
    if (!template || typeof template !== 'object') return ALLOWED;
    return this.evaluatePod(a, policy, labelErrors, template.metadata ?? {}, template.spec ?? {}, false);
  }

  /** Upstream's EvaluatePod: enforce (pods only), then audit and warn, reusing equal evaluations. */
  private evaluatePod(a: AdmissionRequest, policy: Policy, labelErrors: LabelError[], meta: unknown, spec: any, enforce: boolean): Response {
    if (this.exemptRuntimeClass(spec?.runtimeClassName)) return { auditAnnotations: { [EXEMPTION_REASON_ANNOTATION]: 'runtimeClass' } };
    const auditAnnotations: Record<string, string> = {};
    if (labelErrors.length > 0) auditAnnotations.error = `Failed to parse policy: ${aggregate(labelErrors.map(labelErrorString))}`;
    const cached = new Map<string, AggregateCheckResult>();
    const evaluate = (lv: LevelVersion) => {
      const key = levelVersionString(lv);
      let r = cached.get(key);
      if (!r) cached.set(key, (r = this.evaluator.evaluate(lv, meta, spec)));
      return r;
    };
    let error: ApiError | undefined;
    if (enforce) {
      auditAnnotations[ENFORCED_POLICY_ANNOTATION] = levelVersionString(policy.enforce);
      const r = evaluate(policy.enforce);
      if (!r.allowed) error = forbiddenPod(a, `violates PodSecurity ${JSON.stringify(levelVersionString(policy.enforce))}: ${forbiddenDetail(r)}`);
    }
    const audit = evaluate(policy.audit);
    if (!audit.allowed) {
      auditAnnotations[AUDIT_VIOLATIONS_ANNOTATION] = `would violate PodSecurity ${JSON.stringify(levelVersionString(policy.audit))}: ${forbiddenDetail(audit)}`;
    }
    // A request about to be refused gets no warnings.
    const warnings: string[] = [];
    if (!error) {
      const warn = evaluate(policy.warn);
      if (!warn.allowed) warnings.push(`would violate PodSecurity ${JSON.stringify(levelVersionString(policy.warn))}: ${forbiddenDetail(warn)}`);
    }
    return { error, warnings, auditAnnotations };
  }

  // ---- lookups -------------------------------------------------------------------------------

  private policyOf(labels: unknown): { policy: Policy; errors: LabelError[] } {
    return policyToEvaluate(labels && typeof labels === 'object' ? (labels as Record<string, unknown>) : undefined, this.config.defaults);
  }

  /**
   * A namespace's policy, parsed once per version of the namespace: the watch cache replaces the
   * object when it changes, so a pod burst into one namespace parses its labels once.
   */
  private namespacePolicy(ns: KubeObject): { policy: Policy; errors: LabelError[] } {
    let p = this.policies.get(ns);
    if (!p) this.policies.set(ns, (p = this.policyOf(ns.metadata?.labels)));
    return p;
  }

  /** The namespace from the watch cache, else (created a moment ago) from the store. */
  private async namespace(name: string): Promise<KubeObject | undefined> {
    const key = `${NAMESPACES_PREFIX}${name}`;
    const cached = this.cache.resource(NAMESPACES_PREFIX).objects.get(key);
    if (cached) return cached.obj;
    const kv = await this.store.get(key);
    return kv ? decodeStored(kv).obj : undefined;
  }

  private exemptNamespace(ns: string): boolean {
    return ns !== '' && this.config.exemptNamespaces.has(ns);
  }

  private exemptUser(username: string | undefined): boolean {
    return !!username && this.config.exemptUsernames.has(username);
  }

  private exemptRuntimeClass(rc: unknown): boolean {
    return typeof rc === 'string' && rc !== '' && this.config.exemptRuntimeClasses.has(rc);
  }
}

/** Go's aggregate error text: one bare, several in brackets. */
function aggregate(messages: string[]): string {
  return messages.length === 1 ? messages[0] : `[${messages.join(', ')}]`;
}

/** apierrors.NewForbidden on the pod's resource and the request's name. */
function forbiddenPod(a: AdmissionRequest, why: string): ApiError {
  const name = a.name ?? '';
  const resource = qualifiedResource(a.entry.group, a.entry.plural);
  const message = name ? `${resource} ${JSON.stringify(name)} is forbidden: ${why}` : `${resource} is forbidden: ${why}`;
  return new ApiError(403, 'Forbidden', message, { name, group: a.entry.group || undefined, kind: a.entry.plural });
}

/** apierrors.NewInvalid on the Namespace kind with the labels' field errors. */
function invalidNamespace(name: string, errs: LabelError[]): ApiError {
  return new ApiError(422, 'Invalid', `Namespace ${JSON.stringify(name)} is invalid: ${aggregate(errs.map(labelErrorString))}`, {
    name,
    kind: 'Namespace',
    causes: errs.map((e) => ({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(e.value)}: ${e.detail}`, field: e.field })),
  });
}

/**
 * Whether an update changes what the checks read. Only images (and containers, by count, or added
 * ephemeral containers) can change on a running pod; anything else passing validation is allowed.
 */
export function isSignificantPodUpdate(pod: KubeObject, old: KubeObject): boolean {
  const list = (o: KubeObject, k: string): any[] => (Array.isArray(o.spec?.[k]) ? o.spec[k] : []);
  const image = (c: any) => (c && typeof c === 'object' ? c.image : undefined);
  for (const k of ['containers', 'initContainers']) {
    const now = list(pod, k);
    const before = list(old, k);
    if (now.length !== before.length) return true;
    for (let i = 0; i < now.length; i++) if (image(now[i]) !== image(before[i])) return true;
  }
  const before = list(old, 'ephemeralContainers');
  for (const c of list(pod, 'ephemeralContainers')) {
    const o = before.find((b) => b?.name === c?.name);
    if (!o || image(o) !== image(c)) return true;
  }
  return false;
}
