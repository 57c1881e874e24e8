/**
 * @module identity
 * Reads the identity string a client presents (`auth`, or `identity` on a request). Two forms:
 * the development identity `anonymous:<name>`, and a signed token (a compact JWT, three base64url
 * parts). This module only tells them apart and parses the anonymous form; the web-proxy's
 * authenticator (services/web-proxy/edge/authenticator.ts) decides whether anonymous identities
 * are accepted and verifies tokens. Both produce the same `Who`, so spaces do not care which:
 * they decide access in connect(), e.g. `who.authority !== 'anonymous'`.
 */
import { AdamaError, E } from './errors';

export const ANONYMOUS_AUTHORITY = 'anonymous';
const ANONYMOUS = /^anonymous:([A-Za-z0-9._ -]{1,64})$/;
/** header.payload.signature; the signature may be empty (alg "none"), which the verifier then refuses. */
const COMPACT_JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** A principal: who sent a message or views a document. `authority` says who vouched for `agent`. */
export interface Who { agent: string; authority: string }

export type PresentedIdentity = { kind: 'anonymous'; who: Who } | { kind: 'token'; token: string };

/** Classifies an identity string; anything that is neither form is IDENTITY_INVALID. */
export function readIdentity(identity: unknown): PresentedIdentity {
  if (typeof identity !== 'string') throw new AdamaError(E.IDENTITY_INVALID, 'identity is required: a signed token or "anonymous:<name>"');
  if (COMPACT_JWT.test(identity)) return { kind: 'token', token: identity };
  return { kind: 'anonymous', who: parseIdentity(identity) };
}

/** Parses `anonymous:<name>` into `who = {agent: name, authority: "anonymous"}`. */
export function parseIdentity(identity: unknown): Who {
  if (typeof identity !== 'string') throw new AdamaError(E.IDENTITY_INVALID, 'identity is required: "anonymous:<name>"');
  const m = ANONYMOUS.exec(identity);
  if (!m) throw new AdamaError(E.IDENTITY_INVALID, 'identity must be a signed token or "anonymous:<name>" with a name of 1-64 characters [A-Za-z0-9._ -]');
  return { agent: m[1]!, authority: ANONYMOUS_AUTHORITY };
}
