/**
 * @module identity
 * Turns the identity a client presents into `who`. For now the only form is the local
 * development identity `anonymous:<name>`; signed tokens arrive with the edge-defence work and
 * will produce the same `Who` shape, so spaces do not change.
 */
import type { Who } from '../storage/data-service';
import { AdamaError, E } from './errors';

const ANONYMOUS = /^anonymous:([A-Za-z0-9._ -]{1,64})$/;

export function parseIdentity(identity: unknown): Who {
  if (typeof identity !== 'string') throw new AdamaError(E.IDENTITY_INVALID, 'identity is required: "anonymous:<name>"');
  const m = ANONYMOUS.exec(identity);
  if (!m) throw new AdamaError(E.IDENTITY_INVALID, 'identity must be "anonymous:<name>" with a name of 1-64 characters [A-Za-z0-9._ -]');
  return { agent: m[1]!, authority: 'anonymous' };
}
