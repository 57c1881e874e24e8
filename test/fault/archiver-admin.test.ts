/**
 * The archiver's admin gRPC end to end, through the real processes: a real `adama archiver`
 * (child process, fs object store in a temp dir) and the `adama doc archive|inspect|restore` CLI
 * as child processes, against a fresh database (PostgreSQL with DATABASE_URL, else PGlite). The
 * archiver's own loop is kept away (--idle-ms of a day), so every move is the CLI's.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SPACES_DIR } from '../../services/cli/dev-cluster';
import { ARCHIVE_PREFIX } from '../../services/archiver/archive-format';
import { coldCounter, connect } from '../support/archive-scenarios';
import { FsObjectStore } from '../../services/archiver/fs-object-store';
import { freshStorage } from '../support/databases';
import { runAdama, spawnAdama, type Child } from '../support/child';

/** `adama <args>` to its exit, as an admin (the archiver requires mTLS: test/support/internal-pki.ts). */
const adama = (args: string[]) => runAdama(args, {}, 30_000);

describe('adama doc archive|inspect|restore against a real adama archiver', () => {
  let storage: Awaited<ReturnType<typeof freshStorage>>;
  let dir: string;
  let store: FsObjectStore;
  let archiver: Child;
  let address: string;
  const hosts: { shutdown(): Promise<void> }[] = [];
  beforeAll(async () => {
    storage = await freshStorage(4);
    await storage.data.deploySpace('counter', readFileSync(join(DEFAULT_SPACES_DIR, 'counter', 'index.js'), 'utf8'));
    dir = mkdtempSync(join(tmpdir(), 'adama-archiver-admin-'));
    store = new FsObjectStore(dir);
    archiver = await spawnAdama([
      'archiver', '--database-url', storage.connectionString, '--object-store', `fs:${dir}`, '--port', '0',
      '--idle-ms', '86400000', '--idle-poll-ms', '100', '--metrics-port', '0',
    ], 'archiver.ready', { ADAMA_LOG_LEVEL: 'info' });
    address = `127.0.0.1:${String(archiver.ready.port)}`;
  });
  afterAll(async () => {
    if (archiver && archiver.proc.exitCode === null && archiver.proc.signalCode === null) archiver.proc.kill('SIGTERM');
    await archiver?.exited;
    await Promise.all(hosts.map((h) => h.shutdown()));
    await storage?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('archives, inspects and restores one document; a client then sees identical state and a continuing seq', async () => {
    const { data } = storage;
    const ref = await coldCounter(data, 'admin-e2e', 5);
    const before = (await data.lookup(ref))!;
    expect(before).toMatchObject({ state: 'free', archiveRef: null });

    const archived = await adama(['doc', 'archive', 'counter/admin-e2e', '--archiver', address]);
    expect(archived).toMatchObject({ code: 0, stderr: '' });
    const reply = JSON.parse(archived.stdout) as { archived: boolean; object_key: string; bytes: number; head_seq: number };
    expect(reply).toMatchObject({ archived: true, head_seq: before.headSeq });
    expect(reply.bytes).toBeGreaterThan(0);
    expect(reply.object_key.startsWith(`${ARCHIVE_PREFIX}counter/admin-e2e/`)).toBe(true);
    expect(await store.list(`${ARCHIVE_PREFIX}counter/admin-e2e/`)).toEqual([reply.object_key]);
    expect(await data.lookup(ref)).toMatchObject({ state: 'archived', archiveRef: reply.object_key, headSeq: before.headSeq, host: null });
    expect(await data.hotRows(ref)).toEqual({ logRows: 0, snapshotSeq: null });

    const inspected = await adama(['doc', 'inspect', 'counter/admin-e2e', '--archiver', address]);
    expect(inspected.code).toBe(0);
    const inspection = JSON.parse(inspected.stdout) as Record<string, unknown>;
    expect(inspection).toMatchObject({
      directory: { state: 'archived', archiveRef: reply.object_key, headSeq: before.headSeq },
      hot: { logRows: 0, snapshotSeq: null },
      object: { key: reply.object_key, exists: true, verified: true, bytes: reply.bytes },
      counters: { archived: 1, restored: 0, failures: 0 },
    });

    // The archiver's Prometheus endpoint (--metrics-port 0) counted it.
    const metrics = await (await fetch(`http://127.0.0.1:${String(archiver.ready.metricsPort)}/metrics`)).text();
    expect(metrics).toMatch(/^adama_archiver_documents_archived_total 1$/m);
    expect(metrics).toMatch(new RegExp(`^adama_archiver_bytes_written_total ${reply.bytes}$`, 'm'));

    const restored = await adama(['doc', 'restore', 'counter/admin-e2e', '--archiver', address]);
    expect(restored).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(restored.stdout)).toMatchObject({ restored: true, head_seq: before.headSeq });
    // Back in the hot tables, free (no host), with the archived state as its snapshot.
    expect(await data.lookup(ref)).toMatchObject({ state: 'free', archiveRef: null, host: null, headSeq: before.headSeq });
    expect(await data.hotRows(ref)).toMatchObject({ snapshotSeq: before.headSeq });

    // A restore of a document that is not archived changes nothing and says so (exit 2).
    const again = await adama(['doc', 'restore', 'counter/admin-e2e', '--archiver', address]);
    expect(again.code).toBe(2);
    expect(JSON.parse(again.stdout)).toMatchObject({ restored: false, reason: 'it is free' });

    // No object store on this host: the document must not need one any more.
    const c = await connect(data, undefined, ref);
    hosts.push(c.host);
    expect(c.view).toEqual({ value: 5 });
    expect((await c.send(1, 'after-restore')).seq).toBeGreaterThan(before.headSeq);

    // A bound document is skipped (exit 2 with the reason), not archived.
    const skipped = await adama(['doc', 'archive', 'counter/admin-e2e', '--archiver', address]);
    expect(skipped.code).toBe(2);
    expect(JSON.parse(skipped.stdout)).toMatchObject({ archived: false, reason: 'it is bound' });
    expect(await data.lookup(ref)).toMatchObject({ state: 'bound', archiveRef: null });
  });

  it('reports a missing document and a bad target as errors (exit 1, message on stderr)', async () => {
    const missing = await adama(['doc', 'archive', 'counter/nope', '--archiver', address]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/DOCUMENT_NOT_FOUND \d+: counter\/nope does not exist/);
    const bad = await adama(['doc', 'inspect', 'no-slash', '--archiver', address]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/expected <space>\/<key>/);
  });
});
