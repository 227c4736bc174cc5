/**
 * One POST of an AdmissionReview to a webhook over HTTPS, with the configuration's caBundle as the
 * only trusted CA and its timeoutSeconds as the deadline. Failures are reported in the words of
 * upstream's Go client (`Post "https://…?timeout=10s": context deadline exceeded`), since users
 * search for those.
 */
import https from 'node:https';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';

/** A failure to talk to the webhook (as opposed to the webhook refusing): failurePolicy decides. */
export class WebhookCallError extends Error {}

export interface WebhookTarget {
  /** https://host:port/path, without the timeout parameter. */
  url: URL;
  ca?: string;
  /** The name the certificate must carry when it differs from the URL's host (a Service's DNS name). */
  serverName?: string;
}

/** Largest response read from a webhook (upstream's limit for AdmissionReview responses is similar). */
const MAX_RESPONSE_BYTES = 3 * 1024 * 1024;

const agents = new Map<string, https.Agent>();

function agentFor(ca: string | undefined): https.Agent {
  const key = ca ?? '';
  let agent = agents.get(key);
  if (!agent) {
    agent = new https.Agent({ keepAlive: true, maxSockets: 64, ca, minVersion: 'TLSv1.2' });
    agents.set(key, agent);
  }
  return agent;
}

function describeTransportError(err: NodeJS.ErrnoException & { reason?: string }, url: URL): string {
  const hostPort = `${url.hostname}:${url.port || '443'}`;
  switch (err.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${hostPort}: connect: connection refused`;
    case 'ENOTFOUND':
      return `dial tcp: lookup ${url.hostname}: no such host`;
    case 'ECONNRESET':
      return 'EOF';
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return 'tls: failed to verify certificate: x509: certificate signed by unknown authority';
    case 'CERT_HAS_EXPIRED':
      return 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid';
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `tls: failed to verify certificate: x509: ${err.reason ?? err.message}`;
    default:
      return err.message;
  }
}

/**
 * POSTs `body` and resolves with the parsed JSON answer; rejects with a WebhookCallError whose
 * message is upstream's reason text (after "failed to call webhook: ").
 */
export function postJson(target: WebhookTarget, body: string, timeoutSeconds: number): Promise<unknown> {
  const url = new URL(target.url.href);
  // Upstream's client tells the webhook its deadline the same way.
  url.searchParams.set('timeout', `${timeoutSeconds}s`);
  const where = `Post ${JSON.stringify(url.href)}`;
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (reason: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(new WebhookCallError(reason));
    };
    const serverName = target.serverName;
    const req = https.request(url, {
      method: 'POST',
      agent: agentFor(target.ca),
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, */*', 'Content-Length': Buffer.byteLength(body) },
      ...(serverName
        ? { servername: serverName, checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(serverName, cert) }
        : {}),
    });
    const timer = setTimeout(() => fail(`${where}: context deadline exceeded`), timeoutSeconds * 1000);
    req.on('error', (err) => fail(`${where}: ${describeTransportError(err, url)}`));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_RESPONSE_BYTES) fail(`${where}: response body too large`);
        else chunks.push(c);
      });
      res.on('error', (err) => fail(`${where}: ${err.message}`));
      res.on('end', () => {
        if (settled) return;
        const text = Buffer.concat(chunks).toString('utf8');
        const code = res.statusCode ?? 0;
        if (code < 200 || code > 299) {
          return fail(failureFromStatus(code, text));
        }
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch (err) {
          return fail(`couldn't get version/kind; json parse error: ${(err as Error).message}`);
        }
        settled = true;
        clearTimeout(timer);
        resolve(parsed);
      });
    });
    req.end(body);
  });
}

/** What upstream's client makes of a non-2xx answer: the webhook's Status message when it sent one. */
function failureFromStatus(code: number, text: string): string {
  try {
    const s = JSON.parse(text) as { kind?: string; message?: string };
    if (s && s.kind === 'Status' && typeof s.message === 'string') return s.message;
  } catch {
    // not a Status: fall through to the generic text
  }
  const shown = text.length > 0 ? JSON.stringify(text.trim()) : '';
  if (code === 500 && shown) return `an error on the server (${shown}) has prevented the request from succeeding`;
  return `the server responded with the status code ${code} but did not return more information`;
}
