/**
 * Strategies of the core ("" group) kinds: upstream's core/v1 defaulting, core validation and
 * the registry strategies' PrepareForCreate/PrepareForUpdate (pkg/registry/core/*).
 * ObjectMeta is validated separately (meta.ts); these cover everything else.
 */
import { causes } from '../errors.js';
import { deepEqual } from '../json.js';
import type { KubeObject, Strategy } from '../types.js';
import { eventStrategy } from './events.js';
import { validateKubeFinalizerName } from './meta.js';
import {
  CIDR_ERROR,
  IP_ERROR,
  isConfigMapKey,
  isDNS1123Label,
  isDNS1123Subdomain,
  isIPv6,
  isQualifiedName,
  isValidCIDR,
  isValidIP,
  isValidLabelValue,
  isValidPortNum,
  nameIsDNSSubdomain,
} from './names.js';
import {
  computeQOS,
  defaultPodOnly,
  defaultPodSpec,
  defaultPodTemplateSpec,
  defaultPVCSpec,
  defaultVolumeSources,
  validatePodOnly,
  validatePodSpec,
  validatePodSpecUpdate,
  validatePodTemplateSpec,
  validatePortNumOrName,
} from './pod.js';
import { compareQuantity, quantityNano, quantityString, roundUpToMilli } from './quantity.js';
import {
  arr,
  child,
  ensureObj,
  goStringMap,
  goStringSlice,
  immutable,
  invalidRaw,
  isObj,
  key,
  mapSelectorMatches,
  metaOf,
  nonNegative,
  objs,
  semanticEqual,
  specOf,
  str,
  validateLabelName,
  validateQualifiedName,
  validateLabels,
  type Causes,
  type Obj,
} from './util.js';

const MAX_SECRET_SIZE = 1024 * 1024;

function roundResourceList(rl: unknown): void {
  if (!isObj(rl)) return;
  for (const k of Object.keys(rl)) if (typeof rl[k] === 'string') rl[k] = roundUpToMilli(rl[k]);
}

