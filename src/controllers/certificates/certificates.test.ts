import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { KubeObject } from '../../api/types.js';
import { InProcessClient } from '../../client/in-process.js';
import { SharedInformers } from '../../client/shared-informers.js';
import { newControllerContext } from '../context.js';
import { createCa, createCertificateRequest, type KeyPair } from '../../pki/issue.js';
import { CsrApprovingController } from './approver.js';
import { CsrSigningController } from './signer.js';
import { CSRS } from './csr.js';
import { CountingClient, eventually, startInProcessCluster, type InProcessCluster } from '../../../test/harness/in-process.js';

let cluster: InProcessCluster;
let ca: KeyPair;
before(async () => {
  cluster = await startInProcessCluster('csr-controllers', { serviceAccounts: false });
  ca = await createCa('csr-test-ca');
});
after(() => cluster.stop());

async function csrFor(name: string, cn: string, opts: { org?: string[]; usages?: string[]; signer?: string; expirationSeconds?: number } = {}): Promise<KubeObject> {
  const { csr } = await createCertificateRequest({ commonName: cn, organizations: opts.org ?? ['system:nodes'] });
  return {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { name },
    spec: {
      request: Buffer.from(csr).toString('base64'),
      signerName: opts.signer ?? 'kubernetes.io/kube-apiserver-client-kubelet',
      usages: opts.usages ?? ['digital signature', 'client auth'],
      ...(opts.expirationSeconds ? { expirationSeconds: opts.expirationSeconds } : {}),
    },
  };
}

/** What the approver's SubjectAccessReviews ask, as the test's authorizer sees it. */
interface AccessCheck {
  user: string;
  groups: string[];
  verb: string;
  group: string;
  resource: string;
  subresource: string;
}

