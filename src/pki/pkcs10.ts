// PKCS#10 certificate requests (RFC 2986) as the API server and the certificate controllers read
// them: the subject, the requested names and the public key, with the request's signature checked.
// Synchronous, and small enough to read: validation runs on the request path, where loading the
// ASN.1 library (@peculiar/x509, ~80 ms) would stall the first CertificateSigningRequest.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

export interface CertificateRequestInfo {
  /** The last CN of the subject ('' when there is none), as Go reads pkix.Name.CommonName. */
  commonName: string;
  organizations: string[];
  dnsNames: string[];
  ipAddresses: string[];
  emailAddresses: string[];
  uris: string[];
  publicKey: KeyObject;
  /** The SubjectPublicKeyInfo, DER. */
  spki: Buffer;
  /** The subject Name as it was encoded, DER (a signer copies it into the certificate unchanged). */
  subject: Buffer;
}

interface Node {
  tag: number;
  /** Where the element's header starts. */
  start: number;
  /** Where its content starts and ends. */
  body: number;
  end: number;
}

function read(buf: Buffer, at: number, limit = buf.length): Node {
  if (at + 2 > limit) throw new Error('truncated');
  const tag = buf[at];
  let len = buf[at + 1];
  let body = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || body + n > limit) throw new Error('bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[body + i];
    body += n;
  }
  const end = body + len;
  if (end > limit) throw new Error('truncated');
  return { tag, start: at, body, end };
}

function children(buf: Buffer, n: Node): Node[] {
  const out: Node[] = [];
  for (let at = n.body; at < n.end; ) {
    const c = read(buf, at, n.end);
    out.push(c);
    at = c.end;
  }
  return out;
}

function oid(buf: Buffer, n: Node): string {
  if (n.tag !== 0x06) throw new Error('expected an object identifier');
  const parts: number[] = [];
  let v = 0;
  for (let i = n.body; i < n.end; i++) {
    v = v * 128 + (buf[i] & 0x7f);
    if (!(buf[i] & 0x80)) {
      if (parts.length === 0) parts.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

const CN = '2.5.4.3';
const O = '2.5.4.10';
const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const SUBJECT_ALT_NAME = '2.5.29.17';

/** Signature algorithms Go's x509 accepts in requests, and the hash node:crypto needs for each. */
const SIGNATURE_HASH: Record<string, string | null> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.3.101.112': null,
};

/** The DER of the first `CERTIFICATE REQUEST` PEM block; throws upstream's message otherwise. */
export function csrDer(pem: string): Buffer {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(pem);
  if (!m || (m[1] !== 'CERTIFICATE REQUEST' && m[1] !== 'NEW CERTIFICATE REQUEST')) throw new Error('PEM block type must be CERTIFICATE REQUEST');
  return Buffer.from(m[2].replace(/\s+/g, ''), 'base64');
}

/** Reads a PEM certificate request and checks its signature; throws an Error saying what is wrong. */
export function parseCertificateRequest(pem: string): CertificateRequestInfo {
  const der = csrDer(pem);
  let info: CertificateRequestInfo;
  let tbs: Buffer;
  let hash: string | null;
  let signature: Buffer;
  try {
    const outer = read(der, 0);
    const [cri, alg, sig] = children(der, outer);
    if (outer.tag !== 0x30 || !cri || cri.tag !== 0x30 || !alg || !sig || sig.tag !== 0x03) throw new Error('malformed');
    tbs = der.subarray(cri.start, cri.end);
    const algOid = oid(der, children(der, alg)[0]);
    if (!(algOid in SIGNATURE_HASH)) throw new Error(`unsupported signature algorithm ${algOid}`);
    hash = SIGNATURE_HASH[algOid];
    signature = der.subarray(sig.body + 1, sig.end);
    const [, subject, spkiNode, attrs] = children(der, cri);
    if (!subject || subject.tag !== 0x30 || !spkiNode || spkiNode.tag !== 0x30) throw new Error('malformed');
    const spki = Buffer.from(der.subarray(spkiNode.start, spkiNode.end));
    info = { subject: Buffer.from(der.subarray(subject.start, subject.end)), commonName: '', organizations: [], dnsNames: [], ipAddresses: [], emailAddresses: [], uris: [], spki, publicKey: createPublicKey({ key: spki, format: 'der', type: 'spki' }) };
    for (const rdn of children(der, subject)) {
      for (const atv of children(der, rdn)) {
        const [type, value] = children(der, atv);
        const text = der.subarray(value.body, value.end).toString(value.tag === 0x1e ? 'utf16le' : 'utf8');
        const t = oid(der, type);
        if (t === CN) info.commonName = text;
        else if (t === O) info.organizations.push(text);
      }
    }
    if (attrs && attrs.tag === 0xa0) {
      for (const attr of children(der, attrs)) {
        const [type, values] = children(der, attr);
        if (oid(der, type) !== EXTENSION_REQUEST) continue;
        for (const exts of children(der, values)) {
          for (const ext of children(der, exts)) {
            const parts = children(der, ext);
            if (oid(der, parts[0]) !== SUBJECT_ALT_NAME) continue;
            const octets = parts[parts.length - 1];
            readNames(der, read(der, octets.body, octets.end), info);
          }
        }
      }
    }
  } catch (err) {
    throw new Error(`x509: malformed certificate request (${(err as Error).message})`);
  }
  let ok = false;
  try {
    ok = verify(hash, tbs, info.publicKey, signature);
  } catch {
    ok = false;
  }
  // Go's messages (crypto/x509 CheckSignature).
  if (!ok) throw new Error(info.publicKey.asymmetricKeyType === 'rsa' ? 'crypto/rsa: verification error' : info.publicKey.asymmetricKeyType === 'ed25519' ? 'x509: Ed25519 verification failure' : 'x509: ECDSA verification failure');
  return info;
}

function readNames(der: Buffer, names: Node, info: CertificateRequestInfo): void {
  for (const n of children(der, names)) {
    const raw = der.subarray(n.body, n.end);
    if (n.tag === 0x82) info.dnsNames.push(raw.toString('latin1'));
    else if (n.tag === 0x81) info.emailAddresses.push(raw.toString('latin1'));
    else if (n.tag === 0x86) info.uris.push(raw.toString('latin1'));
    else if (n.tag === 0x87) info.ipAddresses.push(ipText(raw));
  }
}

function ipText(raw: Buffer): string {
  if (raw.length === 4) return [...raw].join('.');
  const groups: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) groups.push(raw.readUInt16BE(i).toString(16));
  const text = groups.join(':');
  return isIP(text) ? new URL(`http://[${text}]/`).hostname.slice(1, -1) : text;
}
