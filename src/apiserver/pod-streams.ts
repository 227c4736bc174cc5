/**
 * The pod subresources that reach into a node: `log`, `exec`, `attach` and `portforward`, after
 * upstream's LogREST / ExecREST / AttachREST / PortForwardREST. The API server finds the pod, its
 * container and its node, then proxies to the node agent's streaming server (the kubelet's paths
 * on node.status.daemonEndpoints.kubeletEndpoint.Port) over HTTPS with its own client certificate.
 * Upgrades (websockets, SPDY) are proxied byte for byte once the agent has answered 101, so every
 * streaming protocol passes through untouched.
 */
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { KubeObject, ResourceEntry } from '../api/types.js';
import { ApiError, causes, errors, type StatusCause } from '../api/errors.js';
import type { RequestInfo } from './request-info.js';
import type { ResourceStore } from './resource-store.js';
import type { ResourceRegistry } from './registry.js';
import { toApiError } from './http.js';

/** How the API server reaches node agents. */
export interface KubeletClientConfig {
  /** The API server's client certificate and key for agents (CN kube-apiserver-kubelet-client). */
  cert: string;
  key: string;
  /**
   * CA that agents' serving certificates must chain to. Absent: not verified, as upstream's
   * default (no --kubelet-certificate-authority).
   */
  ca?: string;
  /** Milliseconds to wait for an agent to answer (connect and headers); default 30 s. */
  timeoutMs?: number;
}

