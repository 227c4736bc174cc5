/**
 * Validation of Events in both API groups: core/v1 Event and events.k8s.io/v1 Event, as upstream
 * keeps them together (pkg/apis/core/validation/events.go). The two are one object under different
 * field names, so an event recorded by the newer API (eventTime set) passes the same checks in both.
 */
import { causes } from '../errors.js';
import type { KubeObject, Strategy } from '../types.js';
import { isDNS1123Subdomain } from './names.js';
import { isObj, metaOf, str, validateQualifiedName, type Causes, type Obj } from './util.js';

const NOT_OUR_NAMESPACE = 'does not match event.namespace';

/**
 * What the newer API requires of who reported an event and why; core/v1 names the controller
 * `reportingComponent` and the text `message`, events.k8s.io/v1 `reportingController` and `note`.
 */
function validateReporting(obj: KubeObject, controllerField: string, messageField: string, errs: Causes): void {
  const controller = str(obj[controllerField]);
  if (controller === '') errs.push(causes.required(controllerField));
  validateQualifiedName(controller, controllerField, errs);
  for (const field of ['reportingInstance', 'action', 'reason']) {
    if (str(obj[field]) === '') errs.push(causes.required(field));
    if (str(obj[field]).length > 128) errs.push(causes.invalid(field, '', 'can have at most 128 characters'));
  }
  if (str(obj[messageField]).length > 1024) errs.push(causes.invalid(messageField, '', 'can have at most 1024 characters'));
}

/** core/v1 Event: events without eventTime are the legacy kind, with looser rules. */
export const eventStrategy: Strategy = {
  validate(obj) {
    const errs: Causes = [];
    const ns = str(metaOf(obj).namespace);
    const involved: Obj = isObj(obj.involvedObject) ? obj.involvedObject : {};
    const ins = str(involved.namespace);
    if (!obj.eventTime) {
      if (ins === '') {
        if (ns !== '' && ns !== 'default') errs.push(causes.invalid('involvedObject.namespace', ins, NOT_OUR_NAMESPACE));
      } else if (ns !== ins) {
        errs.push(causes.invalid('involvedObject.namespace', ins, NOT_OUR_NAMESPACE));
      }
    } else {
      if (ins === '' && ns !== 'default' && ns !== 'kube-system') errs.push(causes.invalid('involvedObject.namespace', ins, NOT_OUR_NAMESPACE));
      validateReporting(obj, 'reportingComponent', 'message', errs);
    }
    for (const m of isDNS1123Subdomain(ns)) errs.push(causes.invalid('namespace', ns, m));
    return errs;
  },
};

export const eventsV1Strategy: Strategy = {
  validate(obj) {
    const errs: Causes = [];
    const ns = str(metaOf(obj).namespace);
    const regarding: Obj = isObj(obj.regarding) ? obj.regarding : {};
    if (!obj.eventTime) errs.push(causes.required('eventTime'));
    if (str(obj.type) !== 'Normal' && str(obj.type) !== 'Warning') errs.push(causes.invalid('type', str(obj.type), 'has invalid value: ' + str(obj.type)));
    if (str(regarding.namespace) === '' && ns !== 'default' && ns !== 'kube-system') {
      errs.push(causes.invalid('regarding.namespace', str(regarding.namespace), NOT_OUR_NAMESPACE));
    } else if (str(regarding.namespace) !== '' && str(regarding.namespace) !== ns) {
      errs.push(causes.invalid('regarding.namespace', str(regarding.namespace), NOT_OUR_NAMESPACE));
    }
    validateReporting(obj, 'reportingController', 'note', errs);
    return errs;
  },
};
