/**
 * Client certificate rotation, after client-go's certificate manager: once 70–90% (jittered) of
 * the current certificate's lifetime has passed, the node asks for a new one as itself (a
 * `selfnodeclient` CSR the approver recognises), saves it, and its client presents it from then on.
 */
import { X509Certificate } from 'node:crypto';
import type { Client } from '../../client/interface.js';
import { requestNodeCertificate, saveCredentials, type NodeCredentials } from './bootstrap.js';

/** When to rotate: notBefore + a uniformly drawn 70–90% of the lifetime (client-go's nextRotationDeadline). */
export function rotationDeadline(certPem: string, random: () => number = Math.random): number {
  const c = new X509Certificate(certPem);
  const notBefore = Date.parse(c.validFrom);
  const total = Date.parse(c.validTo) - notBefore;
  return notBefore + total * (0.7 + 0.2 * random());
}

export interface RotatingClient extends Client {
  setCredentials(cert: string, key: string): void;
}

export interface CertificateManagerOptions {
  nodeName: string;
  /** Where the credentials are saved (the agent's root dir). */
  root: string;
  log?: (m: string) => void;
  random?: () => number;
  /** Called after each rotation (tests). */
  onRotated?: (creds: NodeCredentials) => void;
}

// Timers longer than ~24.8 days overflow; long waits are taken a day at a time.
const MAX_TIMER_MS = 24 * 3600_000;
const RETRY_MIN_MS = 2_000;
const RETRY_MAX_MS = 5 * 60_000;

export class ClientCertificateManager {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private retryMs = RETRY_MIN_MS;

  constructor(
    private readonly client: RotatingClient,
    private creds: NodeCredentials,
    private readonly opts: CertificateManagerOptions,
  ) {}

  current(): NodeCredentials {
    return this.creds;
  }

  start(): void {
    this.schedule(rotationDeadline(this.creds.cert, this.opts.random));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(at: number): void {
    if (this.stopped) return;
    const wait = at - Date.now();
    if (wait > 0) {
      this.timer = setTimeout(() => this.schedule(at), Math.min(wait, MAX_TIMER_MS));
      this.timer.unref?.();
      return;
    }
    void this.rotate();
  }

  private async rotate(): Promise<void> {
    try {
      this.opts.log?.('client certificate rotation deadline reached; requesting a new certificate');
      const { cert, key } = await requestNodeCertificate(this.client, { nodeName: this.opts.nodeName, bootstrap: false, log: this.opts.log });
      if (this.stopped) return;
      this.creds = { ...this.creds, cert, key };
      await saveCredentials(this.opts.root, this.creds);
      this.client.setCredentials(cert, key);
      this.retryMs = RETRY_MIN_MS;
      this.opts.onRotated?.(this.creds);
      this.schedule(rotationDeadline(cert, this.opts.random));
    } catch (err) {
      if (this.stopped) return;
      this.opts.log?.(`rotating the client certificate failed (retrying in ${Math.round(this.retryMs / 1000)}s): ${(err as Error).message}`);
      this.schedule(Date.now() + this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    }
  }
}
