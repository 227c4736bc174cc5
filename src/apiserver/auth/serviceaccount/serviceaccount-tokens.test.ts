import assert from 'node:assert/strict';
import { createHash, createPublicKey } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { KubeObject } from '../../../api/types.js';
import type { ResourceRef } from '../../../client/interface.js';
import { eventually, refusal, startInProcessCluster, type InProcessCluster } from '../../../../test/harness/in-process.js';
import { ensureServiceAccountKey } from '../../../pki/service-account-key.js';
import { newControllerContext } from '../../../controllers/context.js';
import { SharedInformers } from '../../../client/shared-informers.js';
import { ServiceAccountTokenController } from '../../../controllers/serviceaccount-token.js';
import { installServiceAccountTokens, type ServiceAccountTokens } from './index.js';
import { parseJwt } from './jwt.js';

const SA: ResourceRef = { group: '', version: 'v1', resource: 'serviceaccounts' };
const PODS: ResourceRef = { group: '', version: 'v1', resource: 'pods' };
const SECRETS: ResourceRef = { group: '', version: 'v1', resource: 'secrets' };
const NODES: ResourceRef = { group: '', version: 'v1', resource: 'nodes' };
const TOKEN_REVIEWS: ResourceRef = { group: 'authentication.k8s.io', version: 'v1', resource: 'tokenreviews' };
const API_AUDIENCE = 'https://kubernetes.default.svc.cluster.local';

let c: InProcessCluster;
let tokens: ServiceAccountTokens;
let publicPem: string;
let base: string;
/** Shifts the authenticator's and issuer's clock. */
let skewMs = 0;

before(async () => {
  c = await startInProcessCluster('sa-tokens');
  const key = await ensureServiceAccountKey(c.dir);
  publicPem = key.publicKey;
  tokens = installServiceAccountTokens(c.server, { privateKey: key.privateKey, now: () => Date.now() + skewMs });
  base = `http://127.0.0.1:${await c.server.listen(0)}`;
  await c.client.create(SA, 'default', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'builder' } });
});

after(async () => {
  await c?.stop();
});

function tokenRequest(spec: Record<string, unknown> = {}, name = 'builder'): KubeObject {
  return { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata: { name }, spec };
}

async function requestToken(spec: Record<string, unknown> = {}, name = 'builder'): Promise<KubeObject> {
  return c.client.create(SA, 'default', tokenRequest(spec, name), { subresource: 'token' });
}

function authenticate(token: string, audiences?: string[]) {
  return tokens.authenticator.authenticateToken(token, audiences);
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(base + path, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any };
}

test('sa.key and sa.pub: kubeadm names, private key 0600, created once and kept', async () => {
  const st = await stat(join(c.dir, 'pki', 'sa.key'));
  assert.equal(st.mode & 0o777, 0o600);
  assert.equal(await readFile(join(c.dir, 'pki', 'sa.pub'), 'utf8'), publicPem);
  assert.equal((await ensureServiceAccountKey(c.dir)).publicKey, publicPem);
});

test('TokenRequest: an RS256 JWT with upstream claims, key id and status', async () => {
  const before = Math.floor(Date.now() / 1000);
  const tr = await requestToken({ audiences: ['vault'], expirationSeconds: 1200 });
  assert.equal(tr.kind, 'TokenRequest');
  assert.equal(tr.apiVersion, 'authentication.k8s.io/v1');
  assert.deepEqual(tr.spec, { audiences: ['vault'], expirationSeconds: 1200 });
  const jwt = parseJwt(tr.status.token)!;
  const kid = createHash('sha256').update(createPublicKey(publicPem).export({ type: 'spki', format: 'der' })).digest('base64url');
  assert.deepEqual(jwt.header, { alg: 'RS256', kid });
  const p = jwt.payload as any;
  assert.deepEqual(Object.keys(p), ['aud', 'exp', 'iat', 'iss', 'jti', 'kubernetes.io', 'nbf', 'sub']);
  assert.deepEqual(p.aud, ['vault']);
  assert.equal(p.iss, API_AUDIENCE);
  assert.equal(p.sub, 'system:serviceaccount:default:builder');
  assert.ok(p.iat >= before && p.nbf === p.iat && p.exp === p.iat + 1200);
  assert.match(p.jti, /^[0-9a-f-]{36}$/);
  const sa = await c.client.get(SA, 'default', 'builder');
  assert.deepEqual(p['kubernetes.io'], { namespace: 'default', serviceaccount: { name: 'builder', uid: sa.metadata!.uid } });
  assert.equal(Date.parse(tr.status.expirationTimestamp), p.exp * 1000);
  // Defaults: the API audiences and an hour.
  const d = await requestToken();
  assert.deepEqual(d.spec, { audiences: [API_AUDIENCE], expirationSeconds: 3600 });
});

