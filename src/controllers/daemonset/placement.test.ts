import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../api/types.js';
import { fitsNodeAffinity, pinToNode, placementOn, targetNodeName, toleratesTaint, withDaemonTolerations } from './placement.js';

const node = (name: string, labels: Record<string, string> = {}, taints: unknown[] = []): KubeObject => ({ metadata: { name, labels }, spec: { taints } });
const ds = (podSpec: Record<string, unknown>): KubeObject => ({ spec: { template: { spec: { containers: [{ name: 'c', image: 'i' }], ...podSpec } } } });

describe('daemon pod placement', () => {
  it('tolerates taints as upstream’s ToleratesTaint', () => {
    const taint = { key: 'k', value: 'v', effect: 'NoSchedule' };
    assert.ok(toleratesTaint({ key: 'k', operator: 'Equal', value: 'v', effect: 'NoSchedule' }, taint));
    assert.ok(toleratesTaint({ key: 'k', value: 'v' }, taint), 'empty operator is Equal, empty effect matches all');
    assert.ok(toleratesTaint({ operator: 'Exists' }, taint), 'empty key with Exists tolerates everything');
    assert.ok(!toleratesTaint({ key: 'k', value: 'w' }, taint));
    assert.ok(!toleratesTaint({ key: 'k', operator: 'Exists', effect: 'NoExecute' }, taint));
    assert.ok(!toleratesTaint({ key: 'k', operator: 'Bogus' }, taint));
  });

  it('adds the daemon tolerations once, network-unavailable only for host networking', () => {
    const spec = withDaemonTolerations({ tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 }] });
    const tolerations = spec.tolerations as KubeObject[];
    assert.equal(tolerations.length, 6);
    assert.equal(tolerations[0].tolerationSeconds, undefined, 'replaced by the unbounded one');
    const host = withDaemonTolerations({ hostNetwork: true }).tolerations as KubeObject[];
    assert.equal(host.at(-1)!.key, 'node.kubernetes.io/network-unavailable');
  });

  it('matches nodeSelector and required node affinity', () => {
    const n = node('n1', { zone: 'a', cores: '8' });
    assert.ok(fitsNodeAffinity({ nodeSelector: { zone: 'a' } }, n));
    assert.ok(!fitsNodeAffinity({ nodeSelector: { zone: 'b' } }, n));
    const affinity = (terms: unknown[]) => ({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } });
    assert.ok(fitsNodeAffinity(affinity([{ matchExpressions: [{ key: 'cores', operator: 'Gt', values: ['4'] }] }]), n));
    assert.ok(!fitsNodeAffinity(affinity([{ matchExpressions: [{ key: 'cores', operator: 'Lt', values: ['4'] }] }]), n));
    assert.ok(fitsNodeAffinity(affinity([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['x'] }] }, { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }]), n), 'terms are ORed');
    assert.ok(!fitsNodeAffinity(affinity([{}]), n), 'an empty term matches nothing');
    assert.ok(!fitsNodeAffinity(affinity([{ matchExpressions: [{ key: 'zone', operator: 'In', values: [] }] }]), n), 'an invalid term matches nothing');
    assert.ok(fitsNodeAffinity(affinity([{ matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' }] }]), n));
  });

  it('decides where pods run and may keep running', () => {
    assert.deepEqual(placementOn(node('a'), ds({})), { shouldRun: true, shouldContinueRunning: true });
    assert.deepEqual(placementOn(node('a', {}, [{ key: 'x', effect: 'NoSchedule' }]), ds({})), { shouldRun: false, shouldContinueRunning: true });
    assert.deepEqual(placementOn(node('a', {}, [{ key: 'x', effect: 'NoExecute' }]), ds({})), { shouldRun: false, shouldContinueRunning: false });
    assert.deepEqual(placementOn(node('a', {}, [{ key: 'x', effect: 'PreferNoSchedule' }]), ds({})), { shouldRun: true, shouldContinueRunning: true });
    // The tolerations every daemon pod gets make node-condition taints harmless.
    assert.deepEqual(placementOn(node('a', {}, [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }]), ds({})), {
      shouldRun: true,
      shouldContinueRunning: true,
    });
    assert.deepEqual(placementOn(node('a', {}, [{ key: 'node.kubernetes.io/network-unavailable', effect: 'NoSchedule' }]), ds({})).shouldRun, false);
    assert.deepEqual(placementOn(node('a', {}, [{ key: 'node.kubernetes.io/network-unavailable', effect: 'NoSchedule' }]), ds({ hostNetwork: true })).shouldRun, true);
    assert.deepEqual(placementOn(node('a'), ds({ nodeName: 'b' })), { shouldRun: false, shouldContinueRunning: false });
  });

  it('pins a pod to its node and reads the node back', () => {
    const affinity = pinToNode({ podAntiAffinity: { x: 1 }, nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1 }], requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'a', operator: 'Exists' }] }] } } }, 'n7');
    assert.deepEqual(affinity.podAntiAffinity, { x: 1 });
    assert.deepEqual(affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution, [{ weight: 1 }]);
    assert.deepEqual(affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution, { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n7'] }] }] });
    assert.equal(targetNodeName({ spec: { affinity } }), 'n7');
    assert.equal(targetNodeName({ spec: { nodeName: 'bound', affinity } }), 'bound');
    assert.equal(targetNodeName({ spec: {} }), undefined);
  });
});
