/**
 * @module host-process
 * `adama host`: one adama-host as its own process. Wires storage, the document host, its lease in
 * the `hosts` table (membership), the gRPC server and the drain (host-drain.ts). SIGTERM runs the
 * same drain as `adama host drain`, then exits; a drain by RPC can be cancelled.
 */
import { systemClock } from '../shared/clock';
import { hostDefaults, resolveConfig, type HostConfig } from '../shared/config';
import type { Logger } from '../shared/log';
import { openStorage } from '../storage/open-storage';
import { createIsolatedSandbox } from '../runtime/isolated-sandbox';
import { startGrpcServer } from '../grpc/server';
import type { DrainReply } from '../grpc/host-messages';
import { DocumentHost } from './document-host';
import { startHostLease, type HostLease } from './host-lease';
import { createHostService } from './grpc-host-service';
import { HostDrain } from './host-drain';
import { createOwnedCounter, OWNED_COUNT_TIMEOUT_MS } from './owned-count';
import { startTelemetry, type TelemetryOptions } from '../shared/telemetry';
import { openObjectStore } from '../archiver/open-object-store';
import { startLeaseMembership } from '../routing/lease-membership';
import { connectGossipMembership } from '../gossip/gossip-membership';
import type { DataService } from '../storage/data-service';
import { once } from '../shared/once';
import { HOST_POLICY } from '../grpc/call-policy';
import { INSECURE_INTERNAL, type InternalTls } from '../grpc/internal-tls';

export interface HostProcessOptions {
  hostId: string;
  databaseUrl: string;
  bindAddress: string;
  port: number;
  /** Address other processes use to reach this host; defaults to bindAddress:port. */
  advertise?: string;
  leaseMs: number;
  log: Logger;
  config?: Partial<HostConfig>;
  telemetry?: Pick<TelemetryOptions, 'metricsPort' | 'metricsHost' | 'otlpTracesUrl'>;
  /** Spec of the object store archived documents are restored from (`fs:<dir>` or `s3://bucket/prefix`). */
  objectStore?: string;
  /** host:port of the local gossip sidecar; when set, gossip decides which hosts are dead. */
  gossipAddress?: string;
  /** `check`: apply no migrations, refuse a database that lacks one (open-storage.ts). Default migrate. */
  schema?: 'migrate' | 'check';
  /** mTLS for internal gRPC (internal-tls.ts); plaintext when absent. */
  tls?: InternalTls;
  /** A plaintext port serving only the gRPC health service (kubelet probes; services/grpc/server.ts). */
  healthPort?: number;
}

export interface HostProcess {
  hostId: string;
  port: number;
  address: string;
  host: DocumentHost;
  drain(timeoutMs: number): Promise<DrainReply>;
  cancelDrain(): Promise<{ resumed: boolean }>;
  close(): Promise<void>;
}

export async function startHostProcess(o: HostProcessOptions): Promise<HostProcess> {
  const config = resolveConfig(hostDefaults, o.config);
  const telemetry = await startTelemetry({ service: 'adama-host', instance: o.hostId, log: o.log, ...o.telemetry });
  const storage = await openStorage({ databaseUrl: o.databaseUrl, log: o.log, schema: o.schema });
  const objectStore = o.objectStore ? await openObjectStore(o.objectStore) : undefined;
  // Only gossip can know a host is dead before its lease expires (findbind already treats expired
  // leases as dead), so without a sidecar the host polls no membership at all.
  const gossip = o.gossipAddress ? startGossipView(o.gossipAddress, storage.data, o.leaseMs, o.log, o.tls) : undefined;
  const deadHosts = gossip?.deadHosts;
  const host = new DocumentHost({ hostId: o.hostId, data: storage.data, sandboxFactory: createIsolatedSandbox, clock: systemClock, log: o.log, config, metrics: telemetry.metrics, tracer: telemetry.tracer, objectStore, deadHosts });
  let lease: HostLease | null = null;
  let address = '';
  const drain = new HostDrain({
    setServing: (serving) => server.setHealth(serving ? 'SERVING' : 'NOT_SERVING'),
    leaveMembership: async () => { await lease?.stop({ remove: true }); lease = null; },
    rejoinMembership: async () => { lease ??= await startHostLease(storage.data, o.hostId, address, o.leaseMs, o.log); },
    unloadAll: () => host.drain(),
    resumeAccepting: () => host.resume(),
    releaseOrphans: () => storage.data.releaseAllBoundTo(o.hostId),
    countOwned: () => storage.data.countByHost(o.hostId),
    onTransition: (to, detail) => o.log.info({ host: o.hostId, ...detail }, `drain.${to}`),
  });

  const server = await startGrpcServer(o.bindAddress, o.port, [{
    file: 'host.proto', service: 'adama.host.v1.Host',
    impl: createHostService({
      host, log: o.log, drain, maxBatch: 64, maxQueued: 50_000,
      documentsOwned: createOwnedCounter({ count: () => storage.data.countByHost(o.hostId), timeoutMs: OWNED_COUNT_TIMEOUT_MS, log: o.log }),
    }),
  }], { tls: o.tls ?? INSECURE_INTERNAL, policy: HOST_POLICY, log: o.log, healthPort: o.healthPort });
  address = o.advertise ?? `${o.bindAddress}:${server.port}`;
  lease = await startHostLease(storage.data, o.hostId, address, o.leaseMs, o.log);
  o.log.info({ host: o.hostId, address, metricsPort: telemetry.metricsPort, healthPort: server.healthPort }, 'host.ready');

  return {
    hostId: o.hostId,
    port: server.port,
    address,
    host,
    drain: (timeoutMs) => drain.drain(timeoutMs),
    cancelDrain: () => drain.cancel(),
    close: once(async () => {
      server.setHealth('NOT_SERVING');
      await drain.close(config.shutdownGraceMs);
      await host.shutdown('shutdown');
      await server.close(2_000);
      await gossip?.close();
      await storage.close();
      await telemetry.shutdown();
    }),
  };
}

/** Hosts that still hold leases but that gossip no longer lists: dead as far as findbind is concerned. */
function startGossipView(address: string, data: DataService, leaseMs: number, log: Logger, tls: InternalTls | undefined): { deadHosts(): string[]; close(): Promise<void> } {
  const leases = startLeaseMembership({ data, pollIntervalMs: Math.max(100, Math.floor(leaseMs / 4)), log });
  const membership = connectGossipMembership({ address, log, fallback: leases, tls });
  return {
    deadHosts() {
      const live = new Set(membership.current().map((h) => h.id));
      return leases.current().filter((h) => !live.has(h.id)).map((h) => h.id);
    },
    async close() {
      await membership.close();
      await leases.close();
    },
  };
}
