import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../api/types.js';
import { ApiError } from '../api/errors.js';
import { InProcessClient } from '../client/in-process.js';
import type { ResourceRef } from '../client/interface.js';
import { SharedInformers } from '../client/shared-informers.js';
import { CountingClient, eventually, startInProcessCluster, type InProcessCluster } from '../../test/harness/in-process.js';
import { newControllerContext } from './context.js';
import { EndpointsController, repackSubsets } from './endpoints.js';
import { ENDPOINTS, NODES, PODS, SERVICES, rfc3339 } from './pods.js';

const NAMESPACES: ResourceRef = { group: '', version: 'v1', resource: 'namespaces' };

async function tryGet(client: InProcessClient, ns: string, name: string): Promise<KubeObject | undefined> {
  try {
    return await client.get(ENDPOINTS, ns, name);
  } catch (err) {
    if (err instanceof ApiError && err.code === 404) return undefined;
    throw err;
  }
}

describe('endpoints controller', () => {
  let cluster: InProcessCluster;
  let client: InProcessClient;
  let counting: CountingClient;
  let informers: SharedInformers;
  let controller: EndpointsController;

  before(async () => {
    cluster = await startInProcessCluster('endpoints');
    client = cluster.client;
    await client.create(NODES, '', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' } });
    // An Endpoints with no Service, left behind: the controller removes it when it starts.
    await client.create(ENDPOINTS, 'default', { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'orphan' } });
    // A leader-election record is an Endpoints without Service too, and is kept.
    await client.create(ENDPOINTS, 'default', {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'lock', annotations: { 'control-plane.alpha.kubernetes.io/leader': '{}' } },
    });
    counting = new CountingClient(cluster.server);
    informers = new SharedInformers(counting);
    controller = new EndpointsController(newControllerContext(counting, informers), { retryBaseDelayMs: 5, retryMaxDelayMs: 200 });
    await controller.start();
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

  async function setReady(ns: string, name: string, ready: boolean, ip: string): Promise<void> {
    const status = { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: rfc3339(Date.now()) }] };
    await client.patch(PODS, ns, name, 'application/merge-patch+json', { status }, { subresource: 'status' });
  }

  async function pod(ns: string, name: string, ip: string, ready: boolean, ports: { name: string; containerPort: number }[] = []): Promise<KubeObject> {
    const created = await client.create(PODS, ns, { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'nginx', ports }] } });
    await client.create(PODS, ns, { apiVersion: 'v1', kind: 'Binding', metadata: { name }, target: { kind: 'Node', name: 'node-a' } }, { subresource: 'binding' });
    await setReady(ns, name, ready, ip);
    return created;
  }

  it('lists ready and not-ready addresses with their ports, sorted', async () => {
    const ns = await namespace('ep-basic');
    await client.create(SERVICES, ns, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', labels: { tier: 'front' } },
      spec: {
        selector: { app: 'web' },
        ports: [
          { name: 'http', port: 80, targetPort: 'http' },
          { name: 'admin', port: 81, targetPort: 9000 },
        ],
      },
    });
    const b = await pod(ns, 'web-b', '10.9.0.20', true, [{ name: 'http', containerPort: 8080 }]);
    const a = await pod(ns, 'web-a', '10.9.0.10', true, [{ name: 'http', containerPort: 8080 }]);
    const c = await pod(ns, 'web-c', '10.9.0.30', false, [{ name: 'http', containerPort: 8080 }]);
    const ep = await eventually('endpoints of web', async () => {
      const e = await tryGet(client, ns, 'web');
      return (e?.subsets?.[0]?.addresses?.length ?? 0) === 2 && e?.subsets?.[0]?.notReadyAddresses?.length === 1 ? e : undefined;
    });
    const addr = (p: KubeObject, ip: string) => ({ ip, nodeName: 'node-a', targetRef: { kind: 'Pod', namespace: ns, name: p.metadata!.name, uid: p.metadata!.uid } });
    assert.deepEqual(ep.subsets, [
      {
        addresses: [addr(a, '10.9.0.10'), addr(b, '10.9.0.20')],
        notReadyAddresses: [addr(c, '10.9.0.30')],
        ports: [
          { name: 'admin', port: 9000, protocol: 'TCP' },
          { name: 'http', port: 8080, protocol: 'TCP' },
        ],
      },
    ]);
    assert.deepEqual(ep.metadata?.labels, { tier: 'front' });
    assert.match(ep.metadata?.annotations?.['endpoints.kubernetes.io/last-change-trigger-time'] ?? '', /Z$/);

    // A pod that turns ready moves over; one that goes away leaves.
    await setReady(ns, 'web-c', true, '10.9.0.30');
    await client.delete(PODS, ns, 'web-b', { gracePeriodSeconds: 0 });
    await eventually('web-c ready, web-b gone', async () => {
      const e = await tryGet(client, ns, 'web');
      const ips = (e?.subsets?.[0]?.addresses ?? []).map((x: any) => x.ip);
      return ips.join(',') === '10.9.0.10,10.9.0.30' && !e?.subsets?.[0]?.notReadyAddresses;
    });
  });

  it('packs addresses by the ports they serve', () => {
    const a = { ip: '10.0.0.1', targetRef: { uid: 'a' } };
    const b = { ip: '10.0.0.2', targetRef: { uid: 'b' } };
    const http = { name: 'http', port: 8080, protocol: 'TCP' };
    const metrics = { name: 'metrics', port: 9090, protocol: 'TCP' };
    const packed = repackSubsets([
      { addresses: [b], ports: [http] },
      { addresses: [b], ports: [metrics] },
      { addresses: [a], ports: [metrics] },
      { notReadyAddresses: [a], ports: [metrics] },
    ]);
    // Each port keeps its own set of addresses; a is not ready for metrics (not-ready trumps ready).
    assert.deepEqual(packed, [
      { addresses: [b], notReadyAddresses: [a], ports: [metrics] },
      { addresses: [b], ports: [http] },
    ]);
    // Ports served by the same addresses share one subset.
    assert.deepEqual(repackSubsets([{ addresses: [a], ports: [metrics] }, { addresses: [a], ports: [http] }]), [{ addresses: [a], ports: [http, metrics] }]);
  });

  it('deletes the Endpoints of a deleted Service and leaves selector-less ones alone', async () => {
    const ns = await namespace('ep-gone');
    await client.create(SERVICES, ns, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } });
    await client.create(SERVICES, ns, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'manual' }, spec: { ports: [{ port: 80 }] } });
    await client.create(ENDPOINTS, ns, { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'manual' }, subsets: [{ addresses: [{ ip: '192.0.2.1' }], ports: [{ port: 80 }] }] });
    const empty = await eventually('endpoints of web', () => tryGet(client, ns, 'web'));
    assert.equal(empty.subsets, undefined, 'no pods, no subsets');
    await client.delete(SERVICES, ns, 'web');
    await eventually('endpoints of web deleted', async () => !(await tryGet(client, ns, 'web')));
    assert.deepEqual((await tryGet(client, ns, 'manual'))?.subsets, [{ addresses: [{ ip: '192.0.2.1' }], ports: [{ port: 80, protocol: 'TCP' }] }]);
    assert.equal(await tryGet(client, 'default', 'orphan'), undefined, 'an Endpoints without Service is removed at start');
    assert.ok(await tryGet(client, 'default', 'lock'), 'a leader-election record is kept');
  });

  it('writes nothing when the world is settled', async () => {
    const ns = await namespace('ep-quiet');
    await client.create(SERVICES, ns, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, clusterIP: 'None', ports: [{ port: 80 }] } });
    for (let i = 0; i < 4; i++) await pod(ns, `web-${i}`, `10.10.0.${i}`, i !== 2);
    const ep = await eventually('endpoints of web', async () => {
      const e = await tryGet(client, ns, 'web');
      return e?.subsets?.[0]?.addresses?.length === 3 ? e : undefined;
    });
    assert.equal(ep.metadata?.labels?.['service.kubernetes.io/headless'], '');
    const { items: services } = await client.list(SERVICES, '');
    await eventually('a pass without writes', async () => {
      const writes = counting.writes;
      for (const s of services) await controller.reconcile(`${s.metadata!.namespace}/${s.metadata!.name}`);
      return counting.writes === writes;
    }, 20);
    assert.equal((await tryGet(client, ns, 'web'))?.metadata?.resourceVersion, ep.metadata?.resourceVersion);
  });
});

