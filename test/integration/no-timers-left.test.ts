/**
 * close() leaves no timer behind (issue 18.7), with real sockets and real time: the SDK's
 * reconnect backoff against a server that keeps hanging up, its retry wait after RATE_LIMITED, and
 * the proxy stream's re-attach backoff while its host refuses work, are all cut short by close.
 */
import { once } from 'node:events';
import WebSocket, { WebSocketServer } from 'ws';
import { AdamaClient, type WebSocketFactory } from '../../client/index';
import { E } from '../../services/shared/errors';
import { startTestCluster, type TestCluster } from '../support/cluster';
import { trackTimers, type TimerTracker } from '../support/timer-tracker';

/** Resolves once `pred` holds, checked every turn of the event loop (no sleeps); rejects after `ms`. */
function until(pred: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (pred()) resolve();
      else if (Date.now() > deadline) reject(new Error('condition not reached'));
      else setImmediate(check);
    };
    check();
  });
}

describe('no timer outlives close()', () => {
  let tracker: TimerTracker;
  afterEach(() => tracker?.restore());

  it('SDK: a client reconnecting with backoff to a server that hangs up keeps nothing scheduled after close', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(server, 'listening');
    let connections = 0;
    const threeTries = new Promise<void>((resolve) => server.on('connection', (ws) => { ws.close(1011, 'go away'); if (++connections === 3) resolve(); }));
    tracker = trackTimers(/client[\\/]index\.ts/);
    const port = (server.address() as { port: number }).port;
    const client = new AdamaClient({ url: `ws://127.0.0.1:${port}/ws`, identity: 'anonymous:t', WebSocket: WebSocket as unknown as WebSocketFactory, initialBackoffMs: 200, maxBackoffMs: 400 });
    const doc = client.connect('chat', 'k');
    await threeTries;
    expect(tracker.active()).toBeGreaterThan(0); // the watchdog, and a reconnect waiting its turn
    client.close();
    expect(tracker.active()).toBe(0);
    await expect(doc.ready).rejects.toMatchObject({ message: 'client closed' });
    server.close();
  });

  describe('against a real cluster', () => {
    let t: TestCluster;
    beforeAll(async () => {
      // Two sends per principal, then RATE_LIMITED with a retry hint; a slow re-attach backoff.
      t = await startTestCluster({ proxy: { messagesPerPrincipalBurst: 2, messagesPerPrincipalPerSec: 1, rerouteBackoffMs: 2_000 } });
    });
    afterAll(async () => { await t?.close(); });

    it('SDK: a send waiting out RATE_LIMITED ends at close with "client closed", nothing scheduled', async () => {
      const c = t.client('limited');
      await c.createDocument('chat', 'limited', {});
      const doc = c.connect('chat', 'limited');
      await doc.ready;
      tracker = trackTimers(/client[\\/]index\.ts/);
      await doc.send('say', { text: '1' });
      await doc.send('say', { text: '2' });
      const third = doc.send('say', { text: '3' }); // refused, retried after retryAfterMs (seconds)
      third.catch(() => undefined);
      await until(() => tracker.active() > 0);
      c.close();
      expect(tracker.active()).toBe(0);
      await expect(third).rejects.toMatchObject({ retry: false });
    });

    it('proxy: a stream re-attaching with backoff while the host drains clears its timer when the client leaves', async () => {
      const c = t.client('moved');
      await c.createDocument('chat', 'moved', {});
      const doc = c.connect('chat', 'moved');
      await doc.ready;
      tracker = trackTimers(/proxy-stream\.ts/);
      await t.cluster.host.drain(); // the stream is told to move; the only host refuses: the proxy backs off
      await until(() => tracker.active() > 0);
      c.close(); // the proxy ends the stream when its socket closes
      await until(() => tracker.active() === 0);
      t.cluster.host.resume();
      expect(E.HOST_SHUTTING_DOWN.retry).toBe(true);
    });
  });
});
