import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { ensurePki, issueClientCert, servingHosts, userFromCertificate, type Pki } from './certs.js';
import { createCa, issueLeaf } from './issue.js';
import { startIdentityServer, type IdentityServer, type SeenRequest } from './testing.js';

const DAY = 24 * 60 * 60 * 1000;
const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-pki-'));
  tempDirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

const execFileAsync = promisify(execFile);
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
const hasPython = spawnSync('python3', ['-c', 'import ssl']).status === 0;

function get(
  server: IdentityServer,
  opts: { ca?: string; cert?: string; key?: string; host?: string; servername?: string },
): Promise<SeenRequest> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: opts.host ?? '127.0.0.1',
        port: server.port,
        path: '/whoami',
        ca: opts.ca,
        cert: opts.cert,
        key: opts.key,
        servername: opts.servername,
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(JSON.parse(body) as SeenRequest));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('ensurePki', () => {
  test('creates the files with private modes, and a second call loads the same ones', async () => {
    const dir = tempDir();
    const started = performance.now();
    const first = await ensurePki(dir, {});
    const elapsed = performance.now() - started;
    // The server must be ready within a second of starting; PKI is a small part of that.
    assert.ok(elapsed < 1000, `first start took ${elapsed.toFixed(0)} ms`);

    const pkiDir = join(dir, 'pki');
    assert.equal(statSync(pkiDir).mode & 0o777, 0o700);
    for (const name of ['ca.key', 'apiserver.key', 'admin.key']) {
      assert.equal(statSync(join(pkiDir, name)).mode & 0o777, 0o600, name);
    }
    for (const name of ['ca.crt', 'apiserver.crt', 'admin.crt']) assert.ok(statSync(join(pkiDir, name)).isFile());

    const second = await ensurePki(dir, {});
    assert.deepEqual(second, first);
  });

  test('reissues only the serving certificate when a new host is asked for', async () => {
    const dir = tempDir();
    const first = await ensurePki(dir, { hosts: ['10.1.2.3'] });
    const same = await ensurePki(dir, { hosts: ['10.1.2.3'] });
    assert.equal(same.serverCert, first.serverCert);

    const grown = await ensurePki(dir, { hosts: ['10.1.2.3', 'api.example.test', 'fd00::10', '::ffff:192.0.2.1', '*.apps.example.test'] });
    assert.notEqual(grown.serverCert, first.serverCert);
    assert.notEqual(grown.serverKey, first.serverKey);
    assert.equal(grown.caCert, first.caCert);
    assert.equal(grown.caKey, first.caKey);
    assert.equal(grown.adminCert, first.adminCert);
    const cert = new X509Certificate(grown.serverCert);
    assert.equal(cert.checkHost('api.example.test'), 'api.example.test');
    assert.equal(cert.checkIP('fd00:0:0::10'), 'fd00:0:0::10');
    assert.equal(cert.checkIP('10.1.2.3'), '10.1.2.3');
    assert.equal(cert.checkIP('::ffff:192.0.2.1'), '::ffff:192.0.2.1');
    // checkHost answers with the SAN that matched.
    assert.equal(cert.checkHost('console.apps.example.test'), '*.apps.example.test');

    // Hosts spelled differently, or under a wildcard, are already covered and cause no churn.
    const again = await ensurePki(dir, { hosts: ['API.example.test.', '[fd00:0::10]', '*.apps.example.test', 'x.apps.example.test'] });
    assert.equal(again.serverCert, grown.serverCert);
  });

  test('renews leaves close to expiry and keeps the CA', async () => {
    const dir = tempDir();
    const first = await ensurePki(dir, {});
    const later = await ensurePki(dir, { now: new Date(Date.now() + 350 * DAY) });
    assert.equal(later.caCert, first.caCert);
    assert.notEqual(later.serverCert, first.serverCert);
    assert.notEqual(later.adminCert, first.adminCert);
  });

  test('reissues leaves that the CA did not sign', async () => {
    const dir = tempDir();
    const first = await ensurePki(dir, {});
    // What an interrupted first start can leave: leaves on disk, a CA key, no CA certificate.
    unlinkSync(join(dir, 'pki', 'ca.crt'));
    const next = await ensurePki(dir, {});
    assert.notEqual(next.caCert, first.caCert);
    assert.ok(new X509Certificate(next.serverCert).checkIssued(new X509Certificate(next.caCert)));
    assert.ok(new X509Certificate(next.adminCert).checkIssued(new X509Certificate(next.caCert)));
  });

  test('refuses to replace a CA whose key is missing', async () => {
    const dir = tempDir();
    await ensurePki(dir, {});
    unlinkSync(join(dir, 'pki', 'ca.key'));
    await assert.rejects(ensurePki(dir, {}), /ca\.key is missing/);
  });

  test('rejects hosts that are neither addresses nor DNS names', async () => {
    await assert.rejects(ensurePki(tempDir(), { hosts: ['10.0.0.1:6443'] }), /neither an IP address nor a DNS name/);
    await assert.rejects(ensurePki(tempDir(), { hosts: ['https://example.test'] }), /neither/);
  });

  test('serving names include upstream in-cluster names, loopback and the extra hosts', () => {
    const { dnsNames, ipAddresses } = servingHosts(['192.168.1.9', 'Node-A.local', '[::ffff:1.2.3.4]', 'fe80::1%eth0']);
    for (const name of ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'node-a.local']) {
      assert.ok(dnsNames.includes(name), name);
    }
    for (const ip of ['127.0.0.1', '::1', '192.168.1.9']) assert.ok(ipAddresses.includes(ip), ip);
    assert.ok(ipAddresses.includes('::ffff:102:304'));
    assert.ok(ipAddresses.includes('fe80::1'));
    assert.equal(ipAddresses.length, 5);
  });
});