test('node client CSRs from an allowed bootstrapper and from the node itself are approved and signed; others wait or fail', async (t) => {
  const checks: AccessCheck[] = [];
  // The bootstrappers may create nodeclient CSRs; nodes may create selfnodeclient ones.
  const authorize = (c: AccessCheck) => {
    checks.push(c);
    return (c.subresource === 'nodeclient' && c.groups.includes('system:bootstrappers')) || (c.subresource === 'selfnodeclient' && c.groups.includes('system:nodes'));
  };
  // The approver asks through SubjectAccessReviews, which the server's authorizer answers: the
  // same rule, everything else allowed (the clients below must be able to create their CSRs).
  const previous = cluster.server.authorizer;
  cluster.server.authorizer = {
    authorize: (a) =>
      a.resource === 'certificatesigningrequests' && (a.subresource === 'nodeclient' || a.subresource === 'selfnodeclient')
        ? { decision: authorize({ user: a.user.name, groups: a.user.groups, verb: a.verb, group: a.apiGroup, resource: a.resource, subresource: a.subresource }) ? 'Allow' : 'NoOpinion', reason: '' }
        : { decision: 'Allow', reason: '' },
  };
  t.after(() => {
    cluster.server.authorizer = previous;
  });
  const client = new CountingClient(cluster.server);
  const informers = new SharedInformers(client);
  const ctx = newControllerContext(client, informers);
  const approver = new CsrApprovingController(ctx, { retryBaseDelayMs: 1000 });
  const signer = new CsrSigningController(ctx, { ca, signingDurationMs: 7 * 24 * 3600_000 });
  informers.start();
  await Promise.all([approver.start(), signer.start()]);

  const bootstrapper = new InProcessClient(cluster.server, { user: { name: 'system:bootstrap:abcdef', groups: ['system:bootstrappers', 'system:authenticated'] } });
  const node = new InProcessClient(cluster.server, { user: { name: 'system:node:n2', groups: ['system:nodes', 'system:authenticated'] } });
  const stranger = new InProcessClient(cluster.server, { user: { name: 'eve', groups: ['system:authenticated'] } });
  await bootstrapper.create(CSRS, '', await csrFor('boot', 'system:node:n1', { expirationSeconds: 3600 }));
  await node.create(CSRS, '', await csrFor('renew', 'system:node:n2'));
  await stranger.create(CSRS, '', await csrFor('eve', 'system:node:n3'));
  await stranger.create(CSRS, '', await csrFor('apiclient', 'eve', { org: ['devs'], signer: 'kubernetes.io/kube-apiserver-client' }));

  const signed = async (name: string) => {
    const c = await cluster.client.get(CSRS, '', name);
    return c.status?.certificate ? c : undefined;
  };
  const boot = await eventually('the bootstrap CSR to be signed', () => signed('boot'));
  const approved = boot.status!.conditions.find((c: { type: string }) => c.type === 'Approved');
  assert.equal(approved.reason, 'AutoApproved');
  assert.equal(approved.message, 'Auto approving kubelet client certificate after SubjectAccessReview.');
  const cert = new X509Certificate(Buffer.from(boot.status!.certificate, 'base64'));
  assert.ok(cert.verify(new X509Certificate(ca.cert).publicKey));
  assert.equal(cert.subject, 'O=system:nodes\nCN=system:node:n1');
  // min(expirationSeconds, signing duration), backdated five minutes.
  assert.equal(Date.parse(cert.validTo) - Date.parse(cert.validFrom), 3600_000 + 300_000);

  const renew = await eventually('the renewal CSR to be signed', () => signed('renew'));
  assert.equal(renew.status!.conditions[0].message, 'Auto approving self kubelet client certificate after SubjectAccessReview.');
  const renewCert = new X509Certificate(Buffer.from(renew.status!.certificate, 'base64'));
  assert.equal(Date.parse(renewCert.validTo) - Date.parse(renewCert.validFrom), 7 * 24 * 3600_000 + 300_000);

  // eve may not: her CSR stays pending; nothing auto-approves a kube-apiserver-client CSR.
  await new Promise((r) => setTimeout(r, 100));
  assert.equal((await cluster.client.get(CSRS, '', 'eve')).status?.conditions, undefined);
  assert.ok(checks.some((c) => c.user === 'eve' && c.subresource === 'nodeclient'));
  const pending = await cluster.client.get(CSRS, '', 'apiclient');
  assert.equal(pending.status?.conditions, undefined);

  // Approved by hand, it is signed; an approved kubelet CSR with wrong usages fails instead.
  await cluster.client.update(CSRS, '', { ...pending, status: { conditions: [{ type: 'Approved', status: 'True', reason: 'KubectlApprove', message: 'This CSR was approved by kubectl certificate approve.' }] } }, { subresource: 'approval' });
  await eventually('the approved client CSR to be signed', () => signed('apiclient'));
  const bad = await cluster.client.create(CSRS, '', await csrFor('bad', 'system:node:n4', { usages: ['server auth'] }));
  await cluster.client.update(CSRS, '', { ...bad, status: { conditions: [{ type: 'Approved', status: 'True', reason: 'KubectlApprove', message: 'by hand' }] } }, { subresource: 'approval' });
  const failed = await eventually('the bad CSR to fail', async () => {
    const c = await cluster.client.get(CSRS, '', 'bad');
    return c.status?.conditions?.find((x: { type: string }) => x.type === 'Failed');
  });
  assert.equal(failed.reason, 'SignerValidationFailure');

  // Level-based: looking at everything again writes nothing.
  const writes = client.writes;
  for (const name of ['boot', 'renew', 'eve', 'apiclient', 'bad']) {
    approver['queue'].add(name);
    signer['queue'].add(name);
  }
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(client.writes, writes);
  await Promise.all([approver.stop(), signer.stop()]);
  informers.stop();
});

test('the cleaner deletes pending CSRs after a day and decided ones an hour after the decision', async () => {
  const { cleanupTime, CsrCleaner } = await import('./cleaner.js');
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const meta = { name: 'x', creationTimestamp: '2026-01-01T00:00:00Z' };
  assert.equal(cleanupTime({ metadata: meta }), t0 + 24 * 3600_000);
  assert.equal(cleanupTime({ metadata: meta, status: { conditions: [{ type: 'Denied', status: 'True', lastUpdateTime: '2026-01-01T01:00:00Z' }] } }), t0 + 2 * 3600_000);
  assert.equal(cleanupTime({ metadata: meta, status: { conditions: [{ type: 'Approved', status: 'True', lastUpdateTime: '2026-01-01T00:10:00Z' }] } }), Infinity, 'approved, waiting for its certificate');

  const informers = new SharedInformers(cluster.client);
  // A clock a day ahead: every pending CSR is due.
  const ctx = newControllerContext(cluster.client, informers, { now: () => Date.now() + 25 * 3600_000 });
  const cleaner = new CsrCleaner(ctx);
  await cluster.client.create(CSRS, '', await csrFor('stale', 'someone', { org: ['devs'], signer: 'example.com/x', usages: ['client auth'] }));
  informers.start();
  await cleaner.start();
  await eventually('the stale CSR to go', async () => !(await cluster.client.list(CSRS, '')).items.some((c) => c.metadata?.name === 'stale'));
  await cleaner.stop();
  informers.stop();
});
