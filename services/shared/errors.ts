/**
 * @module errors
 * The one registry of every error a user or operator can see. Each entry has a stable numeric
 * code (a range per area, never reused once released), a retryable flag, the gRPC status it maps
 * to when it crosses a tier, and a description. `docs/errors.md` is generated from this table and
 * a test checks that codes are unique and the document is current.
 *
 * Ranges: 1xxx protocol/edge, 2xxx identity, 3xxx documents/runtime, 4xxx storage/ownership,
 * 5xxx hosts/cluster, 9xxx internal.
 */

export type GrpcStatusName =
  | 'INVALID_ARGUMENT' | 'NOT_FOUND' | 'ALREADY_EXISTS' | 'PERMISSION_DENIED' | 'RESOURCE_EXHAUSTED'
  | 'FAILED_PRECONDITION' | 'ABORTED' | 'UNAVAILABLE' | 'DEADLINE_EXCEEDED' | 'INTERNAL' | 'UNAUTHENTICATED' | 'DATA_LOSS';

export interface ErrorSpec {
  readonly code: number;
  readonly retry: boolean;
  readonly grpc: GrpcStatusName;
  /** What happened, for the person reading the failure. */
  readonly description: string;
}

function defineErrors<T extends Record<string, ErrorSpec>>(table: T): { readonly [K in keyof T]: T[K] & { readonly name: K } } {
  const out: Record<string, ErrorSpec & { name: string }> = {};
  for (const [name, spec] of Object.entries(table)) out[name] = Object.freeze({ ...spec, name });
  return Object.freeze(out) as never;
}

