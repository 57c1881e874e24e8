/**
 * @module service-error
 * The one mapping from anything a gRPC handler throws to what its caller receives: the registry
 * entry's gRPC status and `<NAME> <code>: <message>` as details, so every unary RPC (host admin,
 * locator, archiver) answers with a registry code. An error without a code becomes INTERNAL with
 * a neutral message; its cause is logged here, never sent.
 */
import * as grpc from '@grpc/grpc-js';
import { AdamaError, E, isAdamaError, type ErrorEntry } from '../shared/errors';
import type { Logger } from '../shared/log';

export function toServiceError(err: unknown, log?: Logger, context?: Record<string, unknown>): Partial<grpc.StatusObject> {
  let e: AdamaError;
  if (isAdamaError(err)) {
    e = err;
  } else {
    log?.error({ ...context, code: E.INTERNAL.code, err: String(err), stack: (err as Error)?.stack }, 'grpc.internal_error');
    e = new AdamaError(E.INTERNAL);
  }
  return { code: grpc.status[e.entry.grpc], details: `${e.entry.name} ${e.entry.code}: ${e.message}` };
}

/** The registry entry named in a ServiceError's details by `toServiceError`, if any. */
export function entryOfServiceError(err: unknown): ErrorEntry | undefined {
  const details = (err as Partial<grpc.ServiceError>)?.details;
  const m = typeof details === 'string' ? /^([A-Z_]+) (\d+): /.exec(details) : null;
  if (!m) return undefined;
  const entry = (E as Record<string, ErrorEntry>)[m[1]!];
  return entry?.code === Number(m[2]) ? entry : undefined;
}

type Unary<Req, Res> = (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>) => void;

/** A unary handler from an async function: answers once, with its value or its mapped error. */
export function unaryHandler<Req, Res>(fn: (req: Req) => Promise<Res>, log?: Logger, method?: string): Unary<Req, Res> {
  return (call, cb) => {
    let p: Promise<Res>;
    try { p = fn(call.request); } catch (err) { p = Promise.reject(err); }
    p.then((r) => cb(null, r), (err: unknown) => cb(toServiceError(err, log, { method })));
  };
}
