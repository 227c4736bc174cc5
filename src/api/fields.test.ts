import { test } from 'node:test';
import assert from 'node:assert/strict';
import { customResourceFieldGetters, fieldGetters } from './fields.js';
import type { KubeObject } from './types.js';

/** All of a kind's selectable fields read from one object. */
function read(gk: string, obj: KubeObject): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [field, get] of Object.entries(fieldGetters(gk))) out[field] = get(obj);
  return out;
}

test('Pod fields, with hostNetwork and podIP as upstream computes them', () => {
  const pod: KubeObject = {
    metadata: { name: 'p', namespace: 'ns' },
    spec: { nodeName: 'n1', restartPolicy: 'Never', schedulerName: 'default-scheduler', serviceAccountName: 'sa', hostNetwork: true },
    status: { phase: 'Pending', podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }], nominatedNodeName: 'n2' },
  };
  assert.deepEqual(read('Pod', pod), {
    'metadata.name': 'p',
    'metadata.namespace': 'ns',
    'spec.nodeName': 'n1',
    'spec.restartPolicy': 'Never',
    'spec.schedulerName': 'default-scheduler',
    'spec.serviceAccountName': 'sa',
    'spec.hostNetwork': 'true',
    'status.phase': 'Pending',
    'status.podIP': '10.0.0.1',
    'status.podIPs': '',
    'status.nominatedNodeName': 'n2',
    'spec.host': 'n1',
  });
  const bare = read('Pod', {});
  assert.equal(bare['spec.hostNetwork'], 'false');
  assert.equal(bare['status.podIP'], '');
  assert.equal(read('Pod', { status: { podIP: '10.1.1.1' } })['status.podIP'], '10.1.1.1');
});

test('core Event fields: source falls back to the reporting controller', () => {
  const ev: KubeObject = {
    metadata: { name: 'e', namespace: 'ns' },
    involvedObject: { kind: 'Pod', namespace: 'ns', name: 'p', uid: 'u1', apiVersion: 'v1', resourceVersion: '7', fieldPath: 'spec.containers{c}' },
    reason: 'Pulled',
    type: 'Normal',
    reportingComponent: 'kubelet',
    source: {},
  };
  assert.deepEqual(read('Event', ev), {
    'involvedObject.kind': 'Pod',
    'involvedObject.namespace': 'ns',
    'involvedObject.name': 'p',
    'involvedObject.uid': 'u1',
    'involvedObject.apiVersion': 'v1',
    'involvedObject.resourceVersion': '7',
    'involvedObject.fieldPath': 'spec.containers{c}',
    reason: 'Pulled',
    reportingComponent: 'kubelet',
    source: 'kubelet',
    type: 'Normal',
    'metadata.namespace': 'ns',
    'metadata.name': 'e',
  });
  assert.equal(read('Event', { ...ev, source: { component: 'scheduler' } }).source, 'scheduler');
  assert.equal(read('Event.events.k8s.io', { regarding: { kind: 'Node' }, reportingController: 'x' })['regarding.kind'], 'Node');
});

test('kind-specific fields: Node, Namespace, Secret, Service, ReplicationController, Job, CSR', () => {
  assert.deepEqual(read('Node', { metadata: { name: 'n' }, spec: { unschedulable: true } }), { 'metadata.name': 'n', 'spec.unschedulable': 'true' });
  assert.equal(read('Node', { metadata: { name: 'n' } })['spec.unschedulable'], 'false');
  assert.deepEqual(read('Namespace', { metadata: { name: 'ns' }, status: { phase: 'Terminating' } }), { 'status.phase': 'Terminating', 'metadata.name': 'ns' });
  assert.equal(read('Secret', { type: 'kubernetes.io/tls' }).type, 'kubernetes.io/tls');
  assert.deepEqual(read('Service', { metadata: { name: 's', namespace: 'd' }, spec: { clusterIP: '10.96.0.1', type: 'ClusterIP' } }), {
    'metadata.namespace': 'd',
    'metadata.name': 's',
    'spec.clusterIP': '10.96.0.1',
    'spec.type': 'ClusterIP',
  });
  assert.equal(read('ReplicationController', { status: { replicas: 3 } })['status.replicas'], '3');
  assert.equal(read('ReplicationController', {})['status.replicas'], '0');
  assert.equal(read('Job.batch', { status: { succeeded: 2 } })['status.successful'], '2');
  assert.equal(read('CertificateSigningRequest.certificates.k8s.io', { spec: { signerName: 'kubernetes.io/kubelet-serving' } })['spec.signerName'], 'kubernetes.io/kubelet-serving');
});

test('kinds without a conversion get metadata.name and metadata.namespace', () => {
  assert.deepEqual(Object.keys(fieldGetters('Deployment.apps')), ['metadata.name', 'metadata.namespace']);
  // Cluster-scoped kinds accept metadata.namespace upstream too; it reads "".
  assert.deepEqual(read('ClusterRole.rbac.authorization.k8s.io', { metadata: { name: 'admin' } }), { 'metadata.name': 'admin', 'metadata.namespace': '' });
  assert.equal(fieldGetters('Widget.example.com'), fieldGetters('ConfigMap'));
  assert.equal(fieldGetters('Pod'), fieldGetters('Pod'), 'records are cached');
  assert.ok(Object.isFrozen(fieldGetters('Pod')));
});

test('custom resources: namespace only when namespaced, plus selectableFields', () => {
  const g = customResourceFieldGetters(true, [{ jsonPath: '.spec.color' }, { jsonPath: '.spec.size' }, { jsonPath: '.status.ready' }]);
  const cr: KubeObject = { metadata: { name: 'w', namespace: 'ns' }, spec: { color: 'blue', size: 3 }, status: { ready: true } };
  assert.deepEqual(
    Object.fromEntries(Object.entries(g).map(([k, f]) => [k, f(cr)])),
    { 'metadata.name': 'w', 'metadata.namespace': 'ns', 'spec.color': 'blue', 'spec.size': '3', 'status.ready': 'true' },
  );
  assert.equal(g['spec.color']({ spec: null }), '');
  assert.deepEqual(Object.keys(customResourceFieldGetters(false)), ['metadata.name']);
});
