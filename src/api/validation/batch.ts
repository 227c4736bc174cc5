/**
 * Strategies of batch/v1: Job (defaults, generated selector, template immutability) and CronJob.
 */
import { causes } from '../errors.js';
import type { KubeObject, Strategy } from '../types.js';
import { cronScheduleError, isKnownTimeZone } from './cron.js';
import { validateAnnotations } from './meta.js';
import { isDNS1123Label } from './names.js';
import { defaultPodTemplateSpec, validatePodTemplateSpec } from './pod.js';
import {
  clone,
  ensureObj,
  goLabelSelector,
  goStringMap,
  immutable,
  invalidRaw,
  isObj,
  metaOf,
  nonNegative,
  objs,
  selectorMatches,
  semanticEqual,
  specOf,
  str,
  validateLabelSelector,
  validateLabels,
  type Causes,
  type Obj,
} from './util.js';

const MAX_INT32 = 2147483647;
const MAX_PARALLELISM_INDEXED = 100000;

const JOB_NAME = 'batch.kubernetes.io/job-name';
const LEGACY_JOB_NAME = 'job-name';
const CONTROLLER_UID = 'batch.kubernetes.io/controller-uid';
const LEGACY_CONTROLLER_UID = 'controller-uid';

function templateMeta(spec: Obj): Obj {
  return ensureObj(ensureObj(spec, 'template'), 'metadata');
}

function defaultJob(obj: KubeObject): void {
  const spec = specOf(obj);
  if (spec.completions === undefined && spec.parallelism === undefined) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  if (spec.parallelism === undefined) spec.parallelism = 1;
  if (spec.backoffLimit === undefined) spec.backoffLimit = spec.backoffLimitPerIndex !== undefined ? MAX_INT32 : 6;
  const tlabels = isObj(spec.template) && isObj(spec.template.metadata) ? spec.template.metadata.labels : undefined;
  const meta = ensureObj(obj, 'metadata');
  if (isObj(tlabels) && (!isObj(meta.labels) || Object.keys(meta.labels).length === 0)) meta.labels = { ...tlabels };
  if (spec.completionMode === undefined) spec.completionMode = 'NonIndexed';
  if (spec.suspend === undefined) spec.suspend = false;
  if (isObj(spec.podFailurePolicy)) {
    for (const rule of objs(spec.podFailurePolicy.rules)) for (const c of objs(rule.onPodConditions)) if (!c.status) c.status = 'True';
  }
  if (spec.podReplacementPolicy === undefined) spec.podReplacementPolicy = isObj(spec.podFailurePolicy) ? 'Failed' : 'TerminatingOrFailed';
  defaultPodTemplateSpec(ensureObj(spec, 'template'));
}

/**
 * The selector upstream generates for a Job without manualSelector: the pods are labelled with the
 * job's name and uid, and selected by uid. Needs the uid, so it runs once the object has one.
 */
function generateSelector(obj: KubeObject): void {
  const spec = specOf(obj);
  if (spec.manualSelector === true) return;
  const meta = metaOf(obj);
  if (!meta.uid) return;
  const labels = ensureObj(templateMeta(spec), 'labels');
  for (const k of [LEGACY_JOB_NAME, JOB_NAME]) if (labels[k] === undefined) labels[k] = str(meta.name);
  for (const k of [LEGACY_CONTROLLER_UID, CONTROLLER_UID]) if (labels[k] === undefined) labels[k] = str(meta.uid);
  const sel = ensureObj(spec, 'selector');
  const ml = ensureObj(sel, 'matchLabels');
  if (ml[CONTROLLER_UID] === undefined) ml[CONTROLLER_UID] = meta.uid;
}

function validateHasLabel(labels: unknown, k: string, expected: string, errs: Causes): void {
  const ls: Obj = isObj(labels) ? labels : {};
  if (ls[k] === undefined) errs.push(causes.required(`spec.template.metadata.labels[${k}]`, `Required value: must be '${expected}'`));
  else if (ls[k] !== expected) errs.push(invalidRaw(`spec.template.metadata.labels[${k}]`, goStringMap(ls), `must be '${expected}'`));
}

