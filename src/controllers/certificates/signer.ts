/**
 * The CSR signing controller (upstream's csrsigning, pkg/controller/certificates/signer): signs
 * approved requests for the kube-apiserver-client, kube-apiserver-client-kubelet and
 * kubelet-serving signers with the cluster CA. A request its signer cannot honour gets a Failed
 * condition (SignerValidationFailure). The certificate lives min(spec.expirationSeconds, the
 * signing duration — one year by default) and never past the CA; it is backdated five minutes for
 * clock skew, as upstream.
 */
import { X509Certificate } from 'node:crypto';
import type { ControllerOptions } from '../informer-controller.js';
import type { ControllerContext } from '../context.js';
import { signRequestedCertificate, type KeyPair } from '../../pki/issue.js';
import type { CertificateRequestInfo } from '../../pki/pkcs10.js';
import {
  apiserverClientProblem,
  CsrController,
  CSRS,
  FAILED,
  hasCertificate,
  isApproved,
  isFailed,
  KUBE_APISERVER_CLIENT_KUBELET_SIGNER,
  KUBE_APISERVER_CLIENT_SIGNER,
  KUBELET_SERVING_SIGNER,
  kubeletClientProblem,
  kubeletServingProblem,
  parsedRequest,
} from './csr.js';

export const DEFAULT_SIGNING_DURATION_MS = 365 * 24 * 3600_000;
const BACKDATE_MS = 5 * 60_000;

export interface CsrSigningOptions extends ControllerOptions {
  /** The CA that signs (the cluster CA): PEM certificate and key. */
  ca: KeyPair;
  /** --cluster-signing-duration (default one year). */
  signingDurationMs?: number;
}

const SIGNERS: Record<string, (req: CertificateRequestInfo, usages: string[]) => string> = {
  [KUBE_APISERVER_CLIENT_SIGNER]: apiserverClientProblem,
  [KUBE_APISERVER_CLIENT_KUBELET_SIGNER]: kubeletClientProblem,
  [KUBELET_SERVING_SIGNER]: kubeletServingProblem,
};

export class CsrSigningController extends CsrController {
  private readonly caNotAfter: number;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly opts: CsrSigningOptions,
  ) {
    super('csrsigning', ctx, opts);
    this.caNotAfter = Date.parse(new X509Certificate(opts.ca.cert).validTo);
  }

  override async reconcile(name: string): Promise<void> {
    const csr = this.csrs.get(name);
    if (!csr || !isApproved(csr) || isFailed(csr) || hasCertificate(csr)) return;
    const check = SIGNERS[String(csr.spec?.signerName ?? '')];
    if (!check) return;
    const usages = (csr.spec?.usages ?? []) as string[];
    const req = parsedRequest(csr);
    const problem = req ? check(req, usages) : 'unable to parse csr';
    if (problem || !req) {
      const conditions = [...((csr.status?.conditions ?? []) as object[]), { type: FAILED, status: 'True', reason: 'SignerValidationFailure', message: problem }];
      await this.ctx.client.update(CSRS, '', { ...csr, status: { ...csr.status, conditions } }, { subresource: 'status' });
      return;
    }
    const now = this.ctx.now();
    const requested = typeof csr.spec?.expirationSeconds === 'number' ? csr.spec.expirationSeconds * 1000 : Infinity;
    const duration = Math.min(requested, this.opts.signingDurationMs ?? DEFAULT_SIGNING_DURATION_MS);
    const pem = await signRequestedCertificate(this.opts.ca, {
      subject: req.subject,
      spki: req.spki,
      dnsNames: req.dnsNames,
      ipAddresses: req.ipAddresses,
      emailAddresses: req.emailAddresses,
      uris: req.uris,
      usages,
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(Math.min(now + duration, this.caNotAfter)),
    });
    await this.ctx.client.update(CSRS, '', { ...csr, status: { ...csr.status, certificate: Buffer.from(pem).toString('base64') } }, { subresource: 'status' });
  }
}
