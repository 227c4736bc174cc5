/**
 * Strategies of the smaller groups (networking, rbac, storage, scheduling, coordination, discovery,
 * events, policy, autoscaling, apiextensions): their v1 defaults and the validation users meet.
 */
import { causes } from '../errors.js';
import type { KubeObject, Strategy } from '../types.js';
import { customResourceDefinitionStrategy } from './apiextensions.js';
import { eventsV1Strategy } from './events.js';
import { CIDR_ERROR, isDNS1123Label, isDNS1123Subdomain, isValidCIDR, isValidIP, isValidPortNum, nameIsPathSegment } from './names.js';
import { validatePortNumOrName } from './pod.js';
import {
  arr,
  immutable,
  invalidRaw,
  isNotMoreThan100Percent,
  isObj,
  metaOf,
  nonNegative,
  objs,
  specOf,
  str,
  validateLabelSelector,
  validatePositiveIntOrPercent,
  validateQualifiedName,
  type Causes,
  type Obj,
} from './util.js';

function specIn(obj: KubeObject): Obj {
  return isObj(obj.spec) ? obj.spec : {};
}

// ---- networking.k8s.io ----------------------------------------------------------------------

const PATH_TYPES = ['Exact', 'ImplementationSpecific', 'Prefix'];

function validateIngressBackend(b: Obj, field: string, errs: Causes): void {
  const hasService = isObj(b.service);
  const hasResource = isObj(b.resource);
  if (hasService && hasResource) errs.push(causes.invalid(field, '', 'cannot set both resource and service backends'));
  else if (!hasService && !hasResource) errs.push(causes.invalid(field, '', 'resource or service backend is required'));
  if (hasService) {
    const sp = `${field}.service`;
    const name = str(b.service.name);
    if (name === '') errs.push(causes.required(`${sp}.name`));
    else for (const m of isDNS1123Label(name)) errs.push(causes.invalid(`${sp}.name`, name, m));
    const port: Obj = isObj(b.service.port) ? b.service.port : {};
    const hasName = str(port.name) !== '';
    const hasNumber = typeof port.number === 'number' && port.number !== 0;
    if (hasName && hasNumber) errs.push(causes.invalid(`${sp}.port`, '', 'cannot set both port name & port number'));
    else if (hasName) for (const m of isDNS1123Label(port.name)) errs.push(causes.invalid(`${sp}.port.name`, port.name, m));
    else if (hasNumber) for (const m of isValidPortNum(port.number)) errs.push(causes.invalid(`${sp}.port.number`, port.number, m));
    else errs.push(causes.required(`${sp}.port`, 'Required value: port name or number is required'));
  }
  if (hasResource) {
    if (str(b.resource.kind) === '') errs.push(causes.required(`${field}.resource.kind`));
    if (str(b.resource.name) === '') errs.push(causes.required(`${field}.resource.name`));
  }
}

