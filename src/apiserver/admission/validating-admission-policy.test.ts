import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../api/errors.js';
import type { KubeObject } from '../../api/types.js';
import type { ResourceRef } from '../../client/interface.js';
import { newWriteContext } from '../resource-store.js';
import { eventually, startInProcessCluster, type InProcessCluster } from '../../../test/harness/in-process.js';

const POLICIES: ResourceRef = { group: 'admissionregistration.k8s.io', version: 'v1', resource: 'validatingadmissionpolicies' };
const BINDINGS: ResourceRef = { group: 'admissionregistration.k8s.io', version: 'v1', resource: 'validatingadmissionpolicybindings' };
const DEPLOYMENTS: ResourceRef = { group: 'apps', version: 'v1', resource: 'deployments' };
const NAMESPACES: ResourceRef = { group: '', version: 'v1', resource: 'namespaces' };
const CONFIGMAPS: ResourceRef = { group: '', version: 'v1', resource: 'configmaps' };

function deployment(name: string, replicas: number, labels: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
    },
  };
}

const deploymentRules = { resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['deployments'] }] };

async function rejection(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  assert.fail('expected the write to be refused');
}

describe('ValidatingAdmissionPolicy', () => {
  let c: InProcessCluster;
  before(async () => {
    c = await startInProcessCluster('vap');
    for (const [name, env] of [['test-a', 'test'], ['prod-a', 'prod'], ['params', 'x'], ['warn-a', 'warn'], ['errs', 'errs']]) {
      await c.client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { env } } });
    }
  });
  after(async () => c.stop());

  test('policies and bindings are defaulted and validated', async () => {
    const p = await c.client.create(POLICIES, '', {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: 'defaults' },
      spec: { matchConstraints: deploymentRules, validations: [{ expression: 'true' }] },
    });
    assert.equal(p.spec.failurePolicy, 'Fail');
    assert.deepEqual(p.spec.matchConstraints.namespaceSelector, {});
    assert.deepEqual(p.spec.matchConstraints.objectSelector, {});
    assert.equal(p.spec.matchConstraints.matchPolicy, 'Equivalent');
    assert.equal(p.spec.matchConstraints.resourceRules[0].scope, '*');

    const bad = await rejection(
      c.client.create(POLICIES, '', {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicy',
        metadata: { name: 'bad' },
        spec: { matchConstraints: deploymentRules, validations: [{ expression: 'object.spec.replicas <=' }, { expression: '' }] },
      }),
    );
    assert.equal(bad.code, 422);
    const fields = bad.details?.causes?.map((x) => x.field);
    assert.deepEqual(fields, ['spec.validations[0].expression', 'spec.validations[1].expression']);
    assert.match(bad.details!.causes![0].message!, /compilation failed: ERROR: <input>:1:/);
    assert.equal(bad.details!.causes![1].message, 'Required value: expression is not specified');

    const empty = await rejection(
      c.client.create(POLICIES, '', { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: { name: 'empty' }, spec: {} }),
    );
    assert.deepEqual(
      empty.details?.causes?.map((x) => `${x.field}: ${x.message}`),
      [
        'spec.matchConstraints: Required value',
        'spec.validations: Required value: validations or auditAnnotations must contain at least one item',
        'spec.auditAnnotations: Required value: validations or auditAnnotations must contain at least one item',
      ],
    );

    const binding = (name: string, spec: Record<string, unknown>) =>
      c.client.create(BINDINGS, '', { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', metadata: { name }, spec });
    const both = await rejection(binding('both', { policyName: 'defaults', validationActions: ['Deny', 'Warn'] }));
    assert.match(both.message, /spec\.validationActions: Invalid value: .*must not contain both Deny and Warn/);
    const none = await rejection(binding('none', { policyName: 'defaults' }));
    assert.match(none.message, /spec\.validationActions: Required value: at least one validation action is required/);
    const ref = await rejection(binding('ref', { policyName: 'defaults', validationActions: ['Deny'], paramRef: { name: 'a', selector: {} } }));
    assert.match(ref.message, /spec\.paramRef\.name: Forbidden: name and selector are mutually exclusive/);
    const ok = await binding('defaults-binding', { policyName: 'defaults', validationActions: ['Audit'], paramRef: { name: 'x' }, matchResources: {} });
    assert.equal(ok.spec.paramRef.parameterNotFoundAction, 'Deny');
    assert.equal(ok.spec.matchResources.matchPolicy, 'Equivalent');
  });

  test('denies Deployments with more than 5 replicas in namespaces labelled env=test', async () => {
    await c.client.create(POLICIES, '', {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: 'max-replicas' },
      spec: { failurePolicy: 'Fail', matchConstraints: deploymentRules, validations: [{ expression: 'object.spec.replicas <= 5' }] },
    });
    await c.client.create(BINDINGS, '', {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: 'max-replicas-test' },
      spec: { policyName: 'max-replicas', validationActions: ['Deny'], matchResources: { namespaceSelector: { matchLabels: { env: 'test' } } } },
    });
    const err = await eventually('the policy to deny', async () => {
      try {
        await c.client.create(DEPLOYMENTS, 'test-a', deployment(`big-${Math.random().toString(36).slice(2, 7)}`, 6));
        return undefined;
      } catch (e) {
        return e as ApiError;
      }
    });
    assert.equal(err.code, 422);
    assert.equal(err.reason, 'Invalid');
    assert.match(err.message, /^deployments\.apps "big-\w+" is forbidden: ValidatingAdmissionPolicy 'max-replicas' with binding 'max-replicas-test' denied request: failed expression: object\.spec\.replicas <= 5$/);
    assert.deepEqual(err.details?.causes?.map((x) => x.message), [err.message.slice(err.message.indexOf('ValidatingAdmissionPolicy'))]);
    // Within the limit, or in another namespace: admitted.
    await c.client.create(DEPLOYMENTS, 'test-a', deployment('small', 5));
    await c.client.create(DEPLOYMENTS, 'prod-a', deployment('big', 6));
    // Updates are checked too.
    const upd = await rejection(c.client.patch(DEPLOYMENTS, 'test-a', 'small', 'application/merge-patch+json', { spec: { replicas: 9 } }));
    assert.equal(upd.code, 422);
  });

  test('Warn adds a warning and admits the write', async () => {
    await c.client.create(POLICIES, '', {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: 'labelled' },
      spec: {
        matchConstraints: deploymentRules,
        validations: [{ expression: "has(object.metadata.labels) && 'team' in object.metadata.labels", messageExpression: "'deployment ' + object.metadata.name + ' has no team label'", reason: 'Forbidden' }],
      },
    });
    await c.client.create(BINDINGS, '', {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: 'labelled-warn' },
      spec: { policyName: 'labelled', validationActions: ['Warn'], matchResources: { namespaceSelector: { matchLabels: { env: 'warn' } } } },
    });
    const entry = c.server.registry.lookup('apps', 'v1', 'deployments')!;
    const ctx = newWriteContext();
    await eventually('the warning', async () => {
      ctx.warnings.length = 0;
      await c.server.resources.create(entry, 'warn-a', deployment(`w-${Math.random().toString(36).slice(2, 7)}`, 1), ctx);
      return ctx.warnings.length > 0;
    });
    assert.match(ctx.warnings[0], /^Validation failed for ValidatingAdmissionPolicy 'labelled' with binding 'labelled-warn': deployment w-\w+ has no team label$/);
    const quiet = newWriteContext();
    await c.server.resources.create(entry, 'warn-a', deployment('teamed', 1, { team: 'a' }), quiet);
    assert.deepEqual(quiet.warnings, []);
  });

  test('params come from a ConfigMap named by the binding; a missing one is denied', async () => {
    await c.client.create(POLICIES, '', {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: 'replica-limit' },
      spec: {
        paramKind: { apiVersion: 'v1', kind: 'ConfigMap' },
        matchConstraints: deploymentRules,
        variables: [{ name: 'limit', expression: 'int(params.data.maxReplicas)' }],
        validations: [{ expression: 'object.spec.replicas <= variables.limit', messageExpression: "'replicas must be at most ' + string(variables.limit)" }],
      },
    });
    await c.client.create(BINDINGS, '', {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: 'replica-limit-params' },
      spec: {
        policyName: 'replica-limit',
        validationActions: ['Deny'],
        paramRef: { name: 'limits', parameterNotFoundAction: 'Deny' },
        matchResources: { namespaceSelector: { matchLabels: { env: 'x' } } },
      },
    });
    const missing = await eventually('the missing params to deny', async () => {
      try {
        await c.client.create(DEPLOYMENTS, 'params', deployment(`m-${Math.random().toString(36).slice(2, 7)}`, 1));
        return undefined;
      } catch (e) {
        return e as ApiError;
      }
    });
    assert.match(missing.message, /denied request: no params found for policy binding with `Deny` parameterNotFoundAction$/);
    await c.client.create(CONFIGMAPS, 'params', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'limits' }, data: { maxReplicas: '3' } });
    const over = await eventually('the params to be read', async () => {
      try {
        await c.client.create(DEPLOYMENTS, 'params', deployment(`p-${Math.random().toString(36).slice(2, 7)}`, 4));
        return undefined;
      } catch (e) {
        return /replicas must be at most 3$/.test((e as Error).message) ? (e as ApiError) : undefined;
      }
    });
    assert.equal(over.code, 422);
    await c.client.create(DEPLOYMENTS, 'params', deployment('within', 3));
  });

  test('failurePolicy: Fail denies on a runtime error, Ignore admits', async () => {
    for (const [name, failurePolicy] of [['errs-fail', 'Fail'], ['errs-ignore', 'Ignore']]) {
      await c.client.create(POLICIES, '', {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicy',
        metadata: { name },
        spec: {
          failurePolicy,
          matchConstraints: deploymentRules,
          matchConditions: [{ name: 'only-labelled', expression: `has(object.metadata.labels) && object.metadata.labels['policy'] == '${name}'` }],
          validations: [{ expression: 'object.spec.noSuchField > 1' }],
        },
      });
      await c.client.create(BINDINGS, '', {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicyBinding',
        metadata: { name },
        spec: { policyName: name, validationActions: ['Deny'], matchResources: { namespaceSelector: { matchLabels: { env: 'errs' } } } },
      });
    }
    const err = await eventually('the Fail policy to deny', async () => {
      try {
        await c.client.create(DEPLOYMENTS, 'errs', deployment(`f-${Math.random().toString(36).slice(2, 7)}`, 1, { policy: 'errs-fail' }));
        return undefined;
      } catch (e) {
        return e as ApiError;
      }
    });
    assert.match(err.message, /ValidatingAdmissionPolicy 'errs-fail' with binding 'errs-fail' denied request: expression 'object\.spec\.noSuchField > 1' resulted in error: no such key: noSuchField$/);
    // Give the Ignore binding time to reach the cache: a Fail one created after it is already seen.
    await c.client.create(DEPLOYMENTS, 'errs', deployment('ignored', 1, { policy: 'errs-ignore' }));
    // matchConditions leave unlabelled deployments alone.
    await c.client.create(DEPLOYMENTS, 'errs', deployment('unlabelled', 1));
  });

  test('DELETE goes through policies that ask for it', async () => {
    await c.client.create(CONFIGMAPS, 'prod-a', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'keep', labels: { protected: 'true' } } });
    await c.client.create(POLICIES, '', {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: 'no-delete' },
      spec: {
        matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['DELETE'], resources: ['configmaps'] }], objectSelector: { matchLabels: { protected: 'true' } } },
        validations: [{ expression: "request.operation != 'DELETE' || request.userInfo.username == 'nobody'", message: 'protected', reason: 'Forbidden' }],
      },
    });
    await c.client.create(BINDINGS, '', {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: 'no-delete' },
      spec: { policyName: 'no-delete', validationActions: ['Deny'] },
    });
    const err = await eventually('the delete to be denied', async () => {
      try {
        await c.client.create(CONFIGMAPS, 'prod-a', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `d-${Math.random().toString(36).slice(2, 7)}`, labels: { protected: 'true' } } });
        await c.client.delete(CONFIGMAPS, 'prod-a', 'keep');
        return undefined;
      } catch (e) {
        return e as ApiError;
      }
    });
    assert.equal(err.code, 403);
    assert.equal(err.message, `configmaps "keep" is forbidden: ValidatingAdmissionPolicy 'no-delete' with binding 'no-delete' denied request: protected`);
  });
});
