/**
 * `kind: List` documents (what `kubectl get -o yaml` prints for several objects) with the real
 * kubectl against a real `skiff up`. kubectl validates a List client-side against /openapi/v2 only
 * (the v3 field-validation check gives up on v1/List), so these need skiff's v2 document in the
 * gnostic protobuf kubectl decodes: create and apply of a valid List, and a strict-validation error
 * for an unknown field inside one of its items.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { kubectl, kubectlOk } from '../harness/skiff.js';
import { kubectlSuite } from './kubectl-helpers.js';

interface Item {
  name: string;
  data: Record<string, string>;
  extra?: Record<string, unknown>;
}

function configMapList(ns: string, items: Item[]): string {
  const lines = ['apiVersion: v1', 'kind: List', 'metadata:', '  resourceVersion: ""', 'items:'];
  for (const i of items) {
    lines.push('- apiVersion: v1', '  kind: ConfigMap', '  metadata:', `    name: ${i.name}`, `    namespace: ${ns}`, '  data:');
    for (const [k, v] of Object.entries(i.data)) lines.push(`    ${k}: ${JSON.stringify(v)}`);
    for (const [k, v] of Object.entries(i.extra ?? {})) lines.push(`  ${k}: ${JSON.stringify(v)}`);
  }
  return lines.join('\n') + '\n';
}

describe('kubectl with kind: List (validated against OpenAPI v2) on sqlite', () => {
  const { server, k } = kubectlSuite('sqlite');
  const data = async (ns: string, name: string) => JSON.parse(await k('get', 'configmap', name, '-n', ns, '-o', 'json')).data;

  it('create -f of a List of two ConfigMaps creates both, after reading /openapi/v2', async () => {
    await k('create', 'namespace', 'list-create');
    const list = configMapList('list-create', [
      { name: 'alpha', data: { a: '1' } },
      { name: 'beta', data: { b: '2' } },
    ]);
    const r = await kubectl(server(), ['create', '-f', '-', '-v=6'], list);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'configmap/alpha created\nconfigmap/beta created\n');
    assert.match(r.stderr, /GET https:\/\/127\.0\.0\.1:\d+\/openapi\/v2\S* 200 OK/);
    assert.deepEqual(await data('list-create', 'alpha'), { a: '1' });
    assert.deepEqual(await data('list-create', 'beta'), { b: '2' });
  });

  it('apply -f of the same List configures, then changes, then leaves it unchanged', async () => {
    const ns = 'list-create';
    const items: Item[] = [
      { name: 'alpha', data: { a: '1' } },
      { name: 'beta', data: { b: '2' } },
    ];
    // Created without apply: kubectl warns about the missing last-applied annotation and adds it.
    const first = await kubectl(server(), ['apply', '-f', '-'], configMapList(ns, items));
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, 'configmap/alpha configured\nconfigmap/beta configured\n');
    const changed = await kubectlOk(server(), ['apply', '-f', '-'], configMapList(ns, [{ name: 'alpha', data: { a: '10' } }, items[1]]));
    assert.equal(changed, 'configmap/alpha configured\nconfigmap/beta unchanged\n');
    assert.deepEqual(await data(ns, 'alpha'), { a: '10' });
    const again = await kubectlOk(server(), ['apply', '-f', '-'], configMapList(ns, [{ name: 'alpha', data: { a: '10' } }, items[1]]));
    assert.equal(again, 'configmap/alpha unchanged\nconfigmap/beta unchanged\n');
  });

  it('apply -f of a new List creates its items, and the list kubectl get -o yaml prints applies back', async () => {
    await k('create', 'namespace', 'list-apply');
    const list = configMapList('list-apply', [
      { name: 'p', data: { one: '1' } },
      { name: 'q', data: { two: '2' } },
    ]);
    assert.equal(await kubectlOk(server(), ['apply', '-f', '-'], list), 'configmap/p created\nconfigmap/q created\n');
    const printed = await k('get', 'configmap', 'p', 'q', '-n', 'list-apply', '-o', 'yaml');
    assert.match(printed, /^apiVersion: v1\nitems:\n/);
    assert.match(printed, /\nkind: List\n/);
    // Its items carry resourceVersion, uid, …, so the last-applied annotation changes: "configured", as upstream says.
    assert.equal(await kubectlOk(server(), ['apply', '-f', '-'], printed), 'configmap/p configured\nconfigmap/q configured\n');
    assert.deepEqual(await data('list-apply', 'p'), { one: '1' });
    assert.deepEqual(await data('list-apply', 'q'), { two: '2' });
  });

  it('create -f of a List with an unknown field in an item fails validation under --validate=strict', async () => {
    await k('create', 'namespace', 'list-invalid');
    const list = configMapList('list-invalid', [
      { name: 'good', data: { a: '1' } },
      { name: 'bad', data: { b: '2' }, extra: { bogusField: 'x' } },
    ]);
    const r = await kubectl(server(), ['create', '-f', '-', '--validate=strict'], list);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /error validating data/);
    assert.match(r.stderr, /ValidationError\(ConfigMap\): unknown field "bogusField" in io\.k8s\.api\.core\.v1\.ConfigMap/);
    assert.doesNotMatch(r.stderr, /POST|created/);
    // The List is one document: nothing in it was created.
    const names = (await k('get', 'configmaps', '-n', 'list-invalid', '-o', 'name')).split('\n');
    assert.ok(!names.includes('configmap/good') && !names.includes('configmap/bad'), names.join(' '));
  });

  it('finds an unknown field deep inside an item, through $refs and arrays', async () => {
    const list = `apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: web
    namespace: list-invalid
  spec:
    selector:
      matchLabels: {app: web}
    template:
      metadata:
        labels: {app: web}
      spec:
        containers:
        - name: web
          image: nginx
          ports:
          - containerPort: 80
            portName: http
`;
    const r = await kubectl(server(), ['create', '-f', '-', '--validate=strict'], list);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /ValidationError\(Deployment\.spec\.template\.spec\.containers\[0\]\.ports\[0\]\): unknown field "portName" in io\.k8s\.api\.core\.v1\.ContainerPort/);
  });
});
