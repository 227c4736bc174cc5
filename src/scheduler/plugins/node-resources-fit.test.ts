import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CycleState } from '../framework.js';
import { TestCluster, pending } from '../testing.js';
import { newBalancedAllocation } from './balanced-allocation.js';
import { newNodeResourcesFit } from './node-resources-fit.js';

const fit = newNodeResourcesFit();
const balanced = newBalancedAllocation();
const state = new CycleState();

describe('NodeResourcesFit', () => {
  it('fits a pod in what the node has left, and names what is short', () => {
    const c = new TestCluster();
    const n = c.addNode('n1', { cpu: '2', memory: '4Gi', pods: 3 });
    c.addPod('n1', 'a', { cpu: '1500m', memory: '1Gi' });
    assert.equal(fit.filter(state, pending('p', { cpu: '500m', memory: '3Gi' }), n), null);
    assert.deepEqual(fit.filter(state, pending('p', { cpu: '501m' }), n)?.reasons, ['Insufficient cpu']);
    assert.deepEqual(fit.filter(state, pending('p', { cpu: '1', memory: '4Gi' }), n)?.reasons, ['Insufficient cpu', 'Insufficient memory']);
    assert.equal(fit.filter(state, pending('p', { cpu: '1' }), n)?.plugin, 'NodeResourcesFit');
  });

  it('counts pods against allocatable pods, even for pods that request nothing', () => {
    const c = new TestCluster();
    const n = c.addNode('n1', { pods: 2 });
    c.addPod('n1', 'a');
    assert.equal(fit.filter(state, pending('p'), n), null);
    c.addPod('n1', 'b');
    assert.deepEqual(fit.filter(state, pending('p'), n)?.reasons, ['Too many pods']);
    assert.deepEqual(fit.filter(state, pending('p', { cpu: '8' }), n)?.reasons, ['Too many pods', 'Insufficient cpu']);
  });

  it('checks ephemeral-storage and extended resources', () => {
    const c = new TestCluster();
    const n = c.addNode('n1', { ephemeralStorage: '10Gi', extended: { 'example.com/gpu': '1' } });
    assert.equal(fit.filter(state, pending('p', { requests: { 'example.com/gpu': '1', 'ephemeral-storage': '10Gi' } }), n), null);
    assert.deepEqual(fit.filter(state, pending('p', { requests: { 'example.com/gpu': '2' } }), n)?.reasons, ['Insufficient example.com/gpu']);
    assert.deepEqual(fit.filter(state, pending('p', { requests: { 'example.com/fpga': '1', 'ephemeral-storage': '11Gi' } }), n)?.reasons, [
      'Insufficient ephemeral-storage',
      'Insufficient example.com/fpga',
    ]);
  });

  it('scores LeastAllocated: the emptier node scores higher, defaults counted for pods without requests', () => {
    const c = new TestCluster();
    const empty = c.addNode('empty', { cpu: '4', memory: '16Gi' });
    const busy = c.addNode('busy', { cpu: '4', memory: '16Gi' });
    c.addPod('busy', 'a', { cpu: '2', memory: '8Gi' });
    const p = pending('p', { cpu: '1', memory: '4Gi' });
    assert.equal(fit.score(state, p, empty), 75);
    assert.equal(fit.score(state, p, busy), 25);
    // 100m and 200Mi when nothing is requested: cpu (4000-100)/4000 -> 97, memory -> 98.
    assert.equal(fit.score(state, pending('q'), empty), 97);
  });
});

describe('NodeResourcesBalancedAllocation', () => {
  it('prefers nodes whose cpu and memory shares stay even', () => {
    const c = new TestCluster();
    const n = c.addNode('n1', { cpu: '4', memory: '16Gi' });
    assert.equal(balanced.score(state, pending('p', { cpu: '2', memory: '8Gi' }), n), 100);
    // shares 0.5 and 0.25: std 0.125
    assert.equal(balanced.score(state, pending('p', { cpu: '2', memory: '4Gi' }), n), 87);
    // shares cap at 1
    assert.equal(balanced.score(state, pending('p', { cpu: '8' }), n), 50);
  });
});