describe('certificates as OpenSSL sees them', { skip: !hasOpenssl && 'openssl not installed' }, () => {
  let dir: string;
  before(async () => {
    dir = join(tempDir(), 'pki');
    await ensurePki(join(dir, '..'), { hosts: ['10.9.8.7', 'skiff.example.test'] });
  });
  const openssl = (...args: string[]): string => execFileSync('openssl', args, { cwd: dir, encoding: 'utf8' });

  test('the chain verifies, strictly, for the intended purposes', () => {
    assert.match(openssl('verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', 'ca.crt', 'apiserver.crt'), /apiserver\.crt: OK/);
    assert.match(openssl('verify', '-x509_strict', '-purpose', 'sslclient', '-CAfile', 'ca.crt', 'admin.crt'), /admin\.crt: OK/);
    // Each leaf is for one purpose only.
    assert.equal(spawnSync('openssl', ['verify', '-purpose', 'sslclient', '-CAfile', 'ca.crt', 'apiserver.crt'], { cwd: dir }).status, 2);
    assert.equal(spawnSync('openssl', ['verify', '-purpose', 'sslserver', '-CAfile', 'ca.crt', 'admin.crt'], { cwd: dir }).status, 2);
  });

  test('a CA put in place by hand, RSA as kubeadm makes it, is used as is', async () => {
    const own = join(tempDir(), 'pki');
    mkdirSync(own);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=kubernetes', '-days', '30', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature'], { cwd: own, stdio: 'ignore' });
    await ensurePki(join(own, '..'), {});
    const run = (...args: string[]): string => execFileSync('openssl', args, { cwd: own, encoding: 'utf8' });
    assert.match(run('verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', 'ca.crt', 'apiserver.crt'), /OK/);
    assert.match(run('verify', '-x509_strict', '-purpose', 'sslclient', '-CAfile', 'ca.crt', 'admin.crt'), /OK/);
    assert.match(run('x509', '-in', 'admin.crt', '-noout', '-text'), /sha256WithRSAEncryption/);
  });

  test('the CA is a CA', () => {
    const text = openssl('x509', '-in', 'ca.crt', '-noout', '-text');
    assert.match(text, /Subject: CN = skiff-ca/);
    assert.match(text, /Basic Constraints: critical\s+CA:TRUE/);
    assert.match(text, /Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
    assert.match(text, /Subject Key Identifier/);
    assert.match(text, /ecdsa-with-SHA256/);
    const cert = new X509Certificate(openssl('x509', '-in', 'ca.crt'));
    const years = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / (365 * DAY);
    assert.ok(years > 9.9 && years < 10.1, `CA valid for ${years} years`);
  });

  test('the serving certificate carries the SANs and serverAuth', () => {
    const text = openssl('x509', '-in', 'apiserver.crt', '-noout', '-text');
    for (const san of [
      'DNS:localhost',
      'DNS:kubernetes',
      'DNS:kubernetes.default',
      'DNS:kubernetes.default.svc',
      'DNS:kubernetes.default.svc.cluster.local',
      'DNS:skiff.example.test',
      'IP Address:127.0.0.1',
      'IP Address:0:0:0:0:0:0:0:1',
      'IP Address:10.9.8.7',
    ]) {
      assert.ok(text.includes(san + ',') || text.includes(san + '\n'), san);
    }
    assert.match(text, /Extended Key Usage: \s+TLS Web Server Authentication\n/);
    assert.match(text, /Authority Key Identifier/);
    assert.match(text, /Basic Constraints: critical\s+CA:FALSE/);
  });

  test('the admin certificate is kubeadm-style kubernetes-admin in system:masters, for clientAuth', () => {
    const text = openssl('x509', '-in', 'admin.crt', '-noout', '-text', '-nameopt', 'RFC2253');
    assert.match(text, /Subject: CN=kubernetes-admin,O=system:masters/);
    assert.match(text, /Extended Key Usage: \s+TLS Web Client Authentication\n/);
    assert.doesNotMatch(text, /Subject Alternative Name/);
  });
});

