/**
 * The CSR approving controller (upstream's csrapproving, pkg/controller/certificates/approver):
 * approves kubelet client certificate requests (signer kube-apiserver-client-kubelet, CN
 * system:node:<name>, O system:nodes, client auth usages) when their requester may create
 * `certificatesigningrequests/nodeclient` (a bootstrapping node) or, for a node renewing its own
 * certificate, `certificatesigningrequests/selfnodeclient`. Whether the requester may is asked
 * with a SubjectAccessReview for the user recorded in the request's spec.
 */
import type { KubeObject } from '../../api/types.js';
import type { ResourceRef } from '../../client/interface.js';
import type { ControllerOptions } from '../informer-controller.js';
import type { ControllerContext } from '../context.js';
import type { CertificateRequestInfo } from '../../pki/pkcs10.js';
import { APPROVED, CsrController, CSRS, hasCertificate, isApproved, isDenied, KUBE_APISERVER_CLIENT_KUBELET_SIGNER, kubeletClientProblem, parsedRequest } from './csr.js';

const SUBJECT_ACCESS_REVIEWS: ResourceRef = { group: 'authorization.k8s.io', version: 'v1', resource: 'subjectaccessreviews' };

export type CsrApprovingOptions = ControllerOptions;

interface Recognizer {
  subresource: string;
  message: string;
  recognize(csr: KubeObject, req: CertificateRequestInfo): boolean;
}

function isNodeClientCert(csr: KubeObject, req: CertificateRequestInfo): boolean {
  return csr.spec?.signerName === KUBE_APISERVER_CLIENT_KUBELET_SIGNER && kubeletClientProblem(req, (csr.spec?.usages ?? []) as string[]) === '';
}

const RECOGNIZERS: Recognizer[] = [
  // A node renewing its own certificate is asked about first, as upstream.
  {
    subresource: 'selfnodeclient',
    message: 'Auto approving self kubelet client certificate after SubjectAccessReview.',
    recognize: (csr, req) => isNodeClientCert(csr, req) && csr.spec?.username === req.commonName,
  },
  { subresource: 'nodeclient', message: 'Auto approving kubelet client certificate after SubjectAccessReview.', recognize: isNodeClientCert },
];

export class CsrApprovingController extends CsrController {
  constructor(
    private readonly ctx: ControllerContext,
    opts: CsrApprovingOptions = {},
  ) {
    super('csrapproving', ctx, opts);
  }

  override async reconcile(name: string): Promise<void> {
    const csr = this.csrs.get(name);
    if (!csr || isApproved(csr) || isDenied(csr) || hasCertificate(csr)) return;
    const req = parsedRequest(csr);
    if (!req) return;
    const tried: string[] = [];
    for (const r of RECOGNIZERS) {
      if (!r.recognize(csr, req)) continue;
      tried.push(r.subresource);
      if (!(await this.allowed(csr, r.subresource))) continue;
      const conditions = [...((csr.status?.conditions ?? []) as object[]), { type: APPROVED, status: 'True', reason: 'AutoApproved', message: r.message }];
      await this.ctx.client.update(CSRS, '', { ...csr, status: { ...csr.status, conditions } }, { subresource: 'approval' });
      return;
    }
    if (tried.length > 0) throw new Error(`recognized csr "${name}" as [${tried.join(' ')}] but subject access review was not approved`);
  }

  /** Whether the CSR's requester may create `certificatesigningrequests/<subresource>`, asked with a SubjectAccessReview. */
  private async allowed(csr: KubeObject, subresource: string): Promise<boolean> {
    const spec = csr.spec ?? {};
    const review = await this.ctx.client.create(SUBJECT_ACCESS_REVIEWS, '', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: String(spec.username ?? ''),
        uid: spec.uid,
        groups: (spec.groups ?? []) as string[],
        extra: spec.extra,
        resourceAttributes: { group: 'certificates.k8s.io', version: '*', resource: 'certificatesigningrequests', subresource, verb: 'create' },
      },
    });
    return review.status?.allowed === true;
  }
}
