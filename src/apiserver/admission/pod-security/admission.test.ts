import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../../../api/types.js';
import type { ResourceRef } from '../../../client/interface.js';
import { InProcessClient } from '../../../client/in-process.js';
import { openSqliteStore } from '../../../storage/sqlite.js';
import { ApiServer } from '../../server.js';
import { newWriteContext } from '../../resource-store.js';
import { refusal, startInProcessCluster, type InProcessCluster } from '../../../../test/harness/in-process.js';

const NAMESPACES: ResourceRef = { group: '', version: 'v1', resource: 'namespaces' };
const PODS: ResourceRef = { group: '', version: 'v1', resource: 'pods' };
const SERVICE_ACCOUNTS: ResourceRef = { group: '', version: 'v1', resource: 'serviceaccounts' };
const DEPLOYMENTS: ResourceRef = { group: 'apps', version: 'v1', resource: 'deployments' };
const CRON_JOBS: ResourceRef = { group: 'batch', version: 'v1', resource: 'cronjobs' };

function pod(name: string, containerSecurity?: object, extra: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'nginx', securityContext: containerSecurity }], ...extra } };
}

/** A pod restricted:latest admits. */
function restrictedPod(name: string, image = 'nginx'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{ name: 'c', image, securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
    },
  };
}

