/**
 * @module bench-stack
 * The real single-process cluster (web-proxy + adama-host, `startDevCluster`) on a given database,
 * port 0, silent logs, plus SDK clients over the `ws` package. close() closes the clients first
 * (so none of them reconnects), then the cluster; the database belongs to the caller.
 */
import WebSocket from 'ws';
import { AdamaClient, type WebSocketFactory } from '../client/index';
import { startDevCluster, type DevCluster } from '../services/cli/dev-cluster';
import { silentLogger } from '../services/shared/log';
import { withTimeout } from './timing';

export interface BenchStack {
  readonly cluster: DevCluster;
  client(name: string): AdamaClient;
  close(): Promise<void>;
}

/** Generous bound on a clean cluster shutdown (unloading documents writes snapshots). */
const CLOSE_TIMEOUT_MS = 30_000;

export async function startBenchStack(databaseUrl: string): Promise<BenchStack> {
  const cluster = await startDevCluster({ port: 0, dataDir: '', databaseUrl, hostId: 'bench-host', log: silentLogger });
  const clients: AdamaClient[] = [];
  return {
    cluster,
    client(name) {
      const c = new AdamaClient({ url: cluster.wsUrl, identity: `anonymous:${name}`, WebSocket: WebSocket as unknown as WebSocketFactory });
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.close();
      await withTimeout(cluster.close(), CLOSE_TIMEOUT_MS, 'cluster.close');
    },
  };
}

/** Starts a stack, runs `fn`, and closes the stack whatever happens. */
export async function withBenchStack<T>(databaseUrl: string, fn: (stack: BenchStack) => Promise<T>): Promise<T> {
  const stack = await startBenchStack(databaseUrl);
  try {
    return await fn(stack);
  } finally {
    await stack.close();
  }
}
