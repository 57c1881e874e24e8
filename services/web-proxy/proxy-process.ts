/**
 * @module proxy-process
 * `adama proxy`: one stateless web-proxy as its own process. Membership comes from the `hosts`
 * table leases (the gossip sidecar replaces this as the primary source later, behind the same
 * `Membership` interface); documents are routed over gRPC by `RoutingHostClient`.
 */
import { INSECURE_INTERNAL, type InternalTls } from '../grpc/internal-tls';
import { locatorDirectory } from '../grpc/locator-client';
import type { DataService } from '../storage/data-service';
import type { DocRef } from '../shared/doc-ref';
import { proxyDefaults, resolveConfig, type ProxyConfig } from '../shared/config';
import type { Logger } from '../shared/log';
import { openStorage } from '../storage/open-storage';
import { startLeaseMembership } from '../routing/lease-membership';
import { connectGossipMembership } from '../gossip/gossip-membership';
import { DEFAULT_STATIC_DIR } from '../shared/paths';
import { RoutingHostClient } from './routing-host-client';
import { startProxyServer } from './proxy-server';
import { startTelemetry, type TelemetryOptions } from '../shared/telemetry';
import { resolveEdgeConfig, type EdgeConfig } from './edge/edge-config';
import { startEdge } from './edge/start-edge';
import { once } from '../shared/once';

export interface ProxyProcessOptions {
  proxyId: string;
  /**
   * Where the membership fallback comes from: `locator` (host:port of `adama locator`, whose
   * LiveHosts reads the hosts table; the proxy then holds no database credentials) or
   * `databaseUrl` (the hosts table directly). Exactly one.
   */
  databaseUrl?: string;
  locatorAddress?: string;
  /** `check`: apply no migrations, refuse a database that lacks one (open-storage.ts). Default migrate. */
  schema?: 'migrate' | 'check';
  port: number;
  bindAddress?: string;
  staticDir?: string;
  /** How often the hosts table is read for membership (ms). */
  membershipPollMs: number;
  log: Logger;
  config?: Partial<ProxyConfig>;
  telemetry?: Pick<TelemetryOptions, 'metricsPort' | 'metricsHost' | 'otlpTracesUrl'>;
  /** host:port of the local gossip sidecar (primary membership); the hosts table is the fallback. */
  gossipAddress?: string;
  /** Keys, anonymous policy, Redis, origins, TLS; anonymous identities are refused unless enabled here. */
  edge?: Partial<EdgeConfig>;
  /** mTLS for internal gRPC (internal-tls.ts); plaintext when absent. */
  tls?: InternalTls;
}

export interface ProxyProcess { url: string; wsUrl: string; port: number; metricsPort: number | undefined; routing: RoutingHostClient; close(): Promise<void> }

export async function startProxyProcess(o: ProxyProcessOptions): Promise<ProxyProcess> {
  const config = resolveConfig(proxyDefaults, o.config);
  const edgeConfig = resolveEdgeConfig(o.edge);
  const telemetry = await startTelemetry({ service: 'web-proxy', instance: o.proxyId, log: o.log, ...o.telemetry });
  const { metrics } = telemetry;
  const directory = await openDirectory(o);
  const leases = startLeaseMembership({ data: directory.source, pollIntervalMs: o.membershipPollMs, log: o.log });
  await leases.ready;
  const membership = o.gossipAddress ? connectGossipMembership({ address: o.gossipAddress, log: o.log, fallback: leases, tls: o.tls }) : leases;
  await membership.ready;
  membership.onChange((hosts) => o.log.info({ hosts: hosts.map((h) => h.id) }, 'membership.changed'));
  const routing = new RoutingHostClient({
    membership, log: o.log, maxBatch: 64, maxQueued: 50_000, suspectForMs: 5_000, tls: o.tls, directory: directory.source,
    events: { routed: (kind) => metrics.routingDecisions.add(1, { kind }), redirected: () => metrics.redirects.add(1) },
  });
  const edge = await startEdge({ edge: edgeConfig, proxy: config, log: o.log, metrics });
  const proxy = await startProxyServer({
    port: o.port, bindAddress: o.bindAddress, host: routing, config, log: o.log, metrics, tracer: telemetry.tracer, edge,
    staticDir: o.staticDir ?? DEFAULT_STATIC_DIR,
    health: () => ({ proxy: o.proxyId, hosts: membership.current().length, streamsByHost: routing.streamsByHost() }),
  });
  return {
    url: proxy.pageUrl,
    wsUrl: proxy.wsUrl,
    port: proxy.port,
    metricsPort: telemetry.metricsPort,
    routing,
    close: once(async () => {
      await proxy.close();
      await edge.close();
      routing.close();
      await membership.close();
      if (membership !== leases) await leases.close();
      await directory.close();
      await telemetry.shutdown();
    }),
  };
}

/** The proxy's source of live hosts: the locator over gRPC, or (a small pool: it only reads the hosts table) the database. */
async function openDirectory(o: ProxyProcessOptions): Promise<{ source: Pick<DataService, 'liveHosts'> & { ownerOf(ref: DocRef): Promise<string | undefined> }; close(): Promise<void> }> {
  if ((o.locatorAddress === undefined) === (o.databaseUrl === undefined)) throw new Error('a proxy needs exactly one of a locator address and a database URL');
  if (o.locatorAddress !== undefined) {
    const locator = locatorDirectory(o.locatorAddress, o.tls ?? INSECURE_INTERNAL);
    return { source: locator, close: async () => { locator.close(); } };
  }
  const storage = await openStorage({ databaseUrl: o.databaseUrl!, poolSize: 2, log: o.log, schema: o.schema });
  const ownerOf = async (ref: DocRef) => {
    const row = await storage.data.lookup(ref);
    return row !== null && row.state === 'bound' && row.host !== null ? row.host : undefined;
  };
  return { source: { liveHosts: () => storage.data.liveHosts(), ownerOf }, close: () => storage.close() };
}
