/**
 * `adama host drain-self`, the host pod's preStop hook, against a real `adama host` child on a
 * fresh database (PostgreSQL with DATABASE_URL, else PGlite): Status reports the directory rows
 * the host owns, drain-self run exactly as the hook runs it (`--port`, no database) releases them
 * all and exits 0, and against a host that already stopped it exits 0 with nothing to drain.
 */
import { DEFAULT_SPACES_DIR } from '../../services/cli/dev-cluster';
import { deploySpacesFromDir } from '../../services/cli/spaces-dir';
import { silentLogger } from '../../services/shared/log';
import { HostConnection } from '../../services/web-proxy/host-connection';
import { runAdama, spawnAdama, type Child } from '../support/child';
import { freshStorage } from '../support/databases';
import { hostAdminClient } from '../../services/grpc/host-admin-client';
import { ViewWatcher } from '../support/host-rpc';
import { freePort } from '../support/ports';
import { testTls } from '../support/internal-pki';

const HOST_ID = 'drain-self-host';
const DOCS = 4;
const who = { agent: 'probe', authority: 'anonymous' };
type ChatView = { present: Record<string, number> };

/** The single JSON line a one-shot admin command prints on stdout. */
const jsonLine = (stdout: string): Record<string, unknown> => {
  const lines = stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!) as Record<string, unknown>;
};

describe('adama host drain-self against a real adama host', () => {
  let storage: Awaited<ReturnType<typeof freshStorage>>;
  let host: Child;
  let port: number;
  let address: string;

  beforeAll(async () => {
    storage = await freshStorage(4);
    await deploySpacesFromDir(storage.data, DEFAULT_SPACES_DIR);
    port = await freePort();
    address = `127.0.0.1:${port}`;
    host = await spawnAdama(['host', '--host-id', HOST_ID, '--port', String(port), '--database-url', storage.connectionString], 'host.ready', { ADAMA_LOG_LEVEL: 'info' });
  }, 60_000);

  afterAll(async () => {
    if (host && host.proc.exitCode === null && host.proc.signalCode === null) host.proc.kill('SIGKILL');
    await host?.exited;
    await storage?.close();
  });

  it('reports documents_owned, then drains them all and exits 0; the directory names the host no more', async () => {
    const conn = new HostConnection({ hostId: HOST_ID, address, log: silentLogger, maxBatch: 64, maxQueued: 1000, onDead: () => undefined, tls: testTls('proxy') });
    const admin = hostAdminClient(address, testTls('admin'));
    try {
      for (let i = 0; i < DOCS; i++) await conn.createDocument({ space: 'chat', key: `doc-${i}` }, who, {});
      // A live viewer too, so the drain has a stream to close and not only idle documents.
      const sink = new ViewWatcher();
      await conn.openStream({ space: 'chat', key: 'doc-0' }, who, { viewerState: {} }, sink);
      await sink.until((v) => (who.agent in (v as ChatView).present));

      const before = await admin.status();
      expect(before).toMatchObject({ host_id: HOST_ID, draining: false, documents_owned: DOCS, documents_owned_known: true });
      expect(before.documents_owned).toBe(await storage.data.countByHost(HOST_ID));

      // The SRE's view, without the hosts table.
      const status = await runAdama(['host', 'status', '--target', address]);
      expect(status.code).toBe(0);
      expect(jsonLine(status.stdout)).toMatchObject({ target: address, host_id: HOST_ID, documents_owned: DOCS, documents_owned_known: true });

      // Exactly the preStop hook: default target 127.0.0.1:<port>, no --database-url.
      const drain = await runAdama(['host', 'drain-self', '--port', String(port), '--timeout-ms', '30000']);
      expect({ code: drain.code, stderr: drain.stderr }).toEqual({ code: 0, stderr: '' });
      expect(jsonLine(drain.stdout)).toEqual({ target: address, reachable: true, documents_remaining: 0, drained: true });

      expect(await storage.data.countByHost(HOST_ID)).toBe(0);
      expect(await storage.data.listByHost(HOST_ID)).toEqual([]);
      expect(await admin.status()).toMatchObject({ draining: true, documents_loaded: 0, documents_owned: 0, documents_owned_known: true });
    } finally {
      conn.close();
      admin.close();
    }
  }, 90_000);

  it('exits 0 with nothing to drain once the host has stopped', async () => {
    host.proc.kill('SIGTERM');
    expect(await host.exited).toEqual({ code: 0, signal: null });
    const drain = await runAdama(['host', 'drain-self', '--port', String(port), '--timeout-ms', '5000']);
    expect(drain.code).toBe(0);
    expect(drain.stderr).toContain('nothing to drain');
    expect(jsonLine(drain.stdout)).toEqual({ target: address, reachable: false });
  }, 60_000);
});
