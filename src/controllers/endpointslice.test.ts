import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../api/types.js';
import { InProcessClient } from '../client/in-process.js';
import type { ResourceRef } from '../client/interface.js';
import { SharedInformers } from '../client/shared-informers.js';
import { CountingClient, eventually, startInProcessCluster, type InProcessCluster } from '../../test/harness/in-process.js';
import { newControllerContext } from './context.js';
import { EndpointSliceController } from './endpointslice.js';
import { ENDPOINT_SLICES, EVENTS, NODES, PODS, SERVICES, rfc3339 } from './pods.js';

const NAMESPACES: ResourceRef = { group: '', version: 'v1', resource: 'namespaces' };

interface PodOpts {
  ip: string;
  ready?: boolean;
  labels?: Record<string, string>;
  ports?: { name: string; containerPort: number; protocol?: string }[];
  hostname?: string;
  subdomain?: string;
  node?: string;
}

describe('endpointslice controller', () => {
  let cluster: InProcessCluster;
  let client: InProcessClient;
  let counting: CountingClient;
  let informers: SharedInformers;
  let controller: EndpointSliceController;
  const logs: string[] = [];

  before(async () => {
    cluster = await startInProcessCluster('endpointslice');
    client = cluster.client;
    counting = new CountingClient(cluster.server);
    informers = new SharedInformers(counting);
    controller = new EndpointSliceController(newControllerContext(counting, informers), { retryBaseDelayMs: 5, retryMaxDelayMs: 200, log: (m) => logs.push(m) });
    await controller.start();
    for (const [name, zone] of [['node-a', 'zone-1'], ['node-b', 'zone-2']]) {
      await client.create(NODES, '', { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'topology.kubernetes.io/zone': zone } } });
    }
  });

  after(async () => {
    await controller.stop();
    informers.stop();
    await cluster.stop();
  });

  async function namespace(name: string): Promise<string> {
    await client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    return name;
  }

  async function service(ns: string, name: string, spec: Record<string, unknown>, labels?: Record<string, string>): Promise<KubeObject> {
    return client.create(SERVICES, ns, { apiVersion: 'v1', kind: 'Service', metadata: { name, labels }, spec });
  }

  async function setReady(ns: string, name: string, ready: boolean, ip: string): Promise<void> {
    await client.patch(
      PODS,
      ns,
      name,
      'application/merge-patch+json',
      { status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: rfc3339(Date.now()) }] } },
      { subresource: 'status' },
    );
  }

  async function pod(ns: string, name: string, o: PodOpts): Promise<KubeObject> {
    const spec: Record<string, unknown> = { containers: [{ name: 'app', image: 'nginx', ports: o.ports ?? [] }] };
    if (o.hostname) spec.hostname = o.hostname;
    if (o.subdomain) spec.subdomain = o.subdomain;
    const created = await client.create(PODS, ns, { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: o.labels ?? { app: 'web' } }, spec });
    await client.create(PODS, ns, { apiVersion: 'v1', kind: 'Binding', metadata: { name }, target: { kind: 'Node', name: o.node ?? 'node-a' } }, { subresource: 'binding' });
    await setReady(ns, name, o.ready ?? true, o.ip);
    return created;
  }

  async function slicesOf(ns: string, svc: string): Promise<KubeObject[]> {
    const { items } = await client.list(ENDPOINT_SLICES, ns, { labelSelector: `kubernetes.io/service-name=${svc}` });
    return items.sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1));
  }

  /** Waits until the service's slices, reduced to pod name → endpoint, pass `check`. */
  async function settle(ns: string, svc: string, check: (slices: KubeObject[], byPod: Map<string, any>) => boolean): Promise<KubeObject[]> {
    return eventually(`slices of ${ns}/${svc}`, async () => {
      const slices = await slicesOf(ns, svc);
      const byPod = new Map<string, any>();
      for (const s of slices) for (const ep of s.endpoints ?? []) byPod.set(ep.targetRef?.name, { ...ep, slice: s });
      return check(slices, byPod) ? slices : undefined;
    });
  }

  it('gives a Service one empty slice, then fills it as pods come', async () => {
    const ns = await namespace('eps-basic');
    const svc = await service(ns, 'web', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] }, { tier: 'front' });
    const [placeholder] = await settle(ns, 'web', (s) => s.length === 1);
    assert.equal(placeholder.addressType, 'IPv4');
    assert.deepEqual(placeholder.endpoints ?? [], []);
    assert.deepEqual(placeholder.ports ?? [], []);
    assert.equal(placeholder.metadata?.generateName, 'web-');
    assert.equal(placeholder.metadata?.labels?.['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
    assert.equal(placeholder.metadata?.labels?.tier, 'front');
    assert.deepEqual(placeholder.metadata?.ownerReferences, [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: svc.metadata!.uid, controller: true, blockOwnerDeletion: true }]);

    const p = await pod(ns, 'web-1', { ip: '10.1.0.1', ports: [{ name: 'http', containerPort: 8080 }] });
    const slices = await settle(ns, 'web', (_s, byPod) => byPod.get('web-1')?.conditions?.ready === true);
    assert.equal(slices.length, 1);
    const slice = slices[0];
    assert.equal(slice.metadata?.name, placeholder.metadata?.name, 'the empty slice is reused, not replaced');
    assert.deepEqual(slice.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
    assert.deepEqual(slice.endpoints, [
      {
        addresses: ['10.1.0.1'],
        conditions: { ready: true, serving: true, terminating: false },
        targetRef: { kind: 'Pod', namespace: ns, name: 'web-1', uid: p.metadata!.uid },
        nodeName: 'node-a',
        zone: 'zone-1',
      },
    ]);
    assert.match(slice.metadata?.annotations?.['endpoints.kubernetes.io/last-change-trigger-time'] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('follows a pod becoming not ready, terminating and gone', async () => {
    const ns = await namespace('eps-life');
    await service(ns, 'web', { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] });
    await pod(ns, 'web-1', { ip: '10.2.0.1' });
    await pod(ns, 'web-2', { ip: '10.2.0.2', node: 'node-b' });
    await settle(ns, 'web', (_s, by) => by.get('web-1')?.conditions.ready && by.get('web-2')?.zone === 'zone-2');

    await setReady(ns, 'web-1', false, '10.2.0.1');
    await settle(ns, 'web', (_s, by) => by.get('web-1')?.conditions.ready === false && by.get('web-1')?.conditions.serving === false);

    await setReady(ns, 'web-1', true, '10.2.0.1');
    await settle(ns, 'web', (_s, by) => by.get('web-1')?.conditions.ready === true);
    // A bound pod is deleted gracefully: it stays, terminating, still serving but no longer ready.
    await client.delete(PODS, ns, 'web-1');
    await settle(ns, 'web', (_s, by) => {
      const c = by.get('web-1')?.conditions;
      return c?.terminating === true && c.serving === true && c.ready === false;
    });
    await client.delete(PODS, ns, 'web-1', { gracePeriodSeconds: 0 });
    const slices = await settle(ns, 'web', (_s, by) => !by.has('web-1') && by.has('web-2'));
    assert.equal(slices.length, 1);
  });

  it('resolves named ports per pod and drops a port a pod does not declare', async () => {
    const ns = await namespace('eps-ports');
    await service(ns, 'web', {
      selector: { app: 'web' },
      ports: [
        { name: 'http', port: 80, targetPort: 'http' },
        { name: 'metrics', port: 9090, targetPort: 9090 },
      ],
    });
    await pod(ns, 'named', { ip: '10.3.0.1', ports: [{ name: 'http', containerPort: 8080 }] });
    await pod(ns, 'other', { ip: '10.3.0.2', ports: [{ name: 'http', containerPort: 8081 }] });
    await pod(ns, 'plain', { ip: '10.3.0.3', ports: [{ name: 'web', containerPort: 8080 }] });
    const slices = await settle(ns, 'web', (_s, by) => by.size === 3);
    const portsOf = (podName: string) => {
      const s = slices.find((x) => (x.endpoints ?? []).some((e: any) => e.targetRef.name === podName))!;
      return [...s.ports].sort((a: any, b: any) => a.port - b.port);
    };
    assert.deepEqual(portsOf('named'), [
      { name: 'http', port: 8080, protocol: 'TCP' },
      { name: 'metrics', port: 9090, protocol: 'TCP' },
    ]);
    assert.deepEqual(portsOf('other'), [
      { name: 'http', port: 8081, protocol: 'TCP' },
      { name: 'metrics', port: 9090, protocol: 'TCP' },
    ]);
    assert.deepEqual(portsOf('plain'), [{ name: 'metrics', port: 9090, protocol: 'TCP' }]);
    assert.equal(slices.length, 3, 'one slice per set of ports');
  });

  it('splits more than maxEndpointsPerSlice endpoints over several slices', async () => {
    const ns = await namespace('eps-many');
    await service(ns, 'web', { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] });
    const n = 130;
    for (let i = 0; i < n; i++) await pod(ns, `web-${i}`, { ip: `10.4.${i >> 8}.${i & 255}` });
    const slices = await settle(ns, 'web', (_s, by) => by.size === n);
    const sizes = slices.map((s) => s.endpoints.length).sort((a, b) => b - a);
    assert.deepEqual(sizes, [100, 30]);
    const names = slices.flatMap((s) => s.endpoints.map((e: any) => e.targetRef.name));
    assert.equal(new Set(names).size, n, 'each pod once');
  });

  it('follows a selector change and sets hostnames for the subdomain', async () => {
    const ns = await namespace('eps-selector');
    await service(ns, 'db', { selector: { app: 'a' }, clusterIP: 'None', ports: [{ port: 5432 }] });
    await pod(ns, 'a-1', { ip: '10.5.0.1', labels: { app: 'a' }, hostname: 'a-1', subdomain: 'db' });
    await pod(ns, 'a-2', { ip: '10.5.0.2', labels: { app: 'a' } });
    await pod(ns, 'b-1', { ip: '10.5.0.3', labels: { app: 'b' } });
    const slices = await settle(ns, 'db', (_s, by) => by.size === 2);
    const a1 = slices[0].endpoints.find((e: any) => e.targetRef.name === 'a-1');
    assert.equal(a1.hostname, 'a-1');
    assert.equal(slices[0].endpoints.find((e: any) => e.targetRef.name === 'a-2').hostname, undefined);
    assert.equal(slices[0].metadata?.labels?.['service.kubernetes.io/headless'], '');

    const svc = await client.get(SERVICES, ns, 'db');
    await client.update(SERVICES, ns, { ...svc, spec: { ...svc.spec, selector: { app: 'b' } } });
    const after = await settle(ns, 'db', (_s, by) => by.size === 1 && by.has('b-1'));
    assert.equal(after.length, 1);
  });

  it('publishes not-ready pods as ready when the Service asks, and leaves Services without selector alone', async () => {
    const ns = await namespace('eps-misc');
    await service(ns, 'pub', { selector: { app: 'web' }, publishNotReadyAddresses: true, ports: [{ port: 80 }] });
    await service(ns, 'manual', { ports: [{ port: 80 }] });
    await pod(ns, 'slow', { ip: '10.6.0.1', ready: false });
    const [slice] = await settle(ns, 'pub', (_s, by) => by.has('slow'));
    assert.deepEqual(slice.endpoints[0].conditions, { ready: true, serving: false, terminating: false });
    assert.deepEqual(await slicesOf(ns, 'manual'), []);
  });

  it('puts back a slice someone deletes, and warns about pods on unknown nodes', async () => {
    const ns = await namespace('eps-repair');
    await service(ns, 'web', { selector: { app: 'web' }, ports: [{ port: 80 }] });
    await pod(ns, 'web-1', { ip: '10.7.0.1' });
    const [first] = await settle(ns, 'web', (_s, by) => by.has('web-1'));
    await client.delete(ENDPOINT_SLICES, ns, first.metadata!.name!);
    const [second] = await settle(ns, 'web', (s, by) => by.has('web-1') && s[0].metadata?.uid !== first.metadata?.uid);
    assert.notEqual(second.metadata?.name, first.metadata?.name);

    await pod(ns, 'lost', { ip: '10.7.0.2', node: 'node-gone' });
    const ev = await eventually('FailedToUpdateEndpointSlices', async () => {
      const { items } = await client.list(EVENTS, ns);
      return items.find((e) => e.reason === 'FailedToUpdateEndpointSlices');
    });
    assert.equal(ev.message, `Error updating Endpoint Slices for Service ${ns}/web: skipping Pod lost for Service ${ns}/web: Node node-gone Not Found`);
    assert.equal(ev.source?.component, 'endpoint-slice-controller');
    assert.ok(logs.some((m) => m.includes('Node node-gone Not Found')), 'the retry is logged');
    await client.create(NODES, '', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-gone' } });
    await settle(ns, 'web', (_s, by) => by.has('lost') && by.has('web-1'));
  });

  it('writes nothing when the world is settled', async () => {
    const ns = await namespace('eps-quiet');
    await service(ns, 'web', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] });
    for (let i = 0; i < 5; i++) await pod(ns, `web-${i}`, { ip: `10.8.0.${i}`, ports: [{ name: 'http', containerPort: 8080 }], ready: i % 2 === 0 });
    await settle(ns, 'web', (_s, by) => by.size === 5);
    // A level-based controller, given the same world again, writes nothing: one quiet pass suffices
    // (a pass may still meet work the controller has queued, hence the bounded retries).
    const { items: services } = await client.list(SERVICES, '');
    const before = await eventually('a pass without writes', async () => {
      const { items } = await client.list(ENDPOINT_SLICES, '');
      const writes = counting.writes;
      for (const s of services) await controller.reconcile(`${s.metadata!.namespace}/${s.metadata!.name}`);
      return counting.writes === writes ? items : undefined;
    }, 20);
    const { items: afterList } = await client.list(ENDPOINT_SLICES, '');
    assert.deepEqual(
      afterList.map((s) => [s.metadata?.name, s.metadata?.resourceVersion]),
      before.map((s) => [s.metadata?.name, s.metadata?.resourceVersion]),
    );
  });
});
