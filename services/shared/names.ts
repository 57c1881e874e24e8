/**
 * @module names
 * Validation of space and document names. Names appear in URLs, logs, object keys and SQL
 * parameters, so they are restricted to a conservative alphabet.
 */
import { AdamaError, E } from './errors';

const NAME = /^[A-Za-z0-9._-]{1,128}$/;

export function assertName(kind: 'space' | 'key', value: unknown): asserts value is string {
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw new AdamaError(E.INVALID_NAME, `${kind} must match [A-Za-z0-9._-]{1,128}`);
  }
}
