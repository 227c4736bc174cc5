import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultPullPolicy } from './pod.js';

test('imagePullPolicy defaults as upstream: Always for :latest or no tag, IfNotPresent otherwise', () => {
  assert.equal(defaultPullPolicy('nginx'), 'Always');
  assert.equal(defaultPullPolicy('nginx:latest'), 'Always');
  assert.equal(defaultPullPolicy('nginx:1.25'), 'IfNotPresent');
  assert.equal(defaultPullPolicy('registry.example.com:5000/team/app-x__y.z:v1'), 'IfNotPresent');
  assert.equal(defaultPullPolicy('registry.example.com:5000/team/app'), 'Always');
  assert.equal(defaultPullPolicy(`nginx@sha256:${'a'.repeat(64)}`), 'IfNotPresent');
  assert.equal(defaultPullPolicy('Not A Reference!'), 'IfNotPresent');
});

// A fuzzed image of many letters and a stray character once sent the reference pattern into
// exponential backtracking (and the server out of memory). Bounded so a regression fails, not hangs.
test('a long image name that does not parse is answered at once', { timeout: 20_000 }, () => {
  for (const image of ['a'.repeat(40) + '!', 'a'.repeat(5000) + '!', `${'ab-'.repeat(2000)}!`, `r.io/${'a_'.repeat(2000)}:`]) {
    assert.equal(defaultPullPolicy(image), 'IfNotPresent');
  }
});
