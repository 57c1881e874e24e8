import { runMembershipContract } from '../routing/membership.contract';
import { StaticMembership } from '../routing/lease-membership';
import { sameMembers } from '../routing/membership';
import type { RoutingHost } from '../routing/rendezvous';
import { startGrpcServer, type RunningGrpcServer } from '../grpc/server';
import { silentLogger } from '../shared/log';
import { connectGossipMembership, hostsFromWatch } from './gossip-membership';
import type { WatchedMember } from './member';
import { createWatchHub, type WatchHub } from './watch';

const watched = (hosts: readonly RoutingHost[]): WatchedMember[] => hosts.map((h) => ({ ...h, role: 'host', alive: true }));
const host = (id: string): RoutingHost => ({ id, address: `${id}:9000`, weight: 1 });

/** A sidecar stand-in: a real gRPC server with the real Watch hub, fed by hand. */
async function fakeSidecar(initial: WatchedMember[], port = 0): Promise<{ hub: WatchHub; server: RunningGrpcServer }> {
  const hub = createWatchHub();
  hub.publish(initial);
  const server = await startGrpcServer('127.0.0.1', port, [{ file: 'gossip.proto', service: 'adama.gossip.v1.GossipLocal', impl: hub.service }]);
  return { hub, server };
}

const servers: RunningGrpcServer[] = [];
afterAll(async () => { await Promise.all(servers.map((s) => s.close(100))); });

runMembershipContract('gossip (Watch stream)', async () => {
  const { hub, server } = await fakeSidecar(watched([host('a'), host('b')]));
  servers.push(server);
  let next: (() => void) | undefined;
  const membership = connectGossipMembership({ address: `127.0.0.1:${server.port}`, log: silentLogger, fallback: new StaticMembership([]), onWatchMessage: () => next?.() });
  await membership.ready;
  return {
    membership,
    report: (hosts) => {
      const seen = new Promise<void>((resolve) => { next = resolve; });
      hub.publish(watched(hosts));
      // After close nothing arrives; the contract only needs report to settle.
      return Promise.race([seen, new Promise<void>((r) => setTimeout(r, 200))]);
    },
  };
});

describe('connectGossipMembership', () => {
  it('routes only to alive members with role host', () => {
    expect(hostsFromWatch([
      { id: 'h1', address: 'h1:1', role: 'host', weight: 2, alive: true },
      { id: 'h2', address: 'h2:1', role: 'host', weight: 1, alive: false },
      { id: 'p1', address: 'http://p1', role: 'proxy', weight: 1, alive: true },
    ])).toEqual([{ id: 'h1', address: 'h1:1', weight: 2 }]);
  });

  it('serves the fallback while no sidecar answers, then gossip once one does, then the fallback again when it goes', async () => {
    const probe = await fakeSidecar([]);
    const port = probe.server.port;
    await probe.server.close(100);
    const fallback = new StaticMembership([host('lease')]);
    const m = connectGossipMembership({ address: `127.0.0.1:${port}`, log: silentLogger, fallback, readyTimeoutMs: 50, minBackoffMs: 20, maxBackoffMs: 50 });
    await m.ready;
    expect(m.current()).toEqual([host('lease')]);
    fallback.set([host('lease'), host('lease2')]);
    expect(m.current().map((h) => h.id)).toEqual(['lease', 'lease2']);

    const changed = (want: RoutingHost[]) => new Promise<void>((resolve) => { const off = m.onChange((h) => { if (sameMembers(h, want)) { off(); resolve(); } }); });
    const toGossip = changed([host('g')]);
    const sidecar = await fakeSidecar(watched([host('g')]), port);
    await toGossip;
    const toFallback = changed([host('lease'), host('lease2')]);
    await sidecar.server.close(0);
    sidecar.hub.close();
    await toFallback;
    await m.close();
  });
});