function validateGeneratedSelector(obj: KubeObject, errs: Causes): void {
  const spec: Obj = isObj(obj.spec) ? obj.spec : {};
  if (spec.manualSelector === true) return;
  const meta = metaOf(obj);
  const labels = isObj(spec.template) && isObj(spec.template.metadata) ? spec.template.metadata.labels : undefined;
  validateHasLabel(labels, LEGACY_CONTROLLER_UID, str(meta.uid), errs);
  validateHasLabel(labels, LEGACY_JOB_NAME, str(meta.name), errs);
  validateHasLabel(labels, CONTROLLER_UID, str(meta.uid), errs);
  validateHasLabel(labels, JOB_NAME, str(meta.name), errs);
  const expected = { matchLabels: { [CONTROLLER_UID]: str(meta.uid) } };
  if (!semanticEqual(spec.selector, expected)) errs.push(invalidRaw('spec.selector', goLabelSelector(spec.selector), '`selector` not auto-generated'));
}

/** validateJobSpec: everything but the selector, shared with CronJob job templates. */
function validateJobSpecCommon(spec: Obj, field: string, errs: Causes): void {
  for (const k of ['parallelism', 'completions', 'activeDeadlineSeconds', 'backoffLimit', 'ttlSecondsAfterFinished']) nonNegative(spec[k], `${field}.${k}`, errs);
  const indexed = spec.completionMode === 'Indexed';
  if (spec.backoffLimitPerIndex !== undefined && spec.backoffLimitPerIndex !== null) {
    nonNegative(spec.backoffLimitPerIndex, `${field}.backoffLimitPerIndex`, errs);
    if (!indexed) errs.push(causes.invalid(`${field}.backoffLimitPerIndex`, spec.backoffLimitPerIndex, 'requires indexed completion mode'));
  }
  if (spec.maxFailedIndexes !== undefined && spec.maxFailedIndexes !== null) {
    if (spec.backoffLimitPerIndex === undefined || spec.backoffLimitPerIndex === null) {
      errs.push(causes.required(`${field}.backoffLimitPerIndex`, 'Required value: when maxFailedIndexes is specified'));
    }
    nonNegative(spec.maxFailedIndexes, `${field}.maxFailedIndexes`, errs);
  }
  if (spec.completionMode !== undefined) {
    if (spec.completionMode !== 'NonIndexed' && spec.completionMode !== 'Indexed') {
      errs.push(causes.notSupported(`${field}.completionMode`, spec.completionMode, ['NonIndexed', 'Indexed']));
    }
    if (indexed) {
      if (spec.completions === undefined || spec.completions === null) errs.push(causes.required(`${field}.completions`, 'Required value: when completion mode is Indexed'));
      if (typeof spec.parallelism === 'number' && spec.parallelism > MAX_PARALLELISM_INDEXED) {
        errs.push(causes.invalid(`${field}.parallelism`, spec.parallelism, `must be less than or equal to ${MAX_PARALLELISM_INDEXED} when completion mode is Indexed`));
      }
    }
  }
  if (spec.podReplacementPolicy !== undefined) {
    const prp = spec.podReplacementPolicy;
    if (prp !== 'TerminatingOrFailed' && prp !== 'Failed') errs.push(causes.notSupported(`${field}.podReplacementPolicy`, prp, ['Failed', 'TerminatingOrFailed']));
    else if (isObj(spec.podFailurePolicy) && prp !== 'Failed') {
      errs.push(causes.notSupported(`${field}.podReplacementPolicy`, prp, ['Failed']));
    }
  }
  if (isObj(spec.podFailurePolicy)) {
    objs(spec.podFailurePolicy.rules).forEach((rule, i) => {
      const p = `${field}.podFailurePolicy.rules[${i}]`;
      const actions = ['Count', 'FailIndex', 'FailJob', 'Ignore'];
      if (!actions.includes(rule.action)) errs.push(causes.notSupported(`${p}.action`, str(rule.action), actions));
      const hasExit = isObj(rule.onExitCodes);
      const hasConds = Array.isArray(rule.onPodConditions) && rule.onPodConditions.length > 0;
      if (hasExit && hasConds) errs.push(causes.invalid(p, '', 'specifying both OnExitCodes and OnPodConditions is not supported'));
      else if (!hasExit && !hasConds) errs.push(causes.invalid(p, '', 'specifying one of OnExitCodes and OnPodConditions is required'));
    });
  }
  const template: Obj = isObj(spec.template) ? spec.template : {};
  validatePodTemplateSpec(template, `${field}.template`, errs);
  const rp = isObj(template.spec) ? str(template.spec.restartPolicy) : '';
  if (rp !== 'OnFailure' && rp !== 'Never') {
    errs.push(causes.notSupported(`${field}.template.spec.restartPolicy`, rp, ['OnFailure', 'Never']));
  } else if (isObj(spec.podFailurePolicy) && rp !== 'Never') {
    errs.push(causes.invalid(`${field}.template.spec.restartPolicy`, rp, 'only "Never" is supported when podFailurePolicy is specified'));
  }
}

