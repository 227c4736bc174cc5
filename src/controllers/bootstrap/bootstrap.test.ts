import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SharedInformers } from '../../client/shared-informers.js';
import { newControllerContext } from '../context.js';
import { BootstrapSigner } from './signer.js';
import { TokenCleaner } from './tokencleaner.js';
import { ensureClusterInfo } from '../cluster-info.js';
import { computeDetachedSignature, tokenSecret } from '../../cluster-bootstrap/token.js';
import { CountingClient, eventually, startInProcessCluster, type InProcessCluster } from '../../../test/harness/in-process.js';

const SECRETS = { group: '', version: 'v1', resource: 'secrets' };
const CONFIG_MAPS = { group: '', version: 'v1', resource: 'configmaps' };
let cluster: InProcessCluster;
before(async () => {
  cluster = await startInProcessCluster('bootstrap-controllers', { serviceAccounts: false });
});
after(() => cluster.stop());

test('cluster-info is signed with every signing token, loses signatures of deleted tokens, and expired tokens are deleted', async () => {
  const client = new CountingClient(cluster.server);
  const informers = new SharedInformers(client);
  const ctx = newControllerContext(client, informers);
  const signer = new BootstrapSigner(ctx);
  const cleaner = new TokenCleaner(ctx);
  await ensureClusterInfo(cluster.client, { server: 'https://10.0.0.1:6443', caCert: '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n' });
  await cluster.client.create(SECRETS, 'kube-system', tokenSecret({ id: 'aaaaaa', secret: '0123456789abcdef', usages: ['signing', 'authentication'], extraGroups: [], expiration: new Date(Date.now() + 3600_000) }));
  await cluster.client.create(SECRETS, 'kube-system', tokenSecret({ id: 'bbbbbb', secret: 'fedcba9876543210', usages: ['authentication'], extraGroups: [] }));
  informers.start();
  await Promise.all([signer.start(), cleaner.start()]);

  const cm = await eventually('cluster-info to be signed', async () => {
    const c = await cluster.client.get(CONFIG_MAPS, 'kube-public', 'cluster-info');
    return c.data?.['jws-kubeconfig-aaaaaa'] ? c : undefined;
  });
  assert.equal(cm.data!['jws-kubeconfig-aaaaaa'], computeDetachedSignature(cm.data!.kubeconfig, 'aaaaaa', '0123456789abcdef'));
  assert.equal(cm.data!['jws-kubeconfig-bbbbbb'], undefined, 'a token without usage-bootstrap-signing signs nothing');
  assert.match(cm.data!['jws-kubeconfig-aaaaaa'], /^eyJhbGciOiJIUzI1NiIsImtpZCI6ImFhYWFhYSJ9\.\.[A-Za-z0-9_-]+$/);

  // Settled: nothing more is written.
  const writes = client.writes;
  signer['queue'].add('kube-public/cluster-info');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(client.writes, writes);

  await cluster.client.delete(SECRETS, 'kube-system', 'bootstrap-token-aaaaaa');
  await eventually('the signature to go', async () => !(await cluster.client.get(CONFIG_MAPS, 'kube-public', 'cluster-info')).data?.['jws-kubeconfig-aaaaaa']);

  await cluster.client.create(SECRETS, 'kube-system', tokenSecret({ id: 'cccccc', secret: '0123456789abcdef', usages: ['signing'], extraGroups: [], expiration: new Date(Date.now() - 1000) }));
  await eventually('the expired token to be deleted', async () => {
    const list = await cluster.client.list(SECRETS, 'kube-system');
    return !list.items.some((s) => s.metadata?.name === 'bootstrap-token-cccccc');
  });
  assert.equal((await cluster.client.get(CONFIG_MAPS, 'kube-public', 'cluster-info')).data?.['jws-kubeconfig-cccccc'], undefined);
  await Promise.all([signer.stop(), cleaner.stop()]);
  informers.stop();
});