export const ingressStrategy: Strategy = {
  prepareForCreate(obj) {
    obj.status = { loadBalancer: {} };
  },
  validate(obj) {
    const errs: Causes = [];
    const spec = specIn(obj);
    if (!isObj(spec.defaultBackend) && objs(spec.rules).length === 0) {
      errs.push(causes.invalid('spec', '', 'either `defaultBackend` or `rules` must be specified'));
    }
    if (isObj(spec.defaultBackend)) validateIngressBackend(spec.defaultBackend, 'spec.defaultBackend', errs);
    if (typeof spec.ingressClassName === 'string') {
      for (const m of isDNS1123Subdomain(spec.ingressClassName)) errs.push(causes.invalid('spec.ingressClassName', spec.ingressClassName, m));
    }
    objs(spec.tls).forEach((t, i) => {
      arr(t.hosts).forEach((h, j) => {
        const host = str(h);
        const msgs = host.startsWith('*.') ? isDNS1123Subdomain(host.slice(2)) : isDNS1123Subdomain(host);
        for (const m of msgs) errs.push(causes.invalid(`spec.tls[${i}].hosts[${j}]`, host, m));
      });
    });
    objs(spec.rules).forEach((r, i) => {
      const rp = `spec.rules[${i}]`;
      const host = str(r.host);
      if (host !== '') {
        if (isValidIP(host)) errs.push(causes.invalid(`${rp}.host`, host, 'must be a DNS name, not an IP address'));
        const msgs = host.startsWith('*.') ? isDNS1123Subdomain(host.slice(2)) : isDNS1123Subdomain(host);
        for (const m of msgs) errs.push(causes.invalid(`${rp}.host`, host, m));
      }
      if (!isObj(r.http)) return;
      const paths = objs(r.http.paths);
      if (paths.length === 0) errs.push(causes.required(`${rp}.http.paths`));
      paths.forEach((p, j) => {
        const pp = `${rp}.http.paths[${j}]`;
        const pt = p.pathType;
        if (pt === undefined || pt === null) {
          errs.push(causes.required(`${pp}.pathType`, 'Required value: pathType must be specified'));
        } else if (!PATH_TYPES.includes(pt)) {
          errs.push(causes.notSupported(`${pp}.pathType`, pt, PATH_TYPES));
        } else if (pt !== 'ImplementationSpecific') {
          const path = str(p.path);
          if (!path.startsWith('/')) errs.push(causes.invalid(`${pp}.path`, path, 'must be an absolute path'));
          else if (/\/\/|\/\.\.?(\/|$)|~/.test(path)) errs.push(causes.invalid(`${pp}.path`, path, "must not contain '//', '/./', '/../', '~'"));
        } else if (str(p.path) !== '' && !str(p.path).startsWith('/')) {
          errs.push(causes.invalid(`${pp}.path`, p.path, 'must be an absolute path'));
        }
        validateIngressBackend(isObj(p.backend) ? p.backend : {}, `${pp}.backend`, errs);
      });
    });
    return errs;
  },
};

export const ingressClassStrategy: Strategy = {
  default(obj) {
    const spec = specOf(obj);
    if (isObj(spec.parameters) && spec.parameters.scope === undefined && spec.parameters.namespace === undefined) spec.parameters.scope = 'Cluster';
  },
  validate(obj, old) {
    const errs: Causes = [];
    const spec = specIn(obj);
    const controller = str(spec.controller);
    if (controller === '') errs.push(causes.required('spec.controller'));
    else if (controller.length > 250) errs.push(causes.tooLong('spec.controller', 250));
    if (old) immutable(spec.controller, specIn(old).controller, 'spec.controller', errs);
    return errs;
  },
};

