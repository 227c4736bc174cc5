// Building certificates and keys. Everything here is pure (no files); ./certs.ts decides what to
// keep on disk and when to renew.
//
// @peculiar/x509 and its ASN.1 stack take ~80 ms to load, which is most of a first start's PKI
// budget and all of a restart's, so it is loaded only when something has to be signed.
import { createPrivateKey, webcrypto } from 'node:crypto';
import type * as X509 from './x509.js';

type CryptoKey = webcrypto.CryptoKey;
type X509Module = typeof X509;

/** A PEM certificate and its PEM (PKCS#8) private key. */
export interface KeyPair {
  cert: string;
  key: string;
}

export type LeafUsage = 'server' | 'client';

export interface LeafSpec {
  commonName: string;
  organizations?: string[];
  usage: LeafUsage;
  dnsNames?: string[];
  ipAddresses?: string[];
  validityDays: number;
}

let x509Module: Promise<X509Module> | undefined;
function loadX509(): Promise<X509Module> {
  return (x509Module ??= import('./x509.js'));
}

const DAY_MS = 24 * 60 * 60 * 1000;
// Agents on other machines may run a little behind this one; a certificate that is not yet valid
// for them would fail their first TLS handshake.
const CLOCK_SKEW_MS = 60 * 60 * 1000;

export const CA_VALIDITY_DAYS = 3650;

const P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;

function validity(days: number, now: Date): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(now.getTime() - CLOCK_SKEW_MS), notAfter: new Date(now.getTime() + days * DAY_MS) };
}

async function newKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(P256, true, ['sign', 'verify']);
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const body = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n`;
}

interface Signer {
  key: CryptoKey;
  algorithm: webcrypto.EcdsaParams | webcrypto.Algorithm;
}

// skiff makes P-256 CAs, but a CA put in place by hand (kubeadm's is RSA) should still work.
// Hash sizes follow Go's choice per curve so the signatures look like upstream's.
async function importSigner(pem: string): Promise<Signer> {
  const keyObject = createPrivateKey(pem);
  const der = keyObject.export({ type: 'pkcs8', format: 'der' });
  if (keyObject.asymmetricKeyType === 'ec') {
    const curve = keyObject.asymmetricKeyDetails?.namedCurve;
    const spec =
      curve === 'prime256v1'
        ? { namedCurve: 'P-256', hash: 'SHA-256' }
        : curve === 'secp384r1'
          ? { namedCurve: 'P-384', hash: 'SHA-384' }
          : curve === 'secp521r1'
            ? { namedCurve: 'P-521', hash: 'SHA-512' }
            : undefined;
    if (!spec) throw new Error(`CA key uses unsupported curve ${curve ?? '(unknown)'}`);
    const key = await webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: spec.namedCurve }, false, [
      'sign',
    ]);
    return { key, algorithm: { name: 'ECDSA', hash: spec.hash } };
  }
  if (keyObject.asymmetricKeyType === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    const key = await webcrypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign']);
    return { key, algorithm };
  }
  throw new Error(`CA key type ${keyObject.asymmetricKeyType ?? '(unknown)'} is not supported`);
}

/** A self-signed CA: `CN=<commonName>`, CA:true, keyCertSign|cRLSign|digitalSignature. */
export async function createCa(commonName: string, now = new Date()): Promise<KeyPair> {
  const x509 = await loadX509();
  const keys = await newKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: [{ CN: [commonName] }],
    keys,
    ...validity(CA_VALIDITY_DAYS, now),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: await privateKeyPem(keys.privateKey) };
}

/** A leaf certificate with a fresh P-256 key, signed by `ca`. */
export async function issueLeaf(ca: KeyPair, spec: LeafSpec, now = new Date()): Promise<KeyPair> {
  if (!spec.commonName) throw new Error('a certificate needs a common name');
  const x509 = await loadX509();
  const caCert = new x509.X509Certificate(ca.cert);
  const [signer, keys] = await Promise.all([importSigner(ca.key), newKeyPair()]);

  // One RDN per attribute, organizations first, as Go's pkix.Name writes them; upstream's x509
  // authenticator reads every O as a group and the last CN as the user.
  const subject: X509.JsonName = [
    ...(spec.organizations ?? []).map((o) => ({ O: [o] })),
    { CN: [spec.commonName] },
  ];

  const caKeyId = caCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const authorityKeyId = caKeyId
    ? new x509.AuthorityKeyIdentifierExtension(caKeyId)
    : await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey);

  const extensions: X509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    // ECDSA keys only sign during the handshake; keyEncipherment would be meaningless for them.
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([
      spec.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
    ]),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    authorityKeyId,
  ];
  const names: X509.JsonGeneralNames = [
    ...(spec.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(spec.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));

  const cert = await x509.X509CertificateGenerator.create({
    subject,
    // The issuer is copied from the CA as parsed, not rebuilt from text: Go finds a certificate's
    // parent by comparing the raw issuer and subject bytes.
    issuer: caCert.subjectName,
    publicKey: keys.publicKey,
    signingKey: signer.key,
    signingAlgorithm: signer.algorithm,
    ...validity(spec.validityDays, now),
    extensions,
  });
  return { cert: cert.toString('pem') + '\n', key: await privateKeyPem(keys.privateKey) };
}
