/**
 * What each role costs at rest (issue 13): every role is spawned as production would run it, its
 * resident memory read from /proc once it is ready, printed as a figure and guarded by a ceiling
 * about twice what it measures today, so a change that doubles a role's footprint (a heavy module
 * pulled onto its path) fails here. A size check, not a timing check.
 */
import { readFileSync } from 'node:fs';
import { spawnAdama, type Child } from '../support/child';
import { freshStorage } from '../support/databases';

/** MB at rest measured here when the ceilings were set (2026-12-04, with mTLS): sidecar 63, locator 65, proxy 85, host 78. */
const CEILING_MB: Record<string, number> = { gossip: 130, locator: 140, proxy: 170, host: 170 };

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Math.round(Number(line.split(/\s+/)[1]) / 1024);
}

describe('role footprint at rest', () => {
  let storage: Awaited<ReturnType<typeof freshStorage>>;
  const children: Child[] = [];
  beforeAll(async () => { storage = await freshStorage(2); });
  afterAll(async () => {
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    await storage?.close();
  });

  it('keeps every role under its resident-memory ceiling once ready', async () => {
    const db = ['--database-url', storage.connectionString];
    const start = async (args: string[], ready: string): Promise<Child> => {
      const c = await spawnAdama(args, ready, { ADAMA_LOG_LEVEL: 'info' });
      children.push(c);
      return c;
    };
    const locator = await start(['locator', '--port', '0', ...db], 'locator.ready');
    const host = await start(['host', '--host-id', 'footprint-host', '--port', '0', ...db], 'host.ready');
    const gossip = await start(['gossip', '--id', 'footprint-gossip', '--role', 'proxy', '--member-address', 'x', '--port', '0', '--seeds', ''], 'gossip.ready');
    const proxy = await start(['proxy', '--port', '0', '--locator', `127.0.0.1:${String(locator.ready.port)}`], 'proxy.ready');
    const measured: Record<string, number> = { gossip: rssMb(gossip.proc.pid!), locator: rssMb(locator.proc.pid!), proxy: rssMb(proxy.proc.pid!), host: rssMb(host.proc.pid!) };
    console.log(`role RSS at rest (MB): ${Object.entries(measured).map(([r, mb]) => `${r} ${mb}`).join(', ')}`);
    for (const [role, mb] of Object.entries(measured)) expect({ role, mb, under: mb <= CEILING_MB[role]! }).toEqual({ role, mb, under: true });
  }, 90_000);
});