export const networkPolicyStrategy: Strategy = {
  default(obj) {
    const spec = specOf(obj);
    if (arr(spec.policyTypes).length === 0) {
      spec.policyTypes = arr(spec.egress).length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
    }
    for (const dir of ['ingress', 'egress']) {
      for (const rule of objs(spec[dir])) for (const p of objs(rule.ports)) if (p.protocol === undefined) p.protocol = 'TCP';
    }
    if (!isObj(spec.podSelector)) spec.podSelector = {};
  },
  validate(obj) {
    const errs: Causes = [];
    const spec = specIn(obj);
    validateLabelSelector(spec.podSelector, 'spec.podSelector', errs);
    for (const dir of ['ingress', 'egress']) {
      objs(spec[dir]).forEach((rule, i) => {
        const rp = `spec.${dir}[${i}]`;
        objs(rule.ports).forEach((p, j) => {
          const pp = `${rp}.ports[${j}]`;
          if (p.protocol !== undefined && !['SCTP', 'TCP', 'UDP'].includes(p.protocol)) errs.push(causes.notSupported(`${pp}.protocol`, p.protocol, ['SCTP', 'TCP', 'UDP']));
          if (p.port !== undefined) validatePortNumOrName(p.port, `${pp}.port`, errs);
          if (p.endPort !== undefined) {
            if (typeof p.port !== 'number') errs.push(causes.required(`${pp}.port`, 'Required value: when endPort is specified'));
            else if (p.endPort < p.port) errs.push(causes.invalid(`${pp}.endPort`, p.endPort, 'must be greater than or equal to `port`'));
          }
        });
        objs(rule[dir === 'ingress' ? 'from' : 'to']).forEach((peer, j) => {
          const pp = `${rp}.${dir === 'ingress' ? 'from' : 'to'}[${j}]`;
          const n = ['podSelector', 'namespaceSelector', 'ipBlock'].filter((k) => isObj(peer[k])).length;
          if (n === 0) errs.push(causes.required(pp, 'Required value: must specify a peer'));
          if (isObj(peer.ipBlock) && (peer.podSelector || peer.namespaceSelector)) errs.push(causes.forbidden(pp, 'may not specify both ipBlock and another peer'));
          validateLabelSelector(peer.podSelector, `${pp}.podSelector`, errs);
          validateLabelSelector(peer.namespaceSelector, `${pp}.namespaceSelector`, errs);
          if (isObj(peer.ipBlock)) {
            const cidr = str(peer.ipBlock.cidr);
            if (cidr === '') errs.push(causes.required(`${pp}.ipBlock.cidr`));
            else if (!isValidCIDR(cidr)) errs.push(causes.invalid(`${pp}.ipBlock.cidr`, cidr, CIDR_ERROR));
            arr(peer.ipBlock.except).forEach((e, k) => {
              if (!isValidCIDR(str(e))) errs.push(causes.invalid(`${pp}.ipBlock.except[${k}]`, e, CIDR_ERROR));
            });
          }
        });
      });
    }
    for (const t of arr(spec.policyTypes)) {
      if (t !== 'Ingress' && t !== 'Egress') errs.push(causes.notSupported('spec.policyTypes', t, ['Ingress', 'Egress']));
    }
    if (arr(spec.policyTypes).length > 2) errs.push(causes.invalid('spec.policyTypes', spec.policyTypes, 'may not have more than 2 values'));
    return errs;
  },
};

// ---- rbac.authorization.k8s.io --------------------------------------------------------------

const RBAC_GROUP = 'rbac.authorization.k8s.io';

function validatePolicyRules(rules: unknown, namespaced: boolean, errs: Causes): void {
  objs(rules).forEach((r, i) => {
    const p = `rules[${i}]`;
    if (arr(r.verbs).length === 0) errs.push(causes.required(`${p}.verbs`, 'Required value: verbs must contain at least one value'));
    if (arr(r.nonResourceURLs).length > 0) {
      if (namespaced) errs.push(causes.invalid(`${p}.nonResourceURLs`, r.nonResourceURLs, 'namespaced rules cannot apply to non-resource URLs'));
      if (arr(r.apiGroups).length > 0 || arr(r.resources).length > 0 || arr(r.resourceNames).length > 0) {
        errs.push(causes.invalid(`${p}.nonResourceURLs`, r.nonResourceURLs, 'rules cannot apply to both regular resources and non-resource URLs'));
      }
      return;
    }
    if (arr(r.apiGroups).length === 0) errs.push(causes.required(`${p}.apiGroups`, 'Required value: resource rules must supply at least one api group'));
    if (arr(r.resources).length === 0) errs.push(causes.required(`${p}.resources`, 'Required value: resource rules must supply at least one resource'));
  });
}

function defaultSubjects(obj: KubeObject): void {
  for (const s of objs(obj.subjects)) {
    if (s.apiGroup !== undefined) continue;
    if (s.kind === 'ServiceAccount') s.apiGroup = '';
    else if (s.kind === 'User' || s.kind === 'Group') s.apiGroup = RBAC_GROUP;
  }
  if (isObj(obj.roleRef) && !obj.roleRef.apiGroup) obj.roleRef.apiGroup = RBAC_GROUP;
}

