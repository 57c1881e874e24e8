/**
 * Issue 18.11: the garbage collector must never delete an object that is then committed. The
 * interleaving from the issue, on a real PostgreSQL and the real filesystem store whose put
 * answers are held back (DelayingStore): lease 3 s, grace 3 s, an upload whose answer takes 5 s,
 * and a second ArchiveNow 2.5 s after the first. The archiver runs on a fake clock (object ages,
 * GC timing); the claim lease is the database's, and never runs out during the test, which is the
 * worst case: the first claim is still live when the collector reaches its object.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SPACES_DIR } from '../cli/dev-cluster';
import { FakeClock } from '../shared/clock';
import { silentLogger } from '../shared/log';
import { coldCounter, connect } from '../../test/support/archive-scenarios';
import { freshStorage, postgresUrl } from '../../test/support/databases';
import { DelayingStore } from '../../test/support/delaying-store';
import { describeWhen } from '../../test/support/prerequisite';
import { ARCHIVE_PREFIX } from './archive-format';
import { Archiver } from './archiver';
import { ArchiverLoop } from './archiver-loop';
import { resolveArchiverConfig } from './archiver-plan';
import { FsObjectStore } from './fs-object-store';

/** The key of the n-th upload once its bytes are stored; fails at once if the archive ended first. */
const uploaded = (store: DelayingStore, n: number, archive: Promise<unknown>): Promise<string> =>
  Promise.race([store.writtenNth(n), archive.then((o) => { throw new Error(`ArchiveNow ended before its upload: ${JSON.stringify(o)}`); })]);

describeWhen(postgresUrl() !== undefined, 'PostgreSQL (DATABASE_URL)')('archive claims are fenced on a per-claim token (issue 18.11)', () => {
  let storage: Awaited<ReturnType<typeof freshStorage>>;
  const dirs: string[] = [];
  beforeAll(async () => {
    storage = await freshStorage();
    await storage.data.deploySpace('counter', readFileSync(join(DEFAULT_SPACES_DIR, 'counter', 'index.js'), 'utf8'));
  });
  afterAll(async () => {
    await storage?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const setup = (): { clock: FakeClock; store: DelayingStore; archiver: Archiver; loop: ArchiverLoop } => {
    const clock = new FakeClock(Date.now());
    const dir = mkdtempSync(join(tmpdir(), 'adama-archive-fence-'));
    dirs.push(dir);
    const store = new DelayingStore(new FsObjectStore(dir));
    // idleMs of a day: the loop's own claims never pick the document; every move is ArchiveNow's.
    const config = resolveArchiverConfig({ idleMs: 86_400_000, claimLeaseMs: 3_000, gcGraceMs: 3_000, gcIntervalMs: 1_000 });
    const archiver = new Archiver({ data: storage.data, store, clock, log: silentLogger, workerId: 'one-archiver', config });
    const loop = new ArchiverLoop({ archiver, data: storage.data, clock, log: silentLogger, workerId: 'one-archiver', config });
    return { clock, store, archiver, loop };
  };

  it('two ArchiveNow 2.5 s apart with a 5 s upload answer: no committed object is ever deleted and the document stays readable', async () => {
    const { data } = storage;
    const ref = await coldCounter(data, 'double-archive', 4);
    const { clock, store, archiver, loop } = setup();

    // t = 0: the first ArchiveNow claims and uploads; the bytes are in the store, the answer is held.
    const first = archiver.archiveNow(ref);
    const firstKey = await uploaded(store, 0, first);

    // t = 2.5 s: the same archiver is asked again while the first claim is live. It must not
    // re-take or extend that claim (if it did, its own upload would be held too: race for it).
    clock.advance(2_500);
    const second = archiver.archiveNow(ref);
    const secondOutcome = await Promise.race([second, store.writtenNth(1).then(() => 'uploaded its own object' as const)]);

    // t = 3.5 s: the first object is past the grace; a pass collects garbage.
    clock.advance(1_000);
    await loop.runPass();

    // t = 5 s: the first upload finally answers.
    clock.advance(1_500);
    store.answerAll();
    await Promise.allSettled([first, second]);

    // Whatever the directory says now, what it references exists and was never collected.
    const row = (await data.lookup(ref))!;
    if (row.archiveRef !== null) {
      expect(store.deleted).not.toContain(row.archiveRef);
      expect(await store.get(row.archiveRef)).not.toBeNull();
    }
    expect(secondOutcome).toMatchObject({ kind: 'skipped' });
    expect(await first).toMatchObject({ kind: 'skipped' });
    expect(row).toMatchObject({ state: 'free', archiveRef: null });
    expect(store.deleted).toContain(firstKey);

    const c = await connect(data, store, ref);
    expect(c.view).toEqual({ value: 4 });
    await c.host.shutdown();

    // The fence does not stop honest work: the next ArchiveNow archives it, and later passes keep
    // the object it committed however old it gets.
    const again = await archiver.archiveNow(ref);
    expect(again).toMatchObject({ kind: 'archived' });
    clock.advance(10_000);
    await loop.runPass();
    const archivedKey = (again as { objectKey: string }).objectKey;
    expect(await store.list(`${ARCHIVE_PREFIX}counter/double-archive/`)).toEqual([archivedKey]);
    const restored = await connect(data, store, ref);
    expect(restored.view).toEqual({ value: 4 });
    await restored.host.shutdown();
  });

  it('an upload that answers before the collector runs commits, and the collector keeps its object', async () => {
    const { data } = storage;
    const ref = await coldCounter(data, 'answered-in-time', 2);
    const { clock, store, archiver, loop } = setup();
    const first = archiver.archiveNow(ref);
    await uploaded(store, 0, first);
    clock.advance(2_500);
    store.answerAll();
    const out = await first;
    expect(out).toMatchObject({ kind: 'archived' });
    clock.advance(5_000);
    await loop.runPass();
    const row = (await data.lookup(ref))!;
    expect(row).toMatchObject({ state: 'archived', archiveRef: (out as { objectKey: string }).objectKey });
    expect(store.deleted).toEqual([]);
    const c = await connect(data, store, ref);
    expect(c.view).toEqual({ value: 2 });
    await c.host.shutdown();
  });
});
