/**
 * @module errors
 * The API server's failure shape: every error leaves as a `metav1.Status` with the reason and code
 * clients switch on (client-go's `IsNotFound`, `IsConflict`, … read `reason`, client-node exposes `code`).
 * Messages follow the real server's wording so log-matching code sees familiar text.
 */
import type { JsonObject } from './json';

export type StatusReason =
  | 'BadRequest' | 'Unauthorized' | 'Forbidden' | 'NotFound' | 'AlreadyExists' | 'Conflict' | 'Gone' | 'Expired'
  | 'Invalid' | 'MethodNotAllowed' | 'UnsupportedMediaType' | 'RequestEntityTooLarge' | 'TooManyRequests'
  | 'InternalError' | 'ServiceUnavailable';

export interface StatusCause { reason?: string; message: string; field?: string; type?: string }

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
  metadata: JsonObject;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: StatusReason;
  code: number;
  details?: StatusDetails;
}

/** Thrown anywhere inside the fake; the HTTP layer turns it into the Status response. */
export class ApiError extends Error {
  constructor(readonly status: Status) {
    super(status.message);
    this.name = 'ApiError';
  }
  get code(): number { return this.status.code; }
  get reason(): StatusReason | undefined { return this.status.reason; }
}

/** What an error message names: `statefulsets.apps "web"` (group omitted for the core group). */
export interface Target { resource: string; group: string; name?: string; kind?: string }

const qualified = (t: Target): string => (t.group ? `${t.resource}.${t.group}` : t.resource);

function failure(code: number, reason: StatusReason, message: string, details?: StatusDetails): ApiError {
  return new ApiError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code, ...(details ? { details } : {}) });
}

function detailsOf(t: Target): StatusDetails {
  return { ...(t.name !== undefined ? { name: t.name } : {}), group: t.group, kind: t.resource };
}

export const errors = {
  badRequest: (message: string) => failure(400, 'BadRequest', message),
  unauthorized: () => failure(401, 'Unauthorized', 'Unauthorized'),
  forbidden: (t: Target, why: string) => failure(403, 'Forbidden', `${qualified(t)} "${t.name ?? ''}" is forbidden: ${why}`, detailsOf(t)),
  notFound: (t: Target) => failure(404, 'NotFound', `${qualified(t)} "${t.name ?? ''}" not found`, detailsOf(t)),
  pathNotFound: (path: string) => failure(404, 'NotFound', `the server could not find the requested resource (${path})`),
  alreadyExists: (t: Target) => failure(409, 'AlreadyExists', `${qualified(t)} "${t.name ?? ''}" already exists`, detailsOf(t)),
  conflict: (t: Target, why = 'the object has been modified; please apply your changes to the latest version and try again') =>
    failure(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(t)} "${t.name ?? ''}": ${why}`, detailsOf(t)),
  applyConflict: (message: string, causes: StatusCause[]) => failure(409, 'Conflict', message, { causes }),
  expired: (message: string) => failure(410, 'Expired', message),
  /** 422 with one cause per field, the message listing them as `kubectl` prints it. */
  invalid: (t: Target & { kind: string }, causes: StatusCause[]) => {
    const parts = causes.map((c) => `${c.field ? `${c.field}: ` : ''}${c.message}`);
    const list = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
    const kind = t.group ? `${t.kind}.${t.group}` : t.kind;
    return failure(422, 'Invalid', `${kind} "${t.name ?? ''}" is invalid: ${list}`, { ...(t.name !== undefined ? { name: t.name } : {}), group: t.group, kind: t.kind, causes });
  },
  methodNotAllowed: (method: string) => failure(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${method})`),
  unsupportedMediaType: (contentType: string) => failure(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got ${contentType})`),
  tooLarge: () => failure(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'),
  tooManyRequests: (retryAfterSeconds: number) => failure(429, 'TooManyRequests', 'Too many requests, please try again later.', { retryAfterSeconds }),
  internal: (message: string) => failure(500, 'InternalError', `Internal error occurred: ${message}`),
  unavailable: (message: string) => failure(503, 'ServiceUnavailable', message),
};

/** `Required value` etc., the field-error vocabulary of apimachinery's `field.Error`. */
export const cause = {
  required: (field: string, detail = ''): StatusCause => ({ reason: 'FieldValueRequired', message: `Required value${detail ? `: ${detail}` : ''}`, field }),
  invalid: (field: string, value: unknown, detail: string): StatusCause => ({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(value)}: ${detail}`, field }),
  forbidden: (field: string, detail: string): StatusCause => ({ reason: 'FieldValueForbidden', message: `Forbidden: ${detail}`, field }),
  notSupported: (field: string, value: unknown, supported: readonly unknown[]): StatusCause => ({
    reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`, field,
  }),
  typeInvalid: (field: string, value: unknown, detail: string): StatusCause => ({ reason: 'FieldValueTypeInvalid', message: `Invalid value: ${JSON.stringify(value)}: ${detail}`, field }),
};