export const E = defineErrors({
  // 1xxx: client protocol and edge limits
  FRAME_NOT_JSON: { code: 1001, retry: false, grpc: 'INVALID_ARGUMENT', description: 'The frame is not a JSON object.' },
  FRAME_TOO_LARGE: { code: 1002, retry: false, grpc: 'RESOURCE_EXHAUSTED', description: 'The frame exceeds the configured maximum frame size.' },
  UNKNOWN_METHOD: { code: 1003, retry: false, grpc: 'INVALID_ARGUMENT', description: 'The request names a method the server does not implement.' },
  INVALID_REQUEST: { code: 1004, retry: false, grpc: 'INVALID_ARGUMENT', description: 'The request is missing a field or a field has the wrong type.' },
  DUPLICATE_REQUEST_ID: { code: 1005, retry: false, grpc: 'INVALID_ARGUMENT', description: 'The request id is already in use by an open stream on this socket.' },
  TOO_MANY_STREAMS: { code: 1006, retry: true, grpc: 'RESOURCE_EXHAUSTED', description: 'The socket already carries the maximum number of document streams.' },
  UNKNOWN_CONNECTION: { code: 1007, retry: false, grpc: 'NOT_FOUND', description: 'The connection id does not name an open document stream on this socket.' },
  SLOW_CONSUMER: { code: 1008, retry: true, grpc: 'RESOURCE_EXHAUSTED', description: 'The client did not read fast enough; its send buffer passed the limit and the socket was closed.' },
  PONG_TIMEOUT: { code: 1009, retry: true, grpc: 'DEADLINE_EXCEEDED', description: 'The client did not answer pings within the keepalive timeout; the socket was closed.' },
  MESSAGE_TOO_LARGE: { code: 1010, retry: false, grpc: 'RESOURCE_EXHAUSTED', description: 'The message sent to a channel exceeds the maximum message size.' },
  PENDING_SENDS_FULL: { code: 1011, retry: true, grpc: 'RESOURCE_EXHAUSTED', description: 'The stream has the maximum number of unacknowledged sends in flight.' },
  RATE_LIMITED: { code: 1012, retry: true, grpc: 'RESOURCE_EXHAUSTED', description: 'Too many sockets, streams or messages for this principal or address; retry after `retryAfterMs`.' },
  TOO_MANY_SOCKETS: { code: 1013, retry: true, grpc: 'RESOURCE_EXHAUSTED', description: 'This principal already has the maximum number of open sockets on this proxy.' },
  STRING_NOT_WELL_FORMED: { code: 1015, retry: false, grpc: 'INVALID_ARGUMENT', description: 'A string in the request holds a lone UTF-16 surrogate or U+0000, which cannot be stored; send well-formed text.' },
  ORIGIN_FORBIDDEN: { code: 1014, retry: false, grpc: 'PERMISSION_DENIED', description: 'The browser Origin of this socket is not in the allowed list.' },

  // 2xxx: identity and access
  IDENTITY_INVALID: { code: 2001, retry: false, grpc: 'UNAUTHENTICATED', description: 'The identity is missing or malformed (expected "anonymous:<name>" or a signed token).' },
  CONNECT_DENIED: { code: 2002, retry: false, grpc: 'PERMISSION_DENIED', description: "The space's connect() refused this viewer." },
  TOKEN_INVALID: { code: 2003, retry: false, grpc: 'UNAUTHENTICATED', description: 'The token is malformed, uses a forbidden algorithm (such as none) or its signature does not verify.' },
  TOKEN_EXPIRED: { code: 2004, retry: false, grpc: 'UNAUTHENTICATED', description: 'The token has expired (or is not valid yet), beyond the allowed clock skew; get a new one.' },
  TOKEN_CLAIMS_REJECTED: { code: 2005, retry: false, grpc: 'UNAUTHENTICATED', description: 'The token was signed correctly but its issuer, audience or subject is not accepted.' },
  TOKEN_KEY_UNKNOWN: { code: 2006, retry: true, grpc: 'UNAUTHENTICATED', description: 'No configured key matches the token\'s key id (kid); keys may be rotating, retry shortly.' },
  INTERNAL_CALLER_FORBIDDEN: { code: 2010, retry: false, grpc: 'PERMISSION_DENIED', description: 'An internal call came from a certificate whose role (its urn:adama:role URI) may not call this method, or that names no role.' },

  // 3xxx: spaces, documents and the sandbox
  SPACE_NOT_FOUND: { code: 3001, retry: false, grpc: 'NOT_FOUND', description: 'No space with that name is deployed.' },
  DOCUMENT_NOT_FOUND: { code: 3002, retry: false, grpc: 'NOT_FOUND', description: 'The document does not exist; create it with document/create.' },
  DOCUMENT_ALREADY_EXISTS: { code: 3003, retry: false, grpc: 'ALREADY_EXISTS', description: 'A document with that space and key already exists.' },
  CHANNEL_NOT_FOUND: { code: 3004, retry: false, grpc: 'NOT_FOUND', description: 'The space has no channel with that name.' },
  DOCUMENT_DELETED: { code: 3006, retry: false, grpc: 'NOT_FOUND', description: 'The document was deleted (document/delete); its streams end with this code and it is gone until created again.' },
  DELETE_DENIED: { code: 3007, retry: false, grpc: 'PERMISSION_DENIED', description: "The space's canDelete(state, who) refused, or the space defines none (documents cannot be deleted by default)." },
  LIST_DENIED: { code: 3008, retry: false, grpc: 'PERMISSION_DENIED', description: "The space's canList(who) refused, or the space defines none (documents cannot be listed by default)." },
  HTTP_CHANNEL_DENIED: { code: 3009, retry: false, grpc: 'PERMISSION_DENIED', description: "The channel does not take messages over HTTP: the space lists the channels that do in `httpChannels`." },
  INVALID_NAME: { code: 3005, retry: false, grpc: 'INVALID_ARGUMENT', description: 'A space or key name is empty, too long or has characters outside [A-Za-z0-9._-].' },
  SPACE_TIMEOUT: { code: 3101, retry: false, grpc: 'DEADLINE_EXCEEDED', description: "The space's code ran past its CPU time limit for one call and was stopped; the change was not applied." },
  SPACE_MEMORY_LIMIT: { code: 3102, retry: false, grpc: 'RESOURCE_EXHAUSTED', description: "The space's code exceeded its memory limit and its sandbox was discarded; the change was not applied." },
  SPACE_ERROR: { code: 3103, retry: false, grpc: 'FAILED_PRECONDITION', description: "The space's code threw an error; the change was not applied." },
  SPACE_REJECTED: { code: 3104, retry: false, grpc: 'FAILED_PRECONDITION', description: 'The space rejected the message (its handler threw a rejection); nothing changed.' },
  SPACE_INVALID_RESULT: { code: 3105, retry: false, grpc: 'INTERNAL', description: "The space's code returned a value that is not plain JSON (for example a function or a cycle)." },
  SPACE_COMPILE_ERROR: { code: 3106, retry: false, grpc: 'INVALID_ARGUMENT', description: "The space's code does not compile or does not export the required functions." },
  DOC_QUEUE_FULL: { code: 3201, retry: true, grpc: 'RESOURCE_EXHAUSTED', description: "The document's bounded work queue is full; retry after a short pause." },
  DOC_UNLOADED: { code: 3202, retry: true, grpc: 'UNAVAILABLE', description: 'The document was unloaded from this host (idle, shed or moved) while the request waited; retry.' },
  STATE_TOO_LARGE: { code: 3203, retry: false, grpc: 'RESOURCE_EXHAUSTED', description: "The document's state would exceed the maximum state size; the change was not applied." },
  SPACE_DOC_LOST: { code: 3300, retry: true, grpc: 'UNAVAILABLE', description: "The isolate holding the document's resident state was replaced while the request ran; the host rebuilds the document from its committed state, retry." },
  VIEW_TOO_LARGE: { code: 3301, retry: false, grpc: 'RESOURCE_EXHAUSTED', description: "This viewer's view exceeds the maximum view size; this stream was closed, the document and its other viewers continue." },
  TOO_MANY_DOCUMENTS: { code: 3302, retry: true, grpc: 'RESOURCE_EXHAUSTED', description: 'The host holds its maximum number of loaded documents; retry later (or on another host).' },
  TOO_MANY_VIEWERS: { code: 3303, retry: true, grpc: 'RESOURCE_EXHAUSTED', description: 'The document has its maximum number of viewers; retry later.' },
  VIEW_FAILED: { code: 3304, retry: false, grpc: 'FAILED_PRECONDITION', description: "The space's view() failed for this viewer (it threw, ran past its time limit or returned something that is not JSON); this stream was closed, the other viewers continue." },

  // 4xxx: storage and ownership
  APPEND_FENCED: { code: 4101, retry: true, grpc: 'ABORTED', description: 'This host lost ownership of the document (stale epoch or head); the change was not applied and the stream will move.' },
  STORAGE_UNAVAILABLE: { code: 4102, retry: true, grpc: 'UNAVAILABLE', description: 'The database could not be reached or timed out; the change was not acknowledged.' },
  LOG_CORRUPT: { code: 4103, retry: false, grpc: 'INTERNAL', description: "The document's log has a gap or does not reach the directory's head; loading was refused." },
  OWNED_ELSEWHERE: { code: 4104, retry: true, grpc: 'FAILED_PRECONDITION', description: 'Another live host owns the document; follow the redirect.' },
  ARCHIVE_MISSING: { code: 4105, retry: false, grpc: 'DATA_LOSS', description: 'The document is archived but its object is missing from the object store; it was not restored (never silently empty).' },
  ARCHIVE_CORRUPT: { code: 4106, retry: false, grpc: 'INTERNAL', description: "The document's archived object fails its checksum or seq check; it was not restored." },
  RECORD_UNSTORABLE: { code: 4150, retry: false, grpc: 'INVALID_ARGUMENT', description: 'The database refused the change as data it cannot store (for example a lone UTF-16 surrogate or U+0000 in a string); nothing was applied.' },
  BATCH_PARTNER_REFUSED: { code: 4151, retry: true, grpc: 'ABORTED', description: 'Another change in the same batch of this document was refused as unstorable; this one was not applied and can be retried.' },
  OBJECT_STORE_UNAVAILABLE: { code: 4107, retry: true, grpc: 'UNAVAILABLE', description: 'The object store could not be reached or timed out.' },
  SCHEMA_NOT_CURRENT: { code: 4108, retry: true, grpc: 'FAILED_PRECONDITION', description: 'The database lacks migrations this build needs and the process was told not to apply them (--migrate false); run `adama migrate` (the rollout\'s migration step), then start it again.' },

  // 5xxx: hosts and cluster
  HOST_SHUTTING_DOWN: { code: 5001, retry: true, grpc: 'UNAVAILABLE', description: 'The host is shutting down or draining and takes no new work; retry and you will be routed elsewhere.' },
  HOST_UNREACHABLE: { code: 5002, retry: true, grpc: 'UNAVAILABLE', description: 'The proxy lost its connection to the host that served this request; streams move to another host, unacknowledged sends must be retried.' },
  NO_LIVE_HOSTS: { code: 5003, retry: true, grpc: 'UNAVAILABLE', description: 'No live adama-host is known to this proxy right now.' },
  TOO_MANY_REDIRECTS: { code: 5004, retry: true, grpc: 'ABORTED', description: 'Ownership of the document kept moving while the proxy followed redirects; retry.' },
  PEER_QUEUE_FULL: { code: 5005, retry: true, grpc: 'RESOURCE_EXHAUSTED', description: 'A peer stopped reading and its bounded outbound queue filled; the connection to it was closed.' },
  PEER_PROTOCOL_ERROR: { code: 5006, retry: false, grpc: 'INVALID_ARGUMENT', description: 'A peer sent a message that does not follow the internal protocol (for example bad JSON in an envelope).' },

  // 9xxx: internal
  INTERNAL: { code: 9001, retry: true, grpc: 'INTERNAL', description: 'An unexpected server error; it was logged with its cause.' },
});