/** The streaming subresources of pods, with upstream's discovery kinds and verbs. */
export const POD_STREAM_SUBRESOURCES: { name: string; kind: string; verbs: string[] }[] = [
  { name: 'attach', kind: 'PodAttachOptions', verbs: ['create', 'get'] },
  { name: 'exec', kind: 'PodExecOptions', verbs: ['create', 'get'] },
  { name: 'log', kind: 'Pod', verbs: ['get'] },
  { name: 'portforward', kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
];

export function hasPodStreams(e: ResourceEntry): boolean {
  return e.group === '' && e.version === 'v1' && e.plural === 'pods';
}

export function isPodStreamRequest(info: RequestInfo): boolean {
  return info.group === '' && info.version === 'v1' && info.resource === 'pods' && POD_STREAM_SUBRESOURCES.some((s) => s.name === info.subresource);
}

const TRUE = (v: string | null) => v === 'true' || v === '1';

interface NodeEndpoint {
  host: string;
  port: number;
}

export class PodStreams {
  constructor(
    private readonly resources: ResourceStore,
    private readonly registry: ResourceRegistry,
    private readonly kubelet: KubeletClientConfig | undefined,
  ) {}

  /** A plain request: `log`, or an exec/attach/portforward that did not ask for an upgrade. */
  async serve(req: IncomingMessage, res: ServerResponse, info: RequestInfo, query: URLSearchParams): Promise<void> {
    this.checkPath(info);
    const method = (req.method ?? 'GET').toUpperCase();
    if (info.subresource !== 'log') {
      if (method !== 'GET' && method !== 'POST') throw methodNotAllowed();
      // Upstream answers a connect without an upgrade the same way.
      throw errors.badRequest('Upgrade request required');
    }
    if (method !== 'GET') throw methodNotAllowed();
    const opts = logOptions(info.name, query);
    const pod = await this.pod(info);
    const container = chooseContainer(pod, info.name, query.get('container') ?? '');
    const nodeName = pod.spec?.nodeName;
    // A pod not yet on a node has no log: upstream answers an empty stream.
    if (!nodeName) {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end();
      return;
    }
    const node = await this.node(nodeName);
    const path = `/containerLogs/${enc(info.namespace)}/${enc(info.name)}/${enc(container)}?${opts.toString()}`;
    const upstream = await this.request(node, 'GET', path, { accept: '*/*' }, `Get "https://${hostPort(node)}${path}"`);
    if (upstream.statusCode && upstream.statusCode >= 200 && upstream.statusCode < 300) {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
      res.flushHeaders();
      upstream.pipe(res);
      res.on('close', () => upstream.destroy());
      return;
    }
    throw await agentError(upstream, info.name);
  }

  /** exec, attach, portforward with `Upgrade:` (websocket or SPDY): proxied as raw bytes after the agent's 101. */
  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, info: RequestInfo, query: URLSearchParams): Promise<void> {
    this.checkPath(info);
    const method = (req.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'POST') throw methodNotAllowed();
    if (info.subresource === 'log') throw errors.badRequest('log does not support upgrades');
    const pod = await this.pod(info);
    const params = new URLSearchParams();
    let path: string;
    if (info.subresource === 'portforward') {
      const ports = query.getAll('ports');
      if (ports.length) params.set('port', ports.join(','));
      path = `/portForward/${enc(info.namespace)}/${enc(info.name)}`;
    } else {
      const container = chooseContainer(pod, info.name, query.get('container') ?? '');
      for (const f of ['stdin', 'stdout', 'stderr', 'tty']) if (TRUE(query.get(f))) params.set(f, '1');
      if (info.subresource === 'exec') for (const c of query.getAll('command')) params.append('command', c);
      path = `/${info.subresource}/${enc(info.namespace)}/${enc(info.name)}/${enc(container)}`;
    }
    if (!pod.spec?.nodeName) throw errors.badRequest(`pod ${info.name} does not have a host assigned`);
    const node = await this.node(pod.spec.nodeName);
    const qs = params.toString();
    const fullPath = qs ? `${path}?${qs}` : path;
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined || DROPPED_HEADERS.has(k)) continue;
      headers[k] = v;
    }
    headers.host = hostPort(node);
    const agentReq = this.open(node, method, fullPath, headers);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => agentReq.destroy(new Error('timed out waiting for the node agent to answer')), this.kubelet?.timeoutMs ?? 30_000);
      agentReq.on('upgrade', (res: IncomingMessage, agentSocket: Duplex, agentHead: Buffer) => {
        clearTimeout(timer);
        socket.write(responseHead(res));
        if (agentHead.length) socket.write(agentHead);
        if (head.length) agentSocket.write(head);
        pipeSockets(socket, agentSocket);
        resolve();
      });
      agentReq.on('response', (res: IncomingMessage) => {
        clearTimeout(timer);
        // The agent refused the upgrade: its answer goes to the client as it is (the client may fall back).
        socket.write(responseHead(res));
        res.pipe(socket);
        res.on('end', () => resolve());
        res.on('error', () => resolve());
      });
      agentReq.on('error', (err) => {
        clearTimeout(timer);
        reject(new ApiError(500, '', `error dialing backend: ${err.message}`));
      });
      socket.on('close', () => agentReq.destroy());
      agentReq.end();
    });
  }

  private checkPath(info: RequestInfo): void {
    if (!info.namespacedPath || !info.name) throw errors.pathNotFound();
  }

  private async pod(info: RequestInfo): Promise<KubeObject & { spec?: any }> {
    const entry = this.registry.lookup('', 'v1', 'pods');
    if (!entry) throw errors.pathNotFound();
    return (await this.resources.get(entry, info.namespace, info.name)).obj as KubeObject & { spec?: any };
  }

  private async node(name: string): Promise<NodeEndpoint> {
    const entry = this.registry.lookup('', 'v1', 'nodes');
    if (!entry) throw errors.pathNotFound();
    const node = (await this.resources.get(entry, '', name)).obj as KubeObject & { status?: any };
    const addresses = (node.status?.addresses ?? []) as { type?: string; address?: string }[];
    let host = '';
    for (const type of ADDRESS_PREFERENCE) {
      host = addresses.find((a) => a.type === type && a.address)?.address ?? '';
      if (host) break;
    }
    // A node that reports no address is still reachable by name, as upstream falls back to it.
    if (!host) host = name;
    const port = Number(node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 0);
    return { host, port: port > 0 ? port : 10250 };
  }

  private open(node: NodeEndpoint, method: string, path: string, headers: Record<string, string | string[]>) {
    const k = this.kubelet;
    return https.request({
      host: node.host,
      port: node.port,
      method,
      path,
      headers,
      agent: false,
      cert: k?.cert,
      key: k?.key,
      ca: k?.ca,
      rejectUnauthorized: !!k?.ca,
      // Agents are reached by address; their certificates need not name it.
      checkServerIdentity: () => undefined,
      servername: undefined,
    });
  }

  private request(node: NodeEndpoint, method: string, path: string, headers: Record<string, string>, what: string): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const r = this.open(node, method, path, headers);
      const timer = setTimeout(() => r.destroy(new Error('timed out waiting for the node agent to answer')), this.kubelet?.timeoutMs ?? 30_000);
      r.on('response', (res) => {
        clearTimeout(timer);
        resolve(res);
      });
      r.on('error', (err) => {
        clearTimeout(timer);
        reject(new ApiError(500, '', `${what}: ${describeDialError(err, node)}`));
      });
      r.end();
    });
  }
}

