/**
 * @module dev-edge
 * The edge of `adama dev`: anonymous identities allowed, per-process rate limits unless a Redis
 * URL is given, and a dev signing key kept in the data directory (`dev-jwks.json` +
 * `dev-signing-key.json`; in memory without a data dir) that the dev proxy trusts, so
 * `adama token` and the demo can use real tokens with no setup. An explicit JWKS file or URL
 * replaces the dev key.
 */
import type { ProxyConfig } from '../../shared/config';
import type { Logger } from '../../shared/log';
import type { AdamaMetrics } from '../../shared/telemetry';
import { DEV_AUDIENCE, DEV_ISSUER, ensureDevKeys, mintToken } from './dev-keys';
import { definedOnly, resolveEdgeConfig, type EdgeConfig } from './edge-config';
import { startEdge, type Edge } from './start-edge';

export interface DevEdge {
  edge: Edge;
  /** Mints a dev token for `sub` (default TTL 12 h); null when the dev key is not trusted. */
  mintDevToken: ((sub: string, ttlSec?: number) => Promise<string>) | null;
}

export async function startDevEdge(o: { dataDir: string; edge?: Partial<EdgeConfig>; proxy: Readonly<ProxyConfig>; log: Logger; metrics: AdamaMetrics }): Promise<DevEdge> {
  const given = definedOnly(o.edge);
  if (given.jwksFile !== undefined || given.jwksUrl !== undefined) {
    const config = resolveEdgeConfig({ allowAnonymous: true, ...given });
    return { edge: await startEdge({ edge: config, proxy: o.proxy, log: o.log, metrics: o.metrics }), mintDevToken: null };
  }
  const keys = await ensureDevKeys(o.dataDir);
  const config = resolveEdgeConfig({ allowAnonymous: true, issuer: DEV_ISSUER, audience: DEV_AUDIENCE, ...given, ...(keys.jwksPath ? { jwksFile: keys.jwksPath } : {}) });
  const edge = await startEdge({ edge: config, proxy: o.proxy, log: o.log, metrics: o.metrics, ...(keys.jwksPath ? {} : { inlineJwks: keys.jwks }) });
  return {
    edge,
    mintDevToken: (sub, ttlSec = 12 * 3600) => mintToken(keys.privateJwk, { sub, iss: config.issuer, aud: config.audience, ttlSec }),
  };
}
