/**
 * @module edge-guard
 * The per-proxy admission policy the socket sessions call: who a client is (authenticator),
 * whether its next socket, stream or message fits its rate limits (per principal and per address,
 * on the shared limiter), how many sockets a principal holds here, and how large a message may be.
 * Every refusal is a coded, retryable AdamaError with a retry hint; nothing here closes a socket.
 */
import { AdamaError, E } from '../../shared/errors';
import type { ProxyConfig } from '../../shared/config';
import type { Who } from '../../shared/identity';
import type { Authenticator } from './authenticator';
import type { RateLimiter } from './rate-limiter';
import type { BucketLimit } from './token-bucket';
import type { Principal } from './token-verifier';

export type Admission = 'socket' | 'stream' | 'message';

export interface EdgeGuardOptions {
  authenticator: Authenticator;
  limiter: RateLimiter;
  config: Readonly<ProxyConfig>;
  /** Per-space message size caps overriding `config.maxMessageBytes`. */
  maxMessageBytesBySpace?: Readonly<Record<string, number>>;
}

/** How many bytes JSON.stringify of a parsed frame's value can write per character of the frame, at most. */
const MAX_REWRITE_GROWTH = 6;

export const principalKey = (who: Who): string => `${who.authority}:${who.agent}`;

export class EdgeGuard {
  private readonly socketsByPrincipal = new Map<string, number>();
  private readonly limits: Record<Admission, { ip: BucketLimit; principal: BucketLimit }>;

  constructor(private readonly o: EdgeGuardOptions) {
    const c = o.config;
    this.limits = {
      socket: { ip: { perSec: c.socketsPerIpPerSec, burst: c.socketsPerIpBurst }, principal: { perSec: c.socketsPerPrincipalPerSec, burst: c.socketsPerPrincipalBurst } },
      stream: { ip: { perSec: c.streamsPerIpPerSec, burst: c.streamsPerIpBurst }, principal: { perSec: c.streamsPerPrincipalPerSec, burst: c.streamsPerPrincipalBurst } },
      message: { ip: { perSec: c.messagesPerIpPerSec, burst: c.messagesPerIpBurst }, principal: { perSec: c.messagesPerPrincipalPerSec, burst: c.messagesPerPrincipalBurst } },
    };
  }

  authenticate(identity: unknown): Promise<Principal> { return this.o.authenticator.authenticate(identity); }

  /**
   * Takes one token from the address bucket (unless `ip` is null: already charged) and (when
   * known) the principal's bucket of `kind`.
   * Both are asked at once to keep one round trip; a refused request may still have used a token
   * of the other bucket, which only errs on the strict side.
   */
  async admit(kind: Admission, ip: string | null, who: Who | null): Promise<void> {
    const l = this.limits[kind];
    const [byIp, byPrincipal] = await Promise.all([
      ip === null ? Promise.resolve({ allowed: true, retryAfterMs: 0 }) : this.o.limiter.take(`${kind}:ip:${ip}`, 1, l.ip),
      who ? this.o.limiter.take(`${kind}:p:${principalKey(who)}`, 1, l.principal) : Promise.resolve({ allowed: true, retryAfterMs: 0 }),
    ]);
    if (byIp.allowed && byPrincipal.allowed) return;
    const scope = !byPrincipal.allowed ? 'principal' : 'address';
    const retryAfterMs = Math.max(byIp.retryAfterMs, byPrincipal.retryAfterMs);
    throw new AdamaError(E.RATE_LIMITED, `too many ${kind === 'message' ? 'messages' : `new ${kind}s`} for this ${scope}; retry after ${retryAfterMs} ms`, { retryAfterMs });
  }

  /** Counts a socket against its principal on this proxy; returns the release function. */
  claimSocket(who: Who): () => void {
    const key = principalKey(who);
    const held = this.socketsByPrincipal.get(key) ?? 0;
    if (held >= this.o.config.maxSocketsPerPrincipal) {
      throw new AdamaError(E.TOO_MANY_SOCKETS, `this principal already holds ${held} sockets on this proxy (limit ${this.o.config.maxSocketsPerPrincipal})`);
    }
    this.socketsByPrincipal.set(key, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.socketsByPrincipal.get(key) ?? 1) - 1;
      if (n > 0) this.socketsByPrincipal.set(key, n); else this.socketsByPrincipal.delete(key);
    };
  }

  /** Refuses a message larger than its space allows (MESSAGE_TOO_LARGE, final). */
  checkMessageSize(space: string, message: unknown, frameChars = Number.POSITIVE_INFINITY): void {
    const limit = this.o.maxMessageBytesBySpace?.[space] ?? this.o.config.maxMessageBytes;
    // A frame this short cannot hold a message over the limit, so the message is not serialized
    // again to find out. The factor bounds re-serialization's growth: 3 UTF-8 bytes per UTF-16
    // unit, and a number such as 1e20 (4 characters) written out in 21.
    if (frameChars * MAX_REWRITE_GROWTH <= limit) return;
    const bytes = Buffer.byteLength(JSON.stringify(message) ?? '', 'utf8');
    if (bytes > limit) throw new AdamaError(E.MESSAGE_TOO_LARGE, `message is ${bytes} bytes; ${space} accepts at most ${limit}`);
  }

  close(): Promise<void> { return this.o.limiter.close(); }
}
