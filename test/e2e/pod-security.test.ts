/**
 * Pod Security Admission with the real kubectl against `skiff up`: namespace labels choose the
 * level, enforce refuses with upstream's text, warn prints kubectl's `Warning:` lines, pod
 * controllers are warned about (never refused), and tightening a namespace's enforce level reports
 * the pods already in it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { API_ONLY_ARGS, kubectl } from '../harness/skiff.js';
import { kubectlSuite } from './kubectl-helpers.js';

const RESTRICTED_REASONS = (c: string) =>
  `allowPrivilegeEscalation != false (container "${c}" must set securityContext.allowPrivilegeEscalation=false), ` +
  `unrestricted capabilities (container "${c}" must set securityContext.capabilities.drop=["ALL"]), ` +
  `runAsNonRoot != true (pod or container "${c}" must set securityContext.runAsNonRoot=true), ` +
  `seccompProfile (pod or container "${c}" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`;

describe('pod security admission with kubectl', () => {
  const s = kubectlSuite('sqlite', API_ONLY_ARGS);

  it('enforce=baseline refuses kubectl run --privileged with upstream message', async () => {
    await s.newNamespace('psa-enforce');
    assert.equal(await s.k('label', 'ns', 'psa-enforce', 'pod-security.kubernetes.io/enforce=baseline'), 'namespace/psa-enforce labeled\n');
    const r = await kubectl(s.server(), ['run', 'priv', '--image=nginx', '--privileged', '-n', 'psa-enforce']);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      'Error from server (Forbidden): pods "priv" is forbidden: violates PodSecurity "baseline:latest": privileged (container "priv" must not set securityContext.privileged=true)\n',
    );
    // An ordinary pod meets baseline.
    const ok = await kubectl(s.server(), ['run', 'plain', '--image=nginx', '-n', 'psa-enforce']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'pod/plain created\n');
    assert.equal(ok.stderr, '');
  });

  it('warn=restricted admits with kubectl Warning lines', async () => {
    await s.newNamespace('psa-warn');
    await s.k('label', 'ns', 'psa-warn', 'pod-security.kubernetes.io/warn=restricted');
    const r = await kubectl(s.server(), ['run', 'w', '--image=nginx', '-n', 'psa-warn']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'pod/w created\n');
    assert.equal(r.stderr, `Warning: would violate PodSecurity "restricted:latest": ${RESTRICTED_REASONS('w')}\n`);
  });

  it('a Deployment in an enforcing namespace is warned about, not refused', async () => {
    const manifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  replicas: 1
  selector:
    matchLabels: {app: d}
  template:
    metadata:
      labels: {app: d}
    spec:
      hostNetwork: true
      containers:
      - name: app
        image: nginx
        securityContext:
          privileged: true
`;
    const r = await kubectl(s.server(), ['apply', '-n', 'psa-enforce', '-f', '-'], manifest);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'deployment.apps/d created\n');
    assert.equal(
      r.stderr,
      'Warning: would violate PodSecurity "baseline:latest": host namespaces (hostNetwork=true), privileged (container "app" must not set securityContext.privileged=true)\n',
    );
  });

  it('labelling a namespace enforce=restricted warns about its existing pods', async () => {
    const r = await kubectl(s.server(), ['label', 'ns', 'psa-warn', 'pod-security.kubernetes.io/enforce=restricted']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'namespace/psa-warn labeled\n');
    assert.equal(
      r.stderr,
      'Warning: existing pods in namespace "psa-warn" violate the new PodSecurity enforce level "restricted:latest"\n' +
        'Warning: w: allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile\n',
    );
    // An invalid level is refused.
    const bad = await kubectl(s.server(), ['label', '--overwrite', 'ns', 'psa-warn', 'pod-security.kubernetes.io/enforce=strict']);
    assert.equal(bad.code, 1);
    assert.equal(
      bad.stderr,
      'The Namespace "psa-warn" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted\n',
    );
  });
});
