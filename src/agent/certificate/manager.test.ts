import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { InProcessClient } from '../../client/in-process.js';
import { SharedInformers } from '../../client/shared-informers.js';
import { newControllerContext } from '../../controllers/context.js';
import { CsrApprovingController } from '../../controllers/certificates/approver.js';
import { CsrSigningController } from '../../controllers/certificates/signer.js';
import { CSRS } from '../../controllers/certificates/csr.js';
import { createCa, issueLeaf, type KeyPair } from '../../pki/issue.js';
import { requestNodeCertificate, loadCredentials, type NodeCredentials } from './bootstrap.js';
import { ClientCertificateManager, rotationDeadline } from './manager.js';
import { startInProcessCluster, type InProcessCluster } from '../../../test/harness/in-process.js';

let cluster: InProcessCluster;
let ca: KeyPair;
let root: string;
before(async () => {
  cluster = await startInProcessCluster('cert-rotation', { serviceAccounts: false });
  ca = await createCa('rotation-ca');
  root = await mkdtemp(join(tmpdir(), 'skiff-rotation-'));
});
after(async () => {
  await cluster.stop();
  await rm(root, { recursive: true, force: true });
});

test('the rotation deadline falls between 70% and 90% of the lifetime', async () => {
  const leaf = await issueLeaf(ca, { commonName: 'x', usage: 'client', validityDays: 10 });
  const c = new X509Certificate(leaf.cert);
  const from = Date.parse(c.validFrom);
  const total = Date.parse(c.validTo) - from;
  assert.equal(rotationDeadline(leaf.cert, () => 0), from + total * 0.7);
  assert.equal(rotationDeadline(leaf.cert, () => 1), from + total * 0.9);
});

test('a node past its deadline asks for a new certificate as itself, which is approved as selfnodeclient, saved, and presented', async () => {
  const informers = new SharedInformers(cluster.client);
  const ctx = newControllerContext(cluster.client, informers);
  const approver = new CsrApprovingController(ctx);
  // A short signing duration: backdated five minutes, such a certificate is always past its deadline.
  const signer = new CsrSigningController(ctx, { ca, signingDurationMs: 60_000 });
  informers.start();
  await Promise.all([approver.start(), signer.start()]);

  const presented: string[] = [];
  const node = Object.assign(new InProcessClient(cluster.server, { user: { name: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] } }), {
    setCredentials: (cert: string) => presented.push(cert),
  });
  const first = await requestNodeCertificate(node, { nodeName: 'n1', bootstrap: false });
  const creds: NodeCredentials = { server: 'https://127.0.0.1:1', caCert: ca.cert, cert: first.cert, key: first.key };
  const rotated = new Promise<NodeCredentials>((resolve) => {
    const manager = new ClientCertificateManager(node, creds, {
      nodeName: 'n1',
      root,
      // The earliest deadline (70%), which such a certificate has passed already.
      random: () => 0,
      onRotated: (c) => {
        manager.stop();
        resolve(c);
      },
    });
    manager.start();
  });
  const next = await rotated;
  assert.notEqual(next.cert, first.cert);
  assert.deepEqual(presented, [next.cert]);
  assert.equal((await loadCredentials(root))?.cert, next.cert);
  assert.match(await readFile(join(root, 'pki', 'kubelet-client-current.pem'), 'utf8'), /BEGIN CERTIFICATE[\s\S]*BEGIN PRIVATE KEY/);
  const csrs = (await cluster.client.list(CSRS, '')).items;
  const renewal = csrs.find((c) => c.status?.certificate && Buffer.from(c.status.certificate, 'base64').toString() === next.cert);
  assert.ok(renewal);
  assert.equal(renewal.spec!.username, 'system:node:n1');
  assert.equal(renewal.status!.conditions[0].message, 'Auto approving self kubelet client certificate after SubjectAccessReview.');
  await Promise.all([approver.stop(), signer.stop()]);
  informers.stop();
});
