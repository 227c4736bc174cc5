import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { createCa, createCertificateRequest, signRequestedCertificate } from './issue.js';
import { parseCertificateRequest } from './pkcs10.js';
import { userFromCertificate } from './identity.js';

test('a request made here reads back with its subject, names and key, and a signer issues for that key', async () => {
  const { csr, key } = await createCertificateRequest({ commonName: 'system:node:n1', organizations: ['system:nodes'], dnsNames: ['n1.example'], ipAddresses: ['10.0.0.7'] });
  const info = parseCertificateRequest(csr);
  assert.equal(info.commonName, 'system:node:n1');
  assert.deepEqual(info.organizations, ['system:nodes']);
  assert.deepEqual(info.dnsNames, ['n1.example']);
  assert.deepEqual(info.ipAddresses, ['10.0.0.7']);

  const ca = await createCa('test-ca');
  const now = Date.now();
  const pem = await signRequestedCertificate(ca, {
    subject: info.subject,
    spki: info.spki,
    usages: ['digital signature', 'client auth'],
    notBefore: new Date(now - 300_000),
    notAfter: new Date(now + 3600_000),
  });
  const cert = new X509Certificate(pem);
  assert.ok(cert.verify(new X509Certificate(ca.cert).publicKey));
  assert.ok(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(key)));
  assert.deepEqual(userFromCertificate(cert.raw), { name: 'system:node:n1', groups: ['system:nodes'] });
  assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2']);
});

test('a request whose signature does not match, or that is not a request, is refused with Go\'s messages', async () => {
  assert.throws(() => parseCertificateRequest('hello'), /PEM block type must be CERTIFICATE REQUEST/);
  const { csr } = await createCertificateRequest({ commonName: 'a' });
  const body = Buffer.from(csr.split('\n').slice(1, -2).join(''), 'base64');
  body[body.length - 5] ^= 0xff;
  const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${body.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  assert.throws(() => parseCertificateRequest(tampered), /verification failure|malformed/);
});
