/**
 * Redirects between real host processes: a proxy whose guess (rendezvous or a stale placement)
 * names the wrong host is corrected by that host's findbind and lands on the owner with exactly
 * one redirect; following redirects is bounded, and when it cannot succeed the error is coded
 * and retryable.
 */
import { createServer } from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import { startGrpcServer, type RunningGrpcServer } from '../../services/grpc/server';
import type { HostBatch, ProxyBatch } from '../../services/grpc/host-messages';
import { StaticMembership } from '../../services/routing/lease-membership';
import { pickOwner, type RoutingHost } from '../../services/routing/rendezvous';
import { E } from '../../services/shared/errors';
import { silentLogger } from '../../services/shared/log';
import { RoutingHostClient, type RoutingEvents } from '../../services/web-proxy/routing-host-client';
import { startSplitCluster, type SplitCluster } from '../support/split-cluster';
import { ViewWatcher } from '../support/host-rpc';
import { testTls } from '../support/internal-pki';
import { HOST_POLICY } from '../../services/grpc/call-policy';

type ChatView = { title: string; messages: { text: string }[]; present: Record<string, number> };
const who = (agent: string) => ({ agent, authority: 'anonymous' });

/** A routing client over a fixed host list, recording what it did. */
function router(hosts: RoutingHost[]) {
  const seen = { routed: [] as string[], redirects: 0, lost: [] as string[] };
  const events: RoutingEvents = { routed: (k) => seen.routed.push(k), redirected: () => seen.redirects++, hostLost: (h) => seen.lost.push(h) };
  const client = new RoutingHostClient({ membership: new StaticMembership(hosts), log: silentLogger, maxBatch: 64, maxQueued: 1000, suspectForMs: 60_000, events, tls: testTls('proxy') });
  return { client, seen };
}

/** The first chat key (of a bounded set) whose rendezvous owner among `hosts` is `owner`. */
function keyOwnedBy(hosts: RoutingHost[], owner: string, prefix: string): string {
  for (let i = 0; i < 1000; i++) if (pickOwner(hosts, 'chat', `${prefix}-${i}`)!.id === owner) return `${prefix}-${i}`;
  throw new Error(`no key for ${owner}`);
}

/** A loopback address where nothing listens (connections are refused at once). */
async function deadAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return `127.0.0.1:${port}`;
}