function validateBinding(obj: KubeObject, old: KubeObject | undefined, namespaced: boolean): Causes {
  const errs: Causes = [];
  const ref: Obj = isObj(obj.roleRef) ? obj.roleRef : {};
  if (ref.apiGroup !== RBAC_GROUP) errs.push(causes.notSupported('roleRef.apiGroup', str(ref.apiGroup), [RBAC_GROUP]));
  const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  if (!kinds.includes(ref.kind)) errs.push(causes.notSupported('roleRef.kind', str(ref.kind), kinds));
  const refName = str(ref.name);
  if (refName === '') errs.push(causes.required('roleRef.name'));
  else for (const m of nameIsPathSegment(refName, false)) errs.push(causes.invalid('roleRef.name', refName, m));
  objs(obj.subjects).forEach((s, i) => {
    const p = `subjects[${i}]`;
    const name = str(s.name);
    if (name === '') errs.push(causes.required(`${p}.name`));
    switch (s.kind) {
      case 'ServiceAccount':
        if (name !== '') for (const m of isDNS1123Subdomain(name)) errs.push(causes.invalid(`${p}.name`, name, m));
        if (str(s.apiGroup) !== '') errs.push(causes.notSupported(`${p}.apiGroup`, s.apiGroup, ['']));
        if (!namespaced && str(s.namespace) === '') errs.push(causes.required(`${p}.namespace`));
        break;
      case 'User':
      case 'Group':
        if (s.apiGroup !== RBAC_GROUP) errs.push(causes.notSupported(`${p}.apiGroup`, str(s.apiGroup), [RBAC_GROUP]));
        break;
      default:
        errs.push(causes.notSupported(`${p}.kind`, str(s.kind), ['ServiceAccount', 'User', 'Group']));
    }
  });
  if (old) {
    const oldRef: Obj = isObj(old.roleRef) ? old.roleRef : {};
    if (oldRef.apiGroup !== ref.apiGroup || oldRef.kind !== ref.kind || oldRef.name !== ref.name) {
      errs.push(
        invalidRaw(
          'roleRef',
          `rbac.RoleRef{APIGroup:${JSON.stringify(str(ref.apiGroup))}, Kind:${JSON.stringify(str(ref.kind))}, Name:${JSON.stringify(refName)}}`,
          'cannot change roleRef',
        ),
      );
    }
  }
  return errs;
}

export const roleStrategy: Strategy = {
  validate(obj) {
    const errs: Causes = [];
    validatePolicyRules(obj.rules, true, errs);
    return errs;
  },
};

export const clusterRoleStrategy: Strategy = {
  validate(obj) {
    const errs: Causes = [];
    validatePolicyRules(obj.rules, false, errs);
    if (isObj(obj.aggregationRule)) {
      if (arr(obj.aggregationRule.clusterRoleSelectors).length === 0) {
        errs.push(causes.required('aggregationRule.clusterRoleSelectors', 'Required value: at least one clusterRoleSelector required if aggregationRule is non-nil'));
      }
      objs(obj.aggregationRule.clusterRoleSelectors).forEach((s, i) => validateLabelSelector(s, `aggregationRule.clusterRoleSelectors[${i}]`, errs));
    }
    return errs;
  },
};

export const roleBindingStrategy: Strategy = {
  default: defaultSubjects,
  validate: (obj, old) => validateBinding(obj, old, true),
};

export const clusterRoleBindingStrategy: Strategy = {
  default: defaultSubjects,
  validate: (obj, old) => validateBinding(obj, old, false),
};

// ---- coordination.k8s.io --------------------------------------------------------------------

export const leaseStrategy: Strategy = {
  validate(obj) {
    const errs: Causes = [];
    const spec = specIn(obj);
    if (typeof spec.leaseDurationSeconds === 'number' && spec.leaseDurationSeconds <= 0) {
      errs.push(causes.invalid('spec.leaseDurationSeconds', spec.leaseDurationSeconds, 'must be greater than 0'));
    }
    nonNegative(spec.leaseTransitions, 'spec.leaseTransitions', errs);
    return errs;
  },
};

// ---- discovery.k8s.io -----------------------------------------------------------------------

