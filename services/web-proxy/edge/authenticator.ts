/**
 * @module authenticator
 * Turns the identity a client presents into a principal: a signed token is verified (no keys
 * configured = no token accepted), `anonymous:<name>` is accepted only when this proxy allows
 * anonymous identities at all. Admission to a document is still the space's decision in
 * connect(); this is only "who are you".
 */
import { AdamaError, E } from '../../shared/errors';
import { readIdentity } from '../../shared/identity';
import type { Principal, TokenVerifier } from './token-verifier';

export interface AuthenticatorOptions {
  allowAnonymous: boolean;
  /** Null when no keys are configured: every token is refused. */
  verifier: TokenVerifier | null;
}

export class Authenticator {
  constructor(private readonly o: AuthenticatorOptions) {}

  async authenticate(identity: unknown): Promise<Principal> {
    const presented = readIdentity(identity);
    if (presented.kind === 'anonymous') {
      if (!this.o.allowAnonymous) throw new AdamaError(E.IDENTITY_INVALID, 'anonymous identities are not accepted here; present a signed token');
      return { who: presented.who, expiresAtMs: null };
    }
    if (!this.o.verifier) throw new AdamaError(E.TOKEN_INVALID, 'this proxy has no token keys configured, so it accepts no tokens');
    return this.o.verifier.verify(presented.token);
  }
}