/** Upstream's default --kubelet-preferred-address-types, with InternalIP first (skiff's nodes report it). */
const ADDRESS_PREFERENCE = ['InternalIP', 'Hostname', 'InternalDNS', 'ExternalIP', 'ExternalDNS'];

/** Headers that belong to the client's connection to us, not to ours to the agent. */
const DROPPED_HEADERS = new Set(['host', 'authorization', 'impersonate-user', 'impersonate-group', 'content-length', 'transfer-encoding']);

function enc(s: string): string {
  return encodeURIComponent(s);
}

function hostPort(n: NodeEndpoint): string {
  return n.host.includes(':') ? `[${n.host}]:${n.port}` : `${n.host}:${n.port}`;
}

function describeDialError(err: Error, node: NodeEndpoint): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return `dial tcp ${hostPort(node)}: connect: connection refused`;
  return err.message;
}

function methodNotAllowed(): ApiError {
  return errors.methodNotAllowed('the server does not allow this method on the requested resource');
}

function responseHead(res: IncomingMessage): string {
  let head = `HTTP/1.1 ${res.statusCode} ${res.statusMessage ?? ''}\r\n`;
  for (let i = 0; i < res.rawHeaders.length; i += 2) head += `${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}\r\n`;
  return head + '\r\n';
}

function pipeSockets(a: Duplex, b: Duplex): void {
  a.pipe(b);
  b.pipe(a);
  const end = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', end);
  b.on('error', end);
  a.on('close', end);
  b.on('close', end);
}

