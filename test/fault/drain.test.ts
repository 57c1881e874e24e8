/**
 * Drain under load across real processes: writers on many documents keep sending while the host
 * that owns the most of them is drained through its Drain RPC. The drain releases every binding,
 * no acknowledged message is lost or applied twice, logs stay gapless, clients keep their
 * sockets and keep writing, and the drained host refuses new work.
 */
import { E } from '../../services/shared/errors';
import { silentLogger } from '../../services/shared/log';
import { HostConnection } from '../../services/web-proxy/host-connection';
import { startSplitCluster, type SplitCluster } from '../support/split-cluster';
import { busiestHost, expectEveryAckExactlyOnce, openChatWriters } from '../support/chat-load';
import { hostAdminClient } from '../../services/grpc/host-admin-client';
import { ViewWatcher } from '../support/host-rpc';
import { testTls } from '../support/internal-pki';

type ChatView = { messages: { author: string; text: string }[] };
const DOCS = 10;
const WRITERS_PER_DOC = 2;
const BEFORE_DRAIN = 5; // acks every writer has before the drain is requested
const AFTER_DRAIN = 5; //  acks every writer gets after the Drain RPC replied
const MAX_DURING_DRAIN = 150; // a writer pauses here until the drain replies (chat keeps 1000 messages)
const who = { agent: 'probe', authority: 'anonymous' };

describe('drain of a host under load (3 hosts, 1 proxy, separate processes)', () => {
  let c: SplitCluster;
  beforeAll(async () => { c = await startSplitCluster({ hosts: 3, proxies: 1 }); }, 120_000);
  afterAll(async () => { await c?.close(); });

  it('releases every binding, loses no acknowledged message, applies none twice and keeps sockets and writers going', async () => {
    const writers = (await openChatWriters(c, DOCS, WRITERS_PER_DOC)).map((w) => ({ ...w, afterDrain: 0 }));
    const socketsBefore = c.socketsOpened.count;
    // The drained host is the one that owns the most documents right now.
    const { host: victim } = await busiestHost(c, DOCS);
    expect(await c.storage.data.listByHost(victim)).not.toHaveLength(0);
    const address = (await c.storage.data.liveHosts()).find((h) => h.hostId === victim)!.address;
    const admin = hostAdminClient(address, testTls('admin'));

    let warmedUp = 0;
    let releaseDrain!: () => void;
    const drainMoment = new Promise<void>((r) => (releaseDrain = r));
    let drainReplied = false;
    let stopped = false; // set when the test ends, passed or not, so no writer outlives it
    let markDrained!: () => void;
    const drained = new Promise<void>((r) => (markDrained = r));
    const all = Promise.all(writers.map(async (w) => {
      for (let i = 0; w.afterDrain < AFTER_DRAIN && !stopped; i++) {
        if (i === MAX_DURING_DRAIN) await drained; // bounded: no writer runs away while the drain is slow
        const text = `${w.name}#${i}`;
        const startedAfterDrain = drainReplied;
        await w.doc.send('say', { text });
        w.acked.push(text);
        if (startedAfterDrain) w.afterDrain++;
        if (i === BEFORE_DRAIN - 1 && ++warmedUp === writers.length) releaseDrain();
      }
    }));
    all.catch(() => undefined);
    try {
      await Promise.race([drainMoment, all]);
      const reply = await admin.drain(60_000); // the writers keep sending meanwhile
      drainReplied = true;
      markDrained();
      expect(reply).toEqual({ documents_remaining: 0, drained: true });
      expect(await c.storage.data.listByHost(victim)).toEqual([]);
      expect((await c.storage.data.liveHosts()).map((h) => h.hostId)).not.toContain(victim);
      await all;
    } finally {
      stopped = true;
      markDrained();
      admin.close();
    }
    expect(writers.every((w) => w.afterDrain >= AFTER_DRAIN)).toBe(true);

    await expectEveryAckExactlyOnce(c, writers, DOCS, victim);
    // Readers opened one socket each; writers opened none after the start.
    expect(c.socketsOpened.count - socketsBefore).toBe(DOCS);
    expect(await c.storage.data.listByHost(victim)).toEqual([]);
  }, 120_000);

  it('leaves the drained host refusing new documents and streams, and saying so in Status', async () => {
    const live = (await c.storage.data.liveHosts())[0]!;
    const admin = hostAdminClient(live.address, testTls('admin'));
    const conn = new HostConnection({ hostId: live.hostId, address: live.address, log: silentLogger, maxBatch: 64, maxQueued: 1000, onDead: () => undefined, tls: testTls('proxy') });
    await conn.createDocument({ space: 'chat', key: 'before-drain' }, who, {});
    expect(await admin.drain(30_000)).toEqual({ documents_remaining: 0, drained: true });

    expect(await admin.status()).toEqual({ host_id: live.hostId, draining: true, documents_loaded: 0, documents_owned: 0, documents_owned_known: true });
    await expect(conn.createDocument({ space: 'chat', key: 'after-drain' }, who, {})).rejects.toMatchObject({ code: E.HOST_SHUTTING_DOWN.code, retry: true });
    await expect(conn.openStream({ space: 'chat', key: 'before-drain' }, who, { viewerState: {} }, new ViewWatcher())).rejects.toMatchObject({ code: E.HOST_SHUTTING_DOWN.code, retry: true });
    expect(await c.storage.data.lookup({ space: 'chat', key: 'after-drain' })).toBeNull();
    // A second Drain is idempotent.
    expect(await admin.drain(30_000)).toEqual({ documents_remaining: 0, drained: true });
    conn.close();
    admin.close();
  }, 60_000);

  it('answers a send on a stream the drain closed with a retryable failure, so the proxy re-sends after re-attaching', async () => {
    const live = (await c.storage.data.liveHosts())[0]!;
    const admin = hostAdminClient(live.address, testTls('admin'));
    const conn = new HostConnection({ hostId: live.hostId, address: live.address, log: silentLogger, maxBatch: 64, maxQueued: 1000, onDead: () => undefined, tls: testTls('proxy') });
    await conn.createDocument({ space: 'chat', key: 'closed-under-send' }, who, {});
    const sink = new ViewWatcher();
    const stream = await conn.openStream({ space: 'chat', key: 'closed-under-send' }, who, { viewerState: {} }, sink);
    await sink.until((v) => Array.isArray((v as ChatView).messages));
    expect(await admin.drain(30_000)).toMatchObject({ drained: true });
    expect(await sink.closed).toMatchObject({ code: E.HOST_SHUTTING_DOWN.code, retry: true });
    // Under load this send is already on the wire when the host closes the stream; either way
    // the failure must be retryable, or the client gives up on a send that was never applied.
    await expect(stream.send('say', { text: 'late' }, 'late-1')).rejects.toMatchObject({ retry: true });
    conn.close();
    admin.close();
  }, 60_000);
});
