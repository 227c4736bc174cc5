import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { toApiError } from './http.js';
import { errors } from '../api/errors.js';
import { StoreError } from '../storage/store.js';

describe('toApiError', () => {
  it('keeps API errors as they are', () => {
    const e = errors.notFound('', 'configmaps', 'x');
    assert.equal(toApiError(e), e);
  });

  it('answers an unreachable store with a retryable 503, not a 500', () => {
    const e = toApiError(new StoreError('Unavailable', 'etcd is down'));
    assert.deepEqual([e.code, e.reason], [503, 'ServiceUnavailable']);
  });

  it('reports anything else as an internal error', () => {
    const orig = console.error;
    console.error = () => {};
    try {
      const e = toApiError(new TypeError('boom'));
      assert.deepEqual([e.code, e.reason], [500, 'InternalError']);
    } finally {
      console.error = orig;
    }
  });
});
