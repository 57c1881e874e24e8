/**
 * @module http-api
 * The HTTP surface for other systems (webhooks, back ends, cron jobs): one message to a channel of
 * a document without a WebSocket,
 *
 *   POST /api/v1/spaces/{space}/documents/{key}/channels/{channel}
 *   Authorization: Bearer <identity>        (a token, or anonymous:<name> where the edge allows it)
 *   Idempotency-Key: <1-128 chars>          (optional: a retry with the same key is applied once)
 *   <the message as JSON>
 *
 * answered `200 {"seq": n}` once the change is durable, or the error body of the WebSocket
 * protocol (`{code, message, retry, retryAfterMs?}`) with an HTTP status from the error's kind.
 * Only channels the space lists in `httpChannels` take messages this way (HTTP_CHANNEL_DENIED).
 * The edge applies the same authentication, the same message rate limits and the same size limits
 * as to a socket's `connection/send`; a body over maxFrameBytes is not read past the limit.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AdamaError, E, toErrorBody, type ErrorEntry } from '../shared/errors';
import { findUnstorableString, mayHoldUnstorableEscape, type Json } from '../shared/json';
import type { ProxyConfig } from '../shared/config';
import type { HostClient } from '../protocol/host-api';
import { jsonDepthWithin, MAX_JSON_DEPTH } from '../protocol/messages';
import type { EdgeGuard } from './edge/edge-guard';

export const HTTP_API_PREFIX = '/api/';
const POST_ROUTE = /^\/api\/v1\/spaces\/([^/]+)\/documents\/([^/]+)\/channels\/([^/]+)$/;
const MAX_IDEMPOTENCY_KEY = 128;

export interface HttpApiDeps {
  host: HostClient;
  guard: EdgeGuard;
  config: Readonly<ProxyConfig>;
  /** The caller's address as the edge counts it (clientAddress). */
  remoteAddress: string;
  /** For the sends metric, as a socket's sends count (adama_sends_total). */
  onResult?(result: 'ok' | 'retry' | 'rejected'): void;
}

export async function serveHttpApi(req: IncomingMessage, res: ServerResponse, path: string, deps: HttpApiDeps): Promise<void> {
  try {
    const route = POST_ROUTE.exec(path);
    if (!route) throw new HttpRefusal(404, E.UNKNOWN_METHOD, `no API at ${path.slice(0, 200)}; POST /api/v1/spaces/{space}/documents/{key}/channels/{channel}`);
    if (req.method !== 'POST') throw new HttpRefusal(405, E.UNKNOWN_METHOD, `${String(req.method)} is not served here; POST a message`);
    const [space, key, channel] = route.slice(1).map(decodePart) as [string, string, string];
    const principal = await deps.guard.authenticate(bearerOf(req));
    await deps.guard.admit('message', deps.remoteAddress, principal.who);
    const text = await readBody(req, deps.config.maxFrameBytes);
    const message = parseMessage(text);
    deps.guard.checkMessageSize(space, message, text.length);
    const { seq } = await deps.host.postMessage({ space, key }, principal.who, channel, message, idempotencyKey(req));
    deps.onResult?.('ok');
    reply(res, 200, { seq });
  } catch (err) {
    const body = toErrorBody(err);
    deps.onResult?.(body.retry ? 'retry' : 'rejected');
    const status = err instanceof HttpRefusal ? err.status : httpStatusOf(err);
    if (body.retryAfterMs !== undefined) res.setHeader('retry-after', String(Math.max(1, Math.ceil(body.retryAfterMs / 1000))));
    // A body left unread (too large, or refused before it was read) must not be parsed as the next request.
    if (!req.complete) res.setHeader('connection', 'close');
    reply(res, status, body);
  }
}

/** A refusal whose HTTP status is not the one its error kind implies (no route, wrong method). */
class HttpRefusal extends AdamaError {
  constructor(readonly status: number, entry: ErrorEntry, message: string) { super(entry, message); }
}

/**
 * From the error's kind (its gRPC-style category), so each code always gets the same status; a
 * "retry later" status (429, 503, 504) only for a retryable error (a space that ran out of time on
 * this message is 422: sending it again fails again).
 */
export function httpStatusOf(err: unknown): number {
  if (!(err instanceof AdamaError)) return 500;
  if (err.entry === E.FRAME_TOO_LARGE || err.entry === E.MESSAGE_TOO_LARGE) return 413;
  switch (err.entry.grpc) {
    case 'INVALID_ARGUMENT': return 400;
    case 'UNAUTHENTICATED': return 401;
    case 'PERMISSION_DENIED': return 403;
    case 'NOT_FOUND': return 404;
    case 'ALREADY_EXISTS': case 'ABORTED': case 'FAILED_PRECONDITION': return 409;
    case 'RESOURCE_EXHAUSTED': return err.retry ? 429 : 413;
    case 'UNAVAILABLE': return err.retry ? 503 : 500;
    case 'DEADLINE_EXCEEDED': return err.retry ? 504 : 422;
    default: return 500;
  }
}

function reply(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function decodePart(part: string): string {
  try { return decodeURIComponent(part); } catch { throw new AdamaError(E.INVALID_REQUEST, 'the path has a malformed %-escape'); }
}

function bearerOf(req: IncomingMessage): string {
  const m = /^Bearer\s+(\S.*)$/i.exec(req.headers.authorization ?? '');
  if (!m) throw new HttpRefusal(401, E.IDENTITY_INVALID, 'send `Authorization: Bearer <token>`');
  return m[1]!.trim();
}

function idempotencyKey(req: IncomingMessage): string | undefined {
  const raw = req.headers['idempotency-key'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined) return undefined;
  if (value.length === 0 || value.length > MAX_IDEMPOTENCY_KEY) throw new AdamaError(E.INVALID_REQUEST, `Idempotency-Key must be 1-${MAX_IDEMPOTENCY_KEY} characters`);
  return value;
}

/** The body as text, refusing (without reading further) one longer than `maxBytes`. */
function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.reject(new AdamaError(E.FRAME_TOO_LARGE, `the body is ${declared} bytes; at most ${maxBytes}`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off('data', onData);
        req.pause();
        reject(new AdamaError(E.FRAME_TOO_LARGE, `the body exceeds ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

/** The message as the WebSocket codec would accept it in a `connection/send`. */
function parseMessage(text: string): Json {
  let message: unknown;
  try { message = JSON.parse(text); } catch { throw new AdamaError(E.FRAME_NOT_JSON, 'the body is not JSON'); }
  if (!jsonDepthWithin(message, MAX_JSON_DEPTH)) throw new AdamaError(E.INVALID_REQUEST, `the message is nested deeper than ${MAX_JSON_DEPTH} levels`);
  const unstorable = mayHoldUnstorableEscape(text) ? findUnstorableString(message) : undefined;
  if (unstorable !== undefined) throw new AdamaError(E.STRING_NOT_WELL_FORMED, `${unstorable.replace(/^\$\.?/, '') || '(body)'} holds a lone surrogate or U+0000`);
  return message as Json;
}
