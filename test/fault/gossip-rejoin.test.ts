/**
 * Hosts that leave and come back under the same id, across real processes with gossip sidecars
 * (3 hosts, 2 proxies, 1 s failure timeout): a drained host restarted under its old id serves
 * again; a cancelled drain brings a host back without a restart; a host restarted after SIGKILL
 * drains the rows its crashed incarnation left to zero; and a SIGTERM rolling restart of every
 * host under chat load ends with every host routable and every acknowledged message present
 * exactly once. Before hosts could rejoin, each drain-and-restart removed a host from routing
 * for good (3 -> 2 -> 1 -> 0, then NO_LIVE_HOSTS).
 */
import { hostAdminClient } from '../../services/grpc/host-admin-client';
import { expectEveryAckExactlyOnce, openChatWriters } from '../support/chat-load';
import { startGossipCluster, type GossipCluster } from '../support/gossip-cluster';
import { testTls } from '../support/internal-pki';

const ROUTED_BOUND_MS = 20_000;

describe('hosts rejoin routing under their old id (3 hosts, 2 proxies, gossip sidecars)', () => {
  let c: GossipCluster;
  let keys = 0;
  beforeAll(async () => {
    c = await startGossipCluster({ hosts: 3, proxies: 2 });
    await c.untilProxiesSee(3, 15_000);
  }, 120_000);
  afterAll(async () => { await c?.close(); });

  /** Creates documents through proxy `proxy` until rendezvous places one on `hostId`; resolves with its key. */
  async function createOn(hostId: string, proxy = 0): Promise<string> {
    const client = c.client(`creator-${hostId}-${keys}`, proxy);
    try {
      for (let tries = 0; tries < 60; tries++) {
        const key = `placed-${keys++}`;
        await client.createDocument('chat', key, {});
        if ((await c.storage.data.lookup({ space: 'chat', key }))?.host === hostId) return key;
      }
      throw new Error(`no document landed on ${hostId} in 60 tries`);
    } finally {
      client.close();
    }
  }

  async function writeAndRead(key: string, text: string): Promise<string[]> {
    const doc = c.client(`rw-${key}`, 1).connect('chat', key);
    await doc.ready;
    await doc.send('say', { text });
    return ((await c.client(`reader-${key}`).connect('chat', key).ready) as { messages: { text: string }[] }).messages.map((m) => m.text);
  }

  it('drain, then restart each host in turn under its old id: every host serves again', async () => {
    for (const id of ['host-1', 'host-2', 'host-3']) {
      const { address } = c.hosts.get(id)!;
      const admin = hostAdminClient(address, testTls('admin'));
      expect(await admin.drain(30_000)).toEqual({ documents_remaining: 0, drained: true });
      admin.close();
      await c.untilProxiesSee(2, ROUTED_BOUND_MS);
      c.hosts.get(id)!.host.proc.kill('SIGTERM');
      const restartedAt = Date.now();
      await c.restartHost(id);
      const ready = Date.now() - restartedAt;
      const seen = await c.untilProxiesSee(3, ROUTED_BOUND_MS);
      const key = await createOn(id);
      const routed = Date.now() - restartedAt;
      process.stderr.write(`rejoin ${id}: spawn -> ready ${ready} ms, -> both proxies route to it ${ready + seen} ms, -> first document placed on it ${routed} ms\n`);
      expect(await writeAndRead(key, `after restart of ${id}`)).toEqual([`after restart of ${id}`]);
    }
    expect(await c.proxyHostCounts()).toEqual([3, 3]);
  }, 180_000);

  it('a cancelled drain brings the host back to serving without a restart', async () => {
    const { address } = c.hosts.get('host-2')!;
    const admin = hostAdminClient(address, testTls('admin'));
    try {
      expect(await admin.drain(30_000)).toMatchObject({ drained: true });
      await c.untilProxiesSee(2, ROUTED_BOUND_MS);
      expect(await admin.status()).toMatchObject({ draining: true });
      expect(await admin.cancelDrain()).toEqual({ resumed: true });
      expect(await admin.status()).toMatchObject({ draining: false });
      await c.untilProxiesSee(3, ROUTED_BOUND_MS);
      expect((await c.storage.data.liveHosts()).map((h) => h.hostId)).toContain('host-2');
      const key = await createOn('host-2');
      expect(await writeAndRead(key, 'served again')).toEqual(['served again']);
      // Cancelling again is a no-op.
      expect(await admin.cancelDrain()).toEqual({ resumed: false });
    } finally {
      admin.close();
    }
  }, 120_000);

  it('a host restarted after SIGKILL drains the rows its crashed incarnation left to zero', async () => {
    const orphans = [await createOn('host-3'), await createOn('host-3')];
    c.hosts.get('host-3')!.host.proc.kill('SIGKILL');
    await c.restartHost('host-3');
    expect(await c.storage.data.countByHost('host-3')).toBeGreaterThanOrEqual(orphans.length);
    const admin = hostAdminClient(c.hosts.get('host-3')!.address, testTls('admin'));
    try {
      expect(await admin.drain(30_000)).toEqual({ documents_remaining: 0, drained: true });
      expect(await c.storage.data.countByHost('host-3')).toBe(0);
      await c.untilProxiesSee(2, ROUTED_BOUND_MS);
      // The released documents load on another host with everything they had.
      for (const key of orphans) expect(await writeAndRead(key, 'moved')).toEqual(['moved']);
      expect(await admin.cancelDrain()).toEqual({ resumed: true });
      await c.untilProxiesSee(3, ROUTED_BOUND_MS);
    } finally {
      admin.close();
    }
  }, 120_000);

  it('a SIGTERM rolling restart of every host under chat load: all hosts routable, every ack exactly once', async () => {
    const ROOMS = 6;
    const writers = await openChatWriters(c, ROOMS, 2);
    // Writers send one at a time until told where to stop: 3 more acks each after the last restart.
    let stopAt: number[] | undefined;
    const all = Promise.all(writers.map(async (w, n) => {
      for (let i = 0; stopAt === undefined || w.acked.length < stopAt[n]!; i++) {
        const text = `${w.name}#${i}`;
        await w.doc.send('say', { text });
        w.acked.push(text);
      }
    }));
    all.catch(() => undefined);
    try {
      for (const id of ['host-1', 'host-2', 'host-3']) {
        c.hosts.get(id)!.host.proc.kill('SIGTERM');
        await c.restartHost(id);
        await c.untilProxiesSee(3, ROUTED_BOUND_MS);
      }
    } finally {
      stopAt = writers.map((w) => w.acked.length + 3);
    }
    await all;
    process.stderr.write(`rolling restart: ${writers.reduce((n, w) => n + w.acked.length, 0)} sends acked across the roll\n`);
    expect(await c.proxyHostCounts()).toEqual([3, 3]);
    await expectEveryAckExactlyOnce(c, writers, ROOMS, '');
  }, 180_000);
});
