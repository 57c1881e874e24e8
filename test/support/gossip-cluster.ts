/**
 * Test harness for the gossip failure detector across real processes: 3 `adama host` and 2
 * `adama proxy` processes, each with an `adama gossip` sidecar beside it (hosts' sidecars probe
 * their host's grpc.health.v1), on one fresh database, loopback only, fast intervals by flags.
 * Sidecars start one after another with port 0, each seeded with the ones before it.
 */
import WebSocket from 'ws';
import { AdamaClient, type WebSocketFactory } from '../../client/index';
import { deploySpacesFromDir } from '../../services/cli/spaces-dir';
import { DEFAULT_SPACES_DIR } from '../../services/cli/dev-cluster';
import { freshStorage } from './databases';
import { spawnAdama, type Child } from './child';
import { freePort } from './ports';

/** Fast intervals for tests: a member is dead after 1 s unseen. */
export const TEST_GOSSIP = { heartbeatIntervalMs: 100, gossipIntervalMs: 100, failureTimeoutMs: 1_000, deletionGuardMs: 500, tombstoneTtlMs: 4_000, healthTimeoutMs: 300 };

const gossipFlags = [
  '--heartbeat-interval-ms', String(TEST_GOSSIP.heartbeatIntervalMs), '--gossip-interval-ms', String(TEST_GOSSIP.gossipIntervalMs),
  '--failure-timeout-ms', String(TEST_GOSSIP.failureTimeoutMs), '--deletion-guard-ms', String(TEST_GOSSIP.deletionGuardMs),
  '--tombstone-ttl-ms', String(TEST_GOSSIP.tombstoneTtlMs), '--health-timeout-ms', String(TEST_GOSSIP.healthTimeoutMs),
];

export interface GossipCluster {
  storage: Awaited<ReturnType<typeof freshStorage>>;
  hosts: Map<string, { host: Child; sidecar: Child; address: string }>;
  proxies: { proxy: Child; sidecar: Child; url: string }[];
  client(name: string, proxyIndex?: number): AdamaClient;
  /** Starts `adama host` again under the same id, port and sidecar (the previous process must have exited). */
  restartHost(id: string): Promise<Child>;
  /** The `hosts` count each proxy's /healthz reports now. */
  proxyHostCounts(): Promise<number[]>;
  /** Resolves with the ms it took until every proxy reports `count` hosts; rejects after timeoutMs. */
  untilProxiesSee(count: number, timeoutMs: number): Promise<number>;
  close(): Promise<void>;
}

export async function startGossipCluster(o: { hosts: number; proxies: number }): Promise<GossipCluster> {
  const storage = await freshStorage(4);
  await deploySpacesFromDir(storage.data, DEFAULT_SPACES_DIR);
  const db = ['--database-url', storage.connectionString];
  const env = { ADAMA_LOG_LEVEL: 'info' };
  const seeds: string[] = [];
  const all: Child[] = [];
  /** Says which child died and why, instead of a silent hang later. */
  const watch = (name: string, child: Child): Child => {
    let stderr = '';
    child.proc.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2_000); });
    void child.exited.then((e) => { if (e.signal !== 'SIGKILL') process.stderr.write(`gossip-cluster: ${name} exited (${e.code ?? e.signal}): ${stderr}\n`); });
    all.push(child);
    return child;
  };
  const sidecar = async (args: string[]): Promise<Child> => {
    const child = watch(`gossip ${args[1]}`, await spawnAdama(['gossip', '--port', '0', '--seeds', seeds.join(','), ...gossipFlags, ...args], 'gossip.ready', env));
    seeds.push(`127.0.0.1:${String(child.ready.port)}`);
    return child;
  };
  const hosts = new Map<string, { host: Child; sidecar: Child; address: string }>();
  const hostArgs = new Map<string, string[]>();
  const proxies: GossipCluster['proxies'] = [];
  try {
  for (let i = 1; i <= o.hosts; i++) {
    const id = `host-${i}`;
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    const side = await sidecar(['--id', id, '--role', 'host', '--member-address', address, '--health', address]);
    hostArgs.set(id, ['host', '--host-id', id, '--port', String(port), '--lease-ms', '3000', '--gossip', seeds[seeds.length - 1]!, ...db]);
    const host = watch(id, await spawnAdama(hostArgs.get(id)!, 'host.ready', env));
    hosts.set(id, { host, sidecar: side, address });
  }
  for (let i = 1; i <= o.proxies; i++) {
    const side = await sidecar(['--id', `proxy-${i}`, '--role', 'proxy', '--member-address', `proxy-${i}`]);
    const proxy = await spawnAdama(['proxy', '--port', '0', '--membership-poll-ms', '200', '--allow-anonymous', 'true', '--gossip', seeds[seeds.length - 1]!, ...db], 'proxy.ready', env);
    watch(`proxy-${i}`, proxy);
    proxies.push({ proxy, sidecar: side, url: String(proxy.ready.url) });
  }
  } catch (err) {
    // A start that failed half way must not leave children behind.
    for (const p of all) p.proc.kill('SIGKILL');
    await storage.close();
    throw err;
  }
  const clients: AdamaClient[] = [];
  const proxyHostCounts = async (): Promise<number[]> => Promise.all(proxies.map(async (p) => {
    const res = await fetch(new URL('/healthz', p.url));
    return Number(((await res.json()) as { hosts: number }).hosts);
  }));
  return {
    storage, hosts, proxies, proxyHostCounts,
    async restartHost(id) {
      const h = hosts.get(id)!;
      await h.host.exited;
      h.host = watch(id, await spawnAdama(hostArgs.get(id)!, 'host.ready', env));
      return h.host;
    },
    client(name, proxyIndex = 0) {
      const c = new AdamaClient({ url: String(proxies[proxyIndex]!.proxy.ready.ws), identity: `anonymous:${name}`, WebSocket: WebSocket as unknown as WebSocketFactory, maxSendAttempts: 20 });
      clients.push(c);
      return c;
    },
    async untilProxiesSee(count, timeoutMs) {
      const started = Date.now();
      // Each check is one HTTP round trip per proxy; the loop ends on the event or at the bound.
      for (;;) {
        const counts = await proxyHostCounts();
        if (counts.every((c) => c === count)) return Date.now() - started;
        if (Date.now() - started > timeoutMs) throw new Error(`proxies report ${counts.join(',')} hosts, not ${count}, after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async close() {
      for (const c of clients) c.close();
      for (const p of all) {
        if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
      }
      await Promise.all(all.map((p) => p.exited));
      await storage.close();
    },
  };
}
