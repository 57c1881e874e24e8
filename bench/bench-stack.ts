/**
 * @module bench-stack
 * The real single-process cluster (web-proxy + adama-host, `startDevCluster`) on a given database,
 * port 0, silent logs, plus SDK clients over the `ws` package. close() closes the clients first
 * (so none of them reconnects), then the cluster; the database belongs to the caller.
 */
import WebSocket from 'ws';
import { AdamaClient, type WebSocketFactory } from '../client/index';
import { startDevCluster, type DevCluster } from '../services/cli/dev-cluster';
import type { ProxyConfig } from '../services/shared/config';
import { silentLogger } from '../services/shared/log';
import { withTimeout } from './timing';

export interface BenchStack {
  readonly cluster: DevCluster;
  client(name: string): AdamaClient;
  close(): Promise<void>;
}

/**
 * Every benchmark client connects from 127.0.0.1, so the proxy's per-address edge limits (sized
 * for one address being a NAT in front of many users) would throttle the benchmark itself: sockets
 * per address in particular (burst 200, 50/s, and each socket takes a token at connect and again
 * at auth). The benchmark lifts the per-address limits only; per-principal limits stay at their
 * defaults (every benchmark client is its own principal). The split stack's proxies get the same
 * values through ADAMA_<NAME> variables.
 */
export const BENCH_PROXY_LIMITS = {
  socketsPerIpPerSec: 1_000_000, socketsPerIpBurst: 1_000_000,
  streamsPerIpPerSec: 1_000_000, streamsPerIpBurst: 1_000_000,
  messagesPerIpPerSec: 1_000_000, messagesPerIpBurst: 1_000_000,
} as const satisfies Partial<ProxyConfig>;

/** Generous bound on a clean cluster shutdown (unloading documents writes snapshots). */
const CLOSE_TIMEOUT_MS = 30_000;

export async function startBenchStack(databaseUrl: string): Promise<BenchStack> {
  const cluster = await startDevCluster({ port: 0, dataDir: '', databaseUrl, hostId: 'bench-host', log: silentLogger, proxy: BENCH_PROXY_LIMITS });
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