function validateJobSpec(spec: Obj, errs: Causes): void {
  validateJobSpecCommon(spec, 'spec', errs);
  if (spec.selector === undefined || spec.selector === null) {
    errs.push(causes.required('spec.selector'));
  } else {
    validateLabelSelector(spec.selector, 'spec.selector', errs);
  }
  const tlabels = isObj(spec.template) && isObj(spec.template.metadata) ? spec.template.metadata.labels : undefined;
  if (!selectorMatches(spec.selector, tlabels)) {
    errs.push(invalidRaw('spec.template.metadata.labels', goStringMap(tlabels), '`selector` does not match template `labels`'));
  }
}

/** Upstream allows scheduling directives to change on a suspended job that never started. */
function mutableSchedulingDirectives(obj: KubeObject, old: KubeObject): boolean {
  const spec: Obj = isObj(obj.spec) ? obj.spec : {};
  const status: Obj = isObj(old.status) ? old.status : {};
  return spec.suspend === true && !status.startTime;
}

export const jobStrategy: Strategy = {
  default: defaultJob,
  prepareForCreate(obj) {
    obj.status = {};
    generateSelector(obj);
    // Upstream re-applies defaults when reading the stored job, so labels copied from the
    // template include the generated ones: do it now since we store what we return.
    defaultJob(obj);
  },
  validate(obj, old) {
    const errs: Causes = [];
    const spec: Obj = isObj(obj.spec) ? obj.spec : {};
    if (!old) {
      generateSelector(obj);
      validateGeneratedSelector(obj, errs);
    }
    validateJobSpec(spec, errs);
    const meta = metaOf(obj);
    if (spec.completionMode === 'Indexed' && typeof spec.completions === 'number' && spec.completions > 0) {
      const hostname = `${str(meta.name)}-${spec.completions - 1}`;
      if (isDNS1123Label(hostname).length > 0) {
        errs.push(causes.invalid('metadata.name', str(meta.name), `will not able to create pod with invalid DNS label: ${hostname}`));
      }
    }
    if (old) {
      const os: Obj = isObj(old.spec) ? old.spec : {};
      const indexedBoth = spec.completionMode === 'Indexed' && os.completionMode === 'Indexed';
      if (indexedBoth) {
        if (spec.completions !== os.completions && spec.completions !== spec.parallelism) {
          errs.push(causes.invalid('spec.completions', spec.completions ?? null, 'can only be modified in tandem with spec.parallelism'));
        }
      } else {
        immutable(spec.completions, os.completions, 'spec.completions', errs);
      }
      immutable(spec.selector, os.selector, 'spec.selector', errs, goLabelSelector(spec.selector));
      let oldTemplate: Obj = isObj(os.template) ? os.template : {};
      const template: Obj = isObj(spec.template) ? spec.template : {};
      if (mutableSchedulingDirectives(obj, old)) {
        oldTemplate = clone(oldTemplate);
        const om = ensureObj(oldTemplate, 'metadata');
        const ospec = ensureObj(oldTemplate, 'spec');
        const nm: Obj = isObj(template.metadata) ? template.metadata : {};
        const nspec: Obj = isObj(template.spec) ? template.spec : {};
        om.labels = nm.labels;
        om.annotations = nm.annotations;
        ospec.nodeSelector = nspec.nodeSelector;
        ospec.tolerations = nspec.tolerations;
        ospec.schedulingGates = nspec.schedulingGates;
        ospec.affinity = nspec.affinity;
      }
      immutable(template, oldTemplate, 'spec.template', errs, `core.PodTemplateSpec${JSON.stringify(template)}`);
      immutable(spec.completionMode, os.completionMode, 'spec.completionMode', errs);
      immutable(spec.podFailurePolicy, os.podFailurePolicy, 'spec.podFailurePolicy', errs);
      immutable(spec.backoffLimitPerIndex, os.backoffLimitPerIndex, 'spec.backoffLimitPerIndex', errs);
    }
    return errs;
  },
};

// ---- CronJob --------------------------------------------------------------------------------

const CONCURRENCY = ['Allow', 'Forbid', 'Replace'];
const VALID_TZ_PART = /^[A-Za-z._+\-0-9]+$/;

