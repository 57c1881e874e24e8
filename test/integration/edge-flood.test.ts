/**
 * Flood on loopback (bounded: 2000 frames in at most 5 s): one abusive client passes its message
 * rate and gets coded, retryable RATE_LIMITED failures with a retry hint on an open socket, while
 * five well-behaved clients on the same proxy get every send acknowledged. Their send→ack p99
 * without and with the flood is printed from the same run; only correctness is asserted.
 */
import WebSocket from 'ws';
import { AdamaClient, type AdamaDocument, type WebSocketFactory } from '../../client/index';
import { startDevCluster, type DevCluster } from '../../services/cli/dev-cluster';
import { E } from '../../services/shared/errors';
import { silentLogger } from '../../services/shared/log';
import { freshDatabase, type FreshDatabase } from '../support/databases';
import { RawSocket, type Frame } from '../support/raw-socket';

const FLOOD_FRAMES = 2000;
const FLOOD_MAX_MS = 5000;
const GOOD_CLIENTS = 5;
const GOOD_SENDS = 40;
const GOOD_PACE_MS = 25; // 40 sends/s per client, under the 50/s limit

const p99 = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.max(0, Math.ceil(s.length * 0.99) - 1)]!; };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a flood from one client at the web-proxy', () => {
  let db: FreshDatabase;
  let cluster: DevCluster;
  const clients: AdamaClient[] = [];
  beforeAll(async () => {
    db = await freshDatabase();
    cluster = await startDevCluster({
      port: 0, dataDir: '', databaseUrl: db.connectionString, hostId: 'flood-host', log: silentLogger,
      proxy: { messagesPerPrincipalPerSec: 50, messagesPerPrincipalBurst: 100 },
    });
  }, 60_000);
  afterAll(async () => { for (const c of clients) c.close(); await cluster?.close(); await db?.close(); });

  /** Each good client sends GOOD_SENDS paced sends to its own document; returns every send→ack time. */
  async function goodTraffic(docs: AdamaDocument[]): Promise<number[]> {
    const times: number[] = [];
    await Promise.all(docs.map(async (doc) => {
      for (let i = 0; i < GOOD_SENDS; i++) {
        const t0 = performance.now();
        await doc.send('add', { by: 1 });
        times.push(performance.now() - t0);
        await sleep(GOOD_PACE_MS);
      }
    }));
    return times;
  }

  it('limits the abuser with coded failures and keeps the others served', async () => {
    const docs: AdamaDocument[] = [];
    for (let i = 0; i < GOOD_CLIENTS; i++) {
      // maxSendAttempts 1: a failure would surface instead of being retried quietly by the SDK.
      const c = new AdamaClient({ url: cluster.wsUrl, identity: `anonymous:good${i}`, WebSocket: WebSocket as unknown as WebSocketFactory, maxSendAttempts: 1 });
      clients.push(c);
      await c.createDocument('counter', `good-${i}`, {});
      const doc = c.connect('counter', `good-${i}`);
      await doc.ready;
      docs.push(doc);
    }
    const before = await goodTraffic(docs);

    const abuser = await RawSocket.connected(cluster.wsUrl, 'anonymous:abuser', 'counter', 'abuse');
    // Answers are collected straight off the socket: awaiting 2000 replies one by one through
    // RawSocket's lists would cost the test process (which also hosts the proxy) O(n²) work.
    const answers: Frame[] = [];
    const gotAll = new Promise<void>((resolve) => abuser.ws.on('message', (data) => {
      const f = JSON.parse(data.toString()) as Frame;
      const id = (f.failure ?? f.deliver) as number | null;
      if (typeof id === 'number' && id >= 10 && id < 10 + FLOOD_FRAMES && (f.done === true || 'failure' in f)) answers.push(f);
      if (answers.length === FLOOD_FRAMES) resolve();
    }));
    const floodStart = Date.now();
    const flood = (async () => {
      for (let i = 0; i < FLOOD_FRAMES; i += 500) {
        for (let j = i; j < i + 500; j++) abuser.send({ id: 10 + j, method: 'connection/send', connection: 3, channel: 'add', message: { by: 1 } });
        await sleep(50);
      }
    })();
    const during = await goodTraffic(docs);
    await flood;
    const floodMs = Date.now() - floodStart;
    await gotAll;

    const limited = answers.filter((a) => a.code === E.RATE_LIMITED.code);
    const acked = answers.filter((a) => a.done === true);
    const other = answers.filter((a) => a.code !== undefined && a.code !== E.RATE_LIMITED.code);
    console.log(`edge flood: good clients send→ack p99 ${p99(before).toFixed(1)} ms without the flood, ${p99(during).toFixed(1)} ms during it `
      + `(${before.length}/${during.length} sends); abuser sent ${FLOOD_FRAMES} frames in ${floodMs} ms: ${acked.length} acked, ${limited.length} RATE_LIMITED, ${other.length} other failures`);

    expect(floodMs).toBeLessThanOrEqual(FLOOD_MAX_MS);
    expect(limited.length).toBeGreaterThan(FLOOD_FRAMES / 2);
    for (const f of limited) expect(f).toMatchObject({ retry: true, retryAfterMs: expect.any(Number) });
    expect(Math.min(...limited.map((f) => f.retryAfterMs as number))).toBeGreaterThan(0);
    expect(during).toHaveLength(GOOD_CLIENTS * GOOD_SENDS);
    // The abuser's socket is still open and answers.
    abuser.send({ id: 9999, method: 'auth', identity: 'anonymous:abuser' });
    expect(await abuser.reply(9999)).toMatchObject({ done: true });
    abuser.close();
  }, 60_000);
});