export const endpointSliceStrategy: Strategy = {
  default(obj) {
    for (const p of objs(obj.ports)) {
      if (p.name === undefined) p.name = '';
      if (p.protocol === undefined) p.protocol = 'TCP';
    }
  },
  validate(obj, old) {
    const errs: Causes = [];
    const at = str(obj.addressType);
    const types = ['IPv4', 'IPv6', 'FQDN'];
    if (at === '') errs.push(causes.required('addressType'));
    else if (!types.includes(at)) errs.push(causes.notSupported('addressType', at, types));
    const eps = objs(obj.endpoints);
    if (eps.length > 1000) errs.push(causes.invalid('endpoints', eps.length, 'must have at most 1000 items'));
    eps.forEach((ep, i) => {
      const p = `endpoints[${i}]`;
      const addrs = arr(ep.addresses);
      if (addrs.length === 0) errs.push(causes.required(`${p}.addresses`, 'Required value: must contain at least 1 address'));
      if (addrs.length > 100) errs.push(causes.invalid(`${p}.addresses`, addrs.length, 'must have at most 100 items'));
      addrs.forEach((a, j) => {
        const ap = `${p}.addresses[${j}]`;
        const addr = str(a);
        if (at === 'IPv4' && !/^\d+\.\d+\.\d+\.\d+$/.test(addr)) errs.push(causes.invalid(ap, addr, 'must be a valid IPv4 address'));
        else if (at === 'IPv6' && (!isValidIP(addr) || !addr.includes(':'))) errs.push(causes.invalid(ap, addr, 'must be a valid IPv6 address'));
        else if (at === 'FQDN') for (const m of isDNS1123Subdomain(addr)) errs.push(causes.invalid(ap, addr, m));
      });
      if (typeof ep.hostname === 'string') for (const m of isDNS1123Label(ep.hostname)) errs.push(causes.invalid(`${p}.hostname`, ep.hostname, m));
    });
    objs(obj.ports).forEach((port, i) => {
      const p = `ports[${i}]`;
      const name = str(port.name);
      if (name !== '') for (const m of isDNS1123Label(name)) errs.push(causes.invalid(`${p}.name`, name, m));
      if (port.protocol !== undefined && !['SCTP', 'TCP', 'UDP'].includes(port.protocol)) errs.push(causes.notSupported(`${p}.protocol`, port.protocol, ['SCTP', 'TCP', 'UDP']));
      if (typeof port.port === 'number') for (const m of isValidPortNum(port.port)) errs.push(causes.invalid(`${p}.port`, port.port, m));
    });
    if (old) immutable(obj.addressType, old.addressType, 'addressType', errs);
    return errs;
  },
};

// ---- policy ---------------------------------------------------------------------------------

export const podDisruptionBudgetStrategy: Strategy = {
  prepareForCreate(obj) {
    obj.status = { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 };
  },
  validate(obj) {
    const errs: Causes = [];
    const spec = specIn(obj);
    if (spec.minAvailable !== undefined && spec.maxUnavailable !== undefined) {
      errs.push(causes.invalid('spec', spec, 'minAvailable and maxUnavailable cannot be both set'));
    }
    for (const k of ['minAvailable', 'maxUnavailable']) {
      if (spec[k] === undefined) continue;
      validatePositiveIntOrPercent(spec[k], `spec.${k}`, errs);
      isNotMoreThan100Percent(spec[k], `spec.${k}`, errs);
    }
    validateLabelSelector(spec.selector, 'spec.selector', errs);
    const policy = spec.unhealthyPodEvictionPolicy;
    if (policy !== undefined && policy !== 'IfHealthyBudget' && policy !== 'AlwaysAllow') {
      errs.push(causes.notSupported('spec.unhealthyPodEvictionPolicy', policy, ['AlwaysAllow', 'IfHealthyBudget']));
    }
    return errs;
  },
};

// ---- autoscaling ----------------------------------------------------------------------------

function scalingRules(from: unknown, defaults: Obj): Obj {
  if (!isObj(from)) return defaults;
  const out: Obj = { ...from };
  if (out.stabilizationWindowSeconds === undefined && defaults.stabilizationWindowSeconds !== undefined) out.stabilizationWindowSeconds = defaults.stabilizationWindowSeconds;
  if (out.selectPolicy === undefined) out.selectPolicy = defaults.selectPolicy;
  if (out.policies === undefined) out.policies = defaults.policies;
  return out;
}

