/**
 * @module dev-keys
 * Signing keys for local use: `adama token keygen` writes a key pair (a JWKS of the public key
 * for proxies, a private JWK for whoever mints), and `adama dev` keeps one pair in its data
 * directory so that `adama token` and the dev proxy agree without any setup. Production keys
 * belong to an identity provider; these files are for development and tests.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { jose, type JSONWebKeySet, type JWK } from './jose';
import { TOKEN_ALGORITHMS } from './token-verifier';

export type TokenAlgorithm = (typeof TOKEN_ALGORITHMS)[number];

export interface KeyPair { privateJwk: JWK; jwks: JSONWebKeySet; kid: string; alg: TokenAlgorithm }

export const DEV_JWKS_FILE = 'dev-jwks.json';
export const DEV_PRIVATE_KEY_FILE = 'dev-signing-key.json';
/** Issuer and audience of dev tokens; the dev proxy requires both. */
export const DEV_ISSUER = 'adama-dev';
export const DEV_AUDIENCE = 'adama';

export function isTokenAlgorithm(alg: string): alg is TokenAlgorithm {
  return (TOKEN_ALGORITHMS as readonly string[]).includes(alg);
}

export async function generateKeyPair(alg: TokenAlgorithm, kid = `${alg.toLowerCase()}-${randomBytes(6).toString('hex')}`): Promise<KeyPair> {
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await jose.exportJWK(publicKey)), kid, alg, use: 'sig' };
  const privateJwk = { ...(await jose.exportJWK(privateKey)), kid, alg, use: 'sig' };
  return { privateJwk, jwks: { keys: [publicJwk] }, kid, alg };
}

/** Writes `<jwksPath>` (public, merged with keys already there so rotation keeps old kids) and the private key (mode 0600). */
export async function writeKeyPair(pair: KeyPair, jwksPath: string, privatePath: string): Promise<void> {
  await mkdir(dirname(jwksPath), { recursive: true });
  await mkdir(dirname(privatePath), { recursive: true });
  const existing = existsSync(jwksPath) ? (JSON.parse(await readFile(jwksPath, 'utf8')) as JSONWebKeySet).keys : [];
  const keys = [...existing.filter((k) => k.kid !== pair.kid), ...pair.jwks.keys];
  await writeFile(jwksPath, `${JSON.stringify({ keys }, null, 2)}\n`);
  await writeFile(privatePath, `${JSON.stringify(pair.privateJwk, null, 2)}\n`, { mode: 0o600 });
  await chmod(privatePath, 0o600);
}

export async function readPrivateKey(path: string): Promise<JWK> {
  const jwk = JSON.parse(await readFile(path, 'utf8')) as JWK;
  if (!jwk.d) throw new Error(`${path} is not a private JWK (no "d")`);
  return jwk;
}

/** The dev key pair of a data directory, created on first use; in memory when `dataDir` is empty. */
export async function ensureDevKeys(dataDir: string): Promise<{ privateJwk: JWK; jwksPath: string | null; jwks: JSONWebKeySet }> {
  if (dataDir === '') {
    const pair = await generateKeyPair('ES256');
    return { privateJwk: pair.privateJwk, jwksPath: null, jwks: pair.jwks };
  }
  const jwksPath = join(dataDir, DEV_JWKS_FILE);
  const privatePath = join(dataDir, DEV_PRIVATE_KEY_FILE);
  if (!existsSync(jwksPath) || !existsSync(privatePath)) await writeKeyPair(await generateKeyPair('ES256'), jwksPath, privatePath);
  return { privateJwk: await readPrivateKey(privatePath), jwksPath, jwks: JSON.parse(await readFile(jwksPath, 'utf8')) as JSONWebKeySet };
}

export interface MintOptions {
  sub: string;
  iss?: string;
  aud?: string;
  ttlSec: number;
  /** Defaults to the key's `alg`. */
  alg?: TokenAlgorithm;
  nowSec?: number;
}

/** Signs a token with a private JWK; the header carries the key's kid so verifiers can pick the key. */
export async function mintToken(privateJwk: JWK, o: MintOptions): Promise<string> {
  const alg = o.alg ?? (privateJwk.alg && isTokenAlgorithm(privateJwk.alg) ? privateJwk.alg : undefined);
  if (!alg) throw new Error(`choose --alg (${TOKEN_ALGORITHMS.join(' or ')}): the key does not name one`);
  const key = await jose.importJWK(privateJwk, alg);
  const now = o.nowSec ?? Math.floor(Date.now() / 1000);
  let jwt = new jose.SignJWT({}).setProtectedHeader({ alg, typ: 'JWT', ...(privateJwk.kid ? { kid: privateJwk.kid } : {}) })
    .setSubject(o.sub).setIssuedAt(now).setExpirationTime(now + o.ttlSec);
  if (o.iss) jwt = jwt.setIssuer(o.iss);
  if (o.aud) jwt = jwt.setAudience(o.aud);
  return jwt.sign(key);
}