describe('TLS with client certificates', () => {
  let pki: Pki;
  let server: IdentityServer;
  before(async () => {
    pki = await ensurePki(tempDir(), {});
    server = await startIdentityServer(pki);
  });
  after(() => server.close());

  test('the admin certificate is authorized as kubernetes-admin in system:masters', async () => {
    const seen = await get(server, { ca: pki.caCert, cert: pki.adminCert, key: pki.adminKey });
    assert.equal(seen.authorized, true);
    assert.deepEqual(seen.user, { name: 'kubernetes-admin', groups: ['system:masters'] });
  });

  test('without a client certificate the connection is not authorized', async () => {
    const seen = await get(server, { ca: pki.caCert });
    assert.equal(seen.authorized, false);
    assert.equal(seen.user, undefined);
  });

  test('a certificate from another CA is not authorized', async () => {
    const otherCa = await createCa('intruder-ca');
    const forged = await issueLeaf(otherCa, { commonName: 'kubernetes-admin', organizations: ['system:masters'], usage: 'client', validityDays: 1 });
    const seen = await get(server, { ca: pki.caCert, cert: forged.cert, key: forged.key });
    assert.equal(seen.authorized, false);
    assert.equal(seen.user, undefined);
  });

  test('the serving certificate is accepted for localhost and the in-cluster name', async () => {
    const viaName = await get(server, { ca: pki.caCert, host: 'localhost', cert: pki.adminCert, key: pki.adminKey });
    assert.equal(viaName.authorized, true);
    const viaService = await get(server, { ca: pki.caCert, servername: 'kubernetes.default.svc', cert: pki.adminCert, key: pki.adminKey });
    assert.equal(viaService.authorized, true);
    await assert.rejects(get(server, { ca: pki.caCert, servername: 'elsewhere.example.test' }), /altnames|Hostname/);
  });

  test('issued client certificates carry every organization as a group', async () => {
    const node = await issueClientCert(pki, { commonName: 'system:node:worker-1', organizations: ['system:nodes', 'team, ops'] });
    const seen = await get(server, { ca: pki.caCert, cert: node.cert, key: node.key });
    assert.equal(seen.authorized, true);
    assert.deepEqual(seen.user, { name: 'system:node:worker-1', groups: ['system:nodes', 'team, ops'] });
    // The DER path gives the same answer as the peer-certificate path.
    assert.deepEqual(userFromCertificate(new X509Certificate(node.cert).raw), seen.user);

    const loner = await issueClientCert(pki, { commonName: 'jane' });
    assert.deepEqual(userFromCertificate(new X509Certificate(loner.cert).raw), { name: 'jane', groups: [] });
  });

  test('Python (OpenSSL, strict X.509 checks as Python 3.13 defaults to) connects with the admin certificate', { skip: !hasPython && 'python3 not installed' }, async () => {
    const dir = tempDir();
    const files = { ca: join(dir, 'ca.crt'), cert: join(dir, 'admin.crt'), key: join(dir, 'admin.key') };
    writeFileSync(files.ca, pki.caCert);
    writeFileSync(files.cert, pki.adminCert);
    writeFileSync(files.key, pki.adminKey, { mode: 0o600 });
    const script = [
      'import ssl, sys, http.client',
      'ctx = ssl.create_default_context(cafile=sys.argv[1])',
      'ctx.verify_flags |= ssl.VERIFY_X509_STRICT',
      'ctx.load_cert_chain(sys.argv[2], sys.argv[3])',
      'c = http.client.HTTPSConnection("localhost", int(sys.argv[4]), context=ctx)',
      'c.request("GET", "/whoami")',
      'print(c.getresponse().read().decode())',
    ].join('\n');
    // Asynchronously: the server answering it runs in this process.
    const { stdout } = await execFileAsync('python3', ['-c', script, files.ca, files.cert, files.key, String(server.port)], { timeout: 20_000 });
    const seen = JSON.parse(stdout) as SeenRequest;
    assert.equal(seen.authorized, true);
    assert.deepEqual(seen.user, { name: 'kubernetes-admin', groups: ['system:masters'] });
  });
});

describe('userFromCertificate', () => {
  test('reads Node peer-certificate objects, taking the last CN as Go does', () => {
    const peer = { subject: { O: ['a', 'b'], CN: ['first', 'last'] } } as unknown as Parameters<typeof userFromCertificate>[0];
    assert.deepEqual(userFromCertificate(peer), { name: 'last', groups: ['a', 'b'] });
  });

  test('rejects a missing certificate and an empty common name', () => {
    const none = {} as Parameters<typeof userFromCertificate>[0];
    assert.throws(() => userFromCertificate(none), /no client certificate/);
    const noCn = { subject: { O: 'x' } } as unknown as Parameters<typeof userFromCertificate>[0];
    assert.throws(() => userFromCertificate(noCn), /no common name/);
  });
});