function isV1(obj: KubeObject): boolean {
  return obj.apiVersion === 'autoscaling/v1';
}

export const horizontalPodAutoscalerStrategy: Strategy = {
  default(obj) {
    const spec = specOf(obj);
    if (spec.minReplicas === undefined) spec.minReplicas = 1;
    if (isV1(obj)) return;
    if (arr(spec.metrics).length === 0) {
      spec.metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }];
    }
    if (isObj(spec.behavior)) {
      spec.behavior.scaleUp = scalingRules(spec.behavior.scaleUp, {
        stabilizationWindowSeconds: 0,
        selectPolicy: 'Max',
        policies: [
          { type: 'Pods', value: 4, periodSeconds: 15 },
          { type: 'Percent', value: 100, periodSeconds: 15 },
        ],
      });
      spec.behavior.scaleDown = scalingRules(spec.behavior.scaleDown, {
        stabilizationWindowSeconds: 300,
        selectPolicy: 'Max',
        policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
      });
    }
  },
  prepareForCreate(obj) {
    obj.status = isV1(obj) ? { currentReplicas: 0, desiredReplicas: 0 } : { desiredReplicas: 0 };
  },
  validate(obj) {
    const errs: Causes = [];
    const spec = specIn(obj);
    const ref: Obj = isObj(spec.scaleTargetRef) ? spec.scaleTargetRef : {};
    if (str(ref.kind) === '') errs.push(causes.required('spec.scaleTargetRef.kind'));
    else for (const m of nameIsPathSegment(ref.kind, false)) errs.push(causes.invalid('spec.scaleTargetRef.kind', ref.kind, m));
    if (str(ref.name) === '') errs.push(causes.required('spec.scaleTargetRef.name'));
    else for (const m of nameIsPathSegment(ref.name, false)) errs.push(causes.invalid('spec.scaleTargetRef.name', ref.name, m));
    const min = typeof spec.minReplicas === 'number' ? spec.minReplicas : 1;
    const max = typeof spec.maxReplicas === 'number' ? spec.maxReplicas : 0;
    if (min < 1) errs.push(causes.invalid('spec.minReplicas', min, 'must be greater than or equal to 1'));
    if (max < 1) errs.push(causes.invalid('spec.maxReplicas', max, 'must be greater than 0'));
    if (max < min) errs.push(causes.invalid('spec.maxReplicas', max, 'must be greater than or equal to `minReplicas`'));
    if (isV1(obj)) {
      if (typeof spec.targetCPUUtilizationPercentage === 'number' && spec.targetCPUUtilizationPercentage < 1) {
        errs.push(causes.invalid('spec.targetCPUUtilizationPercentage', spec.targetCPUUtilizationPercentage, 'must be greater than 0'));
      }
      return errs;
    }
    const types = ['ContainerResource', 'External', 'Object', 'Pods', 'Resource'];
    objs(spec.metrics).forEach((m, i) => {
      const p = `spec.metrics[${i}]`;
      if (str(m.type) === '') errs.push(causes.required(`${p}.type`, 'Required value: must specify a metric source type'));
      else if (!types.includes(m.type)) errs.push(causes.notSupported(`${p}.type`, m.type, types));
    });
    return errs;
  },
};

// ---- scheduling.k8s.io ----------------------------------------------------------------------

const HIGHEST_USER_PRIORITY = 1_000_000_000;
const SYSTEM_PRIORITY_CLASSES: Record<string, number> = { 'system-node-critical': 2000001000, 'system-cluster-critical': 2000000000 };

