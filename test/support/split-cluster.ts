/**
 * Test harness for rung 2: real `adama host`, `adama locator` and `adama proxy` processes
 * (children, killable with SIGKILL) on one fresh database (real PostgreSQL when DATABASE_URL is
 * set, else PGlite served from the test process over TCP), with the example spaces deployed.
 * Proxies hold no database credentials: their membership fallback comes from the locator
 * (`--locator`), and their ADAMA_DATABASE_URL points nowhere, so any use of it would fail.
 */
import WebSocket from 'ws';
import { AdamaClient, type WebSocketFactory } from '../../client/index';
import { deploySpacesFromDir } from '../../services/cli/spaces-dir';
import { DEFAULT_SPACES_DIR } from '../../services/cli/dev-cluster';
import { freshStorage } from './databases';
import { spawnAdama, type Child } from './child';

export interface SplitCluster {
  storage: Awaited<ReturnType<typeof freshStorage>>;
  hosts: Map<string, Child>;
  proxies: Child[];
  locator: Child;
  /** Every WebSocket any client opened, to prove that clients kept their sockets. */
  socketsOpened: { count: number };
  client(name: string, proxyIndex?: number): AdamaClient;
  startHost(id: string): Promise<Child>;
  close(): Promise<void>;
}

/** What proxies get as ADAMA_DATABASE_URL: nothing listens there, so a proxy that used it would fail. */
const NO_DATABASE = 'postgres://proxies-have-no-database@127.0.0.1:1/none';

export async function startSplitCluster(o: { hosts: number; proxies: number; leaseMs?: number }): Promise<SplitCluster> {
  const storage = await freshStorage(4);
  await deploySpacesFromDir(storage.data, DEFAULT_SPACES_DIR);
  const db = ['--database-url', storage.connectionString];
  const env = { ADAMA_LOG_LEVEL: 'warn' };
  const hosts = new Map<string, Child>();
  const startHost = async (id: string) => {
    const child = await spawnAdama(['host', '--host-id', id, '--port', '0', '--lease-ms', String(o.leaseMs ?? 3000), ...db], 'host.ready', { ...env, ADAMA_LOG_LEVEL: 'info' });
    hosts.set(id, child);
    return child;
  };
  await Promise.all(Array.from({ length: o.hosts }, (_, i) => startHost(`host-${i + 1}`)));
  const locator = await spawnAdama(['locator', '--port', '0', ...db], 'locator.ready', { ...env, ADAMA_LOG_LEVEL: 'info' });
  const proxies = await Promise.all(Array.from({ length: o.proxies }, () =>
    spawnAdama(['proxy', '--port', '0', '--metrics-port', '0', '--membership-poll-ms', '200', '--allow-anonymous', 'true', '--locator', `127.0.0.1:${String(locator.ready.port)}`], 'proxy.ready',
      { ...env, ADAMA_LOG_LEVEL: 'info', ADAMA_DATABASE_URL: NO_DATABASE })));
  const socketsOpened = { count: 0 };
  class CountingWebSocket extends WebSocket {
    constructor(url: string) { super(url); socketsOpened.count++; }
  }
  const clients: AdamaClient[] = [];
  return {
    storage, hosts, proxies, locator, socketsOpened, startHost,
    client(name, proxyIndex = 0) {
      const c = new AdamaClient({ url: String(proxies[proxyIndex]!.ready.ws), identity: `anonymous:${name}`, WebSocket: CountingWebSocket as unknown as WebSocketFactory, maxSendAttempts: 20 });
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.close();
      const all = [...proxies, locator, ...hosts.values()];
      for (const p of all) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
      await Promise.all(all.map((p) => p.exited));
      await storage.close();
    },
  };
}