function nowTime(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ---- Pod ------------------------------------------------------------------------------------

function defaultPod(obj: KubeObject): void {
  const spec = specOf(obj);
  defaultPodSpec(spec);
  defaultPodOnly(spec);
}

export const podStrategy: Strategy = {
  default: defaultPod,
  prepareForCreate(obj) {
    // QoS depends on requests defaulted from limits, so default first (it is idempotent).
    defaultPod(obj);
    const spec = obj.spec as Obj;
    const status: Obj = { phase: 'Pending', qosClass: computeQOS(spec) };
    if (arr(spec.schedulingGates).length > 0) {
      status.conditions = [
        {
          type: 'PodScheduled',
          status: 'False',
          lastProbeTime: null,
          lastTransitionTime: nowTime(),
          reason: 'SchedulingGated',
          message: 'Scheduling is blocked due to non-empty scheduling gates',
        },
      ];
    }
    obj.status = status;
  },
  validate(obj, old) {
    const errs: Causes = [];
    const spec: Obj = isObj(obj.spec) ? obj.spec : {};
    validatePodSpec(spec, 'spec', { isPod: true }, errs);
    validatePodOnly(obj, errs, !old);
    if (old) validatePodSpecUpdate(spec, isObj(old.spec) ? old.spec : {}, errs);
    return errs;
  },
  // Upstream's ValidatePodStatusUpdate checks metadata (done for every kind) and the status itself
  // (container state transitions, nominatedNodeName, pod IPs), which skiff does not check yet; never
  // the spec. Skipping the spec here saves a full pod-spec validation per kubelet status write and binding.
  validateStatusUpdate: () => [],
};

// ---- PodTemplate ----------------------------------------------------------------------------

export const podTemplateStrategy: Strategy = {
  default(obj) {
    defaultPodTemplateSpec(ensureObj(obj, 'template'));
  },
  validate(obj) {
    const errs: Causes = [];
    validatePodTemplateSpec(obj.template, 'template', errs);
    return errs;
  },
};

// ---- ReplicationController ------------------------------------------------------------------

export const replicationControllerStrategy: Strategy = {
  default(obj) {
    const spec = specOf(obj);
    const template = isObj(spec.template) ? spec.template : undefined;
    const labels = template && isObj(template.metadata) && isObj(template.metadata.labels) ? template.metadata.labels : undefined;
    if (labels) {
      if (!isObj(spec.selector) || Object.keys(spec.selector).length === 0) spec.selector = { ...labels };
      const meta = ensureObj(obj, 'metadata');
      if (!isObj(meta.labels) || Object.keys(meta.labels).length === 0) meta.labels = { ...labels };
    }
    if (spec.replicas === undefined) spec.replicas = 1;
    if (template) defaultPodTemplateSpec(template);
  },
  prepareForCreate(obj) {
    obj.status = { replicas: 0 };
  },
  validate(obj) {
    const errs: Causes = [];
    const spec: Obj = isObj(obj.spec) ? obj.spec : {};
    nonNegative(spec.minReadySeconds, 'spec.minReadySeconds', errs);
    const selector: Obj = isObj(spec.selector) ? spec.selector : {};
    if (Object.keys(selector).length === 0) errs.push(causes.required('spec.selector'));
    nonNegative(spec.replicas, 'spec.replicas', errs);
    if (!isObj(spec.template)) {
      errs.push(causes.required('spec.template'));
    } else {
      const tlabels = isObj(spec.template.metadata) ? spec.template.metadata.labels : undefined;
      if (Object.keys(selector).length > 0 && !mapSelectorMatches(selector, tlabels)) {
        errs.push(invalidRaw('spec.template.metadata.labels', goStringMap(tlabels), '`selector` does not match template `labels`'));
      }
      validatePodTemplateSpec(spec.template, 'spec.template', errs);
      const ts: Obj = isObj(spec.template.spec) ? spec.template.spec : {};
      if (ts.restartPolicy !== 'Always') errs.push(causes.notSupported('spec.template.spec.restartPolicy', str(ts.restartPolicy), ['Always']));
      if (ts.activeDeadlineSeconds !== undefined) {
        errs.push(causes.forbidden('spec.template.spec.activeDeadlineSeconds', 'activeDeadlineSeconds in ReplicationController is not Supported'));
      }
    }
    return errs;
  },
};

// ---- Service --------------------------------------------------------------------------------

function externallyAccessible(spec: Obj): boolean {
  return spec.type === 'LoadBalancer' || spec.type === 'NodePort' || (spec.type === 'ClusterIP' && arr(spec.externalIPs).length > 0);
}

function needsClusterIP(spec: Obj): boolean {
  return spec.type !== 'ExternalName';
}

function needsNodePort(spec: Obj): boolean {
  return spec.type === 'NodePort' || (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
}

function needsHealthCheck(spec: Obj): boolean {
  return spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local';
}

function isHeadless(spec: Obj): boolean {
  return arr(spec.clusterIPs)[0] === 'None' || spec.clusterIP === 'None';
}

function defaultService(obj: KubeObject): void {
  const spec = specOf(obj);
  if (!spec.sessionAffinity) spec.sessionAffinity = 'None';
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === 'ClientIP') {
    const cfg = ensureObj(spec, 'sessionAffinityConfig');
    const ip = ensureObj(cfg, 'clientIP');
    if (ip.timeoutSeconds === undefined) ip.timeoutSeconds = 10800;
  }
  if (!spec.type) spec.type = 'ClusterIP';
  for (const p of objs(spec.ports)) {
    if (!p.protocol) p.protocol = 'TCP';
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
  if (externallyAccessible(spec) && !spec.externalTrafficPolicy) spec.externalTrafficPolicy = 'Cluster';
  if (spec.internalTrafficPolicy === undefined && ['NodePort', 'LoadBalancer', 'ClusterIP'].includes(spec.type)) spec.internalTrafficPolicy = 'Cluster';
  if (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts === undefined) spec.allocateLoadBalancerNodePorts = true;
  // Upstream's IP allocator fills these on a single-stack IPv4 cluster; omitted on update they are kept.
  if (needsClusterIP(spec)) {
    if (spec.ipFamilyPolicy === undefined) spec.ipFamilyPolicy = 'SingleStack';
    if (arr(spec.ipFamilies).length === 0) {
      const first = str(arr(spec.clusterIPs)[0] ?? spec.clusterIP);
      spec.ipFamilies = [first && first !== 'None' && isIPv6(first) ? 'IPv6' : 'IPv4'];
    }
  }
}

function sameClusterIPs(a: Obj, b: Obj): boolean {
  return semanticEqual(a.clusterIPs, b.clusterIPs);
}

export const serviceStrategy: Strategy = {
  default: defaultService,
  prepareForCreate(obj) {
    obj.status = { loadBalancer: {} };
    const spec = specOf(obj);
    if (str(spec.clusterIP) !== '' && arr(spec.clusterIPs).length === 0) spec.clusterIPs = [spec.clusterIP];
  },
  prepareForUpdate(obj, old) {
    const spec = specOf(obj);
    const o: Obj = isObj(old.spec) ? old.spec : {};
    // patchAllocatedValues: a client that omits allocated values keeps them.
    if (needsClusterIP(o) && needsClusterIP(spec)) {
      if (!spec.clusterIP && o.clusterIP) spec.clusterIP = o.clusterIP;
      if (arr(spec.clusterIPs).length === 0 && arr(o.clusterIPs).length > 0) spec.clusterIPs = o.clusterIPs;
    }
    if (needsNodePort(o) && needsNodePort(spec)) {
      const used = new Set(objs(spec.ports).map((p) => p.nodePort).filter((n) => n));
      const byName = new Map(objs(o.ports).map((p) => [str(p.name), p.nodePort]));
      for (const p of objs(spec.ports)) {
        if (!p.nodePort) {
          const prev = byName.get(str(p.name));
          if (prev && !used.has(prev)) p.nodePort = prev;
        }
      }
    }
    if (needsHealthCheck(o) && needsHealthCheck(spec) && !spec.healthCheckNodePort) spec.healthCheckNodePort = o.healthCheckNodePort;
    // NormalizeClusterIPs on update.
    if (arr(o.clusterIPs).length > 0 && arr(spec.clusterIPs).length === 0 && o.clusterIP === spec.clusterIP) spec.clusterIPs = o.clusterIPs;
    if (o.clusterIP !== spec.clusterIP) {
      if (o.clusterIP && !spec.clusterIP) {
        if (sameClusterIPs(o, spec)) delete spec.clusterIPs;
      } else if (sameClusterIPs(o, spec) && spec.clusterIP) {
        spec.clusterIPs = [spec.clusterIP];
      }
    }
    // dropTypeDependentFields: switching type clears what only the old type needed.
    if (needsClusterIP(o) && !needsClusterIP(spec)) {
      if (sameClusterIPs(o, spec) || arr(spec.clusterIPs).length === 0) {
        delete spec.clusterIP;
        delete spec.clusterIPs;
      }
      if (semanticEqual(o.ipFamilies, spec.ipFamilies) || !needsClusterIP(spec)) delete spec.ipFamilies;
      if (o.ipFamilyPolicy === spec.ipFamilyPolicy || !needsClusterIP(spec)) delete spec.ipFamilyPolicy;
    }
    if (needsNodePort(o) && !needsNodePort(spec)) {
      const same = deepEqual(objs(o.ports).map((p) => p.nodePort), objs(spec.ports).map((p) => p.nodePort));
      if (same) for (const p of objs(spec.ports)) delete p.nodePort;
    }
    if (needsHealthCheck(o) && !needsHealthCheck(spec) && o.healthCheckNodePort === spec.healthCheckNodePort) delete spec.healthCheckNodePort;
    if (o.type === 'LoadBalancer' && spec.type !== 'LoadBalancer' && o.allocateLoadBalancerNodePorts === spec.allocateLoadBalancerNodePorts) {
      delete spec.allocateLoadBalancerNodePorts;
    }
    if (externallyAccessible(o) && !externallyAccessible(spec) && o.externalTrafficPolicy === spec.externalTrafficPolicy) delete spec.externalTrafficPolicy;
  },
  validate(obj, old) {
    const errs: Causes = [];
    const spec: Obj = isObj(obj.spec) ? obj.spec : {};
    if (old) validateServiceUpdate(spec, isObj(old.spec) ? old.spec : {}, errs);
    validateService(spec, errs);
    return errs;
  },
};

const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];

function validateService(spec: Obj, errs: Causes): void {
  const headless = isHeadless(spec);
  const ports = objs(spec.ports);
  if (ports.length === 0 && !headless && spec.type !== 'ExternalName') errs.push(causes.required('spec.ports'));
  switch (spec.type) {
    case 'LoadBalancer':
      ports.forEach((p, i) => {
        if (p.port === 10250) errs.push(causes.invalid(`spec.ports[${i}]`, p.port, 'may not expose port 10250 externally since it is used by kubelet'));
      });
      if (headless) errs.push(causes.invalid('spec.clusterIPs[0]', str(arr(spec.clusterIPs)[0] ?? spec.clusterIP), "may not be set to 'None' for LoadBalancer services"));
      break;
    case 'NodePort':
      if (headless) errs.push(causes.invalid('spec.clusterIPs[0]', str(arr(spec.clusterIPs)[0] ?? spec.clusterIP), "may not be set to 'None' for NodePort services"));
      break;
    case 'ExternalName': {
      if (arr(spec.clusterIPs).length > 0) errs.push(causes.forbidden('spec.clusterIPs', 'may not be set for ExternalName services'));
      if (arr(spec.ipFamilies).length > 0) errs.push(causes.forbidden('spec.ipFamilies', 'may not be set for ExternalName services'));
      if (spec.ipFamilyPolicy !== undefined) errs.push(causes.forbidden('spec.ipFamilyPolicy', 'may not be set for ExternalName services'));
      const cname = str(spec.externalName).replace(/\.$/, '');
      if (cname !== '') for (const m of isDNS1123Subdomain(cname)) errs.push(causes.invalid('spec.externalName', cname, m));
      else errs.push(causes.required('spec.externalName'));
      break;
    }
    default:
      break;
  }
  const names = new Set<string>();
  ports.forEach((p, i) => {
    const pp = `spec.ports[${i}]`;
    const name = str(p.name);
    if (ports.length > 1 && name === '') errs.push(causes.required(`${pp}.name`));
    else if (name !== '') {
      for (const m of isDNS1123Label(name)) errs.push(causes.invalid(`${pp}.name`, name, m));
      if (names.has(name)) errs.push(causes.duplicate(`${pp}.name`, name));
      else names.add(name);
    }
    const port = typeof p.port === 'number' ? p.port : 0;
    for (const m of isValidPortNum(port)) errs.push(causes.invalid(`${pp}.port`, port, m));
    const proto = str(p.protocol);
    if (proto === '') errs.push(causes.required(`${pp}.protocol`));
    else if (!['SCTP', 'TCP', 'UDP'].includes(proto)) errs.push(causes.notSupported(`${pp}.protocol`, proto, ['SCTP', 'TCP', 'UDP']));
    validatePortNumOrName(p.targetPort, `${pp}.targetPort`, errs);
    if (p.appProtocol !== undefined) for (const m of isQualifiedName(str(p.appProtocol))) errs.push(causes.invalid(`${pp}.appProtocol`, p.appProtocol, m));
  });
  if (isObj(spec.selector)) validateLabels(spec.selector, 'spec.selector', errs);
  const sa = str(spec.sessionAffinity);
  if (sa === '') errs.push(causes.required('spec.sessionAffinity'));
  else if (sa !== 'ClientIP' && sa !== 'None') errs.push(causes.notSupported('spec.sessionAffinity', sa, ['ClientIP', 'None']));
  if (sa === 'ClientIP') {
    const cfg = spec.sessionAffinityConfig;
    const when = 'Required value: when session affinity type is ClientIP';
    if (!isObj(cfg)) errs.push(causes.required('spec.sessionAffinityConfig', when));
    else if (!isObj(cfg.clientIP)) errs.push(causes.required('spec.sessionAffinityConfig.clientIP', when));
    else if (typeof cfg.clientIP.timeoutSeconds !== 'number') errs.push(causes.required('spec.sessionAffinityConfig.clientIP.timeoutSeconds', when));
    else if (cfg.clientIP.timeoutSeconds <= 0 || cfg.clientIP.timeoutSeconds > 86400) {
      errs.push(causes.invalid('spec.sessionAffinityConfig.clientIP.timeoutSeconds', cfg.clientIP.timeoutSeconds, 'must be greater than 0 and less than 86400'));
    }
  } else if (sa === 'None' && spec.sessionAffinityConfig !== undefined) {
    errs.push(causes.forbidden('spec.sessionAffinityConfig', 'must not be set when session affinity is None'));
  }
  validateClusterIPs(spec, errs);
  arr(spec.externalIPs).forEach((ip, i) => {
    if (!isValidIP(str(ip))) errs.push(causes.invalid(`spec.externalIPs[${i}]`, ip, IP_ERROR));
  });
  const type = str(spec.type);
  if (type === '') errs.push(causes.required('spec.type'));
  else if (!SERVICE_TYPES.includes(type)) errs.push(causes.notSupported('spec.type', type, SERVICE_TYPES));
  if (type === 'ClusterIP') {
    ports.forEach((p, i) => {
      if (p.nodePort) errs.push(causes.forbidden(`spec.ports[${i}].nodePort`, "may not be used when `type` is 'ClusterIP'"));
    });
  }
  const nodePorts = new Set<string>();
  const portKeys = new Set<string>();
  ports.forEach((p, i) => {
    if (p.nodePort) {
      const k = `${str(p.protocol)}/${p.nodePort}`;
      if (nodePorts.has(k)) errs.push(causes.duplicate(`spec.ports[${i}].nodePort`, p.nodePort));
      nodePorts.add(k);
    }
    const k = `${str(p.protocol)}/${p.port}`;
    if (portKeys.has(k)) {
      errs.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: core.ServicePort{Name:"", Protocol:"${str(p.protocol)}", AppProtocol:(*string)(nil), Port:${p.port}, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}`, field: `spec.ports[${i}]` });
    }
    portKeys.add(k);
  });
  const ranges = arr(spec.loadBalancerSourceRanges);
  if (ranges.length > 0) {
    if (type !== 'LoadBalancer') errs.push(causes.forbidden('spec.LoadBalancerSourceRanges', "may only be used when `type` is 'LoadBalancer'"));
    ranges.forEach((r, i) => {
      if (!isValidCIDR(str(r).trim())) errs.push(causes.invalid(`spec.LoadBalancerSourceRanges[${i}]`, str(r).trim(), CIDR_ERROR));
    });
  }
  if (spec.allocateLoadBalancerNodePorts !== undefined && type !== 'LoadBalancer') {
    errs.push(causes.forbidden('spec.allocateLoadBalancerNodePorts', "may only be used when `type` is 'LoadBalancer'"));
  }
  if (type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts === undefined) errs.push(causes.required('allocateLoadBalancerNodePorts'));
  if (spec.loadBalancerClass !== undefined && type !== 'LoadBalancer') {
    errs.push(causes.forbidden('spec.loadBalancerClass', 'may only be used when `type` is \'LoadBalancer\''));
  }
  const etp = spec.externalTrafficPolicy;
  if (!externallyAccessible(spec)) {
    if (etp) errs.push(causes.invalid('spec.externalTrafficPolicy', etp, 'may only be set for externally-accessible services'));
  } else if (!etp) {
    errs.push(causes.required('spec.externalTrafficPolicy'));
  } else if (etp !== 'Cluster' && etp !== 'Local') {
    errs.push(causes.notSupported('spec.externalTrafficPolicy', etp, ['Cluster', 'Local']));
  }
  if (!needsHealthCheck(spec)) {
    if (spec.healthCheckNodePort) errs.push(causes.invalid('spec.healthCheckNodePort', spec.healthCheckNodePort, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"));
  }
  const itp = spec.internalTrafficPolicy;
  if (itp === undefined) {
    if (['NodePort', 'LoadBalancer', 'ClusterIP'].includes(type)) errs.push(causes.required('spec.internalTrafficPolicy'));
  } else if (itp !== 'Cluster' && itp !== 'Local') {
    errs.push(causes.notSupported('spec.internalTrafficPolicy', itp, ['Cluster', 'Local']));
  }
}

function validateClusterIPs(spec: Obj, errs: Causes): void {
  if (spec.type === 'ExternalName') return;
  const ips = arr(spec.clusterIPs).map(str);
  if (str(spec.clusterIP) !== '') {
    if (ips.length === 0) errs.push(causes.required('spec.clusterIPs'));
    else if (ips[0] !== spec.clusterIP) errs.push(invalidRaw('spec.clusterIPs', goStringSlice(ips), 'first value must match `clusterIP`'));
  } else if (ips.length !== 0) {
    errs.push(invalidRaw('spec.clusterIPs', goStringSlice(ips), 'must be empty when `clusterIP` is not specified'));
  }
  const seen = new Set<string>();
  arr(spec.ipFamilies).forEach((f, i) => {
    if (f !== 'IPv4' && f !== 'IPv6') errs.push(causes.notSupported(`spec.ipFamilies[${i}]`, f, ['IPv4', 'IPv6']));
    if (seen.has(f)) errs.push(causes.duplicate(`spec.ipFamilies[${i}]`, f));
    seen.add(f);
  });
  if (spec.ipFamilyPolicy !== undefined && !['PreferDualStack', 'RequireDualStack', 'SingleStack'].includes(spec.ipFamilyPolicy)) {
    errs.push(causes.notSupported('spec.ipFamilyPolicy', spec.ipFamilyPolicy, ['PreferDualStack', 'RequireDualStack', 'SingleStack']));
  }
  let bad = false;
  ips.forEach((ip, i) => {
    if (i === 0 && ip === 'None') {
      if (ips.length > 1) {
        bad = true;
        errs.push(invalidRaw('spec.clusterIPs', goStringSlice(ips), "'None' must be the first and only value"));
      }
      return;
    }
    if (!isValidIP(ip)) {
      bad = true;
      errs.push(causes.invalid(`spec.clusterIPs[${i}]`, ip, IP_ERROR));
    }
  });
  if (ips.length > 2) errs.push(invalidRaw('spec.clusterIPs', goStringSlice(ips), 'may only hold up to 2 values'));
  if (bad) return;
  if (ips.length > 1 && isIPv6(ips[0]) === isIPv6(ips[1])) errs.push(invalidRaw('spec.clusterIPs', goStringSlice(ips), 'may specify no more than one IP for each IP family'));
  if (!isHeadless(spec)) {
    const fams = arr(spec.ipFamilies);
    ips.forEach((ip, i) => {
      if (i >= fams.length) return;
      if (fams[i] === 'IPv4' && isIPv6(ip)) errs.push(causes.invalid(`spec.clusterIPs[${i}]`, ip, `expected an IPv4 value as indicated by \`ipFamilies[${i}]\``));
      if (fams[i] === 'IPv6' && !isIPv6(ip)) errs.push(causes.invalid(`spec.clusterIPs[${i}]`, ip, `expected an IPv6 value as indicated by \`ipFamilies[${i}]\``));
    });
  }
}