export const priorityClassStrategy: Strategy = {
  default(obj) {
    if (obj.preemptionPolicy === undefined) obj.preemptionPolicy = 'PreemptLowerPriority';
  },
  validate(obj, old) {
    const errs: Causes = [];
    const name = str(metaOf(obj).name);
    if (SYSTEM_PRIORITY_CLASSES[name] !== undefined) {
      if (obj.value !== SYSTEM_PRIORITY_CLASSES[name]) {
        errs.push(causes.forbidden('metadata.name', `${name} is a system priority class and can only be created with value ${SYSTEM_PRIORITY_CLASSES[name]}`));
      }
    } else if (name.startsWith('system-')) {
      errs.push(causes.forbidden('metadata.name', `priority class names with 'system-' prefix are reserved for system use only`));
    } else if (typeof obj.value === 'number' && obj.value > HIGHEST_USER_PRIORITY) {
      errs.push(causes.forbidden('value', `maximum allowed value of a user defined priority is ${HIGHEST_USER_PRIORITY}`));
    }
    const pp = obj.preemptionPolicy;
    if (pp !== undefined && pp !== 'PreemptLowerPriority' && pp !== 'Never') errs.push(causes.notSupported('preemptionPolicy', pp, ['PreemptLowerPriority', 'Never']));
    if (old) {
      if (obj.value !== old.value) errs.push(causes.forbidden('value', 'may not be changed in an update.'));
      if (obj.preemptionPolicy !== old.preemptionPolicy) errs.push(causes.invalid('preemptionPolicy', obj.preemptionPolicy ?? null, 'field is immutable'));
    }
    return errs;
  },
};

// ---- storage.k8s.io -------------------------------------------------------------------------

export const storageClassStrategy: Strategy = {
  default(obj) {
    if (!obj.reclaimPolicy) obj.reclaimPolicy = 'Delete';
    if (!obj.volumeBindingMode) obj.volumeBindingMode = 'Immediate';
  },
  validate(obj, old) {
    const errs: Causes = [];
    const prov = str(obj.provisioner);
    if (prov === '') errs.push(causes.required('provisioner'));
    else {
      validateQualifiedName(prov.toLowerCase(), 'provisioner', errs);
      if (prov.length > 63) errs.push(causes.tooLong('provisioner', 63));
    }
    const rp = str(obj.reclaimPolicy);
    if (rp !== '' && rp !== 'Delete' && rp !== 'Retain') errs.push(causes.notSupported('reclaimPolicy', rp, ['Delete', 'Retain']));
    const bm = str(obj.volumeBindingMode);
    if (bm !== '' && bm !== 'Immediate' && bm !== 'WaitForFirstConsumer') errs.push(causes.notSupported('volumeBindingMode', bm, ['Immediate', 'WaitForFirstConsumer']));
    if (old) {
      if (JSON.stringify(obj.parameters ?? {}) !== JSON.stringify(old.parameters ?? {})) errs.push(causes.forbidden('parameters', 'updates to parameters are forbidden.'));
      if (obj.provisioner !== old.provisioner) errs.push(causes.forbidden('provisioner', 'updates to provisioner are forbidden.'));
      if (obj.reclaimPolicy !== old.reclaimPolicy) errs.push(causes.forbidden('reclaimPolicy', 'updates to reclaimPolicy are forbidden.'));
      if (obj.volumeBindingMode !== old.volumeBindingMode) errs.push(causes.forbidden('volumeBindingMode', 'field is immutable'));
    }
    return errs;
  },
};

export const csiDriverStrategy: Strategy = {
  default(obj) {
    const spec = specOf(obj);
    if (spec.attachRequired === undefined) spec.attachRequired = true;
    if (spec.podInfoOnMount === undefined) spec.podInfoOnMount = false;
    if (spec.storageCapacity === undefined) spec.storageCapacity = false;
    if (spec.fsGroupPolicy === undefined) spec.fsGroupPolicy = 'ReadWriteOnceWithFSType';
    if (arr(spec.volumeLifecycleModes).length === 0) spec.volumeLifecycleModes = ['Persistent'];
    if (spec.requiresRepublish === undefined) spec.requiresRepublish = false;
    if (spec.seLinuxMount === undefined) spec.seLinuxMount = false;
  },
  validate(obj, old) {
    const errs: Causes = [];
    const spec = specIn(obj);
    for (const mode of arr(spec.volumeLifecycleModes)) {
      if (mode !== 'Persistent' && mode !== 'Ephemeral') errs.push(causes.notSupported('spec.volumeLifecycleModes', mode, ['Ephemeral', 'Persistent']));
    }
    const fgp = spec.fsGroupPolicy;
    if (fgp !== undefined && !['File', 'None', 'ReadWriteOnceWithFSType'].includes(fgp)) errs.push(causes.notSupported('spec.fsGroupPolicy', fgp, ['File', 'None', 'ReadWriteOnceWithFSType']));
    if (old) {
      const os = specIn(old);
      immutable(spec.attachRequired, os.attachRequired, 'spec.attachRequired', errs);
      immutable(spec.volumeLifecycleModes, os.volumeLifecycleModes, 'spec.volumeLifecycleModes', errs);
    }
    return errs;
  },
};

