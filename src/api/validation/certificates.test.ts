import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { KubeObject } from '../types.js';
import { InProcessClient } from '../../client/in-process.js';
import { createCertificateRequest } from '../../pki/issue.js';
import { CSRS } from '../../controllers/certificates/csr.js';
import { refusal, startInProcessCluster, type InProcessCluster } from '../../../test/harness/in-process.js';

let cluster: InProcessCluster;
let pem: string;
before(async () => {
  cluster = await startInProcessCluster('csr-strategy', { serviceAccounts: false });
  pem = (await createCertificateRequest({ commonName: 'system:node:n1', organizations: ['system:nodes'] })).csr;
});
after(() => cluster.stop());

function csr(name: string, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { name },
    spec: { request: Buffer.from(pem).toString('base64'), signerName: 'kubernetes.io/kube-apiserver-client-kubelet', usages: ['digital signature', 'client auth'], ...spec },
  };
}

test('a CSR records who asked, whatever the body claims, and drops any status', async () => {
  const alice = new InProcessClient(cluster.server, { user: { name: 'alice', uid: 'u-1', groups: ['devs', 'system:authenticated'] } });
  const made = await alice.create(CSRS, '', { ...csr('who'), spec: { ...csr('who').spec, username: 'mallory', groups: ['system:masters'] }, status: { certificate: 'Zm9v' } });
  assert.equal(made.spec!.username, 'alice');
  assert.equal(made.spec!.uid, 'u-1');
  assert.deepEqual(made.spec!.groups, ['devs', 'system:authenticated']);
  assert.equal(made.status, undefined);
});

test('bad requests, signer names, usages and durations are refused as upstream', async () => {
  const bad = await refusal(cluster.client.create(CSRS, '', csr('bad', { request: Buffer.from('nope').toString('base64'), signerName: 'nodomain', usages: [], expirationSeconds: 60 })));
  assert.equal(bad.code, 422);
  const messages = (bad.details?.causes ?? []).map((c) => `${c.field}: ${c.message}`);
  assert.ok(messages.some((m) => m.startsWith('spec.request:') && m.includes('PEM block type must be CERTIFICATE REQUEST')), messages.join('\n'));
  assert.ok(messages.includes('spec.usages: Required value: usages must be provided'), messages.join('\n'));
  assert.ok(messages.some((m) => m.startsWith('spec.signerName:') && m.includes("example.com/signer-name")), messages.join('\n'));
  assert.ok(messages.includes('spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 600 seconds (10 minutes)'), messages.join('\n'));
  const noSigner = await refusal(cluster.client.create(CSRS, '', csr('nosigner', { signerName: '' })));
  assert.ok(noSigner.message.includes('spec.signerName: Required value'));
});

test('the spec never changes; approval goes through /approval, where Approved and Denied exclude each other', async () => {
  await cluster.client.create(CSRS, '', csr('appr'));
  const cur = await cluster.client.get(CSRS, '', 'appr');
  const updated = await cluster.client.update(CSRS, '', { ...cur, spec: { ...cur.spec, usages: ['client auth'] } });
  assert.deepEqual(updated.spec!.usages, ['digital signature', 'client auth']);

  const both = await refusal(
    cluster.client.update(CSRS, '', { ...updated, status: { conditions: [{ type: 'Approved', status: 'True' }, { type: 'Denied', status: 'True' }] } }, { subresource: 'approval' }),
  );
  assert.ok(both.message.includes('Approved and Denied conditions are mutually exclusive'), both.message);

  const approved = await cluster.client.update(CSRS, '', { ...updated, status: { conditions: [{ type: 'Approved', status: 'True', reason: 'KubectlApprove', message: 'ok' }], certificate: 'Zm9v' } }, { subresource: 'approval' });
  assert.equal(approved.status!.conditions[0].type, 'Approved');
  assert.ok(approved.status!.conditions[0].lastUpdateTime);
  assert.equal(approved.status!.certificate, undefined, 'approval writes only conditions');

  const notPem = await refusal(cluster.client.update(CSRS, '', { ...approved, status: { ...approved.status, certificate: Buffer.from('junk').toString('base64') } }, { subresource: 'status' }));
  assert.ok(notPem.message.includes('must contain at least one CERTIFICATE PEM block'), notPem.message);
});

test('kubectl get csr columns come from the CSR', async () => {
  const t = cluster.server.registry.lookup('certificates.k8s.io', 'v1', 'certificatesigningrequests');
  assert.ok(t);
  assert.deepEqual(t.shortNames, ['csr']);
  assert.equal(t.namespaced, false);
});