function validateServiceUpdate(spec: Obj, old: Obj, errs: Causes): void {
  if (spec.type === 'ExternalName' || old.type === 'ExternalName') return;
  if (isHeadless(spec) && isHeadless(old)) return;
  const n = arr(spec.clusterIPs);
  const o = arr(old.clusterIPs);
  const printed = goStringSlice(n);
  if (n.length === o.length) {
    o.forEach((ip, i) => {
      if (ip !== n[i]) errs.push(invalidRaw(`spec.clusterIPs[${i}]`, printed, 'may not change once set'));
    });
  } else if (o.length > n.length) {
    if (n.length === 0) errs.push(invalidRaw('spec.clusterIPs[0]', printed, 'primary clusterIP can not be unset'));
    if (o.length > 0 && n.length > 0 && n[0] !== o[0]) errs.push(invalidRaw('spec.clusterIPs[0]', printed, 'may not change once set'));
    if (n.length === 1 && spec.ipFamilyPolicy !== 'SingleStack') {
      errs.push(invalidRaw('spec.clusterIPs[0]', printed, "`ipFamilyPolicy` must be set to 'SingleStack' when releasing the secondary clusterIP"));
    }
  } else if (o.length > 0 && n[0] !== o[0]) {
    errs.push(invalidRaw('spec.clusterIPs[0]', printed, 'may not change once set'));
  }
  const nf = arr(spec.ipFamilies);
  const of = arr(old.ipFamilies);
  if (of.length > 0 && nf.length > 0 && nf[0] !== of[0]) {
    errs.push(invalidRaw('spec.ipFamilies[0]', goStringSlice(nf), 'may not change once set'));
  }
  if (needsHealthCheck(old) && needsHealthCheck(spec) && spec.healthCheckNodePort !== old.healthCheckNodePort) {
    errs.push(causes.forbidden('spec.healthCheckNodePort', 'field is immutable'));
  }
  if (old.loadBalancerClass !== undefined && old.type === 'LoadBalancer' && spec.type === 'LoadBalancer' && spec.loadBalancerClass !== old.loadBalancerClass) {
    errs.push(causes.invalid('spec.loadBalancerClass', spec.loadBalancerClass ?? null, 'may not change once set'));
  }
}

