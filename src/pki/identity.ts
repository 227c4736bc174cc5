// Who a client certificate names, read as upstream's x509 authenticator reads it
// (k8s.io/apiserver/pkg/authentication/request/x509: CommonNameUserConversion).
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';

export interface CertificateUser {
  name: string;
  groups: string[];
}

type SubjectFields = Record<string, string | string[] | undefined>;

/**
 * The user a verified client certificate authenticates: the subject's CN is the user name and every
 * O is a group. Throws when there is no certificate or its CN is empty, which upstream treats as
 * "not authenticated by this method". Callers must have checked the chain (`socket.authorized`).
 */
export function userFromCertificate(cert: PeerCertificate | Uint8Array | ArrayBuffer): CertificateUser {
  const subject: SubjectFields | undefined =
    cert instanceof Uint8Array || cert instanceof ArrayBuffer
      ? // Node's legacy object is the shape getPeerCertificate() returns, so both inputs share one path.
        (new X509Certificate(cert instanceof ArrayBuffer ? new Uint8Array(cert) : cert).toLegacyObject().subject as SubjectFields)
      : (cert.subject as SubjectFields | undefined);
  if (!subject) throw new Error('no client certificate');
  // A repeated attribute comes as an array; Go keeps the last CN, so this does too.
  const cn = values(subject.CN).at(-1);
  if (!cn) throw new Error('client certificate has no common name');
  return { name: cn, groups: values(subject.O) };
}

function values(field: string | string[] | undefined): string[] {
  return field === undefined ? [] : Array.isArray(field) ? field : [field];
}