export const csiNodeStrategy: Strategy = {
  validate(obj) {
    const errs: Causes = [];
    const names = new Set<string>();
    objs(specIn(obj).drivers).forEach((d, i) => {
      const p = `spec.drivers[${i}]`;
      const name = str(d.name);
      if (name === '') errs.push(causes.required(`${p}.name`));
      if (names.has(name)) errs.push(causes.duplicate(`${p}.name`, name));
      names.add(name);
      if (str(d.nodeID) === '') errs.push(causes.required(`${p}.nodeID`));
    });
    return errs;
  },
};

export const csiStorageCapacityStrategy: Strategy = {
  validate(obj) {
    const errs: Causes = [];
    const sc = str(obj.storageClassName);
    if (sc === '') errs.push(causes.required('storageClassName'));
    else for (const m of isDNS1123Subdomain(sc)) errs.push(causes.invalid('storageClassName', sc, m));
    validateLabelSelector(obj.nodeTopology, 'nodeTopology', errs);
    return errs;
  },
};

export const volumeAttachmentStrategy: Strategy = {
  prepareForCreate(obj) {
    obj.status = { attached: false };
  },
  validate(obj, old) {
    const errs: Causes = [];
    const spec = specIn(obj);
    if (str(spec.attacher) === '') errs.push(causes.required('spec.attacher'));
    if (str(spec.nodeName) === '') errs.push(causes.required('spec.nodeName'));
    const src: Obj = isObj(spec.source) ? spec.source : {};
    const n = ['persistentVolumeName', 'inlineVolumeSpec'].filter((k) => src[k] !== undefined && src[k] !== null).length;
    if (n !== 1) errs.push(causes.invalid('spec.source', src, 'must specify exactly one of inlineVolumeSpec and persistentVolumeName'));
    if (old) immutable(spec, specIn(old), 'spec', errs);
    return errs;
  },
};

export const otherStrategies: Record<string, Strategy> = {
  'Ingress.networking.k8s.io': ingressStrategy,
  'IngressClass.networking.k8s.io': ingressClassStrategy,
  'NetworkPolicy.networking.k8s.io': networkPolicyStrategy,
  'Role.rbac.authorization.k8s.io': roleStrategy,
  'ClusterRole.rbac.authorization.k8s.io': clusterRoleStrategy,
  'RoleBinding.rbac.authorization.k8s.io': roleBindingStrategy,
  'ClusterRoleBinding.rbac.authorization.k8s.io': clusterRoleBindingStrategy,
  'Lease.coordination.k8s.io': leaseStrategy,
  'EndpointSlice.discovery.k8s.io': endpointSliceStrategy,
  'Event.events.k8s.io': eventsV1Strategy,
  'PodDisruptionBudget.policy': podDisruptionBudgetStrategy,
  'HorizontalPodAutoscaler.autoscaling': horizontalPodAutoscalerStrategy,
  'PriorityClass.scheduling.k8s.io': priorityClassStrategy,
  'StorageClass.storage.k8s.io': storageClassStrategy,
  'CSIDriver.storage.k8s.io': csiDriverStrategy,
  'CSINode.storage.k8s.io': csiNodeStrategy,
  'CSIStorageCapacity.storage.k8s.io': csiStorageCapacityStrategy,
  'VolumeAttachment.storage.k8s.io': volumeAttachmentStrategy,
  'CustomResourceDefinition.apiextensions.k8s.io': customResourceDefinitionStrategy,
};
