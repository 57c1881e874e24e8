/** @module edge-flags — the edge flags shared by `adama proxy` and `adama dev` (docs/security.md). */
import type { FlagSpec, ParsedFlags } from '../options';
import { parseBool, parseList, parseSpaceSizes, type EdgeConfig } from '../../web-proxy/edge/edge-config';

export const EDGE_FLAGS: FlagSpec = {
  'redis-url': { help: 'Redis shared by all proxies for rate limits (unset: per-process limits)' },
  'redis-key-prefix': { help: 'prefix of rate-limit keys in Redis (default adama:rl:)' },
  'rate-limit-fail-closed': { help: 'true: refuse with RATE_LIMITED while Redis is unreachable (default: keep serving on local limits)' },
  'jwks-file': { help: 'JWKS file of trusted token keys (re-read on change and on an unknown kid)' },
  'jwks-url': { help: 'JWKS URL of trusted token keys (fetched and cached)' },
  issuer: { help: 'required "iss" of tokens' },
  audience: { help: 'required "aud" of tokens' },
  authority: { help: 'who.authority of token principals (default jwt)' },
  'allow-anonymous': { help: 'true: accept "anonymous:<name>" identities (spaces still decide in connect)' },
  'allowed-origins': { help: 'comma-separated browser Origins allowed besides the proxy\'s own (* = any)' },
  'tls-cert': { help: 'PEM certificate: terminate TLS here (wss://); needs --tls-key' },
  'tls-key': { help: 'PEM private key for --tls-cert' },
  'trust-forwarded-for': { help: 'true: client address from X-Forwarded-For (only behind a trusted load balancer)' },
  'max-message-bytes-by-space': { help: 'per-space message caps, e.g. chat=4096,cards=1024' },
};

export function edgeFlags(f: ParsedFlags): Partial<EdgeConfig> {
  const failClosed = parseBool('rate-limit-fail-closed', f.get('rate-limit-fail-closed'));
  return {
    redisUrl: f.get('redis-url'),
    redisKeyPrefix: f.get('redis-key-prefix'),
    rateLimitFailMode: failClosed === undefined ? undefined : failClosed ? 'closed' : 'open',
    jwksFile: f.get('jwks-file'),
    jwksUrl: f.get('jwks-url'),
    issuer: f.get('issuer'),
    audience: f.get('audience'),
    authority: f.get('authority'),
    allowAnonymous: parseBool('allow-anonymous', f.get('allow-anonymous')),
    allowedOrigins: parseList(f.get('allowed-origins')),
    tlsCertFile: f.get('tls-cert'),
    tlsKeyFile: f.get('tls-key'),
    trustForwardedFor: parseBool('trust-forwarded-for', f.get('trust-forwarded-for')),
    maxMessageBytesBySpace: parseSpaceSizes(f.get('max-message-bytes-by-space')),
  };
}
