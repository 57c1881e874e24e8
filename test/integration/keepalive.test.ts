/**
 * Keepalive (docs/protocol.md): every socket gets `{"ping": <ms>}` each ping interval (one timer
 * and one frame per proxy tick, not per socket); a socket that stays silent past the pong timeout
 * is closed with 4000 and `1009 PONG_TIMEOUT`, while one that answers stays open.
 */
import WebSocket from 'ws';
import { E } from '../../services/shared/errors';
import { startTestCluster, type TestCluster } from '../support/cluster';
import { RawSocket } from '../support/raw-socket';

describe('keepalive', () => {
  let t: TestCluster;
  beforeAll(async () => { t = await startTestCluster({ proxy: { pingIntervalMs: 50, pongTimeoutMs: 400 } }); }, 60_000);
  afterAll(async () => { await t.close(); });

  it('closes a socket that never answers pings with PONG_TIMEOUT and keeps one that answers', async () => {
    const answering = await RawSocket.open(t.wsUrl); // answers every ping (test/support/raw-socket.ts)
    const silent = new WebSocket(t.wsUrl);
    const pings: number[] = [];
    silent.on('message', (d) => { const f = JSON.parse(d.toString()) as { ping?: number }; if (typeof f.ping === 'number') pings.push(f.ping); });
    const closed = new Promise<{ code: number; reason: string }>((resolve) => silent.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    expect(await closed).toEqual({ code: 4000, reason: `${E.PONG_TIMEOUT.code} ${E.PONG_TIMEOUT.name}` });
    expect(pings.length).toBeGreaterThanOrEqual(3);
    expect([...pings].sort((a, b) => a - b)).toEqual(pings);
    // The answering socket outlived the silent one's timeout and still serves.
    answering.send({ id: 1, method: 'auth', identity: 'anonymous:alive' });
    expect(await answering.reply(1)).toMatchObject({ done: true });
    answering.close();
  }, 30_000);
});