// ---- ConfigMap / Secret ---------------------------------------------------------------------

export const configMapStrategy: Strategy = {
  validate(obj, old) {
    const errs: Causes = [];
    if (old && old.immutable === true) {
      if (obj.immutable !== true) errs.push(causes.forbidden('immutable', 'field is immutable when `immutable` is set'));
      if (!deepEqual(obj.data ?? {}, old.data ?? {})) errs.push(causes.forbidden('data', 'field is immutable when `immutable` is set'));
      if (!deepEqual(obj.binaryData ?? {}, old.binaryData ?? {})) errs.push(causes.forbidden('binaryData', 'field is immutable when `immutable` is set'));
    }
    let total = 0;
    const data: Obj = isObj(obj.data) ? obj.data : {};
    const binary: Obj = isObj(obj.binaryData) ? obj.binaryData : {};
    for (const k of Object.keys(data)) {
      for (const m of isConfigMapKey(k)) errs.push(causes.invalid(key('data', k), k, m));
      if (binary[k] !== undefined) errs.push(causes.invalid(key('data', k), k, 'duplicate of key present in binaryData'));
      total += typeof data[k] === 'string' ? Buffer.byteLength(data[k]) : 0;
    }
    for (const k of Object.keys(binary)) {
      for (const m of isConfigMapKey(k)) errs.push(causes.invalid(key('binaryData', k), k, m));
      total += base64Length(binary[k]);
    }
    if (total > MAX_SECRET_SIZE) errs.push(causes.tooLong('', MAX_SECRET_SIZE));
    return errs;
  },
};