/** The agent's error answer as the API server's Status, after upstream's GenericHttpResponseChecker. */
async function agentError(res: IncomingMessage, podName: string): Promise<ApiError> {
  const chunks: Buffer[] = [];
  for await (const c of res) {
    chunks.push(c as Buffer);
    if (chunks.reduce((n, b) => n + b.length, 0) > 64 * 1024) break;
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const code = res.statusCode ?? 500;
  try {
    const s = JSON.parse(text) as { kind?: string; message?: string; reason?: string; code?: number };
    if (s.kind === 'Status' && typeof s.message === 'string') return new ApiError(code, s.reason ?? reasonFor(code), s.message, { name: podName, kind: 'pods/log' });
  } catch {
    // not JSON: the text is the message
  }
  return new ApiError(code, reasonFor(code), text.trim() || `the server responded with the status code ${code} but did not return more information`, { name: podName, kind: 'pods/log' });
}

function reasonFor(code: number): string {
  return code === 400 ? 'BadRequest' : code === 401 ? 'Unauthorized' : code === 403 ? 'Forbidden' : code === 404 ? 'NotFound' : code === 503 ? 'ServiceUnavailable' : 'InternalError';
}

/** The container a request means, with upstream's default and its messages. */
export function chooseContainer(pod: { spec?: any }, podName: string, container: string): string {
  const containers = ((pod.spec?.containers ?? []) as { name: string }[]).map((c) => c.name);
  const inits = ((pod.spec?.initContainers ?? []) as { name: string }[]).map((c) => c.name);
  const ephemeral = ((pod.spec?.ephemeralContainers ?? []) as { name: string }[]).map((c) => c.name);
  if (!container) {
    if (containers.length === 1) return containers[0];
    if (containers.length === 0) throw errors.badRequest(`a container name must be specified for pod ${podName}`);
    let msg = `a container name must be specified for pod ${podName}, choose one of: [${containers.join(' ')}]`;
    if (inits.length > 0) msg += ` or one of the init containers: [${inits.join(' ')}]`;
    throw errors.badRequest(msg);
  }
  if (!containers.includes(container) && !inits.includes(container) && !ephemeral.includes(container)) {
    throw errors.badRequest(`container ${container} is not valid for pod ${podName}`);
  }
  return container;
}

/** PodLogOptions from the query, validated as upstream's ValidatePodLogOptions; the agent's query. */
export function logOptions(podName: string, query: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  const found: StatusCause[] = [];
  const int = (name: string): number | undefined => {
    const v = query.get(name);
    if (v === null || v === '') return undefined;
    if (!/^[-+]?\d+$/.test(v)) throw errors.badRequest(`${name}: strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
    return Number(v);
  };
  const tailLines = int('tailLines');
  const limitBytes = int('limitBytes');
  const sinceSeconds = int('sinceSeconds');
  const sinceTimeRaw = query.get('sinceTime') || undefined;
  let sinceTime: string | undefined;
  if (sinceTimeRaw !== undefined) {
    const d = new Date(sinceTimeRaw);
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(sinceTimeRaw) || Number.isNaN(d.getTime())) {
      throw errors.badRequest(`sinceTime: parsing time ${JSON.stringify(sinceTimeRaw)} as "2006-01-02T15:04:05Z07:00": cannot parse`);
    }
    // Upstream passes sinceTime on at whole seconds (time.RFC3339).
    sinceTime = d.toISOString().replace(/\.\d+Z$/, 'Z');
  }
  if (tailLines !== undefined && tailLines < 0) found.push(causes.invalid('tailLines', tailLines, 'must be greater than or equal to 0'));
  if (limitBytes !== undefined && limitBytes < 1) found.push(causes.invalid('limitBytes', limitBytes, 'must be greater than 0'));
  if (sinceSeconds !== undefined && sinceTime !== undefined) found.push(causes.forbidden('', 'at most one of `sinceTime` or `sinceSeconds` may be specified'));
  else if (sinceSeconds !== undefined && sinceSeconds < 1) found.push(causes.invalid('sinceSeconds', sinceSeconds, 'must be greater than 0'));
  if (found.length) throw errors.invalid('', 'PodLogOptions', podName, found);
  if (TRUE(query.get('follow'))) out.set('follow', 'true');
  if (TRUE(query.get('previous'))) out.set('previous', 'true');
  if (TRUE(query.get('timestamps'))) out.set('timestamps', 'true');
  if (sinceSeconds !== undefined) out.set('sinceSeconds', String(sinceSeconds));
  if (sinceTime !== undefined) out.set('sinceTime', sinceTime);
  if (tailLines !== undefined) out.set('tailLines', String(tailLines));
  if (limitBytes !== undefined) out.set('limitBytes', String(limitBytes));
  return out;
}

/** Writes an error as an HTTP answer on a socket whose upgrade we refuse. */
export function writeUpgradeError(socket: Duplex, err: unknown): void {
  if (socket.destroyed) return;
  const status = toApiError(err).toStatus();
  const body = JSON.stringify(status);
  socket.end(`HTTP/1.1 ${status.code} ${STATUS_TEXT[status.code] ?? 'Error'}\r\nContent-Type: application/json\r\nCache-Control: no-cache, private\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  422: 'Unprocessable Entity',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};
