import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LATEST, compareLevels, levelVersionString, parseLevel, parseVersion, policyToEvaluate, type Policy } from './api.js';
import { resolvePodSecurityConfiguration } from './config.js';
import { Evaluator, forbiddenDetail, forbiddenReason } from './evaluator.js';

const privileged: Policy = {
  enforce: { level: 'privileged', version: LATEST },
  audit: { level: 'privileged', version: LATEST },
  warn: { level: 'privileged', version: LATEST },
};
const str = (p: Policy) => `enforce=${levelVersionString(p.enforce)} audit=${levelVersionString(p.audit)} warn=${levelVersionString(p.warn)}`;

describe('levels and versions', () => {
  it('parses levels, failing closed to restricted', () => {
    assert.deepEqual(parseLevel('baseline'), { level: 'baseline' });
    assert.deepEqual(parseLevel('Baseline'), { level: 'restricted', error: 'must be one of privileged, baseline, restricted' });
    assert.equal(compareLevels('restricted', 'baseline'), 1);
    assert.equal(compareLevels('privileged', 'baseline'), -1);
    assert.equal(compareLevels('baseline', 'baseline'), 0);
  });

  it('parses versions as latest or v1.x', () => {
    assert.deepEqual(parseVersion('latest'), { version: LATEST });
    assert.deepEqual(parseVersion('v1.25'), { version: { latest: false, minor: 25 } });
    assert.deepEqual(parseVersion('v1.0'), { version: { latest: false, minor: 0 } });
    for (const bad of ['v1.025', 'v2.0', '1.25', 'v1', 'Latest', '', 'v1.99999999999999999999']) {
      assert.deepEqual(parseVersion(bad), { version: LATEST, error: 'must be "latest" or "v1.x"' }, bad);
    }
  });
});

describe('policyToEvaluate', () => {
  it('takes the defaults without labels', () => {
    assert.equal(str(policyToEvaluate(undefined, privileged).policy), 'enforce=privileged:latest audit=privileged:latest warn=privileged:latest');
  });

  it('warn follows a stricter enforce label unless warn is labelled', () => {
    const p = policyToEvaluate({ 'pod-security.kubernetes.io/enforce': 'baseline', 'pod-security.kubernetes.io/enforce-version': 'v1.30' }, privileged);
    assert.equal(str(p.policy), 'enforce=baseline:v1.30 audit=privileged:latest warn=baseline:v1.30');
    const own = policyToEvaluate({ 'pod-security.kubernetes.io/enforce': 'baseline', 'pod-security.kubernetes.io/warn': 'privileged' }, privileged);
    assert.equal(str(own.policy), 'enforce=baseline:latest audit=privileged:latest warn=privileged:latest');
    const ownVersion = policyToEvaluate({ 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn-version': 'v1.22' }, privileged);
    assert.equal(str(ownVersion.policy), 'enforce=restricted:latest audit=privileged:latest warn=restricted:v1.22');
  });

  it('invalid labels: enforce fails closed, audit and warn open, versions to latest, each an error', () => {
    const r = policyToEvaluate(
      {
        'pod-security.kubernetes.io/enforce': 'strict',
        'pod-security.kubernetes.io/audit': 'loud',
        'pod-security.kubernetes.io/warn-version': 'v9',
      },
      privileged,
    );
    assert.equal(str(r.policy), 'enforce=restricted:latest audit=privileged:latest warn=privileged:latest');
    assert.deepEqual(r.errors, [
      { field: 'metadata.labels[pod-security.kubernetes.io/enforce]', value: 'strict', detail: 'must be one of privileged, baseline, restricted' },
      { field: 'metadata.labels[pod-security.kubernetes.io/audit]', value: 'loud', detail: 'must be one of privileged, baseline, restricted' },
      { field: 'metadata.labels[pod-security.kubernetes.io/warn-version]', value: 'v9', detail: 'must be "latest" or "v1.x"' },
    ]);
  });
});

describe('configuration', () => {
  it('defaults to privileged everywhere and checks what it is given', () => {
    const c = resolvePodSecurityConfiguration();
    assert.equal(str(c.defaults), 'enforce=privileged:latest audit=privileged:latest warn=privileged:latest');
    const custom = resolvePodSecurityConfiguration({ defaults: { enforce: 'baseline', 'audit-version': 'v1.29', audit: 'restricted' }, exemptions: { namespaces: ['kube-system'] } });
    assert.equal(str(custom.defaults), 'enforce=baseline:latest audit=restricted:v1.29 warn=privileged:latest');
    assert.ok(custom.exemptNamespaces.has('kube-system'));
    assert.throws(
      () => resolvePodSecurityConfiguration({ defaults: { enforce: 'nope' }, exemptions: { usernames: ['a', 'a', ''], namespaces: ['Bad_NS'] } }),
      /PodSecurity invalid: \[defaults\.enforce: Invalid value: "nope": must be one of privileged, baseline, restricted, exemptions\.namespaces\[0\]: Invalid value: "Bad_NS": .*, exemptions\.usernames\[1\]: Duplicate value: "a", exemptions\.usernames\[2\]: Invalid value: "": username must not be empty\]/,
    );
  });
});

describe('evaluator', () => {
  const ev = new Evaluator();
  const plain = { containers: [{ name: 'c', image: 'nginx' }] };

  it('runs restricted checks in upstream order, baseline reasons first', () => {
    const r = ev.evaluate({ level: 'restricted', version: LATEST }, {}, { ...plain, hostNetwork: true });
    assert.equal(forbiddenReason(r), 'host namespaces, allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile');
    assert.equal(
      forbiddenDetail(r),
      'host namespaces (hostNetwork=true), allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    );
  });

  it('privileged allows everything; baseline allows a plain pod', () => {
    assert.equal(ev.evaluate({ level: 'privileged', version: LATEST }, {}, { hostPID: true }).allowed, true);
    assert.equal(ev.evaluate({ level: 'baseline', version: LATEST }, {}, plain).allowed, true);
  });

  it('versions: older policies lack newer checks; restricted overrides baseline checks only once its own check exists', () => {
    const root = { securityContext: { runAsUser: 0, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }, containers: [{ name: 'c', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add: ['SYS_ADMIN'] } } }] };
    assert.equal(forbiddenReason(ev.evaluate({ level: 'restricted', version: { latest: false, minor: 22 } }, {}, root)), 'unrestricted capabilities');
    assert.equal(forbiddenReason(ev.evaluate({ level: 'restricted', version: { latest: false, minor: 23 } }, {}, root)), 'unrestricted capabilities, runAsUser=0');
    // Before capabilities_restricted (v1.22), restricted runs the baseline capabilities check.
    assert.equal(forbiddenReason(ev.evaluate({ level: 'restricted', version: { latest: false, minor: 21 } }, {}, root)), 'non-default capabilities');
    // A version newer than any check is the newest policy.
    assert.equal(forbiddenDetail(ev.evaluate({ level: 'restricted', version: { latest: false, minor: 99 } }, {}, root)), forbiddenDetail(ev.evaluate({ level: 'restricted', version: LATEST }, {}, root)));
  });
});
