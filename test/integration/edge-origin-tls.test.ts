/** Browser Origin checks on upgrade, sockets per principal, message size, and TLS terminated at the proxy. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startDevCluster, type DevCluster } from '../../services/cli/dev-cluster';
import { E } from '../../services/shared/errors';
import { silentLogger } from '../../services/shared/log';
import { freshDatabase, type FreshDatabase } from '../support/databases';
import { RawSocket } from '../support/raw-socket';
import { describeWhen } from '../support/prerequisite';

const upgradeStatus = (url: string, headers: Record<string, string>, opts: WebSocket.ClientOptions = {}) => new Promise<number>((resolve) => {
  const ws = new WebSocket(url, { headers, ...opts });
  ws.on('open', () => { ws.close(); resolve(101); });
  ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
  ws.on('error', () => undefined);
});

describe('edge caps and origins', () => {
  let db: FreshDatabase;
  let cluster: DevCluster;
  beforeAll(async () => {
    db = await freshDatabase();
    cluster = await startDevCluster({
      port: 0, dataDir: '', databaseUrl: db.connectionString, hostId: 'origin-host', log: silentLogger,
      proxy: { maxSocketsPerPrincipal: 2, maxMessageBytes: 2048 },
      edge: { allowedOrigins: ['https://app.example.com'], maxMessageBytesBySpace: { chat: 300 } },
    });
  }, 60_000);
  afterAll(async () => { await cluster?.close(); await db?.close(); });

  it('refuses a foreign browser Origin with 403 and admits listed, same-origin and Origin-less clients', async () => {
    expect(await upgradeStatus(cluster.wsUrl, { Origin: 'https://evil.example' })).toBe(403);
    expect(await upgradeStatus(cluster.wsUrl, { Origin: 'https://app.example.com' })).toBe(101);
    expect(await upgradeStatus(cluster.wsUrl, { Origin: `http://127.0.0.1:${cluster.port}` })).toBe(101);
    expect(await upgradeStatus(cluster.wsUrl, {})).toBe(101);
  });

  it('refuses a third socket of one principal with TOO_MANY_SOCKETS, and frees the slot on close', async () => {
    const socks = await Promise.all([1, 2, 3].map(() => RawSocket.open(cluster.wsUrl)));
    for (const [i, s] of socks.slice(0, 2).entries()) { s.send({ id: i, method: 'auth', identity: 'anonymous:greedy' }); expect(await s.reply(i)).toMatchObject({ done: true }); }
    socks[2]!.send({ id: 9, method: 'auth', identity: 'anonymous:greedy' });
    expect(await socks[2]!.reply(9)).toMatchObject({ code: E.TOO_MANY_SOCKETS.code, retry: true });
    socks[0]!.close();
    await socks[0]!.closed;
    // The proxy frees the slot when it sees the close, which can come just after our side saw it:
    // ask again until it is free (each ask is a round trip, no sleeping), within a bound.
    let reply: Record<string, unknown> = {};
    for (let id = 10; id < 60; id++) {
      socks[2]!.send({ id, method: 'auth', identity: 'anonymous:greedy' });
      reply = await socks[2]!.reply(id);
      if (reply.code !== E.TOO_MANY_SOCKETS.code) break;
    }
    expect(reply).toMatchObject({ done: true });
    for (const s of socks) s.close();
  });

  it('refuses a message above the space\'s cap with MESSAGE_TOO_LARGE', async () => {
    const s = await RawSocket.connected(cluster.wsUrl, 'anonymous:talker', 'chat', 'big');
    s.send({ id: 4, method: 'connection/send', connection: 3, channel: 'say', message: { text: 'x'.repeat(400) } });
    expect(await s.reply(4)).toMatchObject({ code: E.MESSAGE_TOO_LARGE.code, retry: false });
    s.send({ id: 5, method: 'connection/send', connection: 3, channel: 'say', message: { text: 'short' } });
    expect(await s.reply(5)).toMatchObject({ done: true });
    s.close();
  });
});

const haveOpenssl = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
describeWhen(haveOpenssl, 'an openssl binary to make a self-signed certificate')('TLS terminated at the proxy', () => {
  let db: FreshDatabase;
  let cluster: DevCluster;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'adama-tls-'));
    spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    db = await freshDatabase();
    cluster = await startDevCluster({
      port: 0, dataDir: '', databaseUrl: db.connectionString, hostId: 'tls-host', log: silentLogger,
      edge: { tlsCertFile: join(dir, 'cert.pem'), tlsKeyFile: join(dir, 'key.pem') },
    });
  }, 60_000);
  afterAll(async () => { await cluster?.close(); await db?.close(); rmSync(dir, { recursive: true, force: true }); });

  it('serves wss:// with the given certificate', async () => {
    expect(cluster.wsUrl).toMatch(/^wss:\/\//);
    const ws = new WebSocket(cluster.wsUrl, { rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
    ws.send(JSON.stringify({ id: 1, method: 'auth', identity: 'anonymous:secure' }));
    const reply = await new Promise<Record<string, unknown>>((resolve) => ws.on('message', (d) => {
      const f = JSON.parse(d.toString()) as Record<string, unknown>;
      if (f.deliver === 1) resolve(f);
    }));
    expect(reply).toMatchObject({ done: true, response: { agent: 'secure' } });
    ws.close();
  });
});
