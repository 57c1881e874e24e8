/**
 * @module codec
 * Decodes one client text frame into a validated request or a coded error. Decoding is apart
 * from handling (docs/architecture.md §11.1): the proxy calls `decodeClientFrame`, then dispatches on the result.
 */
import { AdamaError, E } from '../shared/errors';
import { findUnstorableString, isJsonObject, mayHoldUnstorableEscape } from '../shared/json';
import { isMethodName, requestSchemas, type Request } from './messages';

export type Decoded =
  | { kind: 'request'; request: Request }
  | { kind: 'pong'; pongMs: number }
  /** `id` is the request id when it could be read, so the failure can name it. */
  | { kind: 'error'; id: number | null; error: AdamaError };

export function decodeClientFrame(text: string, maxFrameBytes: number): Decoded {
  try {
    return decode(text, maxFrameBytes);
  } catch {
    // Nothing a client sends may throw out of the decoder; this is the last line of defence.
    return { kind: 'error', id: null, error: new AdamaError(E.INVALID_REQUEST, 'frame could not be decoded') };
  }
}

function decode(text: string, maxFrameBytes: number): Decoded {
  if (Buffer.byteLength(text, 'utf8') > maxFrameBytes) {
    return { kind: 'error', id: null, error: new AdamaError(E.FRAME_TOO_LARGE, `frame exceeds ${maxFrameBytes} bytes`) };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { kind: 'error', id: null, error: new AdamaError(E.FRAME_NOT_JSON, 'frame is not valid JSON') };
  }
  if (!isJsonObject(parsed)) return { kind: 'error', id: null, error: new AdamaError(E.FRAME_NOT_JSON, 'frame must be a JSON object') };
  if ('pong' in parsed && typeof parsed.pong === 'number') return { kind: 'pong', pongMs: parsed.pong };

  const { id, method, ...body } = parsed;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
    return { kind: 'error', id: null, error: new AdamaError(E.INVALID_REQUEST, 'request needs a non-negative integer "id"') };
  }
  if (!isMethodName(method)) {
    return { kind: 'error', id, error: new AdamaError(E.UNKNOWN_METHOD, `unknown method ${JSON.stringify(String(method)).slice(0, 80)}`) };
  }
  // Refused here, alone, rather than by the database inside a batch other documents share.
  const unstorable = mayHoldUnstorableEscape(text) ? findUnstorableString(body) : undefined;
  if (unstorable !== undefined) {
    return { kind: 'error', id, error: new AdamaError(E.STRING_NOT_WELL_FORMED, `${method}: ${unstorable.replace(/^\$\.?/, '') || '(body)'} holds a lone surrogate or U+0000`) };
  }
  const result = requestSchemas[method].safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.join('.') || '(body)';
    return { kind: 'error', id, error: new AdamaError(E.INVALID_REQUEST, `${method}: ${where}: ${issue?.message ?? 'invalid'}`) };
  }
  return { kind: 'request', request: { id, method, ...result.data } as Request };
}
