import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { parseEncryptionConfiguration, validateEncryptionConfiguration } from './config.js';
import { aesProvider, identityProvider, readValue } from './providers.js';

const KEY = '/registry/secrets/default/s1';
const PLAIN = '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s1"},"data":{"password":"aHVudGVyMg=="}}';
const k = (n: number) => randomBytes(n);

describe('encryption providers', () => {
  for (const mode of ['aesgcm', 'aescbc'] as const) {
    for (const size of [16, 24, 32]) {
      it(`${mode} with a ${size}-byte key round-trips and hides the plaintext`, () => {
        const p = aesProvider(mode, [{ name: 'key1', key: k(size) }]);
        const sealed = p.toStorage(PLAIN, KEY);
        assert.ok(sealed.startsWith(`k8s:enc:${mode}:v1:key1:`));
        assert.ok(!sealed.includes('aHVudGVyMg') && !sealed.includes('Secret'));
        assert.notEqual(p.toStorage(PLAIN, KEY), sealed, 'a fresh nonce/IV per write');
        assert.deepEqual(readValue([p], sealed, KEY), { value: PLAIN, stale: false });
      });
    }
  }

  it('aesgcm: the layout is nonce(12) + ciphertext + tag(16), bound to the storage key', () => {
    const p = aesProvider('aesgcm', [{ name: 'key1', key: k(32) }]);
    const sealed = p.toStorage(PLAIN, KEY);
    const bytes = Buffer.from(sealed.slice('k8s:enc:aesgcm:v1:key1:'.length), 'base64');
    assert.equal(bytes.length, 12 + Buffer.byteLength(PLAIN) + 16);
    assert.throws(() => readValue([p], sealed, '/registry/secrets/default/other'), /cipher: message authentication failed/);
  });

  it('aescbc: the layout is IV(16) + PKCS#7-padded blocks', () => {
    const p = aesProvider('aescbc', [{ name: 'key1', key: k(32) }]);
    const bytes = Buffer.from(p.toStorage(PLAIN, KEY).slice('k8s:enc:aescbc:v1:key1:'.length), 'base64');
    assert.equal(bytes.length, 16 + (Math.floor(Buffer.byteLength(PLAIN) / 16) + 1) * 16);
  });

  it('identity reads plaintext and refuses encrypted data', () => {
    const id = identityProvider();
    assert.deepEqual(readValue([id], PLAIN, KEY), { value: PLAIN, stale: false });
    const sealed = aesProvider('aesgcm', [{ name: 'key1', key: k(16) }]).toStorage(PLAIN, KEY);
    assert.throws(() => readValue([id], sealed, KEY), /no matching prefix found/);
  });

  it('reads with any configured key; only the first provider\'s first key is fresh', () => {
    const key1 = { name: 'key1', key: k(32) };
    const key2 = { name: 'key2', key: k(32) };
    const old = aesProvider('aesgcm', [key1]).toStorage(PLAIN, KEY);
    const rotated = [aesProvider('aesgcm', [key2, key1]), identityProvider()];
    assert.deepEqual(readValue(rotated, old, KEY), { value: PLAIN, stale: true });
    assert.deepEqual(readValue(rotated, rotated[0].toStorage(PLAIN, KEY), KEY), { value: PLAIN, stale: false });
    // Plain data read through a trailing identity is stale too: it should be encrypted on the next write.
    assert.deepEqual(readValue(rotated, PLAIN, KEY), { value: PLAIN, stale: true });
    // A key configured in a later provider of the same kind still opens it.
    assert.deepEqual(readValue([aesProvider('aesgcm', [key2]), aesProvider('aesgcm', [key1])], old, KEY), { value: PLAIN, stale: true });
    // Without key1 the read fails with upstream's message.
    assert.throws(() => readValue([aesProvider('aesgcm', [key2]), identityProvider()], old, KEY), /^Error: no matching key was found for the provided AES transformer$/);
  });
});