function base64Length(v: unknown): number {
  if (typeof v !== 'string') return 0;
  const pad = v.endsWith('==') ? 2 : v.endsWith('=') ? 1 : 0;
  return Math.floor((v.length * 3) / 4) - pad;
}

function secretData(obj: KubeObject): Obj {
  return isObj(obj.data) ? obj.data : {};
}

export const secretStrategy: Strategy = {
  default(obj) {
    if (!obj.type) obj.type = 'Opaque';
    // v1 → internal conversion folds stringData into data; it is never stored.
    if (isObj(obj.stringData)) {
      const data = ensureObj(obj, 'data');
      for (const [k, v] of Object.entries(obj.stringData)) data[k] = Buffer.from(str(v), 'utf8').toString('base64');
    }
    delete obj.stringData;
  },
  validate(obj, old) {
    const errs: Causes = [];
    if (old) {
      immutable(obj.type, old.type, 'type', errs);
      if (old.immutable === true) {
        if (obj.immutable !== true) errs.push(causes.forbidden('immutable', 'field is immutable when `immutable` is set'));
        if (!deepEqual(obj.data ?? {}, old.data ?? {})) errs.push(causes.forbidden('data', 'field is immutable when `immutable` is set'));
      }
    }
    const data = secretData(obj);
    let total = 0;
    for (const k of Object.keys(data)) {
      for (const m of isConfigMapKey(k)) errs.push(causes.invalid(key('data', k), k, m));
      total += base64Length(data[k]);
    }
    if (total > MAX_SECRET_SIZE) errs.push(causes.tooLong('data', MAX_SECRET_SIZE));
    const has = (k: string) => data[k] !== undefined;
    switch (obj.type) {
      case 'kubernetes.io/service-account-token': {
        const ann = metaOf(obj).annotations;
        if (!isObj(ann) || str(ann['kubernetes.io/service-account.name']) === '') {
          errs.push(causes.required('metadata.annotations[kubernetes.io/service-account.name]'));
        }
        break;
      }
      case 'kubernetes.io/dockercfg':
      case 'kubernetes.io/dockerconfigjson': {
        const k = obj.type === 'kubernetes.io/dockercfg' ? '.dockercfg' : '.dockerconfigjson';
        if (!has(k)) {
          errs.push(causes.required(key('data', k)));
          break;
        }
        try {
          const parsed = JSON.parse(Buffer.from(str(data[k]), 'base64').toString('utf8'));
          if (!isObj(parsed)) throw new Error('json: cannot unmarshal into Go value of type map[string]interface {}');
        } catch (err) {
          errs.push(causes.invalid(key('data', k), '<secret contents redacted>', (err as Error).message));
        }
        break;
      }
      case 'kubernetes.io/basic-auth':
        if (!has('username') && !has('password')) {
          errs.push(causes.required(key('data', 'username')));
          errs.push(causes.required(key('data', 'password')));
        }
        break;
      case 'kubernetes.io/ssh-auth':
        if (base64Length(data['ssh-privatekey']) === 0) errs.push(causes.required(key('data', 'ssh-privatekey')));
        break;
      case 'kubernetes.io/tls':
        if (!has('tls.crt')) errs.push(causes.required(key('data', 'tls.crt')));
        if (!has('tls.key')) errs.push(causes.required(key('data', 'tls.key')));
        break;
      default:
        break;
    }
    return errs;
  },
};

// ---- Namespace ------------------------------------------------------------------------------

export const namespaceStrategy: Strategy = {
  default(obj) {
    const meta = ensureObj(obj, 'metadata');
    if (str(meta.name) !== '') {
      const labels = ensureObj(meta, 'labels');
      labels['kubernetes.io/metadata.name'] = meta.name;
    }
  },
  prepareForCreate(obj) {
    obj.status = { phase: 'Active' };
    const spec = specOf(obj);
    const fins = arr(spec.finalizers);
    if (!fins.includes('kubernetes')) spec.finalizers = [...fins, 'kubernetes'];
  },
  prepareForDelete(obj) {
    const status = ensureObj(obj, 'status');
    status.phase = 'Terminating';
  },
  validate(obj) {
    const errs: Causes = [];
    const spec: Obj = isObj(obj.spec) ? obj.spec : {};
    for (const f of arr(spec.finalizers)) {
      for (const m of isQualifiedName(str(f))) errs.push(causes.invalid('spec.finalizers', f, m));
      validateKubeFinalizerName(str(f), 'spec.finalizers', errs);
    }
    return errs;
  },
};

// ---- Node -----------------------------------------------------------------------------------

const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