function namespace(name: string, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

const PRIVILEGED_AT_RESTRICTED =
  'privileged (container "c" must not set securityContext.privileged=true), ' +
  'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), ' +
  'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), ' +
  'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), ' +
  'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")';

describe('PodSecurity admission', () => {
  let c: InProcessCluster;
  before(async () => {
    c = await startInProcessCluster('pod-security');
  });
  after(async () => c.stop());

  const entry = (group: string, version: string, resource: string) => c.server.registry.lookup(group, version, resource)!;

  it('an enforce=restricted namespace refuses a privileged pod with upstream message', async () => {
    await c.client.create(NAMESPACES, '', namespace('enf', { 'pod-security.kubernetes.io/enforce': 'restricted' }));
    const err = await refusal(c.client.create(PODS, 'enf', pod('priv', { privileged: true })));
    assert.equal(err.code, 403);
    assert.equal(err.reason, 'Forbidden');
    assert.equal(err.message, `pods "priv" is forbidden: violates PodSecurity "restricted:latest": ${PRIVILEGED_AT_RESTRICTED}`);
    assert.deepEqual(err.details, { name: 'priv', group: undefined, kind: 'pods' });
    // A pod that meets the standard is admitted, without warnings.
    const ctx = newWriteContext();
    await c.server.resources.create(entry('', 'v1', 'pods'), 'enf', restrictedPod('fine'), ctx);
    assert.deepEqual(ctx.warnings, []);
  });

  it('enforce at a pinned version names it', async () => {
    await c.client.create(NAMESPACES, '', namespace('pinned', { 'pod-security.kubernetes.io/enforce': 'baseline', 'pod-security.kubernetes.io/enforce-version': 'v1.23' }));
    const err = await refusal(c.client.create(PODS, 'pinned', pod('hostnet', undefined, { hostNetwork: true })));
    assert.equal(err.message, 'pods "hostnet" is forbidden: violates PodSecurity "baseline:v1.23": host namespaces (hostNetwork=true)');
  });

  it('warn level returns the Warning text and admits', async () => {
    await c.client.create(NAMESPACES, '', namespace('warned', { 'pod-security.kubernetes.io/warn': 'baseline' }));
    const ctx = newWriteContext();
    await c.server.resources.create(entry('', 'v1', 'pods'), 'warned', pod('priv', { privileged: true }), ctx);
    assert.deepEqual(ctx.warnings, ['would violate PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)']);
    await c.client.get(PODS, 'warned', 'priv');
  });

  it('pod controllers get warnings, never denials', async () => {
    await c.client.create(NAMESPACES, '', namespace('ctl', { 'pod-security.kubernetes.io/enforce': 'baseline' }));
    const deployment: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'd' } },
        template: { metadata: { labels: { app: 'd' } }, spec: { hostPID: true, containers: [{ name: 'c', image: 'nginx' }] } },
      },
    };
    const ctx = newWriteContext();
    await c.server.resources.create(entry('apps', 'v1', 'deployments'), 'ctl', deployment, ctx);
    assert.deepEqual(ctx.warnings, ['would violate PodSecurity "baseline:latest": host namespaces (hostPID=true)']);
    await c.client.get(DEPLOYMENTS, 'ctl', 'd');
    const cronJob: KubeObject = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'cj' },
      spec: { schedule: '* * * * *', suspend: true, jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox', securityContext: { privileged: true } }] } } } } },
    };
    const cctx = newWriteContext();
    await c.server.resources.create(entry('batch', 'v1', 'cronjobs'), 'ctl', cronJob, cctx);
    assert.deepEqual(cctx.warnings, ['would violate PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)']);
    await c.client.get(CRON_JOBS, 'ctl', 'cj');
  });

  it('labelling a namespace with a stricter enforce level warns about its existing pods', async () => {
    await c.client.create(NAMESPACES, '', namespace('existing'));
    await c.client.create(PODS, 'existing', pod('a-priv', { privileged: true }));
    await c.client.create(PODS, 'existing', pod('b-priv', { privileged: true }));
    await c.client.create(PODS, 'existing', pod('c-priv', { privileged: true }));
    await c.client.create(PODS, 'existing', pod('hostnet', undefined, { hostNetwork: true }));
    await c.client.create(PODS, 'existing', pod('plain'));
    const nsEntry = entry('', 'v1', 'namespaces');
    const ctx = newWriteContext();
    await c.server.resources.patch(nsEntry, '', 'existing', (cur) => ({ ...cur, metadata: { ...cur.metadata, labels: { ...cur.metadata?.labels, 'pod-security.kubernetes.io/enforce': 'baseline' } } }), ctx);
    assert.deepEqual(ctx.warnings, [
      'existing pods in namespace "existing" violate the new PodSecurity enforce level "baseline:latest"',
      'a-priv (and 2 other pods): privileged',
      'hostnet: host namespaces',
    ]);
    // Relaxing, or relabelling to the same level, checks nothing.
    const same = newWriteContext();
    await c.server.resources.patch(nsEntry, '', 'existing', (cur) => ({ ...cur, metadata: { ...cur.metadata, annotations: { touched: 'yes' } } }), same);
    assert.deepEqual(same.warnings, []);
    // The pods already there keep running: updates that change nothing the checks read are allowed.
    const existing = await c.client.get(PODS, 'existing', 'a-priv');
    existing.metadata!.labels = { touched: 'yes' };
    await c.client.update(PODS, 'existing', existing);
    // An image change is evaluated again.
    const again = await c.client.get(PODS, 'existing', 'a-priv');
    again.spec.containers[0].image = 'nginx:2';
    const err = await refusal(c.client.update(PODS, 'existing', again));
    assert.equal(err.message, 'pods "a-priv" is forbidden: violates PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)');
  });

  it('the namespace check is bounded in pods', async () => {
    const { PodSecurityAdmission } = await import('./admission.js');
    const plugin = new PodSecurityAdmission(c.store, c.server.cache, { namespaceMaxPodsToCheck: 2 });
    const nsEntry = entry('', 'v1', 'namespaces');
    const old = await c.client.get(NAMESPACES, '', 'existing');
    const warnings: string[] = [];
    await plugin.validate({
      entry: nsEntry,
      dryRun: false,
      operation: 'UPDATE',
      namespace: 'existing',
      name: 'existing',
      subresource: '',
      warnings,
      old,
      obj: { ...old, metadata: { ...old.metadata, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } },
    });
    assert.equal(warnings[0], 'new PodSecurity enforce level only checked against the first 2 of 5 existing pods');
    assert.equal(warnings[1], 'existing pods in namespace "existing" violate the new PodSecurity enforce level "restricted:latest"');
  });

  it('invalid labels are refused on create and when changed', async () => {
    const err = await refusal(c.client.create(NAMESPACES, '', namespace('bad', { 'pod-security.kubernetes.io/enforce': 'strict', 'pod-security.kubernetes.io/warn-version': '1.30' })));
    assert.equal(err.code, 422);
    assert.equal(
      err.message,
      'Namespace "bad" is invalid: [metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted, metadata.labels[pod-security.kubernetes.io/warn-version]: Invalid value: "1.30": must be "latest" or "v1.x"]',
    );
    await c.client.create(NAMESPACES, '', namespace('good'));
    const ns = await c.client.get(NAMESPACES, '', 'good');
    ns.metadata!.labels = { ...ns.metadata!.labels, 'pod-security.kubernetes.io/audit': 'everything' };
    const upd = await refusal(c.client.update(NAMESPACES, '', ns));
    assert.equal(upd.message, 'Namespace "good" is invalid: metadata.labels[pod-security.kubernetes.io/audit]: Invalid value: "everything": must be one of privileged, baseline, restricted');
  });

  it('unlabelled namespaces are privileged by default: nothing is refused or warned about', async () => {
    const ctx = newWriteContext();
    await c.server.resources.create(entry('', 'v1', 'pods'), 'default', pod('root', { privileged: true }, { hostNetwork: true }), ctx);
    assert.deepEqual(ctx.warnings, []);
  });
});

