/**
 * @module token-verifier
 * Verifies a client's signed token (JWT) and returns its principal. Only asymmetric algorithms
 * are accepted (ES256, RS256): never `none`, never HS* (an HMAC "signed" with a public key would
 * otherwise verify). Issuer and audience are required when configured, `exp` and `sub` always;
 * exp/nbf allow `clockToleranceSec` of skew. Every failure becomes one registry error, and the
 * token itself never appears in a message or a log line.
 */
import { AdamaError, E, type ErrorEntry } from '../../shared/errors';
import { isStorableString } from '../../shared/json';
import type { Who } from '../../shared/identity';
import { jose, type JSONWebKeySet, type JWTVerifyGetKey } from './jose';

export const TOKEN_ALGORITHMS = ['ES256', 'RS256'] as const;

export interface Principal {
  who: Who;
  /**
   * When the edge stops accepting the token (ms since epoch): its `exp` plus the clock tolerance,
   * the one rule both `auth` and every later request on the socket apply. Null for anonymous.
   */
  expiresAtMs: number | null;
}

export type KeySource = { kind: 'resolver'; resolve: JWTVerifyGetKey } | { kind: 'jwks'; jwks: JSONWebKeySet } | { kind: 'url'; url: string };

export interface TokenVerifierOptions {
  keys: KeySource;
  issuer?: string;
  audience?: string;
  /** `who.authority` of every verified principal. */
  authority: string;
  clockToleranceSec: number;
  nowMs?: () => number;
}

const MAX_SUBJECT_CHARS = 256;

export class TokenVerifier {
  private readonly resolve: JWTVerifyGetKey;

  constructor(private readonly o: TokenVerifierOptions) {
    switch (o.keys.kind) {
      case 'resolver': this.resolve = o.keys.resolve; break;
      case 'jwks': this.resolve = jose.createLocalJWKSet(o.keys.jwks); break;
      // jose caches the set, refetches on an unknown kid (at most every 30 s) and times out after 5 s.
      case 'url': this.resolve = jose.createRemoteJWKSet(new URL(o.keys.url)); break;
    }
  }

  async verify(token: string): Promise<Principal> {
    let payload: { sub?: string; exp?: number };
    try {
      ({ payload } = await jose.jwtVerify(token, this.resolve, {
        algorithms: [...TOKEN_ALGORITHMS],
        issuer: this.o.issuer,
        audience: this.o.audience,
        clockTolerance: this.o.clockToleranceSec,
        requiredClaims: ['exp', 'sub'],
        ...(this.o.nowMs ? { currentDate: new Date(this.o.nowMs()) } : {}),
      }));
    } catch (err) {
      const [entry, message] = classifyJoseError(err);
      throw new AdamaError(entry, message);
    }
    const sub = payload.sub;
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUBJECT_CHARS) {
      throw new AdamaError(E.TOKEN_CLAIMS_REJECTED, `token "sub" must be 1-${MAX_SUBJECT_CHARS} characters`);
    }
    // The subject becomes `who.agent`, stored in every change record: it must be storable text.
    if (!isStorableString(sub)) throw new AdamaError(E.TOKEN_CLAIMS_REJECTED, 'token "sub" holds a lone surrogate or U+0000');
    return { who: { agent: sub, authority: this.o.authority }, expiresAtMs: ((payload.exp ?? 0) + this.o.clockToleranceSec) * 1000 };
  }
}

/** Maps a jose error (by its stable `code`) to our registry. Unknown errors are invalid tokens. */
export function classifyJoseError(err: unknown): [ErrorEntry, string] {
  const e = err as { code?: string; claim?: string; reason?: string };
  switch (e.code) {
    case 'ERR_JWT_EXPIRED': return [E.TOKEN_EXPIRED, 'token has expired'];
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (e.claim === 'nbf' || e.claim === 'iat') return [E.TOKEN_EXPIRED, `token is not valid yet ("${e.claim}")`];
      return [E.TOKEN_CLAIMS_REJECTED, `token claim "${e.claim ?? '?'}" is not accepted (${e.reason ?? 'check failed'})`];
    case 'ERR_JWKS_NO_MATCHING_KEY': return [E.TOKEN_KEY_UNKNOWN, 'no trusted key matches the token\'s kid'];
    case 'ERR_JWKS_TIMEOUT': return [E.TOKEN_KEY_UNKNOWN, 'the key set could not be fetched in time'];
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS': return [E.TOKEN_INVALID, 'token has no kid and several keys could match'];
    case 'ERR_JOSE_ALG_NOT_ALLOWED': return [E.TOKEN_INVALID, `token algorithm is not accepted (only ${TOKEN_ALGORITHMS.join(', ')})`];
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED': return [E.TOKEN_INVALID, 'token signature does not verify'];
    default: return [E.TOKEN_INVALID, 'token is malformed or cannot be verified'];
  }
}