test('token authenticator: the account, its groups and the credential id; tampered, foreign, expired and early tokens are refused', async () => {
  const tr = await requestToken();
  const sa = await c.client.get(SA, 'default', 'builder');
  const r = authenticate(tr.status.token)!;
  const jti = (parseJwt(tr.status.token)!.payload as any).jti;
  assert.deepEqual(r.user, {
    name: 'system:serviceaccount:default:builder',
    uid: sa.metadata!.uid,
    groups: ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated'],
    extra: { 'authentication.kubernetes.io/credential-id': [`JTI=${jti}`] },
  });
  assert.deepEqual(r.audiences, [API_AUDIENCE]);
  // Again: from the verified-token cache, same answer.
  assert.deepEqual(authenticate(tr.status.token), r);

  const [h, p, s] = tr.status.token.split('.');
  const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: 'system:serviceaccount:kube-system:admin' })).toString('base64url');
  assert.throws(() => authenticate(`${h}.${forged}.${s}`), { message: 'go-jose/go-jose: error in cryptographic primitive' });
  const flipped = s.slice(0, -2) + (s.at(-2) === 'A' ? 'B' : 'A') + s.at(-1);
  assert.throws(() => authenticate(`${h}.${p}.${flipped}`), /cryptographic primitive/);
  // Not ours at all: the next authenticator is asked.
  assert.equal(authenticate('abcdef.0123456789abcdef'), undefined);

  const vault = await requestToken({ audiences: ['vault'] });
  assert.throws(() => authenticate(vault.status.token), {
    message: `token audiences ["vault"] is invalid for the target audiences ["${API_AUDIENCE}"]`,
  });
  assert.deepEqual(authenticate(vault.status.token, ['vault', 'other'])!.audiences, ['vault']);

  const short = await requestToken({ expirationSeconds: 600 });
  skewMs = 661_000;
  try {
    assert.throws(() => authenticate(short.status.token), { message: 'service account token has expired' });
  } finally {
    skewMs = 0;
  }
  skewMs = -120_000;
  let early: KubeObject;
  try {
    early = await requestToken();
  } finally {
    skewMs = 0;
  }
  skewMs = -240_000;
  try {
    assert.throws(() => authenticate(early!.status.token), { message: 'service account token is not valid yet' });
  } finally {
    skewMs = 0;
  }
});

