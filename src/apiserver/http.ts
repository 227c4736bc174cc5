/** Writing responses: JSON bodies, Status errors, YAML, and the Warning header. */
import type { ServerResponse } from 'node:http';
import { stringify as toYaml } from 'yaml';
import { ApiError, errors } from '../api/errors.js';
import { isStoreError } from '../storage/store.js';

export function sendJson(res: ServerResponse, code: number, body: string | object, contentType = 'application/json', warnings: string[] = []): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string | string[]> = {
    'Content-Type': contentType,
    'Content-Length': String(Buffer.byteLength(text)),
    'Cache-Control': 'no-cache, private',
  };
  if (warnings.length) headers.Warning = [...priorWarnings(res), ...warnings.map(warningHeader)];
  res.writeHead(code, headers);
  res.end(text);
}

/** Adds a warning to whatever response follows (e.g. a deprecated version's, set before the verb runs). */
export function addWarning(res: ServerResponse, text: string): void {
  res.setHeader('Warning', [...priorWarnings(res), warningHeader(text)]);
}

function priorWarnings(res: ServerResponse): string[] {
  const h = res.getHeader('Warning');
  return h === undefined ? [] : Array.isArray(h) ? h : [String(h)];
}

export function sendBody(res: ServerResponse, code: number, body: string | object, format: 'json' | 'yaml' | string, contentType: string, warnings: string[] = []): void {
  if (format === 'yaml') {
    const obj = typeof body === 'string' ? JSON.parse(body) : body;
    const text = toYaml(obj, { lineWidth: 0 });
    const headers: Record<string, string | string[]> = { 'Content-Type': 'application/yaml', 'Content-Length': String(Buffer.byteLength(text)) };
    if (warnings.length) headers.Warning = [...priorWarnings(res), ...warnings.map(warningHeader)];
    res.writeHead(code, headers);
    res.end(text);
    return;
  }
  sendJson(res, code, body, contentType, warnings);
}

/**
 * One RFC 7234 warning. Header values must be visible ASCII, and warnings quote client input
 * (unknown field names), so everything else is escaped.
 */
function warningHeader(text: string): string {
  const quoted = JSON.stringify(text).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `299 - ${quoted}`;
}

export function sendError(res: ServerResponse, err: unknown): void {
  const apiErr = toApiError(err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // Upstream's ErrorNegotiated: a suggested retry delay travels as Retry-After too.
  const retryAfter = apiErr.details?.retryAfterSeconds ?? 0;
  if (retryAfter > 0) res.setHeader('Retry-After', String(retryAfter));
  sendJson(res, apiErr.code, apiErr.toStatus());
}

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  // The store being unreachable is neither the client's fault nor a bug: a retryable 503.
  if (isStoreError(err, 'Unavailable')) return errors.serviceUnavailable(`storage is unavailable: ${err.message}`);
  // Anything else is our bug, not the client's: say so, keep serving.
  console.error('internal error:', err);
  return errors.internal(err instanceof Error ? err.message : String(err));
}