export const nodeStrategy: Strategy = {
  default(obj) {
    if (!isObj(obj.status)) return;
    roundResourceList(obj.status.capacity);
    roundResourceList(obj.status.allocatable);
    if (obj.status.allocatable === undefined && isObj(obj.status.capacity)) obj.status.allocatable = { ...obj.status.capacity };
  },
  validate(obj, old) {
    const errs: Causes = [];
    const spec: Obj = isObj(obj.spec) ? obj.spec : {};
    const status: Obj = isObj(obj.status) ? obj.status : {};
    // Upstream reports node taints under metadata.taints.
    const unique = new Set<string>();
    objs(spec.taints).forEach((t, i) => {
      const p = `metadata.taints[${i}]`;
      validateLabelName(str(t.key), `${p}.key`, errs);
      const vm = isValidLabelValue(str(t.value));
      if (vm.length > 0) errs.push(causes.invalid(`${p}.value`, str(t.value), vm.join(';')));
      const eff = str(t.effect);
      if (eff === '') errs.push(causes.required(`${p}.effect`));
      else if (!TAINT_EFFECTS.includes(eff)) errs.push(causes.notSupported(`${p}.effect`, eff, TAINT_EFFECTS));
      const k = `${eff}/${str(t.key)}`;
      if (unique.has(k)) errs.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(t)}: taints must be unique by key and effect pair`, field: p });
      unique.add(k);
    });
    for (const part of ['capacity', 'allocatable']) {
      const rl: Obj = isObj(status[part]) ? status[part] : {};
      for (const [k, v] of Object.entries(rl)) {
        if (quantityNano(v) < 0n) errs.push(causes.invalid(`status.${part}.${k}`, quantityString(v), 'must be greater than or equal to 0'));
      }
    }
    arr(spec.podCIDRs).forEach((c, i) => {
      if (!isValidCIDR(str(c))) errs.push(causes.invalid(`spec.podCIDRs[${i}]`, c, CIDR_ERROR));
    });
    if (old) {
      const os: Obj = isObj(old.spec) ? old.spec : {};
      if (arr(os.podCIDRs).length > 0 && !deepEqual(arr(os.podCIDRs), arr(spec.podCIDRs))) {
        errs.push(causes.forbidden('spec.podCIDRs', 'node updates may not change podCIDR except from "" to valid'));
      }
      if (str(os.providerID) !== '' && os.providerID !== spec.providerID) {
        errs.push(causes.forbidden('spec.providerID', 'node updates may not change providerID except from "" to valid'));
      }
      const seen = new Set<string>();
      objs(status.addresses).forEach((a, i) => {
        const k = `${str(a.type)}/${str(a.address)}`;
        if (seen.has(k)) errs.push(causes.duplicate(`status.addresses[${i}]`, a));
        seen.add(k);
      });
    }
    return errs;
  },
};

// ---- PersistentVolume / PersistentVolumeClaim -------------------------------------------------

const ACCESS_MODES = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];
const PV_SOURCES = [
  'gcePersistentDisk', 'awsElasticBlockStore', 'hostPath', 'glusterfs', 'nfs', 'rbd', 'quobyte', 'iscsi', 'cinder', 'cephfs', 'fc',
  'flocker', 'flexVolume', 'azureFile', 'vsphereVolume', 'azureDisk', 'photonPersistentDisk', 'portworxVolume', 'scaleIO', 'local',
  'storageos', 'csi',
];

function validateAccessModes(modes: unknown, field: string, errs: Causes): void {
  const list = arr(modes);
  if (list.length === 0) errs.push(causes.required(field, 'Required value: at least 1 access mode is required'));
  for (const m of list) if (!ACCESS_MODES.includes(m)) errs.push(causes.notSupported(field, m, ACCESS_MODES));
  if (list.includes('ReadWriteOncePod') && list.length > 1) {
    errs.push(causes.forbidden(field, 'may not use ReadWriteOncePod with other access modes'));
  }
}

function validateClassName(name: unknown, field: string, errs: Causes): void {
  if (typeof name === 'string' && name !== '') for (const m of nameIsDNSSubdomain(name, false)) errs.push(causes.invalid(field, name, m));
}

function validateVolumeMode(mode: unknown, field: string, errs: Causes): void {
  if (mode !== undefined && mode !== 'Block' && mode !== 'Filesystem') errs.push(causes.notSupported(field, mode, ['Block', 'Filesystem']));
}

export const persistentVolumeStrategy: Strategy = {
  default(obj) {
    const spec = specOf(obj);
    if (!spec.persistentVolumeReclaimPolicy) spec.persistentVolumeReclaimPolicy = 'Retain';
    if (!spec.volumeMode) spec.volumeMode = 'Filesystem';
    roundResourceList(spec.capacity);
    defaultVolumeSources(spec);
    const status = ensureObj(obj, 'status');
    if (!status.phase) status.phase = 'Pending';
  },
  prepareForCreate(obj) {
    obj.status = { phase: 'Pending', lastPhaseTransitionTime: nowTime() };
  },
  validate(obj, old) {
    const errs: Causes = [];
    const spec: Obj = isObj(obj.spec) ? obj.spec : {};
    validateAccessModes(spec.accessModes, 'spec.accessModes', errs);
    const cap: Obj = isObj(spec.capacity) ? spec.capacity : {};
    if (Object.keys(cap).length === 0) errs.push(causes.required('spec.capacity'));
    else if (cap.storage === undefined || Object.keys(cap).length > 1) errs.push(causes.notSupported('spec.capacity', cap, ['storage']));
    for (const [k, v] of Object.entries(cap)) {
      if (quantityNano(v) <= 0n && k === 'storage') errs.push(causes.invalid(key('spec.capacity', k), quantityString(v), 'must be greater than zero'));
    }
    const rp = str(spec.persistentVolumeReclaimPolicy);
    if (rp !== '' && !['Delete', 'Recycle', 'Retain'].includes(rp)) {
      errs.push(causes.notSupported('spec.persistentVolumeReclaimPolicy', rp, ['Delete', 'Recycle', 'Retain']));
    }
    const sources = PV_SOURCES.filter((s) => isObj(spec[s]));
    if (sources.length === 0) errs.push(causes.required('spec', 'Required value: must specify a volume type'));
    for (const s of sources.slice(1)) errs.push(causes.forbidden(`spec.${s}`, 'may not specify more than 1 volume type'));
    if (isObj(spec.hostPath) && str(spec.hostPath.path) === '') errs.push(causes.required('spec.hostPath.path'));
    if (isObj(spec.local) && str(spec.local.path) === '') errs.push(causes.required('spec.local.path'));
    if (isObj(spec.local) && !isObj(spec.nodeAffinity)) errs.push(causes.required('spec.nodeAffinity', 'Required value: Local volume requires node affinity'));
    if (isObj(spec.nfs)) {
      if (str(spec.nfs.server) === '') errs.push(causes.required('spec.nfs.server'));
      if (str(spec.nfs.path) === '') errs.push(causes.required('spec.nfs.path'));
    }
    if (isObj(spec.csi)) {
      if (str(spec.csi.driver) === '') errs.push(causes.required('spec.csi.driver'));
      if (str(spec.csi.volumeHandle) === '') errs.push(causes.required('spec.csi.volumeHandle'));
    }
    validateClassName(spec.storageClassName, 'spec.storageClassName', errs);
    validateVolumeMode(spec.volumeMode, 'spec.volumeMode', errs);
    if (old) {
      const os: Obj = isObj(old.spec) ? old.spec : {};
      const src = (s: Obj) => Object.fromEntries(PV_SOURCES.filter((k) => s[k] !== undefined).map((k) => [k, s[k]]));
      if (!semanticEqual(src(spec), src(os))) {
        errs.push(causes.forbidden('spec.persistentvolumesource', 'spec.persistentvolumesource is immutable after creation'));
      }
      immutable(spec.volumeMode, os.volumeMode, 'volumeMode', errs);
      if (os.nodeAffinity !== undefined) immutable(spec.nodeAffinity, os.nodeAffinity, 'nodeAffinity', errs);
    }
    return errs;
  },
};

function validatePVCSpec(spec: Obj, field: string, errs: Causes): void {
  validateAccessModes(spec.accessModes, child(field, 'accessModes'), errs);
  if (isObj(spec.selector)) {
    // Upstream validates the selector like any label selector.
    const sel: Causes = [];
    validateLabels(spec.selector.matchLabels, child(child(field, 'selector'), 'matchLabels'), sel);
    errs.push(...sel);
  }
  const res: Obj = isObj(spec.resources) ? spec.resources : {};
  const req: Obj = isObj(res.requests) ? res.requests : {};
  const storagePath = key(child(field, 'resources'), 'storage');
  if (req.storage === undefined) errs.push(causes.required(storagePath));
  else if (quantityNano(req.storage) <= 0n) errs.push(causes.invalid(storagePath, quantityString(req.storage), 'must be greater than zero'));
  validateClassName(spec.storageClassName, child(field, 'storageClassName'), errs);
  validateVolumeMode(spec.volumeMode, child(field, 'volumeMode'), errs);
}

export const persistentVolumeClaimStrategy: Strategy = {
  default(obj) {
    defaultPVCSpec(specOf(obj));
    const status = ensureObj(obj, 'status');
    if (!status.phase) status.phase = 'Pending';
  },
  prepareForCreate(obj) {
    obj.status = { phase: 'Pending' };
  },
  validate(obj, old) {
    const errs: Causes = [];
    const spec: Obj = isObj(obj.spec) ? obj.spec : {};
    validatePVCSpec(spec, 'spec', errs);
    if (old) {
      const os: Obj = isObj(old.spec) ? old.spec : {};
      const n = JSON.parse(JSON.stringify(spec)) as Obj;
      const o = JSON.parse(JSON.stringify(os)) as Obj;
      // The volume binder may set volumeName once.
      if (str(o.volumeName) === '') o.volumeName = n.volumeName;
      const bound = isObj(obj.status) && obj.status.phase === 'Bound';
      if (bound && isObj(n.resources) && isObj(n.resources.requests)) {
        n.resources.requests.storage = isObj(o.resources) && isObj(o.resources.requests) ? o.resources.requests.storage : undefined;
      }
      n.volumeAttributesClassName = o.volumeAttributesClassName;
      if (o.storageClassName === undefined && n.storageClassName !== undefined) o.storageClassName = n.storageClassName;
      if (!semanticEqual(n, o)) {
        errs.push(causes.forbidden('spec', 'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims'));
      }
      const oldSize = isObj(os.resources) && isObj(os.resources.requests) ? os.resources.requests.storage : undefined;
      const newSize = isObj(spec.resources) && isObj(spec.resources.requests) ? spec.resources.requests.storage : undefined;
      if (oldSize !== undefined && newSize !== undefined && compareQuantity(newSize, oldSize) < 0) {
        errs.push(causes.forbidden('spec.resources.requests.storage', 'field can not be less than previous value'));
      }
      immutable(spec.volumeMode, os.volumeMode, 'volumeMode', errs);
    }
    return errs;
  },
};

// ---- Endpoints ------------------------------------------------------------------------------

export const endpointsStrategy: Strategy = {
  default(obj) {
    for (const ss of objs(obj.subsets)) for (const p of objs(ss.ports)) if (!p.protocol) p.protocol = 'TCP';
  },
  validate(obj) {
    const errs: Causes = [];
    objs(obj.subsets).forEach((ss, i) => {
      const sp = `subsets[${i}]`;
      if (arr(ss.addresses).length === 0 && arr(ss.notReadyAddresses).length === 0) {
        errs.push(causes.required(sp, 'Required value: must specify `addresses` or `notReadyAddresses`'));
      }
      for (const list of ['addresses', 'notReadyAddresses']) {
        objs(ss[list]).forEach((a, j) => {
          const ap = `${sp}.${list}[${j}]`;
          if (!isValidIP(str(a.ip))) errs.push(causes.invalid(`${ap}.ip`, str(a.ip), IP_ERROR));
          if (str(a.hostname) !== '') for (const m of isDNS1123Label(a.hostname)) errs.push(causes.invalid(`${ap}.hostname`, a.hostname, m));
          if (typeof a.nodeName === 'string' && a.nodeName !== '') for (const m of nameIsDNSSubdomain(a.nodeName, false)) errs.push(causes.invalid(`${ap}.nodeName`, a.nodeName, m));
        });
      }
      objs(ss.ports).forEach((p, j) => {
        const pp = `${sp}.ports[${j}]`;
        if (arr(ss.ports).length > 1 && str(p.name) === '') errs.push(causes.required(`${pp}.name`));
        else if (str(p.name) !== '') for (const m of isDNS1123Label(p.name)) errs.push(causes.invalid(`${pp}.name`, p.name, m));
        for (const m of isValidPortNum(typeof p.port === 'number' ? p.port : 0)) errs.push(causes.invalid(`${pp}.port`, p.port ?? 0, m));
        const proto = str(p.protocol);
        if (proto === '') errs.push(causes.required(`${pp}.protocol`));
        else if (!['SCTP', 'TCP', 'UDP'].includes(proto)) errs.push(causes.notSupported(`${pp}.protocol`, proto, ['SCTP', 'TCP', 'UDP']));
      });
    });
    return errs;
  },
};

// ---- LimitRange / ResourceQuota / ServiceAccount --------------------------------------------

export const limitRangeStrategy: Strategy = {
  default(obj) {
    for (const item of objs(isObj(obj.spec) ? obj.spec.limits : undefined)) {
      for (const k of ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio']) roundResourceList(item[k]);
      if (item.type !== 'Container') continue;
      const def = ensureObj(item, 'default');
      const defReq = ensureObj(item, 'defaultRequest');
      for (const [k, v] of Object.entries(isObj(item.max) ? item.max : {})) if (def[k] === undefined) def[k] = v;
      for (const [k, v] of Object.entries(def)) if (defReq[k] === undefined) defReq[k] = v;
      for (const [k, v] of Object.entries(isObj(item.min) ? item.min : {})) if (defReq[k] === undefined) defReq[k] = v;
    }
  },
  validate(obj) {
    const errs: Causes = [];
    const types = new Set<string>();
    objs(isObj(obj.spec) ? obj.spec.limits : undefined).forEach((item, i) => {
      const p = `spec.limits[${i}]`;
      const type = str(item.type);
      const tm = isQualifiedName(type);
      for (const m of tm) errs.push(causes.invalid(`${p}.type`, type, m));
      if (tm.length === 0 && !type.includes('/') && !['Pod', 'Container', 'PersistentVolumeClaim'].includes(type)) {
        errs.push(causes.invalid(`${p}.type`, type, 'must be a standard limit type or fully qualified'));
      }
      if (types.has(type)) errs.push(causes.duplicate(`${p}.type`, type));
      types.add(type);
      if (type === 'Pod') {
        if (isObj(item.default) && Object.keys(item.default).length > 0) errs.push(causes.forbidden(`${p}.default`, "may not be specified when `type` is 'Pod'"));
        if (isObj(item.defaultRequest) && Object.keys(item.defaultRequest).length > 0) errs.push(causes.forbidden(`${p}.defaultRequest`, "may not be specified when `type` is 'Pod'"));
      }
      if (type === 'PersistentVolumeClaim' && !(isObj(item.min) && item.min.storage !== undefined) && !(isObj(item.max) && item.max.storage !== undefined)) {
        errs.push(causes.required(`${p}.limits`, 'Required value: either minimum or maximum storage value is required, but neither was provided'));
      }
      const get = (k: string): Obj => (isObj(item[k]) ? item[k] : {});
      const names = new Set([...Object.keys(get('min')), ...Object.keys(get('max')), ...Object.keys(get('default')), ...Object.keys(get('defaultRequest'))]);
      for (const r of names) {
        const min = get('min')[r];
        const max = get('max')[r];
        const def = get('default')[r];
        const dreq = get('defaultRequest')[r];
        const q = quantityString;
        if (min !== undefined && max !== undefined && compareQuantity(min, max) > 0) errs.push(invalidRaw(key(`${p}.min`, r), q(min), `min value ${q(min)} is greater than max value ${q(max)}`));
        if (dreq !== undefined && min !== undefined && compareQuantity(min, dreq) > 0) errs.push(invalidRaw(key(`${p}.defaultRequest`, r), q(dreq), `min value ${q(min)} is greater than default request value ${q(dreq)}`));
        if (dreq !== undefined && max !== undefined && compareQuantity(dreq, max) > 0) errs.push(invalidRaw(key(`${p}.defaultRequest`, r), q(dreq), `default request value ${q(dreq)} is greater than max value ${q(max)}`));
        if (dreq !== undefined && def !== undefined && compareQuantity(dreq, def) > 0) errs.push(invalidRaw(key(`${p}.defaultRequest`, r), q(dreq), `default request value ${q(dreq)} is greater than default limit value ${q(def)}`));
        if (def !== undefined && min !== undefined && compareQuantity(min, def) > 0) errs.push(invalidRaw(key(`${p}.default`, r), q(min), `min value ${q(min)} is greater than default value ${q(def)}`));
        if (def !== undefined && max !== undefined && compareQuantity(def, max) > 0) errs.push(invalidRaw(key(`${p}.default`, r), q(max), `default value ${q(def)} is greater than max value ${q(max)}`));
      }
    });
    return errs;
  },
};

const STANDARD_QUOTA_RESOURCES = new Set([
  'pods', 'services', 'replicationcontrollers', 'resourcequotas', 'secrets', 'configmaps', 'persistentvolumeclaims', 'services.nodeports',
  'services.loadbalancers', 'cpu', 'memory', 'ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.storage',
  'requests.ephemeral-storage', 'limits.cpu', 'limits.memory', 'limits.ephemeral-storage',
]);

export const resourceQuotaStrategy: Strategy = {
  default(obj) {
    if (isObj(obj.spec)) roundResourceList(obj.spec.hard);
  },
  prepareForCreate(obj) {
    obj.status = {};
  },
  validate(obj, old) {
    const errs: Causes = [];
    const spec: Obj = isObj(obj.spec) ? obj.spec : {};
    for (const [k, v] of Object.entries(isObj(spec.hard) ? spec.hard : {})) {
      const p = key('spec.hard', k);
      const before = errs.length;
      validateQualifiedName(k, p, errs);
      if (errs.length === before && !k.includes('/') && !STANDARD_QUOTA_RESOURCES.has(k) && !k.startsWith('count/') && !k.startsWith('requests.hugepages-') && !k.startsWith('hugepages-')) {
        errs.push(causes.invalid(p, k, 'must be a standard resource for quota'));
      }
      if (quantityNano(v) < 0n) errs.push(causes.invalid(p, quantityString(v), 'must be greater than or equal to 0'));
    }
    const scopes = arr(spec.scopes);
    const valid = ['Terminating', 'NotTerminating', 'BestEffort', 'NotBestEffort', 'PriorityClass', 'CrossNamespacePodAffinity'];
    for (const s of scopes) if (!valid.includes(s)) errs.push(causes.invalid('spec.scopes', scopes, 'unsupported scope'));
    if ((scopes.includes('BestEffort') && scopes.includes('NotBestEffort')) || (scopes.includes('Terminating') && scopes.includes('NotTerminating'))) {
      errs.push(causes.invalid('spec.scopes', scopes, 'conflicting scopes'));
    }
    if (old) {
      const os: Obj = isObj(old.spec) ? old.spec : {};
      const a = new Set(arr(os.scopes));
      const b = new Set(scopes);
      if (a.size !== b.size || [...a].some((s) => !b.has(s))) errs.push(causes.invalid('spec.scopes', scopes, 'field is immutable'));
    }
    return errs;
  },
};

export const serviceAccountStrategy: Strategy = {};

export const coreStrategies: Record<string, Strategy> = {
  Pod: podStrategy,
  PodTemplate: podTemplateStrategy,
  ReplicationController: replicationControllerStrategy,
  Service: serviceStrategy,
  ConfigMap: configMapStrategy,
  Secret: secretStrategy,
  Namespace: namespaceStrategy,
  Node: nodeStrategy,
  PersistentVolume: persistentVolumeStrategy,
  PersistentVolumeClaim: persistentVolumeClaimStrategy,
  Endpoints: endpointsStrategy,
  Event: eventStrategy,
  LimitRange: limitRangeStrategy,
  ResourceQuota: resourceQuotaStrategy,
  ServiceAccount: serviceAccountStrategy,
};