test('token authenticator: a deleted account or bound pod, or one recreated with another UID, is refused at once', async () => {
  await c.client.create(SA, 'default', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'doomed' } });
  await c.client.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'runner' }, spec: { serviceAccountName: 'doomed', containers: [{ name: 'c', image: 'busybox' }] } });
  const pod = await c.client.get(PODS, 'default', 'runner');
  const bound = await requestToken({ boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'runner', uid: pod.metadata!.uid } }, 'doomed');
  const plain = await requestToken({}, 'doomed');
  const u = authenticate(bound.status.token)!.user;
  assert.deepEqual(u.extra?.['authentication.kubernetes.io/pod-name'], ['runner']);
  assert.deepEqual(u.extra?.['authentication.kubernetes.io/pod-uid'], [pod.metadata!.uid]);
  assert.ok(authenticate(plain.status.token));

  // The pod goes: its token with it (an unbound pod is deleted at once).
  await c.client.delete(PODS, 'default', 'runner');
  await eventually('the pod-bound token refused', async () => {
    try {
      authenticate(bound.status.token);
      return false;
    } catch (err) {
      return (err as Error).message === 'pods "runner" not found';
    }
  });
  await c.client.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'runner' }, spec: { serviceAccountName: 'doomed', containers: [{ name: 'c', image: 'busybox' }] } });
  await eventually('the recreated pod', async () => {
    try {
      authenticate(bound.status.token);
      return false;
    } catch (err) {
      return /^pod UID \(.*\) does not match service account pod ref claim \(.*\)$/.test((err as Error).message);
    }
  });

  await c.client.delete(SA, 'default', 'doomed');
  await eventually('the account gone', async () => {
    try {
      authenticate(plain.status.token);
      return false;
    } catch (err) {
      return (err as Error).message === 'serviceaccounts "doomed" not found';
    }
  });
});

test('TokenRequest over HTTP: upstream validation errors and bound object checks', async () => {
  const path = '/api/v1/namespaces/default/serviceaccounts/builder/token';
  const short = await post(path, tokenRequest({ expirationSeconds: 60 }));
  assert.equal(short.status, 422);
  assert.equal(short.body.reason, 'Invalid');
  assert.equal(short.body.message, 'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes');
  assert.deepEqual(short.body.details.causes, [{ reason: 'FieldValueInvalid', message: 'Invalid value: 60: may not specify a duration less than 10 minutes', field: 'spec.expirationSeconds' }]);
  const long = await post(path, tokenRequest({ expirationSeconds: 2 ** 32 + 1 }));
  assert.equal(long.body.message, 'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 4294967297: may not specify a duration larger than 2^32 seconds');

  const missing = await post('/api/v1/namespaces/default/serviceaccounts/nobody/token', tokenRequest({}, 'nobody'));
  assert.equal(missing.status, 404);
  assert.equal(missing.body.message, 'serviceaccounts "nobody" not found');
  const renamed = await post(path, tokenRequest({}, 'other'));
  assert.equal(renamed.status, 422);
  assert.equal(renamed.body.message, 'TokenRequest.authentication.k8s.io "builder" is invalid: metadata.name: Invalid value: "other": must match the service account name if specified');

  await c.client.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'as-default' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
  const pod = await c.client.get(PODS, 'default', 'as-default');
  const wrongSa = await post(path, tokenRequest({ boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'as-default' } }));
  assert.equal(wrongSa.status, 400);
  assert.equal(wrongSa.body.message, 'cannot bind token for serviceaccount "builder" to pod running with different serviceaccount name.');
  const noPod = await post(path, tokenRequest({ boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'ghost' } }));
  assert.equal(noPod.status, 404);
  assert.equal(noPod.body.message, 'pods "ghost" not found');
  const kind = await post(path, tokenRequest({ boundObjectRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' } }));
  assert.equal(kind.status, 400);
  assert.equal(kind.body.message, 'cannot bind token for serviceaccount "builder" to object of type apps/v1, Kind=Deployment');
  const uid = await post('/api/v1/namespaces/default/serviceaccounts/default/token', tokenRequest({ boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'as-default', uid: 'not-it' } }, 'default'));
  assert.equal(uid.status, 409);
  assert.equal(
    uid.body.message,
    'Operation cannot be fulfilled on Pod "as-default": the UID in the bound object reference (not-it) does not match the UID in record. The object might have been deleted and then recreated',
  );

  // The kubelet's request: 3607 s for the API server, bound to the pod, on its node → a year, warnafter at 3607 s.
  await c.client.create(NODES, '', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' } });
  await c.client.create(PODS, 'default', { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'as-default' }, target: { kind: 'Node', name: 'node-a' } }, { subresource: 'binding' });
  const node = await c.client.get(NODES, '', 'node-a');
  const kubelet = await post('/api/v1/namespaces/default/serviceaccounts/default/token', tokenRequest({ expirationSeconds: 3607, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'as-default', uid: pod.metadata!.uid } }, 'default'));
  assert.equal(kubelet.status, 201);
  const claims = parseJwt(kubelet.body.status.token)!.payload as any;
  assert.equal(claims.exp - claims.iat, 365 * 24 * 3600);
  assert.equal(claims['kubernetes.io'].warnafter, claims.iat + 3607);
  assert.deepEqual(claims['kubernetes.io'].pod, { name: 'as-default', uid: pod.metadata!.uid });
  assert.deepEqual(claims['kubernetes.io'].node, { name: 'node-a', uid: node.metadata!.uid });
  assert.equal(Date.parse(kubelet.body.status.expirationTimestamp), (claims.iat + 3607) * 1000);
  const u = authenticate(kubelet.body.status.token)!.user;
  assert.deepEqual(u.extra?.['authentication.kubernetes.io/node-name'], ['node-a']);
  // For another audience it is not extended.
  const other = await post('/api/v1/namespaces/default/serviceaccounts/default/token', tokenRequest({ audiences: ['vault'], expirationSeconds: 3607, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'as-default' } }, 'default'));
  const oc = parseJwt(other.body.status.token)!.payload as any;
  assert.equal(oc.exp - oc.iat, 3607);
  assert.equal(oc['kubernetes.io'].warnafter, undefined);

  // The token works as a bearer token against the API.
  const tr = await requestToken();
  const res = await fetch(`${base}/api/v1/namespaces/default/serviceaccounts/builder`, { headers: { Authorization: `Bearer ${tr.status.token}` } });
  assert.equal(res.status, 200);
  const bad = await fetch(`${base}/api/v1/namespaces`, { headers: { Authorization: `Bearer ${tr.status.token}x` } });
  assert.equal(bad.status, 401);
});

