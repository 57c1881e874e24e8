/**
 * Test harness: a real single-process cluster (proxy + host over a fresh database: real
 * PostgreSQL when DATABASE_URL is set, else in-memory PGlite), on an ephemeral port.
 */
import WebSocket from 'ws';
import { AdamaClient, type WebSocketFactory } from '../../client/index';
import { startDevCluster, type DevCluster } from '../../services/cli/dev-cluster';
import type { HostConfig, ProxyConfig } from '../../services/shared/config';
import { silentLogger } from '../../services/shared/log';
import type { EdgeConfig } from '../../services/web-proxy/edge/edge-config';
import { freshDatabase } from './databases';

export interface TestCluster { cluster: DevCluster; wsUrl: string; databaseUrl: string; clients: AdamaClient[]; client(name: string): AdamaClient; close(): Promise<void> }

export async function startTestCluster(options: { host?: Partial<HostConfig>; proxy?: Partial<ProxyConfig>; spacesDir?: string; edge?: Partial<EdgeConfig> } = {}): Promise<TestCluster> {
  const db = await freshDatabase();
  const cluster = await startDevCluster({
    port: 0, dataDir: '', databaseUrl: db.connectionString, hostId: 'test-host', log: silentLogger,
    spacesDir: options.spacesDir, host: options.host, proxy: options.proxy, edge: options.edge,
  });
  const clients: AdamaClient[] = [];
  return {
    cluster,
    wsUrl: cluster.wsUrl,
    databaseUrl: db.connectionString,
    clients,
    client(name: string) {
      const c = new AdamaClient({ url: cluster.wsUrl, identity: `anonymous:${name}`, WebSocket: WebSocket as unknown as WebSocketFactory });
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.close();
      await cluster.close();
      await db.close();
    },
  };
}

/** Resolves when `predicate` holds for a value delivered to the returned callback. */
export function waitFor<T>(timeoutMs = 10_000): { push(v: T): void; until(pred: (v: T) => boolean): Promise<T> } {
  const seen: T[] = [];
  const waiters: { pred: (v: T) => boolean; resolve(v: T): void }[] = [];
  return {
    push(v: T) {
      seen.push(v);
      for (const w of [...waiters]) if (w.pred(v)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(v); }
    },
    until(pred) {
      const hit = seen.find(pred);
      if (hit !== undefined) return Promise.resolve(hit);
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('condition not met in time')), timeoutMs);
        waiters.push({ pred, resolve: (v) => { clearTimeout(timer); resolve(v); } });
      });
    },
  };
}
