import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ImageError } from '../cri.js';
import { parseImageReference } from './reference.js';
import { lookupCredentials } from './keyring.js';

const D = 'sha256:' + 'ab'.repeat(32);

test('image references normalize as Docker and the kubelet do', () => {
  const table: [string, string, Partial<{ domain: string; path: string; tag: string; digest: string }>][] = [
    ['busybox', 'docker.io/library/busybox:latest', { domain: 'docker.io', path: 'library/busybox', tag: 'latest' }],
    ['busybox:1.36', 'docker.io/library/busybox:1.36', { tag: '1.36' }],
    ['library/busybox', 'docker.io/library/busybox:latest', {}],
    ['docker.io/busybox', 'docker.io/library/busybox:latest', {}],
    ['index.docker.io/library/busybox:1', 'docker.io/library/busybox:1', {}],
    ['foo/bar', 'docker.io/foo/bar:latest', { path: 'foo/bar' }],
    ['foo/bar/baz:v1', 'docker.io/foo/bar/baz:v1', {}],
    ['127.0.0.1:5000/x', '127.0.0.1:5000/x:latest', { domain: '127.0.0.1:5000', path: 'x' }],
    ['localhost/x:1', 'localhost/x:1', { domain: 'localhost' }],
    ['localhost:5000', 'docker.io/library/localhost:5000', { tag: '5000' }],
    [`localhost:5000/a/b@${D}`, `localhost:5000/a/b@${D}`, { digest: D, tag: undefined }],
    [`quay.io/a/b:t@${D}`, `quay.io/a/b:t@${D}`, { tag: 't', digest: D }],
    ['registry.example.com:443/team/app_x__y.z---w:V1.2_rc-3', 'registry.example.com:443/team/app_x__y.z---w:V1.2_rc-3', { path: 'team/app_x__y.z---w' }],
    ['[::1]:5000/x', '[::1]:5000/x:latest', { domain: '[::1]:5000' }],
    ['Example.COM/x', 'Example.COM/x:latest', { domain: 'Example.COM' }],
    ['example.com/x', 'example.com/x:latest', { domain: 'example.com' }],
  ];
  for (const [input, normalized, parts] of table) {
    const ref = parseImageReference(input);
    assert.equal(ref.normalized, normalized, input);
    for (const [k, v] of Object.entries(parts)) assert.equal((ref as any)[k], v, `${input}: ${k}`);
    assert.equal(ref.repository, `${ref.domain}/${ref.path}`);
  }
});

test('invalid image names fail with InvalidImageName and upstream messages', () => {
  const table: [string, string][] = [
    ['', 'invalid reference format'],
    ['Busybox', 'invalid reference format: repository name (library/Busybox) must be lowercase'],
    ['foo/Bar', 'invalid reference format: repository name (foo/Bar) must be lowercase'],
    ['busybox:', 'invalid reference format'],
    ['busybox:-x', 'invalid reference format'],
    [`busybox:${'t'.repeat(129)}`, 'invalid reference format'],
    ['busybox@sha256:abc', 'invalid reference format'],
    [`busybox@sha256:${'AB'.repeat(32)}`, 'invalid checksum digest format'],
    [`busybox@sha256:${'ab'.repeat(33)}`, 'invalid checksum digest length'],
    [`busybox@md5:${'ab'.repeat(16)}`, 'unsupported digest algorithm'],
    ['ab'.repeat(32), `invalid repository name (${'ab'.repeat(32)}), cannot specify 64-byte hexadecimal strings`],
    ['foo bar', 'invalid reference format'],
    ['a//b', 'invalid reference format'],
    ['-a/b', 'invalid reference format'],
    ['a/b-', 'invalid reference format'],
    ['a/b..c', 'invalid reference format'],
    ['a/b___c', 'invalid reference format'],
    ['a/b_.c', 'invalid reference format'],
    ['host:port/x', 'invalid reference format'],
    ['-bad.io/x', 'invalid reference format'],
    [`example.com/${'a'.repeat(250)}`, 'repository name must not be more than 255 characters'],
  ];
  for (const [input, cause] of table) {
    assert.throws(
      () => parseImageReference(input),
      (err: unknown) => {
        assert.ok(err instanceof ImageError, input);
        assert.equal(err.reason, 'InvalidImageName');
        assert.equal(err.message, `Failed to apply default image tag ${JSON.stringify(input)}: couldn't parse image reference ${JSON.stringify(input)}: ${cause}`);
        return true;
      },
    );
  }
});

test('pathological names are rejected in one pass (no backtracking)', () => {
  // Each would take exponential or quadratic time in a backtracking grammar; here they end at once.
  const inputs = [
    'a' + '-'.repeat(100_000) + '!',
    'a' + '_a'.repeat(50_000) + '_',
    'example.com/' + 'a.'.repeat(50_000) + '-',
    'a'.repeat(100_000) + ':' + 'b'.repeat(100_000) + '@',
    '['.repeat(50_000) + '/x',
  ];
  for (const input of inputs) assert.throws(() => parseImageReference(input), ImageError);
});

test('credentials match images as the kubelet keyring does', () => {
  const cred = (registry: string, username: string) => ({ registry, username, password: 'p' });
  const creds = [
    cred('https://index.docker.io/v1/', 'hub'),
    cred('quay.io', 'quay-all'),
    cred('quay.io/team', 'quay-team'),
    cred('http://127.0.0.1:5000', 'local'),
    cred('*.example.com', 'glob'),
    { registry: 'reg.test/v2/', auth: Buffer.from('b64user:b64pass').toString('base64') },
  ];
  const users = (image: string) => lookupCredentials(creds, image).map((a) => a.username);
  assert.deepEqual(users('docker.io/library/busybox'), ['hub']);
  assert.deepEqual(users('quay.io/team/app'), ['quay-team', 'quay-all']);
  assert.deepEqual(users('quay.io/other/app'), ['quay-all']);
  assert.deepEqual(users('127.0.0.1:5000/x'), ['local']);
  assert.deepEqual(users('127.0.0.1:5001/x'), []);
  assert.deepEqual(users('a.example.com/x'), ['glob']);
  assert.deepEqual(users('a.b.example.com/x'), []);
  assert.deepEqual(lookupCredentials(creds, 'reg.test/x'), [{ username: 'b64user', password: 'b64pass' }]);
  assert.deepEqual(users('elsewhere.io/x'), []);
  assert.deepEqual(lookupCredentials(undefined, 'docker.io/library/busybox'), []);
});
