/** The token matrix: every kind of token a client may present, accepted or refused with its code. */
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdamaError, E, type ErrorEntry } from '../../shared/errors';
import { silentLogger } from '../../shared/log';
import { Authenticator } from './authenticator';
import { generateKeyPair, mintToken, type KeyPair } from './dev-keys';
import { jose, type JWK } from './jose';
import { JwksFile } from './jwks-file';
import { TokenVerifier } from './token-verifier';

const ISS = 'https://id.example.test';
const AUD = 'adama-test';
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('TokenVerifier against a JWKS file', () => {
  let dir: string;
  let path: string;
  let es: KeyPair;
  let rs: KeyPair;
  let file: JwksFile;
  let verifier: TokenVerifier;
  const writeKeys = (...pairs: KeyPair[]) => writeFileSync(path, JSON.stringify({ keys: pairs.flatMap((p) => p.jwks.keys) }));
  const mint = (pair: KeyPair, over: Partial<{ sub: string; iss: string; aud: string; ttlSec: number; nowSec: number }> = {}) =>
    mintToken(pair.privateJwk, { sub: 'alice', iss: ISS, aud: AUD, ttlSec: 600, ...over });
  const refusedWith = async (token: string, entry: ErrorEntry) => {
    const err = await verifier.verify(token).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(AdamaError);
    expect((err as AdamaError).code).toBe(entry.code);
    expect((err as AdamaError).message).not.toContain(token.split('.')[2] || '<no signature>');
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'adama-jwks-'));
    path = join(dir, 'jwks.json');
    es = await generateKeyPair('ES256', 'es-1');
    rs = await generateKeyPair('RS256', 'rs-1');
    writeKeys(es, rs);
    // Interval 0: every unknown kid looks at the file again, so rotation is visible at once in tests.
    file = await JwksFile.open({ path, log: silentLogger, checkIntervalMs: 0 });
    verifier = new TokenVerifier({ keys: { kind: 'resolver', resolve: file.resolve }, issuer: ISS, audience: AUD, authority: 'jwt', clockToleranceSec: 30 });
  });
  afterAll(() => { file.close(); rmSync(dir, { recursive: true, force: true }); });

  it('accepts a valid ES256 token as {agent: sub, authority}', async () => {
    const p = await verifier.verify(await mint(es));
    expect(p.who).toEqual({ agent: 'alice', authority: 'jwt' });
    expect(p.expiresAtMs).toBeGreaterThan(Date.now());
  });

  it('refuses a subject the log cannot store (U+0000, a lone surrogate) with TOKEN_CLAIMS_REJECTED', async () => {
    await refusedWith(await mint(es, { sub: 'ali\u0000ce' }), E.TOKEN_CLAIMS_REJECTED);
    await refusedWith(await mint(es, { sub: 'ali\ud800' }), E.TOKEN_CLAIMS_REJECTED);
    expect((await verifier.verify(await mint(es, { sub: 'ali 😀' }))).who.agent).toBe('ali 😀');
  });

  it('accepts a valid RS256 token', async () => {
    expect((await verifier.verify(await mint(rs, { sub: 'bob' }))).who).toEqual({ agent: 'bob', authority: 'jwt' });
  });

  it('refuses an expired token with TOKEN_EXPIRED, but forgives skew within the tolerance', async () => {
    const now = Math.floor(Date.now() / 1000);
    await refusedWith(await mint(es, { nowSec: now - 700, ttlSec: 600 }), E.TOKEN_EXPIRED);
    await expect(verifier.verify(await mint(es, { nowSec: now - 610, ttlSec: 600 }))).resolves.toBeDefined();
  });

  it('refuses a token that is not valid yet with TOKEN_EXPIRED', async () => {
    const key = await jose.importJWK(es.privateJwk, 'ES256');
    const now = Math.floor(Date.now() / 1000);
    const t = await new jose.SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: es.kid }).setSubject('a').setIssuer(ISS).setAudience(AUD)
      .setNotBefore(now + 3600).setExpirationTime(now + 7200).sign(key);
    await refusedWith(t, E.TOKEN_EXPIRED);
  });

  it('refuses a wrong signature (another key under a trusted kid) with TOKEN_INVALID', async () => {
    const impostor = await generateKeyPair('ES256', es.kid);
    await refusedWith(await mint(impostor), E.TOKEN_INVALID);
  });

  it('refuses a wrong audience and a wrong issuer with TOKEN_CLAIMS_REJECTED', async () => {
    await refusedWith(await mint(es, { aud: 'someone-else' }), E.TOKEN_CLAIMS_REJECTED);
    await refusedWith(await mint(es, { iss: 'https://evil.example' }), E.TOKEN_CLAIMS_REJECTED);
  });

  it('refuses a token without sub with TOKEN_CLAIMS_REJECTED', async () => {
    const key = await jose.importJWK(es.privateJwk, 'ES256');
    const t = await new jose.SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: es.kid }).setIssuer(ISS).setAudience(AUD).setExpirationTime('5m').sign(key);
    await refusedWith(t, E.TOKEN_CLAIMS_REJECTED);
  });

  it('refuses an unknown kid with TOKEN_KEY_UNKNOWN (retryable: keys may be rotating)', async () => {
    await refusedWith(await mint(await generateKeyPair('ES256', 'nobody-knows')), E.TOKEN_KEY_UNKNOWN);
    expect(E.TOKEN_KEY_UNKNOWN.retry).toBe(true);
  });

  it('follows a rotation: new kid accepted once listed, old kid accepted while listed, refused once removed', async () => {
    const next = await generateKeyPair('ES256', 'es-2');
    const oldToken = await mint(es);
    await refusedWith(await mint(next), E.TOKEN_KEY_UNKNOWN);
    writeKeys(es, rs, next);
    expect((await verifier.verify(await mint(next, { sub: 'carol' }))).who.agent).toBe('carol');
    expect((await verifier.verify(oldToken)).who.agent).toBe('alice');
    writeKeys(rs, next);
    await file.reloadIfChanged();
    await refusedWith(oldToken, E.TOKEN_KEY_UNKNOWN);
    writeKeys(es, rs, next);
    await file.reloadIfChanged();
  });

  it('refuses alg "none" with TOKEN_INVALID', async () => {
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'root', iss: ISS, aud: AUD, exp: Math.floor(Date.now() / 1000) + 600 })}.`;
    await refusedWith(unsigned, E.TOKEN_INVALID);
  });

  it('refuses HS256 signed with the public key as the HMAC secret with TOKEN_INVALID', async () => {
    const publicJwk = rs.jwks.keys[0] as JWK;
    const pem = await jose.exportSPKI(await jose.importJWK(publicJwk, 'RS256') as CryptoKey);
    for (const secret of [pem, JSON.stringify(publicJwk)]) {
      const head = `${b64({ alg: 'HS256', typ: 'JWT', kid: rs.kid })}.${b64({ sub: 'root', iss: ISS, aud: AUD, exp: Math.floor(Date.now() / 1000) + 600 })}`;
      const sig = createHmac('sha256', secret).update(head).digest('base64url');
      await refusedWith(`${head}.${sig}`, E.TOKEN_INVALID);
    }
  });

  it('refuses garbage in token shape with TOKEN_INVALID', async () => {
    await refusedWith('aaa.bbb.ccc', E.TOKEN_INVALID);
  });
});

describe('Authenticator', () => {
  it('refuses anonymous identities when they are not allowed, with IDENTITY_INVALID', async () => {
    const a = new Authenticator({ allowAnonymous: false, verifier: null });
    await expect(a.authenticate('anonymous:alice')).rejects.toMatchObject({ code: E.IDENTITY_INVALID.code });
  });

  it('accepts anonymous identities when allowed', async () => {
    const a = new Authenticator({ allowAnonymous: true, verifier: null });
    await expect(a.authenticate('anonymous:alice')).resolves.toEqual({ who: { agent: 'alice', authority: 'anonymous' }, expiresAtMs: null });
  });

  it('refuses every token when no keys are configured, and junk identities', async () => {
    const a = new Authenticator({ allowAnonymous: true, verifier: null });
    await expect(a.authenticate('aaa.bbb.ccc')).rejects.toMatchObject({ code: E.TOKEN_INVALID.code });
    await expect(a.authenticate('root:admin')).rejects.toMatchObject({ code: E.IDENTITY_INVALID.code });
  });
});
