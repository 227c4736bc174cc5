import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { KubeObject } from '../../api/types.js';
import { InProcessClient } from '../../client/in-process.js';
import { createCertificateRequest } from '../../pki/issue.js';
import { CSRS } from '../../controllers/certificates/csr.js';
import { ALLOW, type AuthorizationResult } from '../authz/types.js';
import { refusal, startInProcessCluster, type InProcessCluster } from '../../../test/harness/in-process.js';

let cluster: InProcessCluster;
before(async () => {
  cluster = await startInProcessCluster('csr-admission', { serviceAccounts: false });
  // Everyone may do everything but approve or sign: only `approver` may approve signers of example.com.
  cluster.server.authorizer = {
    authorize(a): AuthorizationResult {
      if (a.resource !== 'signers') return ALLOW;
      return a.user.name === 'approver' && a.verb === 'approve' && a.name === 'example.com/*' ? ALLOW : { decision: 'NoOpinion', reason: '' };
    },
  };
});
after(() => cluster.stop());

async function csr(name: string, signerName: string, org = 'devs'): Promise<KubeObject> {
  const { csr: pem } = await createCertificateRequest({ commonName: name, organizations: [org] });
  return { apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', metadata: { name }, spec: { request: Buffer.from(pem).toString('base64'), signerName, usages: ['client auth'] } };
}

const user = (name: string) => new InProcessClient(cluster.server, { user: { name, groups: ['system:authenticated'] } });
const approve = (c: KubeObject) => ({ ...c, status: { conditions: [{ type: 'Approved', status: 'True', reason: 'R', message: 'm' }] } });

test('approving needs approve on the signer (or its domain); signing needs sign; status writes cannot touch the decision', async () => {
  const made = await cluster.client.create(CSRS, '', await csr('one', 'example.com/widgets'));
  const refused = await refusal(user('nobody').update(CSRS, '', approve(made), { subresource: 'approval' }));
  assert.equal(refused.code, 403);
  assert.equal(refused.message, 'certificatesigningrequests.certificates.k8s.io "one" is forbidden: user not permitted to approve requests with signerName "example.com/widgets"');
  const approved = await user('approver').update(CSRS, '', approve(made), { subresource: 'approval' });

  const cert = Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n').toString('base64');
  const noSign = await refusal(user('approver').update(CSRS, '', { ...approved, status: { ...approved.status, certificate: cert } }, { subresource: 'status' }));
  assert.equal(noSign.message, 'certificatesigningrequests.certificates.k8s.io "one" is forbidden: user not permitted to sign requests with signerName "example.com/widgets"');

  // A status write that drops Approved and adds a condition of its own keeps Approved.
  const after = await cluster.client.update(CSRS, '', { ...approved, status: { conditions: [{ type: 'Failed', status: 'True', reason: 'X', message: 'y' }] } }, { subresource: 'status' });
  assert.deepEqual(after.status!.conditions.map((c: { type: string }) => c.type), ['Approved', 'Failed']);
});

test('nobody may ask kube-apiserver-client for system:masters', async () => {
  const err = await refusal(cluster.client.create(CSRS, '', await csr('root', 'kubernetes.io/kube-apiserver-client', 'system:masters')));
  assert.equal(err.code, 403);
  assert.match(err.message, /use of kubernetes.io\/kube-apiserver-client signer with system:masters group is not allowed/);
});