describe('redirects between hosts (2 host processes, in-test routing clients)', () => {
  let c: SplitCluster;
  let both: RoutingHost[];
  beforeAll(async () => {
    c = await startSplitCluster({ hosts: 2, proxies: 0 });
    both = (await c.storage.data.liveHosts()).map((l) => ({ id: l.hostId, address: l.address, weight: 1 }));
  }, 120_000);
  afterAll(async () => { await c?.close(); });

  it.each([['host-1', 'host-2'], ['host-2', 'host-1']])('lands on %s, where the document is bound, after one redirect from the rendezvous host %s', async (boundTo, guessed) => {
    const key = keyOwnedBy(both, guessed, `bound-to-${boundTo}`);
    const ref = { space: 'chat', key };
    const creator = router(both.filter((h) => h.id === boundTo));
    await creator.client.createDocument(ref, who('creator'), {});
    expect(await c.storage.data.lookup(ref)).toMatchObject({ host: boundTo, epoch: 1 });

    const proxy = router(both);
    const sink = new ViewWatcher();
    const stream = await proxy.client.openStream(ref, who('alice'), { viewerState: {} }, sink);
    expect(await sink.until((v) => ((v as ChatView).present?.alice ?? 0) > 0)).toMatchObject({ title: 'Chat', messages: [] });
    expect(proxy.seen).toEqual({ routed: ['rendezvous', 'redirect'], redirects: 1, lost: [] });
    expect(proxy.client.streamsByHost()).toMatchObject({ [boundTo]: 1 });

    // The stream works, the owner did not change, and the next open uses the learned placement.
    const { seq } = await stream.send('say', { text: 'hello' }, 'hello-1');
    await sink.until((v) => (v as ChatView).messages.some((m) => m.text === 'hello'));
    expect(await c.storage.data.lookup(ref)).toMatchObject({ host: boundTo, epoch: 1, headSeq: seq });
    await proxy.client.openStream(ref, who('bob'), { viewerState: {} }, new ViewWatcher());
    expect(proxy.seen).toEqual({ routed: ['rendezvous', 'redirect', 'cached'], redirects: 1, lost: [] });
    creator.client.close();
    proxy.client.close();
  }, 60_000);

  it('takes the document over on the next host when the owner it was redirected to is unreachable', async () => {
    const [owner, other] = ['host-1', 'host-2'];
    const key = keyOwnedBy(both, other, 'unreachable-owner');
    const ref = { space: 'chat', key };
    const creator = router(both.filter((h) => h.id === owner));
    await creator.client.createDocument(ref, who('creator'), {});
    // This proxy knows the owner at an address where nothing answers.
    const dead = await deadAddress();
    const proxy = router(both.map((h) => (h.id === owner ? { ...h, address: dead } : h)));
    const sink = new ViewWatcher();
    await proxy.client.openStream(ref, who('alice'), { viewerState: {} }, sink);
    await sink.until((v) => ((v as ChatView).present?.alice ?? 0) > 0);
    expect(proxy.seen).toMatchObject({ routed: ['rendezvous', 'redirect', 'rendezvous'], redirects: 1 });
    expect(new Set(proxy.seen.lost)).toEqual(new Set([owner]));
    expect(await c.storage.data.lookup(ref)).toMatchObject({ host: other, epoch: 2 });
    creator.client.close();
    proxy.client.close();
  }, 60_000);

  // host-1 keeps the document in memory after host-2 took it over on a (wrong) suspicion from
  // another proxy; a proxy whose placement still says host-1 must end up on host-2 and see its
  // changes, whether or not attaching writes a record (chat's connect does, counter's does not).
  it.each([['counter', 'add', { by: 5 }, { value: 5 }], ['chat', 'say', { text: 'from-host-2' }, { messages: [{ text: 'from-host-2' }] }]])(
    'corrects a stale placement to a host that lost the %s document while alive, and shows the new owner\'s changes', async (space, channel, message, expected) => {
      const key = keyOwnedBy(both, 'host-1', `stale-${space}`);
      const ref = { space, key };
      const proxy = router(both);
      await proxy.client.createDocument(ref, who('creator'), {});
      const first = new ViewWatcher();
      await proxy.client.openStream(ref, who('alice'), { viewerState: {} }, first);
      await first.until(() => true);
      // Another proxy cannot reach host-1, so host-2 takes the document over on its hint.
      const dead = await deadAddress();
      const other = router(both.map((h) => (h.id === 'host-1' ? { ...h, address: dead } : h)));
      const moved = await other.client.openStream(ref, who('bob'), { viewerState: {} }, new ViewWatcher());
      await moved.send(channel, message, 'moved-1');
      expect(await c.storage.data.lookup(ref)).toMatchObject({ host: 'host-2', epoch: 2 });

      const late = new ViewWatcher();
      await proxy.client.openStream(ref, who('carol'), { viewerState: {} }, late);
      expect(await late.until(() => true)).toMatchObject(expected);
      expect(proxy.seen.redirects).toBe(1);
      expect(await c.storage.data.lookup(ref)).toMatchObject({ host: 'host-2', epoch: 2 });
      proxy.client.close();
      other.client.close();
    }, 60_000);

  it('fails with a coded, retryable error after trying each host once when no host is reachable', async () => {
    const dead = await deadAddress();
    const proxy = router(both.map((h) => ({ ...h, address: dead })));
    await expect(proxy.client.openStream({ space: 'chat', key: 'nowhere' }, who('alice'), { viewerState: {} }, new ViewWatcher()))
      .rejects.toMatchObject({ code: E.NO_LIVE_HOSTS.code, retry: true });
    expect(new Set(proxy.seen.lost)).toEqual(new Set(['host-1', 'host-2']));
    expect(proxy.seen.routed).toHaveLength(2);
    proxy.client.close();
  }, 60_000);
});

describe('redirects between two hosts that each name the other as owner', () => {
  const servers: RunningGrpcServer[] = [];
  afterAll(async () => { await Promise.all(servers.map((s) => s.close(100))); });

  /** A host that answers every request with OWNED_ELSEWHERE pointing at `owner`. */
  const pointingAt = (owner: () => string): grpc.UntypedServiceImplementation => ({
    Multiplex(call: grpc.ServerDuplexStream<ProxyBatch, HostBatch>) {
      call.on('data', (batch: ProxyBatch) => call.write({ items: batch.items.map((e) => ({ id: e.id, failure: { code: E.OWNED_ELSEWHERE.code, message: 'not mine', retry: true, owner: owner() } })) }));
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
    Drain(_call: unknown, cb: grpc.sendUnaryData<unknown>) { cb(null, { documents_remaining: 0, drained: true }); },
    Status(_call: unknown, cb: grpc.sendUnaryData<unknown>) { cb(null, {}); },
  });

  it('gives up after a bounded number of redirects with a coded, retryable error', async () => {
    for (const other of ['fake-b', 'fake-a']) servers.push(await startGrpcServer('127.0.0.1', 0, [{ file: 'host.proto', service: 'adama.host.v1.Host', impl: pointingAt(() => other) }], { tls: testTls('host'), policy: HOST_POLICY, log: silentLogger }));
    const proxy = router([{ id: 'fake-a', address: `127.0.0.1:${servers[0]!.port}`, weight: 1 }, { id: 'fake-b', address: `127.0.0.1:${servers[1]!.port}`, weight: 1 }]);
    await expect(proxy.client.openStream({ space: 'chat', key: 'ping-pong' }, who('alice'), { viewerState: {} }, new ViewWatcher()))
      .rejects.toMatchObject({ code: E.TOO_MANY_REDIRECTS.code, retry: true });
    expect(proxy.seen.redirects).toBe(6);
    expect(proxy.seen.routed.filter((k) => k === 'redirect')).toHaveLength(5);
    expect(proxy.seen.lost).toEqual([]);
    proxy.client.close();
  });
});
