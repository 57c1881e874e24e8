/**
 * @module pg-errors
 * Classifies errors thrown by the `pg` driver: SQLSTATE codes from the server, Node socket errors,
 * and the driver's own connection messages. Storage code maps "could not talk to the database" to
 * STORAGE_UNAVAILABLE (retryable) and lets everything else through as a bug.
 */
import { AdamaError, E } from '../shared/errors';

export const SQLSTATE = {
  uniqueViolation: '23505',
  duplicateTable: '42P07',
  duplicateObject: '42710',
  undefinedTable: '42P01',
  tooManyConnections: '53300',
  adminShutdown: '57P01',
  crashShutdown: '57P02',
  cannotConnectNow: '57P03',
} as const;

/** The SQLSTATE (or Node error code such as ECONNREFUSED) carried by an error, if any. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

export function isUniqueViolation(err: unknown): boolean {
  return errorCode(err) === SQLSTATE.uniqueViolation;
}

/**
 * SQLSTATE class 22, "data exception": the statement was refused for the data it carried (jsonb
 * refusing `\u0000` or a lone surrogate is 22P05), so nothing committed and retrying the same
 * data cannot help. Never a sign that the database is unavailable.
 */
export function isDataException(err: unknown): boolean {
  return errorCode(err)?.startsWith('22') === true;
}

const UNAVAILABLE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
  SQLSTATE.tooManyConnections, SQLSTATE.adminShutdown, SQLSTATE.crashShutdown, SQLSTATE.cannotConnectNow,
]);

/** The driver reports these without a code. */
const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Cannot use a pool after calling end on the pool',
  'Client was closed and is not queryable',
];

export function isConnectionError(err: unknown): boolean {
  const code = errorCode(err);
  // Class 08 is "connection exception" in the SQLSTATE table.
  if (code !== undefined && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) return true;
  const message = err instanceof Error ? err.message : '';
  return UNAVAILABLE_MESSAGES.some((m) => message.includes(m));
}

/** Rethrows connection failures as STORAGE_UNAVAILABLE, keeping the driver error as `cause`. */
export function toStorageError(err: unknown, what: string): unknown {
  if (err instanceof AdamaError || !isConnectionError(err)) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new AdamaError(E.STORAGE_UNAVAILABLE, `${what}: database unreachable (${detail})`, { cause: err });
}