export const cronJobStrategy: Strategy = {
  default(obj) {
    const spec = specOf(obj);
    if (!spec.concurrencyPolicy) spec.concurrencyPolicy = 'Allow';
    if (spec.suspend === undefined) spec.suspend = false;
    if (spec.successfulJobsHistoryLimit === undefined) spec.successfulJobsHistoryLimit = 3;
    if (spec.failedJobsHistoryLimit === undefined) spec.failedJobsHistoryLimit = 1;
    const jt = ensureObj(spec, 'jobTemplate');
    // The job template is not a Job, so it gets only the pod template's defaults.
    if (isObj(jt.metadata) && jt.metadata.creationTimestamp === undefined) jt.metadata.creationTimestamp = null;
    if (!isObj(jt.metadata)) jt.metadata = { creationTimestamp: null };
    defaultPodTemplateSpec(ensureObj(ensureObj(jt, 'spec'), 'template'));
  },
  prepareForCreate(obj) {
    obj.status = {};
  },
  validate(obj, old) {
    const errs: Causes = [];
    const spec: Obj = isObj(obj.spec) ? obj.spec : {};
    const os: Obj | undefined = old && isObj(old.spec) ? old.spec : undefined;
    const schedule = str(spec.schedule);
    if (schedule === '') {
      errs.push(causes.required('spec.schedule'));
    } else {
      const err = cronScheduleError(schedule);
      if (err) errs.push(causes.invalid('spec.schedule', schedule, err));
      const allowTZ = os !== undefined && str(os.schedule).includes('TZ');
      if (allowTZ && schedule.includes('TZ') && spec.timeZone !== undefined) {
        errs.push(causes.invalid('spec.schedule', schedule, 'cannot use both timeZone field and TZ or CRON_TZ in schedule'));
      } else if (!allowTZ && schedule.includes('TZ')) {
        errs.push(causes.invalid('spec.schedule', schedule, 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead'));
      }
    }
    nonNegative(spec.startingDeadlineSeconds, 'spec.startingDeadlineSeconds', errs);
    if ((os === undefined || os.timeZone !== spec.timeZone) && spec.timeZone !== undefined && spec.timeZone !== null) {
      const tz = str(spec.timeZone);
      if (tz === '') errs.push(causes.invalid('spec.timeZone', tz, 'timeZone must be nil or non-empty string'));
      else if (tz.split('/').some((p) => p === '.' || p === '..' || p.startsWith('-') || !VALID_TZ_PART.test(p))) {
        errs.push(causes.invalid('spec.timeZone', tz, `unknown time zone ${tz}`));
      } else if (tz.toLowerCase() === 'local') {
        errs.push(causes.invalid('spec.timeZone', tz, 'timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones'));
      } else if (!isKnownTimeZone(tz)) {
        errs.push(causes.invalid('spec.timeZone', tz, `unknown time zone ${tz}`));
      }
    }
    const cp = str(spec.concurrencyPolicy);
    if (cp === '') errs.push(causes.required('spec.concurrencyPolicy'));
    else if (!CONCURRENCY.includes(cp)) errs.push(causes.notSupported('spec.concurrencyPolicy', cp, CONCURRENCY));
    const jt: Obj = isObj(spec.jobTemplate) ? spec.jobTemplate : {};
    const jtm: Obj = isObj(jt.metadata) ? jt.metadata : {};
    validateLabels(jtm.labels, 'spec.jobTemplate.metadata.labels', errs);
    validateAnnotations(jtm.annotations, 'spec.jobTemplate.metadata.annotations', errs);
    const js: Obj = isObj(jt.spec) ? jt.spec : {};
    validateJobSpecCommon(js, 'spec.jobTemplate.spec', errs);
    if (js.selector !== undefined && js.selector !== null) {
      errs.push(invalidRaw('spec.jobTemplate.spec.selector', goLabelSelector(js.selector), '`selector` will be auto-generated'));
    }
    if (js.manualSelector === true) errs.push(causes.notSupported('spec.jobTemplate.spec.manualSelector', true, ['nil', 'false']));
    nonNegative(spec.successfulJobsHistoryLimit, 'spec.successfulJobsHistoryLimit', errs);
    nonNegative(spec.failedJobsHistoryLimit, 'spec.failedJobsHistoryLimit', errs);
    // The controller appends an 11-character suffix to job names, which must stay DNS labels.
    const name = str(metaOf(obj).name);
    if (!old && name.length > 52) errs.push(causes.invalid('metadata.name', name, 'must be no more than 52 characters'));
    return errs;
  },
};

export const batchStrategies: Record<string, Strategy> = {
  'Job.batch': jobStrategy,
  'CronJob.batch': cronJobStrategy,
};