export type ErrorName = keyof typeof E;
export type ErrorEntry = (typeof E)[ErrorName];

/** An error that carries a registry entry; the only kind that crosses a boundary to a client. */
export class AdamaError extends Error {
  readonly entry: ErrorEntry;
  /** For OWNED_ELSEWHERE: the host that owns the document, so the caller can follow the redirect. */
  readonly owner?: string;
  /** For RATE_LIMITED: how long the client should wait before retrying. */
  readonly retryAfterMs?: number;
  constructor(entry: ErrorEntry, message?: string, options?: { cause?: unknown; owner?: string; retryAfterMs?: number }) {
    super(message ?? entry.description, options);
    this.name = `AdamaError(${entry.name})`;
    this.entry = entry;
    if (options?.owner !== undefined) this.owner = options.owner;
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
  get code(): number { return this.entry.code; }
  get retry(): boolean { return this.entry.retry; }
}

/** Wire shape of a failure, as clients receive it. */
export interface ErrorBody {
  code: number;
  message: string;
  retry: boolean;
  /** For RATE_LIMITED and similar: how long to wait before retrying. */
  retryAfterMs?: number;
}

/** Rebuilds an AdamaError from a failure that crossed a process boundary. */
export function fromErrorBody(body: ErrorBody & { owner?: string }): AdamaError {
  const entry = errorByCode(body.code) ?? E.INTERNAL;
  return new AdamaError(entry, body.message, body.owner ? { owner: body.owner } : undefined);
}

/** Converts anything thrown into the client-facing shape; unknown errors become INTERNAL without leaking internals. */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof AdamaError) {
    return err.retryAfterMs === undefined ? { code: err.code, message: err.message, retry: err.retry } : { code: err.code, message: err.message, retry: err.retry, retryAfterMs: err.retryAfterMs };
  }
  return { code: E.INTERNAL.code, message: E.INTERNAL.description, retry: E.INTERNAL.retry };
}

export function isAdamaError(err: unknown, entry?: ErrorEntry): err is AdamaError {
  return err instanceof AdamaError && (entry === undefined || err.entry.code === entry.code);
}

const byCode = new Map<number, ErrorEntry>(Object.values(E).map((e) => [e.code, e]));
export function errorByCode(code: number): ErrorEntry | undefined { return byCode.get(code); }

/** Renders docs/errors.md; the drift test compares the committed file with this output. */
export function renderErrorsMarkdown(): string {
  const rows = Object.values(E)
    .sort((a, b) => a.code - b.code)
    .map((e) => `| ${e.code} | \`${e.name}\` | ${e.retry ? 'yes' : 'no'} | ${e.grpc} | ${e.description} |`);
  return [
    '# Error codes',
    '',
    'Generated from `services/shared/errors.ts` by `npm run docs:errors`; do not edit by hand.',
    'Clients receive failures as `{"failure": <request id>, "code": <int>, "message": "...", "retry": <bool>}`.',
    'A code is never reused for a different meaning. `retry: yes` means the same request may succeed later (use a `dedupe` key for sends).',
    '',
    '| Code | Name | Retry | gRPC status | Description |',
    '|---:|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
