/** Authentication at the web-proxy over real sockets: tokens, the anonymous policy, and a space that denies anonymous users. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevCluster, type DevCluster } from '../../services/cli/dev-cluster';
import { E } from '../../services/shared/errors';
import { silentLogger } from '../../services/shared/log';
import { generateKeyPair, mintToken, type KeyPair } from '../../services/web-proxy/edge/dev-keys';
import { freshDatabase, type FreshDatabase } from '../support/databases';
import { RawSocket } from '../support/raw-socket';

const ISS = 'https://id.example.test';
const AUD = 'adama';
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('a proxy that requires tokens (anonymous disabled)', () => {
  let db: FreshDatabase;
  let cluster: DevCluster;
  let dir: string;
  let es: KeyPair;
  let rs: KeyPair;
  let s: RawSocket;
  const mint = (pair: KeyPair, over: Partial<{ sub: string; aud: string; ttlSec: number; nowSec: number }> = {}) =>
    mintToken(pair.privateJwk, { sub: 'alice', iss: ISS, aud: AUD, ttlSec: 600, ...over });
  const auth = async (id: number, identity: string) => { s.send({ id, method: 'auth', identity }); return s.reply(id); };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'adama-edge-auth-'));
    es = await generateKeyPair('ES256', 'es-1');
    rs = await generateKeyPair('RS256', 'rs-1');
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [...es.jwks.keys, ...rs.jwks.keys] }));
    db = await freshDatabase();
    cluster = await startDevCluster({
      port: 0, dataDir: '', databaseUrl: db.connectionString, hostId: 'auth-host', log: silentLogger,
      edge: { jwksFile: join(dir, 'jwks.json'), issuer: ISS, audience: AUD, allowAnonymous: false },
    });
  }, 60_000);
  afterAll(async () => { await cluster?.close(); await db?.close(); rmSync(dir, { recursive: true, force: true }); });
  beforeEach(async () => { s = await RawSocket.open(cluster.wsUrl); });
  afterEach(() => s.close());

  it('accepts valid ES256 and RS256 tokens and passes {agent: sub, authority: jwt} to the space', async () => {
    expect(await auth(1, await mint(es))).toMatchObject({ done: true, response: { agent: 'alice', authority: 'jwt' } });
    expect(await auth(2, await mint(rs, { sub: 'bob' }))).toMatchObject({ done: true, response: { agent: 'bob', authority: 'jwt' } });
    s.send({ id: 3, method: 'document/create', space: 'private-notes', key: 'bobs' });
    expect(await s.reply(3)).toMatchObject({ done: true });
    s.send({ id: 4, method: 'connection/create', space: 'private-notes', key: 'bobs' });
    expect(await s.next((f) => f.deliver === 4)).toMatchObject({ done: false, response: { delta: { data: { notes: {} } } } });
  });

  type Case = readonly [string, () => Promise<string>, (typeof E)[keyof typeof E]];
  const cases: Case[] = [
    ['expired', () => mint(es, { nowSec: Math.floor(Date.now() / 1000) - 3600 }), E.TOKEN_EXPIRED],
    ['wrong signature', async () => mint(await generateKeyPair('ES256', 'es-1')), E.TOKEN_INVALID],
    ['wrong audience', () => mint(es, { aud: 'other' }), E.TOKEN_CLAIMS_REJECTED],
    ['unknown kid', async () => mint(await generateKeyPair('RS256', 'rs-unknown')), E.TOKEN_KEY_UNKNOWN],
    ['alg none', async () => `${b64({ alg: 'none' })}.${b64({ sub: 'root', iss: ISS, aud: AUD, exp: 4102444800 })}.`, E.TOKEN_INVALID],
    ['anonymous', async () => 'anonymous:alice', E.IDENTITY_INVALID],
  ];
  it.each(cases)('refuses a %s identity with its code, and the socket stays usable', async (_name, token, entry) => {
    expect(await auth(10, await token())).toMatchObject({ failure: 10, code: entry.code, retry: entry.retry });
    expect(await auth(11, await mint(es))).toMatchObject({ done: true });
  });

  it('applies one expiry rule at auth and on every later request: a token 10 s past exp (inside the skew tolerance) works for both', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await auth(30, await mint(es, { nowSec: now - 610, ttlSec: 600 }))).toMatchObject({ done: true });
    s.send({ id: 31, method: 'document/create', space: 'counter', key: 'skewed', arg: {} });
    expect(await s.reply(31)).toMatchObject({ done: true });
    s.send({ id: 32, method: 'connection/create', space: 'counter', key: 'skewed' });
    expect(await s.next((f) => f.deliver === 32)).toMatchObject({ done: false });
  });

  it('refuses a per-request anonymous identity on connection/create too', async () => {
    s.send({ id: 20, method: 'connection/create', space: 'counter', key: 'x', identity: 'anonymous:mallory' });
    expect(await s.reply(20)).toMatchObject({ failure: 20, code: E.IDENTITY_INVALID.code });
  });
});

describe('the dev proxy (anonymous allowed) and a space that denies anonymous users', () => {
  let db: FreshDatabase;
  let cluster: DevCluster;
  beforeAll(async () => {
    db = await freshDatabase();
    cluster = await startDevCluster({ port: 0, dataDir: '', databaseUrl: db.connectionString, hostId: 'dev-auth-host', log: silentLogger });
  }, 60_000);
  afterAll(async () => { await cluster?.close(); await db?.close(); });

  it('lets anonymous users into counter but not into private-notes, and lets a dev token in', async () => {
    const s = await RawSocket.open(cluster.wsUrl);
    s.send({ id: 1, method: 'auth', identity: 'anonymous:eve' });
    expect(await s.reply(1)).toMatchObject({ done: true, response: { authority: 'anonymous' } });
    s.send({ id: 2, method: 'document/create', space: 'private-notes', key: 'n1' });
    await s.reply(2);
    s.send({ id: 3, method: 'connection/create', space: 'private-notes', key: 'n1' });
    expect(await s.reply(3)).toMatchObject({ failure: 3, code: E.CONNECT_DENIED.code });

    s.send({ id: 4, method: 'auth', identity: await cluster.mintDevToken!('dana') });
    expect(await s.reply(4)).toMatchObject({ done: true, response: { agent: 'dana', authority: 'jwt' } });
    s.send({ id: 5, method: 'connection/create', space: 'private-notes', key: 'n1' });
    expect(await s.next((f) => f.deliver === 5)).toMatchObject({ done: false });
    s.send({ id: 6, method: 'connection/send', connection: 5, channel: 'write', message: { text: 'mine' } });
    expect(await s.reply(6)).toMatchObject({ done: true });
    s.close();
  });
});
