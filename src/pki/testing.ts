// For tests: an HTTPS server set up as the API server will be (client certificates requested, not
// required) that answers with the identity it saw, so a test can tell what a real client presented.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Pki } from './certs.js';
import { userFromCertificate, type CertificateUser } from './identity.js';

export interface SeenRequest {
  method: string;
  url: string;
  authorized: boolean;
  authorizationError?: string;
  user?: CertificateUser;
}

export interface IdentityServer {
  url: string;
  port: number;
  seen: SeenRequest[];
  close(): Promise<void>;
}

export const VERSION_INFO = { major: '1', minor: '30', gitVersion: 'v1.30.0' };

export async function startIdentityServer(
  pki: Pick<Pki, 'caCert' | 'serverCert' | 'serverKey'>,
  host = '127.0.0.1',
): Promise<IdentityServer> {
  const seen: SeenRequest[] = [];
  const server: Server = createServer(
    { key: pki.serverKey, cert: pki.serverCert, ca: pki.caCert, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const socket = req.socket as TLSSocket;
      const peer = socket.getPeerCertificate();
      const entry: SeenRequest = { method: req.method ?? '', url: req.url ?? '', authorized: socket.authorized };
      if (socket.authorizationError) entry.authorizationError = String(socket.authorizationError);
      if (socket.authorized) entry.user = userFromCertificate(peer);
      seen.push(entry);
      req.resume();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(req.url === '/version' ? VERSION_INFO : entry));
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
