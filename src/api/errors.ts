/**
 * API errors as upstream's metav1.Status. Every failure a client can cause is one of these; anything
 * else reaching the HTTP layer is our bug and answers 500 InternalError.
 */

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toStatus(): Status {
    const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, code: this.code };
    if (this.details) s.details = this.details;
    return s;
  }
}

/** "pods" in group "" → "pods"; "deployments" in "apps" → "deployments.apps" (upstream's qualified resource). */
export function qualifiedResource(group: string, resource: string): string {
  return group ? `${resource}.${group}` : resource;
}

const ACCEPTED_BODY_TYPES = ['application/json', 'application/yaml', 'application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml'];

export const errors = {
  badRequest: (message: string, details?: StatusDetails) => new ApiError(400, 'BadRequest', message, details),
  unauthorized: (message = 'Unauthorized') => new ApiError(401, 'Unauthorized', message),
  forbidden: (message: string) => new ApiError(403, 'Forbidden', message),
  notFound: (group: string, resource: string, name: string) =>
    new ApiError(404, 'NotFound', `${qualifiedResource(group, resource)} "${name}" not found`, { name, group: group || undefined, kind: resource }),
  /** 404 for a path that names no resource at all. */
  pathNotFound: (message = 'the server could not find the requested resource') =>
    new ApiError(404, 'NotFound', message, {}),
  methodNotAllowed: (message: string) => new ApiError(405, 'MethodNotAllowed', message),
  notAcceptable: (message: string) => new ApiError(406, 'NotAcceptable', message),
  alreadyExists: (group: string, resource: string, name: string) =>
    new ApiError(409, 'AlreadyExists', `${qualifiedResource(group, resource)} "${name}" already exists`, { name, group: group || undefined, kind: resource }),
  conflict: (group: string, resource: string, name: string, why: string) =>
    new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(group, resource)} "${name}": ${why}`, {
      name,
      group: group || undefined,
      kind: resource,
    }),
  gone: (message: string) => new ApiError(410, 'Expired', message),
  tooLarge: (message = 'Request entity too large: limit is 3145728') => new ApiError(413, 'RequestEntityTooLarge', message),
  unsupportedMediaType: (contentType: string) =>
    new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${ACCEPTED_BODY_TYPES.join(', ')}` + (contentType ? ` (got ${contentType})` : '')),
  invalid: (group: string, kind: string, name: string, causes: StatusCause[]) =>
    new ApiError(
      422,
      'Invalid',
      `${kind}${group ? '.' + group : ''} "${name}" is invalid: ${causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join(', ')}`,
      { name, group: group || undefined, kind, causes },
    ),
  /** A resourceVersion newer than the store's: upstream waits briefly, then answers this 504. */
  tooLargeResourceVersion: (requested: number, current: number) =>
    new ApiError(504, 'Timeout', `Too large resource version: ${requested}, current: ${current}`, {
      causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
      retryAfterSeconds: 1,
    }),
  /** Bad list/watch options: upstream validates ListOptions and answers 422 on that kind. */
  invalidListOptions: (field: string, detail: string) =>
    new ApiError(422, 'Invalid', `ListOptions.meta.k8s.io "" is invalid: ${field}: Forbidden: ${detail}`, {
      group: 'meta.k8s.io',
      kind: 'ListOptions',
      causes: [{ reason: 'FieldValueForbidden', message: `Forbidden: ${detail}`, field }],
    }),
  internal: (message: string) => new ApiError(500, 'InternalError', `Internal error occurred: ${message}`),
  timeout: (message: string) => new ApiError(504, 'Timeout', message),
  serviceUnavailable: (message: string) => new ApiError(503, 'ServiceUnavailable', message),
};

/** Field-level causes for 422s, with upstream's cause reasons. */
export const causes = {
  required: (field: string, message = 'Required value'): StatusCause => ({ reason: 'FieldValueRequired', message, field }),
  invalid: (field: string, value: unknown, detail: string): StatusCause => ({
    reason: 'FieldValueInvalid',
    message: `Invalid value: ${formatValue(value)}: ${detail}`,
    field,
  }),
  notSupported: (field: string, value: unknown, supported: string[]): StatusCause => ({
    reason: 'FieldValueNotSupported',
    message: `Unsupported value: ${formatValue(value)}: supported values: ${supported.map((s) => `"${s}"`).join(', ')}`,
    field,
  }),
  duplicate: (field: string, value: unknown): StatusCause => ({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${formatValue(value)}`, field }),
  forbidden: (field: string, detail: string): StatusCause => ({ reason: 'FieldValueForbidden', message: `Forbidden: ${detail}`, field }),
  tooLong: (field: string, max: number): StatusCause => ({ reason: 'FieldValueTooLong', message: `Too long: may not be longer than ${max}`, field }),
  typeInvalid: (field: string, value: unknown, detail: string): StatusCause => ({
    reason: 'FieldValueTypeInvalid',
    message: `Invalid value: ${formatValue(value)}: ${detail}`,
    field,
  }),
  unknownField: (field: string): StatusCause => ({ reason: 'FieldValueInvalid', message: `unknown field "${field}"`, field }),
};

function formatValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