test('TokenReview: who a token is, for which audiences, or why not', async () => {
  const tr = await requestToken({ audiences: ['vault'] });
  const sa = await c.client.get(SA, 'default', 'builder');
  const ok = await post('/apis/authentication.k8s.io/v1/tokenreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: tr.status.token, audiences: ['vault'] } });
  assert.equal(ok.status, 201);
  assert.equal(ok.body.kind, 'TokenReview');
  assert.equal(ok.body.status.authenticated, true);
  assert.deepEqual(ok.body.status.audiences, ['vault']);
  assert.equal(ok.body.status.user.username, 'system:serviceaccount:default:builder');
  assert.equal(ok.body.status.user.uid, sa.metadata!.uid);
  assert.deepEqual(ok.body.status.user.groups, ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated']);

  const wrongAud = await c.client.create(TOKEN_REVIEWS, '', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: {}, spec: { token: tr.status.token } } as KubeObject);
  assert.deepEqual(wrongAud.status, { authenticated: false, user: {}, error: `token audiences ["vault"] is invalid for the target audiences ["${API_AUDIENCE}"]` });
  const junk = await c.client.create(TOKEN_REVIEWS, '', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: {}, spec: { token: 'junk' } } as KubeObject);
  assert.deepEqual(junk.status, { authenticated: false, user: {}, error: 'invalid bearer token' });
  const empty = await refusal(c.client.create(TOKEN_REVIEWS, '', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: {}, spec: {} } as KubeObject));
  assert.equal(empty.code, 400);
  assert.equal(empty.message, 'token is required for TokenReview in authentication');
  // Nothing is stored.
  const list = await fetch(`${base}/apis/authentication.k8s.io/v1/tokenreviews`);
  assert.equal(list.status, 405);
});

