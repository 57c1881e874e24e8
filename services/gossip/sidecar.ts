/**
 * @module sidecar
 * `adama gossip`: wiring only. A gRPC server (peer Push + local Watch + standard health), the
 * GossipRunner on the system clock, an optional health probe of the local host that gates
 * heartbeats, and a graceful leave on close (announce departure, let a few rounds carry it).
 */
import { GOSSIP_POLICY } from '../grpc/call-policy';
import type { InternalTls } from '../grpc/internal-tls';
import { startGrpcServer } from '../grpc/server';
import { systemClock, type Clock } from '../shared/clock';
import type { Logger } from '../shared/log';
import type { GossipConfig } from './config';
import { createGrpcTransport } from './grpc-transport';
import { createHealthProbe } from './health-probe';
import type { Role } from './member';
import { mathRng } from './rng';
import { GossipRunner } from './runner';
import { isAway } from './state';
import { seedAddresses, type Lookup } from './seeds';
import { createWatchHub, watchedMembers } from './watch';
import { once } from '../shared/once';

export interface SidecarOptions {
  id: string;
  role: Role;
  /** Advertised for the member: the host's gRPC address or the proxy's URL. */
  memberAddress: string;
  weight: number;
  bindAddress: string;
  port: number;
  /** Address peers use to reach this sidecar (default bind:port). */
  advertise?: string;
  /** host:port of sidecars to start from; a name stands for every address it resolves to. */
  seeds: readonly string[];
  /** Resolves seed names (default: the system resolver). */
  lookup?: Lookup;
  /** Local host gRPC address to probe; unset: always heartbeat (proxies). */
  healthAddress?: string;
  /** A probe slower than this counts as failed, ms. */
  healthTimeoutMs: number;
  /** How long close() keeps gossiping after announcing departure, ms. */
  leaveGraceMs: number;
  cfg: Readonly<GossipConfig>;
  log: Logger;
  clock?: Clock;
  /** mTLS for internal gRPC (internal-tls.ts); plaintext when absent. */
  tls?: InternalTls;
}

export interface Sidecar { port: number; address: string; runner: GossipRunner; close(): Promise<void> }

export async function startSidecar(o: SidecarOptions): Promise<Sidecar> {
  const clock = o.clock ?? systemClock;
  let advertised = '';
  const transport = createGrpcTransport({ address: () => advertised, log: o.log, pushDeadlineMs: o.cfg.gossipIntervalMs * 2, tls: o.tls });
  const hub = createWatchHub();
  const server = await startGrpcServer(o.bindAddress, o.port, [
    { file: 'gossip.proto', service: 'adama.gossip.v1.GossipPeer', impl: transport.peerService },
    { file: 'gossip.proto', service: 'adama.gossip.v1.GossipLocal', impl: hub.service },
  ], o.tls ? { tls: o.tls, policy: GOSSIP_POLICY, log: o.log } : undefined);
  advertised = o.advertise ?? `${o.bindAddress}:${server.port}`;
  // Wall time in heartbeats: a restarted sidecar's counter is above anything it said before (and
  // should clocks disagree, peers' deletions of us are refuted: deletions.ts).
  const wallCounter = (): number => Math.floor(Date.now() / o.cfg.heartbeatIntervalMs);
  const probe = o.healthAddress ? createHealthProbe(o.healthAddress, o.tls) : undefined;
  // Names (a headless Service) are resolved here, to every address but ours: seeds.ts says why.
  const seeds = seedAddresses({
    seeds: o.seeds, self: () => advertised, minIntervalMs: o.cfg.gossipIntervalMs, lookup: o.lookup,
    onError: (seed, err) => o.log.debug({ seed, err: err instanceof Error ? err.message : String(err) }, 'gossip.seed_unresolved'),
  });
  const runner = new GossipRunner({
    cfg: o.cfg, clock, rng: mathRng, transport,
    seeds: () => { seeds.refresh(); return seeds.current(); },
    self: { id: o.id, address: o.memberAddress, role: o.role, weight: o.weight },
    initialCounter: wallCounter(),
    // Beside a host we join only once it answers SERVING, so nobody routes to a host still starting.
    joined: probe === undefined,
  });
  hub.publish(watchedMembers(runner.state));
  runner.onSetChange((s) => {
    hub.publish(watchedMembers(s));
    o.log.info({ members: s.chain.current.ids, hash: s.chain.current.hash }, 'gossip.members_changed');
  });
  runner.onEvent((e) => {
    if (e.kind === 'dead') o.log.info({ peer: e.id, cause: e.cause }, 'gossip.member_dead');
    else if (e.kind === 'joined') o.log.info({ peer: e.id }, 'gossip.member_joined');
    else o.log.debug({}, 'gossip.slow_path');
  });

  let probeTimer: ReturnType<Clock['setTimeout']> | undefined;
  let closing = false;
  let closed = false;
  if (probe) {
    let healthy: boolean | undefined;
    const loop = async (): Promise<void> => {
      if (closed) return;
      const result = await probe.check(o.healthTimeoutMs);
      if (closed) return;
      const away = isAway(runner.state);
      if (result === 'serving' && away && !closing) {
        // The host's first SERVING, or SERVING again after a cancelled drain or a restart of the
        // host beside us: (re)join above the counter we left with.
        runner.join(wallCounter());
        o.log.info({ health: o.healthAddress }, 'gossip.host_serving');
      } else if (result === 'not_serving' && !away) {
        // The host said it is draining or stopping (not hung): leave now rather than time out.
        o.log.info({ health: o.healthAddress }, 'gossip.host_departing');
        runner.leave();
      }
      const ok = result === 'serving';
      if (ok !== healthy) o.log.info({ healthy: ok, health: o.healthAddress }, 'gossip.local_health');
      healthy = ok;
      runner.setHealthy(ok);
      probeTimer = clock.setTimeout(() => void loop(), o.cfg.heartbeatIntervalMs);
    };
    await loop();
  }
  runner.start();
  o.log.info({ port: server.port, address: advertised, id: o.id, role: o.role, cfg: o.cfg }, 'gossip.ready');

  return {
    port: server.port,
    address: advertised,
    runner,
    close: once(async () => {
      closing = true;
      runner.leave();
      o.log.info({ id: o.id }, 'gossip.leaving');
      await new Promise<void>((r) => clock.setTimeout(r, o.leaveGraceMs));
      closed = true;
      if (probeTimer) clock.clearTimeout(probeTimer);
      probe?.close();
      hub.close();
      await runner.stop();
      await server.close(1_000);
    }),
  };
}
