import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, before, test } from 'node:test';
import { ApiError } from '../../api/errors.js';
import { tokenSecret } from '../../cluster-bootstrap/token.js';
import { eventually, startInProcessCluster, type InProcessCluster } from '../../../test/harness/in-process.js';

const SECRETS = { group: '', version: 'v1', resource: 'secrets' };
let cluster: InProcessCluster;
before(async () => {
  cluster = await startInProcessCluster('bootstrap-token-authn', { serviceAccounts: false });
});
after(() => cluster.stop());

function bearer(token: string): IncomingMessage {
  return { headers: { authorization: `Bearer ${token}` }, socket: {} } as unknown as IncomingMessage;
}
async function who(token: string): Promise<{ name: string; groups: string[] } | number> {
  try {
    return await cluster.server.authenticate(bearer(token));
  } catch (err) {
    if (err instanceof ApiError) return err.code;
    throw err;
  }
}

test('a valid token authenticates as system:bootstrap:<id> with its extra groups; a wrong secret, expiry or a missing usage do not', async () => {
  const hour = 3600_000;
  await cluster.client.create(SECRETS, 'kube-system', tokenSecret({ id: 'abcdef', secret: '0123456789abcdef', usages: ['authentication', 'signing'], extraGroups: ['system:bootstrappers:kubeadm:default-node-token'], expiration: new Date(Date.now() + hour) }));
  await cluster.client.create(SECRETS, 'kube-system', tokenSecret({ id: 'expire', secret: '0123456789abcdef', usages: ['authentication'], extraGroups: [], expiration: new Date(Date.now() - hour) }));
  await cluster.client.create(SECRETS, 'kube-system', tokenSecret({ id: 'nouse1', secret: '0123456789abcdef', usages: ['signing'], extraGroups: [] }));
  await cluster.client.create(SECRETS, 'kube-system', tokenSecret({ id: 'badgrp', secret: '0123456789abcdef', usages: ['authentication'], extraGroups: ['system:masters'] }));

  const user = await eventually('the token to authenticate', async () => {
    const u = await who('abcdef.0123456789abcdef');
    return typeof u === 'number' ? undefined : u;
  });
  assert.deepEqual(user, { name: 'system:bootstrap:abcdef', groups: ['system:bootstrappers', 'system:bootstrappers:kubeadm:default-node-token', 'system:authenticated'] });
  assert.equal(await who('abcdef.0123456789abcdeX'), 401);
  assert.equal(await who('abcdef.fedcba9876543210'), 401);
  assert.equal(await who('expire.0123456789abcdef'), 401);
  assert.equal(await who('nouse1.0123456789abcdef'), 401);
  assert.equal(await who('badgrp.0123456789abcdef'), 401);
  assert.equal(await who('zzzzzz.0123456789abcdef'), 401);

  // Deleting the Secret revokes the token.
  await cluster.client.delete(SECRETS, 'kube-system', 'bootstrap-token-abcdef');
  await eventually('the token to be revoked', async () => (await who('abcdef.0123456789abcdef')) === 401);
});
