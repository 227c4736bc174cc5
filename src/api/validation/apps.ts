/**
 * Strategies of the apps/v1 kinds: apps/v1 defaulting, apps validation and the registry
 * strategies (status reset on create, selector immutability on update).
 */
import { causes } from '../errors.js';
import type { KubeObject, Strategy } from '../types.js';
import { defaultPodTemplateSpec, defaultPVCSpec, validatePodTemplateSpec } from './pod.js';
import {
  ensureObj,
  goIntOrString,
  goLabelSelector,
  goStringMap,
  immutable,
  intOrPercentValue,
  invalidRaw,
  isNotMoreThan100Percent,
  isObj,
  nonNegative,
  objs,
  selectorIsEmpty,
  selectorMatches,
  semanticEqual,
  specOf,
  str,
  validateLabelSelector,
  validatePositiveIntOrPercent,
  type Causes,
  type Obj,
} from './util.js';
import { nameIsDNSSubdomain } from './names.js';

function templateLabels(spec: Obj): unknown {
  return isObj(spec.template) && isObj(spec.template.metadata) ? spec.template.metadata.labels : undefined;
}

/**
 * Selector required and non-empty, template labels matching it, the template valid and only
 * restartPolicy Always: the rules Deployment, ReplicaSet, StatefulSet and DaemonSet share.
 */
function validateSelectorAndTemplate(spec: Obj, kindWord: string, kindTitle: string, errs: Causes): void {
  if (spec.selector === undefined || spec.selector === null) {
    errs.push(causes.required('spec.selector'));
  } else {
    validateLabelSelector(spec.selector, 'spec.selector', errs);
    if (selectorIsEmpty(spec.selector)) errs.push(invalidRaw('spec.selector', goLabelSelector(spec.selector), `empty selector is invalid for ${kindWord}`));
  }
  if (!isObj(spec.template)) {
    errs.push(causes.required('spec.template'));
    return;
  }
  // A missing selector matches nothing, so upstream reports the mismatch too.
  if (!isObj(spec.selector) || !selectorIsEmpty(spec.selector)) {
    if (!selectorMatches(spec.selector, templateLabels(spec))) {
      errs.push(invalidRaw('spec.template.metadata.labels', goStringMap(templateLabels(spec)), '`selector` does not match template `labels`'));
    }
  }
  validatePodTemplateSpec(spec.template, 'spec.template', errs);
  const ts: Obj = isObj(spec.template.spec) ? spec.template.spec : {};
  if (ts.restartPolicy !== 'Always') errs.push(causes.notSupported('spec.template.spec.restartPolicy', str(ts.restartPolicy), ['Always']));
  if (ts.activeDeadlineSeconds !== undefined) {
    errs.push(causes.forbidden('spec.template.spec.activeDeadlineSeconds', `activeDeadlineSeconds in ${kindTitle} is not Supported`));
  }
}

function selectorImmutable(obj: KubeObject, old: KubeObject | undefined, errs: Causes): void {
  if (!old) return;
  const sel = isObj(obj.spec) ? obj.spec.selector : undefined;
  const oldSel = isObj(old.spec) ? old.spec.selector : undefined;
  immutable(sel, oldSel, 'spec.selector', errs, goLabelSelector(sel));
}

// ---- Deployment -----------------------------------------------------------------------------

function defaultDeployment(obj: KubeObject): void {
  const spec = specOf(obj);
  if (spec.replicas === undefined) spec.replicas = 1;
  const strategy = ensureObj(spec, 'strategy');
  if (!strategy.type) strategy.type = 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') {
    const ru = ensureObj(strategy, 'rollingUpdate');
    if (ru.maxUnavailable === undefined) ru.maxUnavailable = '25%';
    if (ru.maxSurge === undefined) ru.maxSurge = '25%';
  }
  if (spec.revisionHistoryLimit === undefined) spec.revisionHistoryLimit = 10;
  if (spec.progressDeadlineSeconds === undefined) spec.progressDeadlineSeconds = 600;
  defaultPodTemplateSpec(ensureObj(spec, 'template'));
}

function validateRollingUpdate(ru: Obj, field: string, errs: Causes): void {
  validatePositiveIntOrPercent(ru.maxUnavailable, `${field}.maxUnavailable`, errs);
  validatePositiveIntOrPercent(ru.maxSurge, `${field}.maxSurge`, errs);
  if (intOrPercentValue(ru.maxUnavailable) === 0 && intOrPercentValue(ru.maxSurge) === 0) {
    errs.push(invalidRaw(`${field}.maxUnavailable`, goIntOrString(ru.maxUnavailable), 'may not be 0 when `maxSurge` is 0'));
  }
  isNotMoreThan100Percent(ru.maxUnavailable, `${field}.maxUnavailable`, errs);
}