test('OIDC discovery: the issuer configuration and the key set, as upstream serves them', async () => {
  const cfg = await fetch(`${base}/.well-known/openid-configuration`);
  assert.equal(cfg.status, 200);
  assert.equal(cfg.headers.get('content-type'), 'application/json');
  assert.equal(cfg.headers.get('cache-control'), 'public, max-age=3600');
  const port = new URL(base).port;
  assert.deepEqual(await cfg.json(), {
    issuer: API_AUDIENCE,
    jwks_uri: `https://127.0.0.1:${port}/openid/v1/jwks`,
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
  });
  const jwks = await fetch(`${base}/openid/v1/jwks`);
  assert.equal(jwks.headers.get('content-type'), 'application/jwk-set+json');
  const set = (await jwks.json()) as any;
  assert.equal(set.keys.length, 1);
  const k = set.keys[0];
  assert.deepEqual(Object.keys(k), ['use', 'kty', 'kid', 'alg', 'n', 'e']);
  assert.equal(k.e, 'AQAB');
  // The JWK is the key tokens verify with.
  const tr = await requestToken();
  assert.equal(parseJwt(tr.status.token)!.header.kid, k.kid);
  assert.equal(createPublicKey({ key: k, format: 'jwk' }).export({ type: 'spki', format: 'pem' }), publicPem);
});

test('legacy token Secrets: filled by the serviceaccount-token controller, valid while the Secret and account exist', async () => {
  const informers = new SharedInformers(c.client);
  const key = await ensureServiceAccountKey(c.dir);
  const ctrl = new ServiceAccountTokenController(newControllerContext(c.client, informers), { privateKey: key.privateKey, caCert: 'CA PEM' });
  informers.start();
  await ctrl.start();
  try {
    await c.client.create(SA, 'default', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'legacy' } });
    const sa = await c.client.get(SA, 'default', 'legacy');
    await c.client.create(SECRETS, 'default', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'legacy-token', annotations: { 'kubernetes.io/service-account.name': 'legacy' } },
      type: 'kubernetes.io/service-account-token',
    });
    const filled = await eventually('the token Secret filled', async () => {
      const s = await c.client.get(SECRETS, 'default', 'legacy-token');
      return s.data?.token ? s : undefined;
    });
    assert.equal(filled.metadata!.annotations!['kubernetes.io/service-account.uid'], sa.metadata!.uid);
    assert.equal(Buffer.from(filled.data!['ca.crt'], 'base64').toString(), 'CA PEM');
    assert.equal(Buffer.from(filled.data!.namespace, 'base64').toString(), 'default');
    const token = Buffer.from(filled.data!.token, 'base64').toString();
    assert.deepEqual(parseJwt(token)!.payload, {
      iss: 'kubernetes/serviceaccount',
      'kubernetes.io/serviceaccount/namespace': 'default',
      'kubernetes.io/serviceaccount/secret.name': 'legacy-token',
      'kubernetes.io/serviceaccount/service-account.name': 'legacy',
      'kubernetes.io/serviceaccount/service-account.uid': sa.metadata!.uid,
      sub: 'system:serviceaccount:default:legacy',
    });
    await eventually('the legacy token accepted', async () => {
      try {
        return authenticate(token)?.user.name === 'system:serviceaccount:default:legacy';
      } catch {
        return false;
      }
    });
    // Settled: reconciling again writes nothing.
    const rv = (await c.client.get(SECRETS, 'default', 'legacy-token')).metadata!.resourceVersion;
    await ctrl.reconcile('secret:default/legacy-token');
    assert.equal((await c.client.get(SECRETS, 'default', 'legacy-token')).metadata!.resourceVersion, rv);

    // The account goes: the controller deletes the Secret, and the token is refused.
    await c.client.delete(SA, 'default', 'legacy');
    await eventually('the Secret deleted', async () => (await c.client.get(SECRETS, 'default', 'legacy-token').then(() => false, () => true)));
    await eventually('the legacy token refused', async () => {
      try {
        authenticate(token);
        return false;
      } catch (err) {
        return (err as Error).message === 'Token has been invalidated';
      }
    });
  } finally {
    await ctrl.stop();
    informers.stop();
  }
});
