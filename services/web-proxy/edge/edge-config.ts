/**
 * @module edge-config
 * The web-proxy's string and boolean settings (keys, Redis, origins, TLS): validated once with
 * zod, unknown keys rejected, frozen. The numeric limits (rates, bursts, caps) live with the other
 * numbers in `proxyDefaults` (services/shared/config.ts). Nothing here is a secret: the JWKS holds
 * public keys, and TLS and Redis credentials are referenced by path or URL (the URL's password,
 * if any, is masked in logs by `describeEdgeConfig`).
 */
import { maskPassword } from '../../shared/urls';
import { z } from 'zod';

export const edgeDefaults = {
  /** Redis shared by all proxies for rate limits, e.g. `redis://redis:6379`; unset = per-process buckets only. */
  redisUrl: undefined as string | undefined,
  /** Prefix of every rate-limit key in Redis. */
  redisKeyPrefix: 'adama:rl:',
  /** With Redis unreachable: `open` = keep limiting on local per-process buckets; `closed` = refuse with RATE_LIMITED. */
  rateLimitFailMode: 'open' as 'open' | 'closed',
  /** A JWKS file of trusted public keys (several for rotation); re-read on change and on an unknown kid. */
  jwksFile: undefined as string | undefined,
  /** A JWKS URL (e.g. an identity provider's `/.well-known/jwks.json`); fetched and cached by jose. */
  jwksUrl: undefined as string | undefined,
  /** Required `iss` of tokens when set. */
  issuer: undefined as string | undefined,
  /** Required `aud` of tokens when set. */
  audience: undefined as string | undefined,
  /** `who.authority` of token principals (`who.agent` is the token's `sub`). Spaces check it in connect. */
  authority: 'jwt',
  /** Allowed difference between our clock and the issuer's for exp/nbf (seconds). */
  clockToleranceSec: 30,
  /** Accept `anonymous:<name>` identities at all; each space still decides in connect(). */
  allowAnonymous: false,
  /** Browser Origins allowed to open sockets besides the proxy's own origin; `*` allows any. */
  allowedOrigins: [] as string[],
  /** PEM certificate and key: the proxy terminates TLS itself (https/wss) when both are set. */
  tlsCertFile: undefined as string | undefined,
  tlsKeyFile: undefined as string | undefined,
  /** Take the client address from the first X-Forwarded-For entry (only behind a trusted load balancer). */
  trustForwardedFor: false,
  /** Largest message per space (bytes of JSON), overriding `maxMessageBytes` for that space. */
  maxMessageBytesBySpace: {} as Record<string, number>,
};

export type EdgeConfig = typeof edgeDefaults;

const optionalUrl = z.string().refine((s) => URL.canParse(s), 'must be a URL').optional();
const schema = z.object({
  redisUrl: optionalUrl.refine((s) => s === undefined || /^rediss?:/.test(s), 'must be redis:// or rediss://'),
  redisKeyPrefix: z.string().min(1).max(64),
  rateLimitFailMode: z.enum(['open', 'closed']),
  jwksFile: z.string().min(1).optional(),
  jwksUrl: optionalUrl,
  issuer: z.string().min(1).optional(),
  audience: z.string().min(1).optional(),
  authority: z.string().min(1).max(64),
  clockToleranceSec: z.number().int().min(0).max(300),
  allowAnonymous: z.boolean(),
  allowedOrigins: z.array(z.string().min(1)),
  tlsCertFile: z.string().min(1).optional(),
  tlsKeyFile: z.string().min(1).optional(),
  trustForwardedFor: z.boolean(),
  maxMessageBytesBySpace: z.record(z.number().int().positive()),
}).strict()
  .refine((c) => (c.tlsCertFile === undefined) === (c.tlsKeyFile === undefined), 'tlsCertFile and tlsKeyFile go together')
  .refine((c) => c.jwksFile === undefined || c.jwksUrl === undefined, 'give jwksFile or jwksUrl, not both');

/** The fields that are set: an unset flag (undefined) must not hide a default or a profile's value. */
export function definedOnly(c: Partial<EdgeConfig> | undefined): Partial<EdgeConfig> {
  return Object.fromEntries(Object.entries(c ?? {}).filter(([, v]) => v !== undefined)) as Partial<EdgeConfig>;
}

/** Layers `overrides` on the defaults, validates, freezes. Throws naming every problem. */
export function resolveEdgeConfig(overrides: Partial<EdgeConfig> = {}): Readonly<EdgeConfig> {
  const parsed = schema.safeParse({ ...edgeDefaults, ...definedOnly(overrides) });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(edge config)'}: ${i.message}`).join('; ');
    throw new Error(`invalid edge configuration: ${problems}`);
  }
  return Object.freeze(parsed.data as EdgeConfig);
}

/** The effective config for the startup log: URL passwords masked. */
export function describeEdgeConfig(c: Readonly<EdgeConfig>): Record<string, unknown> {
  const mask = (url: string | undefined) => (url === undefined ? undefined : maskPassword(url));
  return { ...c, redisUrl: mask(c.redisUrl), jwksUrl: mask(c.jwksUrl) };
}

/** Parses a comma-separated flag value (`a,b`) into a list; empty entries dropped. */
export function parseList(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/** Parses `true|false|1|0|yes|no` flag values; anything else is an error naming the flag. */
export function parseBool(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new Error(`--${name} must be true or false, got ${value}`);
}

/** Parses `space=bytes,space=bytes`. */
export function parseSpaceSizes(value: string | undefined): Record<string, number> | undefined {
  if (value === undefined) return undefined;
  const out: Record<string, number> = {};
  for (const part of parseList(value) ?? []) {
    const [space, bytes] = part.split('=');
    const n = Number(bytes);
    if (!space || !Number.isInteger(n) || n <= 0) throw new Error(`--max-message-bytes-by-space expects space=bytes, got ${part}`);
    out[space] = n;
  }
  return out;
}
