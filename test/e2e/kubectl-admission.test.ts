/**
 * Admission with the real kubectl against `skiff up`: a mutating webhook (a real HTTPS server on
 * 127.0.0.1) injects a label, a validating webhook denies with its message, a webhook that times
 * out follows its failurePolicy, a ValidatingAdmissionPolicy denies with CEL, a LimitRange fills in
 * container defaults, and a ResourceQuota denies the object that exceeds it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { API_ONLY_ARGS, kubectl } from '../harness/skiff.js';
import { createCa, issueLeaf } from '../../src/pki/issue.js';
import { kubectlSuite } from './kubectl-helpers.js';
import { eventually } from './http-client.js';

type Review = { apiVersion: string; kind: string; request: Record<string, any> };

describe('admission with kubectl', () => {
  const s = kubectlSuite('sqlite', API_ONLY_ARGS);
  let server: Server;
  let port = 0;
  let caBundle = '';
  const ns = 'adm';

  before(async () => {
    const ca = await createCa('e2e-webhook-ca');
    const leaf = await issueLeaf(ca, { commonName: 'webhook', usage: 'server', ipAddresses: ['127.0.0.1'], validityDays: 1 });
    caBundle = Buffer.from(ca.cert).toString('base64');
    server = createServer({ cert: leaf.cert, key: leaf.key }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Review;
        const uid = review.request.uid;
        const name: string = review.request.object?.metadata?.name ?? '';
        const answer = (response: object) => {
          res.setHeader('Content-Type', 'application/json');
          res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, ...response } }));
        };
        const path = (req.url ?? '').split('?')[0];
        if (path === '/mutate') {
          const hasLabels = !!review.request.object?.metadata?.labels;
          const patch = hasLabels ? [{ op: 'add', path: '/metadata/labels/injected', value: 'yes' }] : [{ op: 'add', path: '/metadata/labels', value: { injected: 'yes' } }];
          return answer({ allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') });
        }
        if (path === '/validate') {
          if (name.startsWith('deny-')) return answer({ allowed: false, status: { code: 403, message: `${name} is not welcome here` } });
          return answer({ allowed: true });
        }
        if (path === '/slow') {
          setTimeout(() => answer({ allowed: true }), 3000).unref();
          return;
        }
        res.statusCode = 404;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const webhook = (name: string, path: string, extra = '') => `  - name: ${name}
    admissionReviewVersions: [v1]
    sideEffects: None
    clientConfig:
      url: https://127.0.0.1:${port}${path}
      caBundle: ${caBundle}
    namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: ${ns}
    rules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE]
      resources: [configmaps]
${extra}`;

  it('a mutating webhook injects a label and a validating webhook denies with its message', async () => {
    await s.newNamespace(ns);
    // Components write under their upstream names (the field managers their user agents give).
    const rootCa = JSON.parse(await s.k('get', 'configmap', 'kube-root-ca.crt', '-n', ns, '-o', 'json', '--show-managed-fields'));
    assert.deepEqual(
      rootCa.metadata.managedFields.map((f: any) => [f.manager, f.operation, Object.keys(f.fieldsV1)]),
      [['kube-controller-manager', 'Update', ['f:data', 'f:metadata']]],
    );
    await s.kIn(
      `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: inject
webhooks:
${webhook('inject.example.com', '/mutate')}---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: gate
webhooks:
${webhook('gate.example.com', '/validate')}`,
      'apply',
      '-f',
      '-',
    );
    await s.k('create', 'configmap', 'welcome', '-n', ns, '--from-literal=a=1');
    const cm = await s.getJson('configmap', 'welcome', '-n', ns);
    assert.equal(cm.metadata.labels.injected, 'yes');
    const denied = await kubectl(s.server(), ['create', 'configmap', 'deny-me', '-n', ns]);
    assert.notEqual(denied.code, 0);
    assert.equal(denied.stderr, 'error: failed to create configmap: admission webhook "gate.example.com" denied the request: deny-me is not welcome here\n');
  });

  it('a webhook that times out follows its failurePolicy', async () => {
    const slow = (policy: string) => `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: slow
webhooks:
${webhook('slow.example.com', '/slow', `    timeoutSeconds: 1\n    failurePolicy: ${policy}\n`)}`;
    await s.kIn(slow('Ignore'), 'apply', '-f', '-');
    await s.k('create', 'configmap', 'ignored', '-n', ns);
    await s.kIn(slow('Fail'), 'apply', '-f', '-');
    const failed = await kubectl(s.server(), ['create', 'configmap', 'failed', '-n', ns]);
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /Internal error occurred: failed calling webhook "slow\.example\.com": failed to call webhook: Post "https:\/\/127\.0\.0\.1:\d+\/slow\?timeout=1s": context deadline exceeded/);
    await s.k('delete', 'validatingwebhookconfiguration', 'slow', 'gate');
    await s.k('delete', 'mutatingwebhookconfiguration', 'inject');
  });

  it('a ValidatingAdmissionPolicy denies with its CEL expression', async () => {
    await s.kIn(
      `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: small-deployments
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: [apps]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [deployments]
  validations:
  - expression: object.spec.replicas <= 5
    message: at most 5 replicas
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: small-deployments
spec:
  policyName: small-deployments
  validationActions: [Deny]
`,
      'apply',
      '-f',
      '-',
    );
    await s.k('create', 'deployment', 'ok', '-n', ns, '--image=nginx', '--replicas=5');
    const big = await kubectl(s.server(), ['create', 'deployment', 'big', '-n', ns, '--image=nginx', '--replicas=6']);
    assert.notEqual(big.code, 0);
    assert.match(big.stderr, /ValidatingAdmissionPolicy 'small-deployments' with binding 'small-deployments' denied request: at most 5 replicas/);
  });

  it('a LimitRange fills in defaults and a ResourceQuota denies what exceeds it', async () => {
    await s.kIn(
      `apiVersion: v1
kind: LimitRange
metadata:
  name: defaults
spec:
  limits:
  - type: Container
    default:
      cpu: 200m
      memory: 64Mi
    defaultRequest:
      cpu: 100m
      memory: 32Mi
---
apiVersion: v1
kind: ResourceQuota
metadata:
  name: q
spec:
  hard:
    pods: "2"
    requests.cpu: 150m
`,
      'apply',
      '-n',
      ns,
      '-f',
      '-',
    );
    await eventually('the quota controller fills in status', async () => ((await s.getJson('resourcequota', 'q', '-n', ns)).status?.hard ? true : undefined));
    await s.k('run', 'p1', '-n', ns, '--image=busybox', '--restart=Never');
    const p1 = await s.getJson('pod', 'p1', '-n', ns);
    assert.deepEqual(p1.spec.containers[0].resources, { limits: { cpu: '200m', memory: '64Mi' }, requests: { cpu: '100m', memory: '32Mi' } });
    assert.equal(p1.metadata.annotations['kubernetes.io/limit-ranger'], 'LimitRanger plugin set: cpu, memory request for container p1; cpu, memory limit for container p1');
    const p2 = await kubectl(s.server(), ['run', 'p2', '-n', ns, '--image=busybox', '--restart=Never']);
    assert.notEqual(p2.code, 0);
    assert.match(p2.stderr, /pods "p2" is forbidden: exceeded quota: q, requested: requests\.cpu=100m, used: requests\.cpu=100m, limited: requests\.cpu=150m/);
  });
});
