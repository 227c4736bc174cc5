/**
 * Service account tokens with the real kubectl against `skiff up`: `kubectl create token` (audience,
 * duration, bound objects, upstream's validation errors), the token used as a bearer credential,
 * TokenReview, and service account issuer discovery.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { API_ONLY_ARGS, kubectl } from '../harness/skiff.js';
import { kubectlSuite } from './kubectl-helpers.js';

function claims(token: string): any {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

describe('service account tokens with kubectl', () => {
  const s = kubectlSuite('sqlite', API_ONLY_ARGS);

  it('kubectl create token: audience and duration as asked, bound to a secret, with upstream errors', async () => {
    const token = (await s.k('create', 'token', 'default', '--duration', '10m', '--audience', 'x')).trim();
    const c = claims(token);
    assert.deepEqual(c.aud, ['x']);
    assert.equal(c.exp - c.iat, 600);
    assert.equal(c.sub, 'system:serviceaccount:default:default');
    assert.equal(c.iss, 'https://kubernetes.default.svc.cluster.local');

    const short = await kubectl(s.server(), ['create', 'token', 'default', '--duration', '1m']);
    assert.notEqual(short.code, 0);
    assert.match(short.stderr, /TokenRequest\.authentication\.k8s\.io "" is invalid: spec\.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes/);
    const nobody = await kubectl(s.server(), ['create', 'token', 'nobody']);
    assert.notEqual(nobody.code, 0);
    assert.match(nobody.stderr, /serviceaccounts "nobody" not found/);

    await s.kIn(JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'anchor' }, stringData: { a: 'b' } }), 'create', '-f', '-');
    const bound = (await s.k('create', 'token', 'default', '--bound-object-kind', 'Secret', '--bound-object-name', 'anchor')).trim();
    const secret = await s.getJson('secret', 'anchor');
    assert.deepEqual(claims(bound)['kubernetes.io'].secret, { name: 'anchor', uid: secret.metadata.uid });
    const missing = await kubectl(s.server(), ['create', 'token', 'default', '--bound-object-kind', 'Pod', '--bound-object-name', 'ghost']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /pods "ghost" not found/);
  });

  it('the token is a bearer credential for the API, and TokenReview tells whose', async () => {
    const srv = s.server();
    const token = (await s.k('create', 'token', 'default')).trim();
    const kubeconfig = join(srv.dataDir, 'sa-kubeconfig');
    await writeFile(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'skiff', cluster: { server: srv.url, 'certificate-authority': join(srv.dataDir, 'pki', 'ca.crt') } }],
        users: [{ name: 'sa', user: { token } }],
        contexts: [{ name: 'sa', context: { cluster: 'skiff', user: 'sa', namespace: 'default' } }],
        'current-context': 'sa',
      }),
    );
    const asSa = await kubectl({ ...srv, kubeconfig }, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
    assert.equal(asSa.code, 0, asSa.stderr);
    assert.equal(asSa.stdout.trim(), 'system:serviceaccount:default:default');
    // Authenticated, and authorized by RBAC like anyone else: nothing is bound to it.
    const forbidden = await kubectl({ ...srv, kubeconfig }, ['get', 'serviceaccount', 'default']);
    assert.match(forbidden.stderr, /User "system:serviceaccount:default:default" cannot get resource "serviceaccounts"/);
    const broken = { ...srv, kubeconfig: join(srv.dataDir, 'broken-kubeconfig') };
    await writeFile(broken.kubeconfig, (await readFile(kubeconfig, 'utf8')).replace(token, `${token.slice(0, -4)}AAAA`));
    const refused = await kubectl(broken, ['get', 'serviceaccounts']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Unauthorized|must be logged in/);

    const review = JSON.parse(
      await s.kIn(JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } }), 'create', '-f', '-', '-o', 'json'),
    );
    assert.equal(review.status.authenticated, true);
    assert.equal(review.status.user.username, 'system:serviceaccount:default:default');
    assert.deepEqual(review.status.user.groups, ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated']);
    assert.deepEqual(review.status.audiences, ['https://kubernetes.default.svc.cluster.local']);
  });

  it('service account issuer discovery', async () => {
    const cfg = JSON.parse(await s.k('get', '--raw', '/.well-known/openid-configuration'));
    assert.equal(cfg.issuer, 'https://kubernetes.default.svc.cluster.local');
    assert.deepEqual(cfg.id_token_signing_alg_values_supported, ['RS256']);
    assert.match(cfg.jwks_uri, /^https:\/\/.+\/openid\/v1\/jwks$/);
    const jwks = JSON.parse(await s.k('get', '--raw', '/openid/v1/jwks'));
    const token = (await s.k('create', 'token', 'default')).trim();
    const kid = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).kid;
    assert.deepEqual(
      jwks.keys.map((k: any) => [k.kid, k.kty, k.alg, k.use]),
      [[kid, 'RSA', 'RS256', 'sig']],
    );
  });
});
