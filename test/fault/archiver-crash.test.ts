/**
 * SIGKILL the real `adama archiver` between its steps (ADAMA_ARCHIVER_CRASH_AFTER, a test-only
 * hook): after the object write (orphan object, document still hot) and after the directory
 * update (archived, hot rows not yet trimmed). A rerun must leave exactly one consistent copy,
 * and a client connect must see every change.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SPACES_DIR } from '../../services/cli/dev-cluster';
import { ARCHIVE_PREFIX } from '../../services/archiver/archive-format';
import { coldCounter, connect } from '../support/archive-scenarios';
import { FsObjectStore } from '../../services/archiver/fs-object-store';
import type { DocRef } from '../../services/shared/doc-ref';
import { freshStorage } from '../support/databases';
import { spawnAdama, type Child } from '../support/child';

/** The archiver's own progress log: `totals` are cumulative over its passes (the top level is one pass's figures). */
const pass = (want: { archived?: number; gcDeleted?: number; trimmed?: number }) => (e: Record<string, unknown>) =>
  e.event === 'archiver.pass' && Object.entries(want).every(([k, n]) => Number((e.totals as Record<string, unknown> | undefined)?.[k]) >= n);

describe('archiver crashes (SIGKILL) between its steps', () => {
  let storage: Awaited<ReturnType<typeof freshStorage>>;
  let dir: string;
  let store: FsObjectStore;
  const children: Child[] = [];
  const hosts: { shutdown(): Promise<void> }[] = [];
  beforeAll(async () => {
    storage = await freshStorage(4);
    await storage.data.deploySpace('counter', readFileSync(join(DEFAULT_SPACES_DIR, 'counter', 'index.js'), 'utf8'));
    dir = mkdtempSync(join(tmpdir(), 'adama-archiver-crash-'));
    store = new FsObjectStore(dir);
  });
  afterAll(async () => {
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    await Promise.all(hosts.map((h) => h.shutdown()));
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const archiver = async (crashAfter?: string): Promise<Child> => {
    const child = await spawnAdama([
      'archiver', '--database-url', storage.connectionString, '--object-store', `fs:${dir}`, '--port', '0',
      '--idle-ms', '0', '--idle-poll-ms', '100', '--concurrency', '1', '--claim-lease-ms', '1000',
      '--gc-grace-ms', '1500', '--gc-interval-ms', '200',
    ], 'archiver.ready', { ADAMA_ARCHIVER_CRASH_AFTER: crashAfter ?? '', ADAMA_LOG_LEVEL: 'info' });
    children.push(child);
    return child;
  };
  const objectsOf = (ref: DocRef) => store.list(`${ARCHIVE_PREFIX}${ref.space}/${ref.key}/`);

  it('after the object write: the document stays hot, a rerun archives it once and collects the orphan', async () => {
    const ref = await coldCounter(storage.data, 'crash-object', 4);
    const head = (await storage.data.lookup(ref))!.headSeq;
    const first = await archiver('object-write');
    expect((await first.exited).signal).toBe('SIGKILL');
    expect(await objectsOf(ref)).toHaveLength(1);
    expect(await storage.data.lookup(ref)).toMatchObject({ state: 'free', archiveRef: null, headSeq: head });
    expect((await storage.data.hotRows(ref)).logRows).toBeGreaterThan(0);

    const rerun = await archiver();
    // The rerun archives the document, then collects the crashed run's orphan once its grace passed.
    await rerun.waitForLog(pass({ archived: 1, gcDeleted: 1 }));
    const row = (await storage.data.lookup(ref))!;
    expect(row).toMatchObject({ state: 'archived', headSeq: head });
    expect(await objectsOf(ref)).toEqual([row.archiveRef]);
    expect(await storage.data.hotRows(ref)).toEqual({ logRows: 0, snapshotSeq: null });
    rerun.proc.kill('SIGTERM');
    expect((await rerun.exited).code).toBe(0);

    const c = await connect(storage.data, store, ref);
    expect(c.view).toEqual({ value: 4 });
    expect((await c.send(1, 'after')).seq).toBeGreaterThan(head);
    // Kept bound until the end, so the next test's crashing archiver can only pick its own document.
    hosts.push(c.host);
  });

  it('after the directory update: the document is archived with hot rows left, a rerun trims them and the restore is intact', async () => {
    const ref = await coldCounter(storage.data, 'crash-update', 6);
    const head = (await storage.data.lookup(ref))!.headSeq;
    const first = await archiver('directory-update');
    expect((await first.exited).signal).toBe('SIGKILL');
    const row = await storage.data.lookup(ref);
    expect(row).toMatchObject({ state: 'archived', headSeq: head });
    expect((await storage.data.hotRows(ref)).logRows).toBeGreaterThan(0);
    expect(await objectsOf(ref)).toEqual([row!.archiveRef]);

    const rerun = await archiver();
    await rerun.waitForLog(pass({ trimmed: 1 }));
    expect((await storage.data.hotRows(ref)).logRows).toBe(0);
    expect(await objectsOf(ref)).toEqual([row!.archiveRef]);
    rerun.proc.kill('SIGTERM');
    await rerun.exited;

    const c = await connect(storage.data, store, ref);
    expect(c.view).toEqual({ value: 6 });
    const { seq } = await c.send(1, 'after');
    expect(seq).toBeGreaterThan(head);
    expect((await storage.data.lookup(ref))!.headSeq).toBe(seq);
    hosts.push(c.host);
  });
});
