/**
 * What the certificate controllers share about CertificateSigningRequests: the resource, the
 * well-known signers (k8s.io/api/certificates/v1) and reading a request's state.
 */
import type { KubeObject } from '../../api/types.js';
import type { ResourceRef } from '../../client/interface.js';
import type { Informer } from '../../client/informer.js';
import { InformerController, type ControllerOptions } from '../informer-controller.js';
import type { ControllerContext } from '../context.js';
import { APPROVED, DENIED, FAILED, hasCondition, requestPem } from '../../api/validation/certificates.js';
import { parseCertificateRequest, type CertificateRequestInfo } from '../../pki/pkcs10.js';

export const CSRS: ResourceRef = { group: 'certificates.k8s.io', version: 'v1', resource: 'certificatesigningrequests' };

export const KUBE_APISERVER_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client';
export const KUBE_APISERVER_CLIENT_KUBELET_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';
export const KUBELET_SERVING_SIGNER = 'kubernetes.io/kubelet-serving';

export { APPROVED, DENIED, FAILED, requestPem };

export function isApproved(csr: KubeObject): boolean {
  return hasCondition(csr, APPROVED);
}
export function isDenied(csr: KubeObject): boolean {
  return hasCondition(csr, DENIED);
}
export function isFailed(csr: KubeObject): boolean {
  return hasCondition(csr, FAILED);
}
export function hasCertificate(csr: KubeObject): boolean {
  return typeof csr.status?.certificate === 'string' && csr.status.certificate !== '';
}

/** The parsed request; undefined when it does not parse (validation let it in, so that is rare). */
export function parsedRequest(csr: KubeObject): CertificateRequestInfo | undefined {
  try {
    return parseCertificateRequest(requestPem(csr));
  } catch {
    return undefined;
  }
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/**
 * Upstream's ValidateKubeletClientCSR: O=system:nodes only, CN system:node:<name>, no names, and
 * usages client auth with digital signature and/or key encipherment. Returns the problem, or ''.
 */
export function kubeletClientProblem(req: CertificateRequestInfo, usages: string[]): string {
  if (!sameSet(req.organizations, ['system:nodes'])) return 'subject organization is not system:nodes';
  if (req.dnsNames.length > 0) return 'DNS subjectAltNames are not allowed';
  if (req.emailAddresses.length > 0) return 'Email subjectAltNames are not allowed';
  if (req.ipAddresses.length > 0) return 'IP subjectAltNames are not allowed';
  if (req.uris.length > 0) return 'URI subjectAltNames are not allowed';
  if (!req.commonName.startsWith('system:node:')) return 'subject common name does not begin with system:node:';
  const allowed = [['key encipherment', 'digital signature', 'client auth'], ['digital signature', 'client auth'], ['key encipherment', 'client auth']];
  if (!allowed.some((set) => sameSet([...new Set(usages)], set))) return `usages did not match [${allowed.map((s) => s.join(' ')).join('], [')}]`;
  return '';
}

/** Upstream's ValidateKubeletServingCSR. */
export function kubeletServingProblem(req: CertificateRequestInfo, usages: string[]): string {
  if (!sameSet(req.organizations, ['system:nodes'])) return 'subject organization is not system:nodes';
  if (req.dnsNames.length === 0 && req.ipAddresses.length === 0) return 'DNS or IP subjectAltName is required';
  if (req.emailAddresses.length > 0) return 'Email subjectAltNames are not allowed';
  if (req.uris.length > 0) return 'URI subjectAltNames are not allowed';
  if (!req.commonName.startsWith('system:node:')) return 'subject common name does not begin with system:node:';
  const allowed = [['key encipherment', 'digital signature', 'server auth'], ['digital signature', 'server auth'], ['key encipherment', 'server auth']];
  if (!allowed.some((set) => sameSet([...new Set(usages)], set))) return `usages did not match [${allowed.map((s) => s.join(' ')).join('], [')}]`;
  return '';
}

/** What the kube-apiserver-client signer accepts: client auth, with signing usages at most. */
export function apiserverClientProblem(_req: CertificateRequestInfo, usages: string[]): string {
  const ok = new Set(['digital signature', 'key encipherment', 'client auth']);
  if (!usages.includes('client auth')) return 'usages must include client auth';
  const extra = usages.filter((u) => !ok.has(u));
  if (extra.length > 0) return `invalid usage for client certificate: ${extra[0]}`;
  return '';
}

/** The base of the CSR controllers (approving, signing, cleaning): each reconciles every CSR by name from the shared informer. */
export abstract class CsrController extends InformerController {
  protected readonly csrs: Informer;

  constructor(name: string, ctx: ControllerContext, opts: ControllerOptions) {
    super(name, { log: ctx.log, ...opts });
    this.csrs = ctx.informers.informer(CSRS);
    this.share(this.csrs);
    const enqueue = (csr: KubeObject) => this.queue.add(csr.metadata!.name!);
    this.csrs.onAdd(enqueue).onUpdate((_o, csr) => enqueue(csr));
  }
}