describe('EncryptionConfiguration', () => {
  const secret32 = k(32).toString('base64');
  const file = (resources: string) => `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
${resources}`;

  it('parses resources with group wildcards and looks them up as upstream', () => {
    const t = parseEncryptionConfiguration(
      file(`  - resources: [secrets, '*.apps']
    providers:
      - aesgcm: {keys: [{name: key1, secret: ${secret32}}]}
      - identity: {}
  - resources: ['*.*']
    providers:
      - aescbc: {keys: [{name: k, secret: ${secret32}}]}
`),
    );
    assert.equal(t.lookup({ group: '', resource: 'secrets' })?.[0].prefix, 'k8s:enc:aesgcm:v1:');
    assert.equal(t.lookup({ group: 'apps', resource: 'deployments' })?.length, 2);
    assert.equal(t.lookup({ group: '', resource: 'configmaps' })?.[0].prefix, 'k8s:enc:aescbc:v1:');
  });

  it('refuses a resource masked by an earlier rule', () => {
    assert.throws(
      () => parseEncryptionConfiguration(file(`  - resources: ['*.']\n    providers: [{identity: {}}]\n  - resources: [secrets]\n    providers: [{identity: {}}]\n`)),
      /error while building transformers: resource "secrets" is masked by earlier rule "\*\."/,
    );
  });

  it('validates with upstream\'s messages', () => {
    const errs = validateEncryptionConfiguration({
      resources: [
        {
          resources: ['Secrets', '*', 'secrets', 'secrets', 'foo.*', 'events.events.k8s.io', 'serviceipallocations'],
          providers: [{ aesgcm: { keys: [{ name: 'k', secret: Buffer.from('short').toString('base64') }] } }, { aescbc: { keys: [{ name: '', secret: 'not base64!' }] } }, {}, { identity: {}, aesgcm: { keys: [] } }],
        },
        { resources: [], providers: [] },
      ],
    });
    const want = [
      'resources[0].resources: Invalid value: []string{"Secrets", "*", "secrets", "secrets", "foo.*", "events.events.k8s.io", "serviceipallocations"}: the same resource cannot be specified multiple times',
      'resources[0].resources[0]: Invalid value: "Secrets": resource name should not contain capital letters',
      `resources[0].resources[1]: Invalid value: "*": use '*.' to encrypt all the resources from core API group or *.* to encrypt all resources`,
      'resources[0].resources[4]: Invalid value: "foo.*": encrypting the same resource across groups is not supported',
      `resources[0].resources[5]: Invalid value: "events.events.k8s.io": '*.events.k8s.io' objects are stored using the 'events' API group in etcd. Use 'events' instead in the config file`,
      'resources[0].resources[6]: Invalid value: "serviceipallocations": resources which do not have REST API/s cannot be encrypted',
      'resources[0].providers[0].aesgcm.keys[0].secret: Invalid value: "REDACTED": secret is not of the expected length, got 5, expected one of [16 24 32]',
      'resources[0].providers[1].aescbc.keys[0].name: Required value: name is a mandatory field for a key',
      'resources[0].providers[1].aescbc.keys[0].secret: Invalid value: "REDACTED": secrets must be base64 encoded',
    ];
    for (const w of want) assert.ok(errs.includes(w), `missing: ${w}\n got: ${errs.join('\n')}`);
    assert.ok(errs.some((e) => e.startsWith('resources[0].providers[2]: Invalid value:') && e.endsWith('provider does not contain any of the expected providers: KMS, AESGCM, AESCBC, Secretbox, Identity')));
    assert.ok(errs.some((e) => e.endsWith('more than one provider specified in a single element, should split into different list elements')));
    assert.ok(errs.includes('resources[1].resources: Required value: at least one resources[1].resources is required'));
    assert.ok(errs.includes('resources[1].providers: Required value: at least one resources[1].providers is required'));
    assert.deepEqual(validateEncryptionConfiguration({ resources: [] }), ['resources: Required value: at least one resources is required']);
  });

  it('refuses kms and secretbox clearly, and the wrong kind', () => {
    assert.throws(
      () => parseEncryptionConfiguration(file(`  - resources: [secrets]\n    providers: [{kms: {apiVersion: v2, name: x, endpoint: 'unix:///k.sock'}}]\n`)),
      /the kms provider is not supported by skiff/,
    );
    assert.throws(
      () => parseEncryptionConfiguration(file(`  - resources: [secrets]\n    providers: [{secretbox: {keys: [{name: a, secret: ${secret32}}]}}]\n`)),
      /secretbox provider is not supported by skiff \(node:crypto has no XSalsa20-Poly1305\)/,
    );
    assert.throws(() => parseEncryptionConfiguration('apiVersion: v1\nkind: ConfigMap\n'), /got unexpected config type/);
  });
});
