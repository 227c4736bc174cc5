/**
 * `kubectl apply --server-side` against a real `skiff up` (API only, so no controller writes into
 * managedFields): two managers and their conflict, --force-conflicts, the managedFields upstream
 * records for them, the client-side → server-side migration, and server dry runs.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { API_ONLY_ARGS, kubectl } from '../harness/skiff.js';
import { kubectlSuite } from './kubectl-helpers.js';

const NS = 'ssa';

function deployment(replicas: number, image: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${NS}
  labels:
    app: web
spec:
  replicas: ${replicas}
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: ${image}
        ports:
        - containerPort: 80
`;
}

const scale = (replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${NS}
spec:
  replicas: ${replicas}
`;

const applyEntries = (obj: any) =>
  (obj.metadata.managedFields as any[]).filter((e) => e.operation === 'Apply').map((e) => ({ manager: e.manager, apiVersion: e.apiVersion, fieldsV1: JSON.stringify(e.fieldsV1) }));

describe('kubectl apply --server-side', () => {
  const s = kubectlSuite('sqlite', API_ONLY_ARGS);
  // kubectl hides managedFields unless asked.
  const getWithManagedFields = async (kind: string, name: string) => JSON.parse(await s.k('get', kind, name, '-n', NS, '-o', 'json', '--show-managed-fields'));

  it('creates, conflicts with another manager as upstream words it, and --force-conflicts takes the field', async () => {
    await s.newNamespace(NS);
    assert.equal(await s.kIn(deployment(2, 'nginx:1.25'), 'apply', '--server-side', '-f', '-'), 'deployment.apps/web serverside-applied\n');

    const conflict = await kubectl(s.server(), ['apply', '--server-side', '--field-manager=scaler', '-f', '-'], scale(5));
    assert.notEqual(conflict.code, 0);
    assert.match(conflict.stderr, /Apply failed with 1 conflict: conflict with "kubectl": \.spec\.replicas/);

    assert.equal(await s.kIn(scale(5), 'apply', '--server-side', '--field-manager=scaler', '--force-conflicts', '-f', '-'), 'deployment.apps/web serverside-applied\n');
    const d = await getWithManagedFields('deployment', 'web');
    assert.equal(d.spec.replicas, 5);
    // What upstream records: kubectl keeps everything it applied but replicas, which moved to scaler.
    assert.deepEqual(
      applyEntries(d).sort((a, b) => a.manager.localeCompare(b.manager)),
      [
        {
          manager: 'kubectl',
          apiVersion: 'apps/v1',
          fieldsV1:
            '{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:selector":{},"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\\"name\\":\\"nginx\\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{"k:{\\"containerPort\\":80,\\"protocol\\":\\"TCP\\"}":{".":{},"f:containerPort":{}}}}}}}}}',
        },
        { manager: 'scaler', apiVersion: 'apps/v1', fieldsV1: '{"f:spec":{"f:replicas":{}}}' },
      ],
    );

    // kubectl's own next apply without --force-conflicts now conflicts with scaler.
    const back = await kubectl(s.server(), ['apply', '--server-side', '-f', '-'], deployment(2, 'nginx:1.25'));
    assert.notEqual(back.code, 0);
    assert.match(back.stderr, /Apply failed with 1 conflict: conflict with "scaler": \.spec\.replicas/);
  });

  it('--dry-run=server answers with the applied object and stores nothing', async () => {
    const out = await s.kIn(deployment(5, 'nginx:1.26'), 'apply', '--server-side', '--dry-run=server', '-o', 'json', '-f', '-');
    const dry = JSON.parse(out);
    assert.equal(dry.spec.template.spec.containers[0].image, 'nginx:1.26');
    const d = await s.getJson('deployment', 'web', '-n', NS);
    assert.equal(d.spec.template.spec.containers[0].image, 'nginx:1.25');
  });

  it('takes over from client-side apply without conflicts on the fields kubectl applied before', async () => {
    const cm = (value: string) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: ${NS}
data:
  mode: ${value}
  level: "1"
`;
    assert.equal(await s.kIn(cm('fast'), 'apply', '-f', '-'), 'configmap/settings created\n');
    const before = await getWithManagedFields('configmap', 'settings');
    assert.deepEqual(
      before.metadata.managedFields.map((e: any) => [e.manager, e.operation, JSON.stringify(e.fieldsV1)]),
      [
        [
          'kubectl-client-side-apply',
          'Update',
          '{"f:data":{".":{},"f:level":{},"f:mode":{}},"f:metadata":{"f:annotations":{".":{},"f:kubectl.kubernetes.io/last-applied-configuration":{}}}}',
        ],
      ],
    );
    assert.equal(await s.kIn(cm('slow'), 'apply', '--server-side', '-f', '-'), 'configmap/settings serverside-applied\n');
    const after = await getWithManagedFields('configmap', 'settings');
    assert.equal(after.data.mode, 'slow');
    const lastApplied = JSON.parse(after.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);
    assert.equal(lastApplied.data.mode, 'slow', 'the server keeps the last-applied annotation in step for kubectl');
    // kubectl 1.32 then moves the client-side manager's fields to its own apply entries (csaupgrade):
    // the annotation to kubectl-last-applied, the rest to kubectl. Upstream stores exactly this.
    assert.deepEqual(
      after.metadata.managedFields.map((e: any) => [e.manager, e.operation, e.apiVersion, JSON.stringify(e.fieldsV1), e.time !== undefined]),
      [
        ['kubectl-last-applied', 'Apply', 'v1', '{"f:metadata":{"f:annotations":{"f:kubectl.kubernetes.io/last-applied-configuration":{}}}}', false],
        ['kubectl', 'Apply', 'v1', '{"f:data":{"f:level":{},"f:mode":{}}}', true],
      ],
    );
  });
});
