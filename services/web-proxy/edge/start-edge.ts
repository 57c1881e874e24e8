/**
 * @module start-edge
 * Wiring only: builds the edge policy of one proxy from its configuration (keys → verifier,
 * anonymous policy → authenticator, Redis or not → limiter) and closes it again.
 */
import { systemClock } from '../../shared/clock';
import type { ProxyConfig } from '../../shared/config';
import type { Logger } from '../../shared/log';
import type { AdamaMetrics } from '../../shared/telemetry';
import { Authenticator } from './authenticator';
import { describeEdgeConfig, type EdgeConfig } from './edge-config';
import { EdgeGuard } from './edge-guard';
import type { JSONWebKeySet } from './jose';
import { JwksFile } from './jwks-file';
import { LocalRateLimiter } from './local-rate-limiter';
import type { RateLimiter } from './rate-limiter';
import { RedisRateLimiter } from './redis-rate-limiter';
import { ResilientRateLimiter } from './resilient-rate-limiter';
import { TokenVerifier, type KeySource } from './token-verifier';

export interface EdgeOptions {
  edge: Readonly<EdgeConfig>;
  proxy: Readonly<ProxyConfig>;
  log: Logger;
  metrics: AdamaMetrics;
  /** Keys trusted in memory when no JWKS file or URL is configured (the dev cluster without a data dir). */
  inlineJwks?: JSONWebKeySet;
}

export interface Edge {
  readonly guard: EdgeGuard;
  readonly config: Readonly<EdgeConfig>;
  /** For health output: is the shared limiter on its local fallback. */
  degraded(): boolean;
  close(): Promise<void>;
}

export async function startEdge(o: EdgeOptions): Promise<Edge> {
  const jwksFile = o.edge.jwksFile ? await JwksFile.open({ path: o.edge.jwksFile, log: o.log }) : null;
  const keys: KeySource | null = jwksFile ? { kind: 'resolver', resolve: jwksFile.resolve }
    : o.edge.jwksUrl ? { kind: 'url', url: o.edge.jwksUrl }
    : o.inlineJwks ? { kind: 'jwks', jwks: o.inlineJwks } : null;
  const verifier = keys && new TokenVerifier({ keys, issuer: o.edge.issuer, audience: o.edge.audience, authority: o.edge.authority, clockToleranceSec: o.edge.clockToleranceSec });
  const authenticator = new Authenticator({ allowAnonymous: o.edge.allowAnonymous, verifier });

  const local = new LocalRateLimiter(systemClock);
  let resilient: ResilientRateLimiter | null = null;
  let limiter: RateLimiter = local;
  if (o.edge.redisUrl) {
    const redis = new RedisRateLimiter({ url: o.edge.redisUrl, keyPrefix: o.edge.redisKeyPrefix, log: o.log, onStatus: (ready) => resilient?.primaryStatus(ready) });
    resilient = new ResilientRateLimiter({ primary: redis, fallback: local, failMode: o.edge.rateLimitFailMode, log: o.log, degraded: o.metrics.rateLimiterDegraded });
    limiter = resilient;
  }
  const guard = new EdgeGuard({ authenticator, limiter, config: o.proxy, maxMessageBytesBySpace: o.edge.maxMessageBytesBySpace });
  o.log.info({ edge: describeEdgeConfig(o.edge), tokens: keys?.kind ?? 'none', limiter: o.edge.redisUrl ? 'redis' : 'local' }, 'edge.configured');
  return {
    guard,
    config: o.edge,
    degraded: () => resilient?.isDegraded ?? false,
    async close() {
      jwksFile?.close();
      await guard.close();
    },
  };
}
