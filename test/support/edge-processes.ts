/**
 * Edge tests with real processes: `adama host` + `adama proxy` children with edge flags (Redis,
 * limits, metrics) over one fresh database, a private `redis-server` child that a test may
 * SIGKILL and restart on the same port without touching the machine's shared Redis, and small
 * helpers to read a proxy's /metrics and /healthz.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { deploySpacesFromDir } from '../../services/cli/spaces-dir';
import { DEFAULT_SPACES_DIR } from '../../services/cli/dev-cluster';
import { freshStorage } from './databases';
import { spawnAdama, type Child } from './child';

export interface EdgeProcesses {
  proxies: Child[];
  host: Child;
  close(): Promise<void>;
}

/** One host and `proxies` proxies; `proxyArgs` and `proxyEnv` (e.g. ADAMA_MESSAGES_PER_PRINCIPAL_BURST) go to every proxy. */
export async function startEdgeProcesses(o: { proxies: number; proxyArgs: string[]; proxyEnv?: NodeJS.ProcessEnv }): Promise<EdgeProcesses> {
  const storage = await freshStorage(4);
  await deploySpacesFromDir(storage.data, DEFAULT_SPACES_DIR);
  const db = ['--database-url', storage.connectionString];
  const host = await spawnAdama(['host', '--host-id', 'edge-host', '--port', '0', ...db], 'host.ready', { ADAMA_LOG_LEVEL: 'info' });
  const proxies = await Promise.all(Array.from({ length: o.proxies }, () => spawnAdama(
    ['proxy', '--port', '0', '--membership-poll-ms', '200', '--metrics-port', '0', ...o.proxyArgs, ...db], 'proxy.ready',
    { ADAMA_LOG_LEVEL: 'info', ...o.proxyEnv })));
  return {
    host, proxies,
    async close() {
      for (const p of [...proxies, host]) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
      await Promise.all([...proxies, host].map((p) => p.exited));
      await storage.close();
    },
  };
}

/** Value of an unlabelled series on a proxy's /metrics, or undefined before it was ever recorded. */
export async function scrapeMetric(metricsPort: number, name: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Polls `probe` until it returns true (bounded). */
export async function eventually(probe: () => Promise<boolean> | boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} not met in ${timeoutMs} ms`);
}

export const REDIS_SERVER = 'redis-server';
/** True when a `redis-server` binary can be run here. */
export function redisServerAvailable(): boolean {
  return spawnSync(REDIS_SERVER, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A throwaway redis-server (no persistence) on `port`; resolves once it accepts connections. */
export async function startRedisServer(port: number): Promise<{ proc: ChildProcess; url: string; kill(): Promise<void> }> {
  const proc = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`redis-server on ${port} did not start: ${out.slice(-500)}`)), 10_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) { clearTimeout(timer); resolve(); }
    });
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`redis-server exited (${code}): ${out.slice(-500)}`)); });
  });
  return {
    proc, url: `redis://127.0.0.1:${port}`,
    async kill() { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); await exited; },
  };
}
