/**
 * @module gossip
 * `adama gossip`: the failure-detector sidecar beside a proxy or host (services/gossip/sidecar.ts).
 * `adama gossip simulate`: the deterministic simulation table (docs/gossip.md).
 */
import { createLogger } from '../../shared/log';
import { gossipDefaults, resolveGossipConfig } from '../../gossip/config';
import { parseRole } from '../../gossip/member';
import { startSidecar } from '../../gossip/sidecar';
import { formatSimulationTable, runSimulation } from '../../gossip/simulation';
import { parseFlags, type FlagSpec } from '../options';
import { runUntilSignal } from '../run-until-signal';
import { INTERNAL_TLS_FLAGS, internalTlsFlags, type Command } from './command';

const flags: FlagSpec = {
  id: { help: 'member id (the host id for a host\'s sidecar)' },
  port: { default: '7300', help: 'gRPC port of the sidecar (0 picks a free one)' },
  bind: { default: '127.0.0.1', help: 'interface for gRPC' },
  advertise: { help: 'host:port peers use to reach this sidecar (default bind:port)' },
  seeds: { default: '', help: 'comma-separated host:port of sidecars to start from; a DNS name stands for every address it resolves to (e.g. a headless Service), re-resolved while alone' },
  role: { default: 'host', help: 'host | proxy' },
  'member-address': { help: 'address advertised for the member: the host\'s gRPC address or the proxy URL' },
  weight: { default: '1', help: 'routing weight of a host' },
  health: { help: 'local host gRPC address to probe (grpc.health.v1); heartbeats stop while it fails' },
  'health-timeout-ms': { default: '500', help: 'a health probe slower than this fails' },
  'leave-grace-ms': { default: '600', help: 'how long a stopping sidecar keeps gossiping its departure' },
  'heartbeat-interval-ms': { default: String(gossipDefaults.heartbeatIntervalMs), help: 'own counter rises this often' },
  'gossip-interval-ms': { default: String(gossipDefaults.gossipIntervalMs), help: 'mean pause between rounds' },
  'failure-timeout-ms': { default: String(gossipDefaults.failureTimeoutMs), help: 'a member unseen this long is dead' },
  'deletion-guard-ms': { default: String(gossipDefaults.deletionGuardMs), help: 'accept a peer\'s deletion only if our sighting is older' },
  'tombstone-ttl-ms': { default: String(gossipDefaults.tombstoneTtlMs), help: 'how long deletions ride along' },
  members: { default: '10,100,1000', help: 'simulate: member counts' },
  loss: { default: '0,0.01', help: 'simulate: loss rates' },
  seed: { default: '1', help: 'simulate: RNG seed' },
  ...INTERNAL_TLS_FLAGS,
};

export const gossipCommand: Command = {
  name: 'gossip',
  summary: 'run the gossip failure-detector sidecar (or `gossip simulate`: print the simulation table)',
  flags,
  async run(args) {
    const f = parseFlags(args, flags);
    const cfg = resolveGossipConfig({
      heartbeatIntervalMs: f.int('heartbeat-interval-ms', 1), gossipIntervalMs: f.int('gossip-interval-ms', 1),
      failureTimeoutMs: f.int('failure-timeout-ms', 1), deletionGuardMs: f.int('deletion-guard-ms', 0), tombstoneTtlMs: f.int('tombstone-ttl-ms', 1),
    });
    if (f.positionals[0] === 'simulate') {
      const rows = [];
      for (const members of f.get('members')!.split(',').map(Number)) {
        for (const lossRate of f.get('loss')!.split(',').map(Number)) rows.push(runSimulation({ members, lossRate, cfg, seed: f.int('seed') }));
      }
      process.stdout.write(formatSimulationTable(rows, cfg) + '\n');
      return 0;
    }
    const id = f.get('id');
    const memberAddress = f.get('member-address');
    if (!id || !memberAddress) throw new Error('--id and --member-address are required');
    const weight = Number(f.get('weight'));
    if (!(Number.isFinite(weight) && weight >= 0)) throw new Error(`--weight must be a number >= 0, got ${f.get('weight')}`);
    const log = createLogger('gossip');
    const sidecar = await startSidecar({
      id, role: parseRole(f.get('role')!), memberAddress, weight, cfg, log,
      bindAddress: f.get('bind')!, port: f.int('port', 0, 65535), advertise: f.get('advertise'),
      seeds: f.get('seeds')!.split(',').map((s) => s.trim()).filter((s) => s.length > 0),
      healthAddress: f.get('health'), healthTimeoutMs: f.int('health-timeout-ms', 1), leaveGraceMs: f.int('leave-grace-ms', 0),
      tls: internalTlsFlags(f, log, 'serve'),
    });
    return runUntilSignal(() => sidecar.close(), log, 10_000);
  },
};
