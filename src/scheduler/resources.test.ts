import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isScalarResourceName, milliValue, podNonZeroRequests, podRequests, wholeValue } from './resources.js';

const c = (requests: Record<string, string>, extra: Record<string, unknown> = {}) => ({ name: 'c', resources: { requests }, ...extra });

describe('scheduler resources', () => {
  it('reads quantities as upstream rounds them (MilliValue, Value: up)', () => {
    assert.equal(milliValue('500m'), 500);
    assert.equal(milliValue('1.5'), 1500);
    assert.equal(milliValue('0.0001'), 1);
    assert.equal(wholeValue('1Gi'), 1024 ** 3);
    assert.equal(wholeValue('1500m'), 2);
    assert.equal(wholeValue(undefined), 0);
  });

  it('sums containers and takes the larger of that and any init container, plus overhead', () => {
    const r = podRequests({
      containers: [c({ cpu: '500m', memory: '1Gi' }), c({ cpu: '250m' })],
      initContainers: [c({ cpu: '2', memory: '512Mi' }), c({ memory: '3Gi' })],
      overhead: { cpu: '100m', memory: '10Mi' },
    });
    assert.equal(r.milliCPU, 2100);
    assert.equal(r.memory, 3 * 1024 ** 3 + 10 * 1024 ** 2);
    assert.equal(r.scalar, null);
  });

  it('counts sidecars (restartPolicy Always init containers) beside the containers and later init containers', () => {
    const r = podRequests({
      containers: [c({ cpu: '1' })],
      initContainers: [c({ cpu: '200m' }, { restartPolicy: 'Always' }), c({ cpu: '1500m' })],
    });
    // max(1000 + 200, 1500 + 200)
    assert.equal(r.milliCPU, 1700);
  });

  it('keeps extended resources and hugepages as scalar resources', () => {
    const r = podRequests({ containers: [c({ 'example.com/gpu': '2', 'hugepages-2Mi': '4Mi', 'kubernetes.io/foo': '1' })] });
    assert.deepEqual(r.scalar, [
      ['example.com/gpu', 2],
      ['hugepages-2Mi', 4 * 1024 * 1024],
    ]);
    assert.equal(isScalarResourceName('nvidia.com/gpu'), true);
    assert.equal(isScalarResourceName('cpu'), false);
    assert.equal(isScalarResourceName('requests.example.com/x'), false);
  });

  it('gives containers that request nothing upstream defaults when scoring', () => {
    assert.deepEqual(podNonZeroRequests({ containers: [c({}), c({ cpu: '1' })] }), { milliCPU: 1100, memory: 2 * 200 * 1024 * 1024 });
  });
});
