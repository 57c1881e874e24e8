/**
 * @module dev-cluster
 * Rung 1 of the ladder: web-proxy + adama-host in one process over embedded PGlite (or a real
 * PostgreSQL when a URL is given). The same parts the split tiers run, wired directly.
 */
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { FsObjectStore } from '../archiver/fs-object-store';
import { DEFAULT_STATIC_DIR, packageRoot } from '../shared/paths';
import { systemClock } from '../shared/clock';
import { hostDefaults, proxyDefaults, resolveConfig, type HostConfig, type ProxyConfig } from '../shared/config';
import type { Logger } from '../shared/log';
import { openStorage } from '../storage/open-storage';
import { createIsolatedSandbox } from '../runtime/isolated-sandbox';
import { DocumentHost } from '../adama-host/document-host';
import { startHostLease } from '../adama-host/host-lease';
import { startProxyServer } from '../web-proxy/proxy-server';
import { deploySpacesFromDir } from './spaces-dir';
import { startTelemetry, type TelemetryOptions } from '../shared/telemetry';
import { startDevEdge, type DevEdge } from '../web-proxy/edge/dev-edge';
import type { EdgeConfig } from '../web-proxy/edge/edge-config';
import { once } from '../shared/once';

export interface DevClusterOptions {
  port: number;
  bindAddress?: string;
  dataDir: string;
  databaseUrl?: string;
  spacesDir?: string;
  staticDir?: string;
  hostId: string;
  log: Logger;
  host?: Partial<HostConfig>;
  proxy?: Partial<ProxyConfig>;
  telemetry?: Pick<TelemetryOptions, 'metricsPort' | 'metricsHost' | 'otlpTracesUrl'>;
  /** Edge settings; dev allows anonymous identities and trusts its own dev key (docs/security.md). */
  edge?: Partial<EdgeConfig>;
}

export interface DevCluster {
  url: string;
  wsUrl: string;
  port: number;
  metricsPort: number | undefined;
  host: DocumentHost;
  /** Mints a token the dev proxy accepts (null when an explicit JWKS replaced the dev key). */
  mintDevToken: DevEdge['mintDevToken'];
  close(): Promise<void>;
}

/** Lease of the single host; in one process it only matters if another host shares the database. */
const LEASE_MS = 10_000;

export const DEFAULT_SPACES_DIR = join(packageRoot(), 'examples', 'spaces');
/** The demo page, bundled by `npm run build` (scripts/build-web.mjs). */

export async function startDevCluster(o: DevClusterOptions): Promise<DevCluster> {
  const hostConfig = resolveConfig(hostDefaults, o.host);
  const proxyConfig = resolveConfig(proxyDefaults, o.proxy);
  const telemetry = await startTelemetry({ service: 'adama-dev', instance: o.hostId, log: o.log, ...o.telemetry });
  const storage = await openStorage({ databaseUrl: o.databaseUrl, dataDir: o.dataDir });
  o.log.info({ storage: storage.describe }, 'storage.opened');
  const spaces = await deploySpacesFromDir(storage.data, o.spacesDir ?? DEFAULT_SPACES_DIR);
  o.log.info({ spaces: spaces.map((s) => `${s.space}@${s.version}`) }, 'spaces.deployed');
  // Archived documents restore from a filesystem store beside the data (docs/archiver.md); an
  // in-memory cluster gets a temporary one, removed on close.
  const objectsDir = o.dataDir === '' ? mkdtempSync(join(tmpdir(), 'adama-objects-')) : join(o.dataDir, 'objects');
  const objectStore = new FsObjectStore(objectsDir);
  const host = new DocumentHost({ hostId: o.hostId, data: storage.data, sandboxFactory: createIsolatedSandbox, clock: systemClock, log: o.log, config: hostConfig, metrics: telemetry.metrics, tracer: telemetry.tracer, objectStore });
  const lease = await startHostLease(storage.data, o.hostId, 'in-process', LEASE_MS, o.log);
  const edge = await startDevEdge({ dataDir: o.dataDir, edge: o.edge, proxy: proxyConfig, log: o.log, metrics: telemetry.metrics });
  const proxy = await startProxyServer({
    port: o.port, bindAddress: o.bindAddress, host, config: proxyConfig, log: o.log, metrics: telemetry.metrics, tracer: telemetry.tracer, edge: edge.edge,
    staticDir: o.staticDir ?? DEFAULT_STATIC_DIR,
    health: () => ({ host: o.hostId, documents: host.loadedDocuments }),
  });
  return {
    url: proxy.pageUrl,
    wsUrl: proxy.wsUrl,
    port: proxy.port,
    metricsPort: telemetry.metricsPort,
    host,
    mintDevToken: edge.mintDevToken,
    close: once(async () => {
      await proxy.close();
      await edge.edge.close();
      await host.shutdown('shutdown');
      await lease.stop({ remove: true });
      await storage.close();
      await telemetry.shutdown();
      if (o.dataDir === '') rmSync(objectsDir, { recursive: true, force: true });
    }),
  };
}