describe('PodSecurity configuration: defaults, exemptions, audit annotations', () => {
  let dir: string;
  let server: ApiServer;
  let close: () => Promise<void>;
  const audits: { resource: string; annotations: Record<string, string> }[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skiff-pod-security-config-'));
    const store = await openSqliteStore(join(dir, 'state.db'));
    server = new ApiServer({
      store,
      podSecurity: {
        configuration: { defaults: { enforce: 'baseline', audit: 'restricted' }, exemptions: { namespaces: ['free'], usernames: ['trusted'], runtimeClasses: ['kata'] } },
        onAuditAnnotations: (a, annotations) => audits.push({ resource: a.entry.plural, annotations }),
      },
    });
    await server.start();
    close = async () => {
      await server.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    };
    const client = new InProcessClient(server);
    for (const ns of ['free', 'cfg']) {
      await client.create(NAMESPACES, '', namespace(ns));
      await client.create(SERVICE_ACCOUNTS, ns, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
    }
  });
  after(async () => close());

  it('the configured defaults apply to unlabelled namespaces, and audit annotations record the decision', async () => {
    const client = new InProcessClient(server);
    audits.length = 0;
    const err = await refusal(client.create(PODS, 'cfg', pod('p', { privileged: true })));
    assert.equal(err.message, 'pods "p" is forbidden: violates PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)');
    assert.deepEqual(audits, [
      {
        resource: 'pods',
        annotations: {
          'pod-security.kubernetes.io/enforce-policy': 'baseline:latest',
          'pod-security.kubernetes.io/audit-violations': `would violate PodSecurity "restricted:latest": ${PRIVILEGED_AT_RESTRICTED}`,
        },
      },
    ]);
  });

  it('exempt namespaces, users and RuntimeClasses are not evaluated', async () => {
    audits.length = 0;
    await new InProcessClient(server).create(PODS, 'free', pod('p', { privileged: true }));
    await new InProcessClient(server, { user: { name: 'trusted', groups: ['system:masters', 'system:authenticated'] } }).create(PODS, 'cfg', pod('t', { privileged: true }));
    await new InProcessClient(server).create(PODS, 'cfg', pod('k', { privileged: true }, { runtimeClassName: 'kata' }));
    assert.deepEqual(
      audits.map((a) => a.annotations['pod-security.kubernetes.io/exempt']),
      ['namespace', 'user', 'runtimeClass'],
    );
  });

  it('an exempt namespace asking for a policy is told it is ignored', async () => {
    const ctx = newWriteContext();
    const nsEntry = server.registry.lookup('', 'v1', 'namespaces')!;
    await server.resources.patch(nsEntry, '', 'free', (cur) => ({ ...cur, metadata: { ...cur.metadata, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } }), ctx);
    assert.deepEqual(ctx.warnings, ['namespace "free" is exempt from Pod Security, and the policy (enforce=restricted:latest) will be ignored']);
  });
});
