/**
 * The CSR cleaner (upstream's csrcleaner, pkg/controller/certificates/cleaner): deletes requests
 * once they are of no further use — pending ones after 24 hours, approved-and-issued, denied and
 * failed ones an hour after that happened, and any whose certificate has expired.
 */
import { X509Certificate } from 'node:crypto';
import type { KubeObject } from '../../api/types.js';
import { ApiError } from '../../api/errors.js';
import type { ControllerOptions } from '../informer-controller.js';
import type { ControllerContext } from '../context.js';
import { CsrController, CSRS, hasCertificate } from './csr.js';

const HOUR = 3600_000;
export const PENDING_EXPIRATION_MS = 24 * HOUR;
export const DECIDED_EXPIRATION_MS = HOUR;
const MAX_WAIT_MS = 24 * HOUR;

function conditionTime(csr: KubeObject, type: string): number | undefined {
  const c = ((csr.status?.conditions ?? []) as { type?: string; status?: string; lastUpdateTime?: string }[]).find((x) => x.type === type && x.status === 'True');
  return c ? Date.parse(c.lastUpdateTime ?? '') || Date.parse(String(csr.metadata?.creationTimestamp ?? '')) : undefined;
}

/** When `csr` may go (milliseconds since the epoch). */
export function cleanupTime(csr: KubeObject): number {
  const created = Date.parse(String(csr.metadata?.creationTimestamp ?? '')) || 0;
  const times: number[] = [];
  const approved = conditionTime(csr, 'Approved');
  if (hasCertificate(csr)) {
    if (approved !== undefined) times.push(approved + DECIDED_EXPIRATION_MS);
    try {
      times.push(Date.parse(new X509Certificate(Buffer.from(String(csr.status!.certificate), 'base64')).validTo));
    } catch {
      // an unreadable certificate: the other rules decide
    }
  }
  for (const type of ['Denied', 'Failed']) {
    const t = conditionTime(csr, type);
    if (t !== undefined) times.push(t + DECIDED_EXPIRATION_MS);
  }
  if (approved === undefined && conditionTime(csr, 'Denied') === undefined && conditionTime(csr, 'Failed') === undefined) times.push(created + PENDING_EXPIRATION_MS);
  return times.length > 0 ? Math.min(...times) : Infinity;
}

export class CsrCleaner extends CsrController {

  constructor(
    private readonly ctx: ControllerContext,
    opts: ControllerOptions = {},
  ) {
    super('csrcleaner', ctx, opts);
  }

  override async reconcile(name: string): Promise<void> {
    const csr = this.csrs.get(name);
    if (!csr) return;
    const due = cleanupTime(csr);
    const now = this.ctx.now();
    if (due === Infinity) return;
    if (due > now) {
      this.queue.addAfter(name, Math.min(due - now, MAX_WAIT_MS));
      return;
    }
    try {
      await this.ctx.client.delete(CSRS, '', name, { preconditions: { uid: csr.metadata!.uid } });
    } catch (err) {
      if (err instanceof ApiError && (err.code === 404 || err.code === 409)) return;
      throw err;
    }
  }
}
