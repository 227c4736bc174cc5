/**
 * The certificates admission plugins (upstream's plugin/pkg/admission/certificates):
 * - CertificateApproval: approving or denying a CertificateSigningRequest (its /approval) needs the
 *   `approve` verb on `signers` (certificates.k8s.io) named for its signerName or `<domain>/*`;
 * - CertificateSigning: setting status.certificate (its /status) needs `sign` on that signer;
 * - CertificateSubjectRestriction: nobody may ask kube-apiserver-client for a system:masters certificate.
 * CertificateSigning also keeps a /status write from changing the Approved and Denied conditions,
 * which only /approval may change (what upstream's status strategy does).
 */
import type { KubeObject } from '../../api/types.js';
import { errors, qualifiedResource } from '../../api/errors.js';
import type { Attributes } from '../authz/types.js';
import type { AdmissionPlugin, AdmissionRequest } from './types.js';
import { parseCertificateRequest } from '../../pki/pkcs10.js';
import { requestPem } from '../../api/validation/certificates.js';

const GROUP = 'certificates.k8s.io';
const DECISIONS = new Set(['Approved', 'Denied']);

function isCsr(a: AdmissionRequest): boolean {
  return a.entry.group === GROUP && a.entry.plural === 'certificatesigningrequests';
}

function forbidden(a: AdmissionRequest, why: string) {
  return errors.forbidden(`${qualifiedResource(GROUP, 'certificatesigningrequests')} "${a.name ?? ''}" is forbidden: ${why}`);
}

/** Whether the request's user may `verb` the signer (or every signer of its domain). */
function maySigner(authorized: (a: Attributes) => boolean, a: AdmissionRequest, verb: string, signerName: string): boolean {
  if (!a.user) return true;
  const ask = (name: string) =>
    authorized({ user: a.user!, verb, resourceRequest: true, path: '', apiGroup: GROUP, apiVersion: '*', resource: 'signers', subresource: '', namespace: '', name });
  if (ask(signerName)) return true;
  const slash = signerName.indexOf('/');
  return slash > 0 && ask(`${signerName.slice(0, slash)}/*`);
}

function conditions(obj: KubeObject | undefined): { type?: string }[] {
  const c = obj?.status?.conditions;
  return Array.isArray(c) ? c : [];
}

export function certificateAdmission(authorized: (a: Attributes) => boolean): AdmissionPlugin[] {
  return [
    {
      name: 'CertificateApproval',
      async validate(a) {
        if (a.operation !== 'UPDATE' || a.subresource !== 'approval' || !isCsr(a)) return;
        const signer = String(a.old?.spec?.signerName ?? '');
        if (!maySigner(authorized, a, 'approve', signer)) throw forbidden(a, `user not permitted to approve requests with signerName "${signer}"`);
      },
    },
    {
      name: 'CertificateSigning',
      async mutate(a) {
        if (a.operation !== 'UPDATE' || a.subresource !== 'status' || !isCsr(a)) return;
        const kept = conditions(a.old).filter((c) => DECISIONS.has(String(c.type)));
        const rest = conditions(a.obj).filter((c) => !DECISIONS.has(String(c.type)));
        const next = [...kept, ...rest];
        a.obj.status = { ...(a.obj.status ?? {}) };
        if (next.length > 0) a.obj.status.conditions = next;
        else delete a.obj.status.conditions;
      },
      async validate(a) {
        if (a.operation !== 'UPDATE' || a.subresource !== 'status' || !isCsr(a)) return;
        if ((a.obj.status?.certificate ?? '') === (a.old?.status?.certificate ?? '')) return;
        const signer = String(a.old?.spec?.signerName ?? '');
        if (!maySigner(authorized, a, 'sign', signer)) throw forbidden(a, `user not permitted to sign requests with signerName "${signer}"`);
      },
    },
    {
      name: 'CertificateSubjectRestriction',
      async validate(a) {
        if (a.operation !== 'CREATE' || a.subresource || !isCsr(a) || a.obj.spec?.signerName !== 'kubernetes.io/kube-apiserver-client') return;
        let orgs: string[];
        try {
          orgs = parseCertificateRequest(requestPem(a.obj)).organizations;
        } catch {
          return; // validation has refused it already
        }
        if (orgs.includes('system:masters')) throw forbidden(a, 'use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed');
      },
    },
  ];
}