export const deploymentStrategy: Strategy = {
  default: defaultDeployment,
  prepareForCreate(obj) {
    obj.status = {};
  },
  prepareForUpdate(obj, old) {
    // Upstream counts an annotation change as a new generation too (rollbacks were once annotations),
    // so `kubectl rollout status` waits for the controller to have seen it.
    if (!semanticEqual(obj.metadata?.annotations ?? {}, old.metadata?.annotations ?? {})) {
      obj.metadata!.generation = (old.metadata?.generation ?? 0) + 1;
    }
  },
  validate(obj, old) {
    const errs: Causes = [];
    const spec: Obj = isObj(obj.spec) ? obj.spec : {};
    nonNegative(spec.replicas, 'spec.replicas', errs);
    validateSelectorAndTemplate(spec, 'deployment', 'ReplicaSet', errs);
    const strategy: Obj = isObj(spec.strategy) ? spec.strategy : {};
    switch (strategy.type) {
      case 'Recreate':
        if (strategy.rollingUpdate !== undefined) {
          errs.push(causes.forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'"));
        }
        break;
      case 'RollingUpdate':
        if (!isObj(strategy.rollingUpdate)) errs.push(causes.required('spec.strategy.rollingUpdate', 'Required value: this should be defaulted and never be nil'));
        else validateRollingUpdate(strategy.rollingUpdate, 'spec.strategy.rollingUpdate', errs);
        break;
      default:
        errs.push({
          reason: 'FieldValueNotSupported',
          message: `Unsupported value: apps.DeploymentStrategy{Type:${JSON.stringify(str(strategy.type))}, RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: "Recreate", "RollingUpdate"`,
          field: 'spec.strategy',
        });
    }
    nonNegative(spec.minReadySeconds, 'spec.minReadySeconds', errs);
    nonNegative(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit', errs);
    if (typeof spec.progressDeadlineSeconds === 'number') {
      nonNegative(spec.progressDeadlineSeconds, 'spec.progressDeadlineSeconds', errs);
      const minReady = typeof spec.minReadySeconds === 'number' ? spec.minReadySeconds : 0;
      if (spec.progressDeadlineSeconds <= minReady) errs.push(causes.invalid('spec.progressDeadlineSeconds', spec.progressDeadlineSeconds, 'must be greater than minReadySeconds'));
    }
    selectorImmutable(obj, old, errs);
    return errs;
  },
};

// ---- ReplicaSet -----------------------------------------------------------------------------

export const replicaSetStrategy: Strategy = {
  default(obj) {
    const spec = specOf(obj);
    if (spec.replicas === undefined) spec.replicas = 1;
    defaultPodTemplateSpec(ensureObj(spec, 'template'));
  },
  prepareForCreate(obj) {
    obj.status = { replicas: 0 };
  },
  validate(obj, old) {
    const errs: Causes = [];
    const spec: Obj = isObj(obj.spec) ? obj.spec : {};
    nonNegative(spec.replicas, 'spec.replicas', errs);
    nonNegative(spec.minReadySeconds, 'spec.minReadySeconds', errs);
    // Upstream's ReplicaSet message really says "deployment".
    validateSelectorAndTemplate(spec, 'deployment', 'ReplicaSet', errs);
    selectorImmutable(obj, old, errs);
    return errs;
  },
};

// ---- StatefulSet ----------------------------------------------------------------------------

export const statefulSetStrategy: Strategy = {
  default(obj) {
    const spec = specOf(obj);
    if (!spec.podManagementPolicy) spec.podManagementPolicy = 'OrderedReady';
    const us = ensureObj(spec, 'updateStrategy');
    if (!us.type) {
      us.type = 'RollingUpdate';
      if (!isObj(us.rollingUpdate)) us.rollingUpdate = {};
    }
    if (us.type === 'RollingUpdate' && isObj(us.rollingUpdate) && us.rollingUpdate.partition === undefined) us.rollingUpdate.partition = 0;
    const policy = ensureObj(spec, 'persistentVolumeClaimRetentionPolicy');
    if (!policy.whenDeleted) policy.whenDeleted = 'Retain';
    if (!policy.whenScaled) policy.whenScaled = 'Retain';
    if (spec.replicas === undefined) spec.replicas = 1;
    if (spec.revisionHistoryLimit === undefined) spec.revisionHistoryLimit = 10;
    defaultPodTemplateSpec(ensureObj(spec, 'template'));
    // Claim templates are PersistentVolumeClaims, so they get a claim's defaults (status included).
    for (const vct of objs(spec.volumeClaimTemplates)) {
      const vm = ensureObj(vct, 'metadata');
      if (vm.creationTimestamp === undefined) vm.creationTimestamp = null;
      defaultPVCSpec(ensureObj(vct, 'spec'));
      const status = ensureObj(vct, 'status');
      if (!status.phase) status.phase = 'Pending';
    }
  },
  prepareForCreate(obj) {
    obj.status = { replicas: 0, availableReplicas: 0 };
  },
  validate(obj, old) {
    const errs: Causes = [];
    const spec: Obj = isObj(obj.spec) ? obj.spec : {};
    const pmp = str(spec.podManagementPolicy);
    if (pmp === '') errs.push(causes.required('spec.podManagementPolicy'));
    else if (pmp !== 'OrderedReady' && pmp !== 'Parallel') errs.push(causes.invalid('spec.podManagementPolicy', pmp, "must be 'OrderedReady' or 'Parallel'"));
    const us: Obj = isObj(spec.updateStrategy) ? spec.updateStrategy : {};
    switch (us.type) {
      case undefined:
      case '':
        errs.push(causes.required('spec.updateStrategy'));
        break;
      case 'OnDelete':
        if (us.rollingUpdate !== undefined) errs.push(causes.invalid('spec.updateStrategy.rollingUpdate', us.rollingUpdate, "only allowed for updateStrategy 'RollingUpdate'"));
        break;
      case 'RollingUpdate':
        if (isObj(us.rollingUpdate)) {
          nonNegative(us.rollingUpdate.partition, 'spec.updateStrategy.rollingUpdate.partition', errs);
          if (us.rollingUpdate.maxUnavailable !== undefined) {
            validatePositiveIntOrPercent(us.rollingUpdate.maxUnavailable, 'spec.updateStrategy.rollingUpdate.maxUnavailable', errs);
            if (intOrPercentValue(us.rollingUpdate.maxUnavailable) === 0) {
              errs.push(invalidRaw('spec.updateStrategy.rollingUpdate.maxUnavailable', goIntOrString(us.rollingUpdate.maxUnavailable), 'must be greater than 0'));
            }
            isNotMoreThan100Percent(us.rollingUpdate.maxUnavailable, 'spec.updateStrategy.rollingUpdate.maxUnavailable', errs);
          }
        }
        break;
      default:
        errs.push(causes.invalid('spec.updateStrategy', us, "must be 'RollingUpdate' or 'OnDelete'"));
    }
    const policy: Obj = isObj(spec.persistentVolumeClaimRetentionPolicy) ? spec.persistentVolumeClaimRetentionPolicy : {};
    for (const k of ['whenDeleted', 'whenScaled']) {
      const v = policy[k];
      if (v !== undefined && v !== 'Retain' && v !== 'Delete') {
        errs.push(causes.notSupported(`spec.persistentVolumeClaimRetentionPolicy.${k}`, v, ['Retain', 'Delete']));
      }
    }
    if (isObj(spec.ordinals)) nonNegative(spec.ordinals.start, 'spec.ordinals.start', errs);
    nonNegative(spec.replicas, 'spec.replicas', errs);
    nonNegative(spec.minReadySeconds, 'spec.minReadySeconds', errs);
    validateSelectorAndTemplate(spec, 'statefulset', 'StatefulSet', errs);
    objs(spec.volumeClaimTemplates).forEach((vct, i) => {
      const name = isObj(vct.metadata) ? str(vct.metadata.name) : '';
      const p = `spec.volumeClaimTemplates[${i}]`;
      if (name === '') errs.push(causes.required(`${p}.metadata.name`, 'Required value: name or generateName is required'));
      else for (const m of nameIsDNSSubdomain(name, false)) errs.push(causes.invalid(`${p}.metadata.name`, name, m));
    });
    if (old) {
      const os: Obj = isObj(old.spec) ? old.spec : {};
      const mutable = ['replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds', 'revisionHistoryLimit'];
      const strip = (s: Obj) => Object.fromEntries(Object.entries(s).filter(([k]) => !mutable.includes(k)));
      if (!semanticEqual(strip(spec), strip(os))) {
        errs.push(
          causes.forbidden(
            'spec',
            "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
          ),
        );
      }
    }
    return errs;
  },
};

// ---- DaemonSet ------------------------------------------------------------------------------

/**
 * apps/v1 carries the internal spec.templateGeneration as this annotation (upstream's v1 conversion):
 * 1 on create, one more each time the template changes, and never what a client writes. The
 * DaemonSet controller labels pods with it (`pod-template-generation`).
 */
export const DAEMONSET_TEMPLATE_GENERATION = 'deprecated.daemonset.template.generation';

function templateGeneration(obj: KubeObject): number {
  const v = obj.metadata?.annotations?.[DAEMONSET_TEMPLATE_GENERATION];
  return typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : 0;
}

function setTemplateGeneration(obj: KubeObject, generation: number): void {
  obj.metadata = { ...obj.metadata, annotations: { ...obj.metadata?.annotations, [DAEMONSET_TEMPLATE_GENERATION]: String(generation) } };
}

export const daemonSetStrategy: Strategy = {
  default(obj) {
    const spec = specOf(obj);
    const us = ensureObj(spec, 'updateStrategy');
    if (!us.type) us.type = 'RollingUpdate';
    if (us.type === 'RollingUpdate') {
      const ru = ensureObj(us, 'rollingUpdate');
      if (ru.maxUnavailable === undefined) ru.maxUnavailable = 1;
      if (ru.maxSurge === undefined) ru.maxSurge = 0;
    }
    if (spec.revisionHistoryLimit === undefined) spec.revisionHistoryLimit = 10;
    defaultPodTemplateSpec(ensureObj(spec, 'template'));
  },
  prepareForCreate(obj) {
    obj.status = { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 };
    setTemplateGeneration(obj, Math.max(1, templateGeneration(obj)));
  },
  prepareForUpdate(obj, old) {
    const spec = isObj(obj.spec) ? obj.spec : {};
    const oldSpec = isObj(old.spec) ? old.spec : {};
    const changed = !semanticEqual(spec.template, oldSpec.template);
    setTemplateGeneration(obj, templateGeneration(old) + (changed ? 1 : 0));
  },
  validate(obj, old) {
    const errs: Causes = [];
    const spec: Obj = isObj(obj.spec) ? obj.spec : {};
    validateSelectorAndTemplate(spec, 'daemonset', 'DaemonSet', errs);
    nonNegative(spec.minReadySeconds, 'spec.minReadySeconds', errs);
    nonNegative(spec.templateGeneration, 'spec.templateGeneration', errs);
    const us: Obj = isObj(spec.updateStrategy) ? spec.updateStrategy : {};
    if (us.type === 'RollingUpdate') {
      if (!isObj(us.rollingUpdate)) {
        errs.push(causes.required('spec.updateStrategy.rollingUpdate'));
      } else {
        const ru = us.rollingUpdate;
        const p = 'spec.updateStrategy.rollingUpdate';
        validatePositiveIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`, errs);
        validatePositiveIntOrPercent(ru.maxSurge, `${p}.maxSurge`, errs);
        isNotMoreThan100Percent(ru.maxUnavailable, `${p}.maxUnavailable`, errs);
        isNotMoreThan100Percent(ru.maxSurge, `${p}.maxSurge`, errs);
        const mu = intOrPercentValue(ru.maxUnavailable);
        const ms = intOrPercentValue(ru.maxSurge);
        if (mu !== 0 && ms !== 0) errs.push(invalidRaw(`${p}.maxSurge`, goIntOrString(ru.maxSurge), 'may not be set when maxUnavailable is non-zero'));
        if (mu === 0 && ms === 0) errs.push(causes.required(`${p}.maxUnavailable`, 'Required value: cannot be 0 when maxSurge is 0'));
      }
    } else if (us.type !== 'OnDelete') {
      errs.push(causes.notSupported('spec.updateStrategy.type', str(us.type), ['OnDelete', 'RollingUpdate']));
    }
    nonNegative(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit', errs);
    selectorImmutable(obj, old, errs);
    return errs;
  },
};

// ---- ControllerRevision ---------------------------------------------------------------------

export const controllerRevisionStrategy: Strategy = {
  validate(obj, old) {
    const errs: Causes = [];
    if (obj.data === undefined || obj.data === null) errs.push(causes.required('data', 'Required value: data is mandatory'));
    nonNegative(obj.revision, 'revision', errs);
    if (old) immutable(obj.data, old.data, 'data', errs);
    return errs;
  },
};

export const appsStrategies: Record<string, Strategy> = {
  'Deployment.apps': deploymentStrategy,
  'ReplicaSet.apps': replicaSetStrategy,
  'StatefulSet.apps': statefulSetStrategy,
  'DaemonSet.apps': daemonSetStrategy,
  'ControllerRevision.apps': controllerRevisionStrategy,
};
