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

/** What a signer puts in a certificate for a CertificateSigningRequest. */
export interface RequestedCertificate {
  /** The request's subject Name, DER, copied unchanged. */
  subject: Uint8Array;
  /** The request's SubjectPublicKeyInfo, DER. */
  spki: Uint8Array;
  dnsNames?: string[];
  ipAddresses?: string[];
  emailAddresses?: string[];
  uris?: string[];
  /** Key usages by their certificates.k8s.io names ('digital signature', 'client auth', ...). */
  usages: string[];
  notBefore: Date;
  notAfter: Date;
}

/** A certificate for someone else's key (a CertificateSigningRequest's), signed by `ca`. */
export async function signRequestedCertificate(ca: KeyPair, req: RequestedCertificate): Promise<string> {
  const x509 = await loadX509();
  const caCert = new x509.X509Certificate(ca.cert);
  const signer = await importSigner(ca.key);
  const publicKey = new x509.PublicKey(req.spki);
  let keyUsage = 0;
  const extended: string[] = [];
  for (const u of req.usages) {
    const flag = KEY_USAGE_FLAGS[u];
    if (flag !== undefined) keyUsage |= x509.KeyUsageFlags[flag];
    const eku = EXTENDED_KEY_USAGES[u];
    if (eku) extended.push(eku);
  }
  const caKeyId = caCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const extensions: X509.Extension[] = [new x509.BasicConstraintsExtension(false, undefined, true)];
  if (keyUsage) extensions.push(new x509.KeyUsagesExtension(keyUsage, true));
  if (extended.length > 0) extensions.push(new x509.ExtendedKeyUsageExtension(extended));
  extensions.push(caKeyId ? new x509.AuthorityKeyIdentifierExtension(caKeyId) : await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey));
  const names: X509.JsonGeneralNames = [
    ...(req.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(req.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
    ...(req.emailAddresses ?? []).map((value) => ({ type: 'email' as const, value })),
    ...(req.uris ?? []).map((value) => ({ type: 'url' as const, value })),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));
  const cert = await x509.X509CertificateGenerator.create({
    subject: new x509.Name(req.subject),
    issuer: caCert.subjectName,
    publicKey,
    signingKey: signer.key,
    signingAlgorithm: signer.algorithm,
    notBefore: req.notBefore,
    notAfter: req.notAfter,
    extensions,
  });
  return cert.toString('pem') + '\n';
}

// certificates.k8s.io key usages, as upstream's signer maps them (pkg/apis/certificates/helpers.go).
const KEY_USAGE_FLAGS: Record<string, 'digitalSignature' | 'nonRepudiation' | 'keyEncipherment' | 'dataEncipherment' | 'keyAgreement' | 'keyCertSign' | 'cRLSign' | 'encipherOnly' | 'decipherOnly'> = {
  'signing': 'digitalSignature',
  'digital signature': 'digitalSignature',
  'content commitment': 'nonRepudiation',
  'key encipherment': 'keyEncipherment',
  'key agreement': 'keyAgreement',
  'data encipherment': 'dataEncipherment',
  'cert sign': 'keyCertSign',
  'crl sign': 'cRLSign',
  'encipher only': 'encipherOnly',
  'decipher only': 'decipherOnly',
};
const EXTENDED_KEY_USAGES: Record<string, string> = {
  'any': '2.5.29.37.0',
  'server auth': '1.3.6.1.5.5.7.3.1',
  'client auth': '1.3.6.1.5.5.7.3.2',
  'code signing': '1.3.6.1.5.5.7.3.3',
  'email protection': '1.3.6.1.5.5.7.3.4',
  's/mime': '1.3.6.1.5.5.7.3.4',
  'ipsec end system': '1.3.6.1.5.5.7.3.5',
  'ipsec tunnel': '1.3.6.1.5.5.7.3.6',
  'ipsec user': '1.3.6.1.5.5.7.3.7',
  'timestamping': '1.3.6.1.5.5.7.3.8',
  'ocsp signing': '1.3.6.1.5.5.7.3.9',
  'microsoft sgc': '1.3.6.1.4.1.311.10.3.3',
  'netscape sgc': '2.16.840.1.113730.4.1',
};

/** A new P-256 key and a PKCS#10 request for it (what a kubelet sends to get its certificate). */
export async function createCertificateRequest(subject: { commonName: string; organizations?: string[]; dnsNames?: string[]; ipAddresses?: string[] }): Promise<{ csr: string; key: string }> {
  const x509 = await loadX509();
  const keys = await newKeyPair();
  const names: X509.JsonGeneralNames = [
    ...(subject.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(subject.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [...(subject.organizations ?? []).map((o) => ({ O: [o] })), { CN: [subject.commonName] }],
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : [],
  });
  return { csr: csr.toString('pem') + '\n', key: await privateKeyPem(keys.privateKey) };
}
