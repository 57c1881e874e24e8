/**
 * Garbage collection that survives its own failures (issue 18.13) and collects what a SIGKILL
 * left behind in the filesystem store (issue 18.12). Real database, real filesystem store; the
 * failing store is a test-only wrapper whose delete refuses for one document, as a store does for
 * a key it has a bad ACL or a broken disk sector for.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Client } from 'pg';
import { DEFAULT_SPACES_DIR } from '../cli/dev-cluster';
import { FakeClock } from '../shared/clock';
import { AdamaError, E } from '../shared/errors';
import { silentLogger, type Logger } from '../shared/log';
import { startTelemetry, type Telemetry } from '../shared/telemetry';
import { coldCounter } from '../../test/support/archive-scenarios';
import { freshStorage } from '../../test/support/databases';
import { ARCHIVE_PREFIX, archiveKey } from './archive-format';
import { Archiver } from './archiver';
import { ArchiverLoop } from './archiver-loop';
import { resolveArchiverConfig } from './archiver-plan';
import { FsObjectStore } from './fs-object-store';
import type { ObjectStore } from './object-store';

function captureLog(): { log: Logger; events: Record<string, unknown>[] } {
  const events: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug', messageKey: 'event' }, { write: (line: string) => { events.push(JSON.parse(line) as Record<string, unknown>); } });
  return { log, events };
}

describe('archiver garbage collection', () => {
  let storage: Awaited<ReturnType<typeof freshStorage>>;
  let telemetry: Telemetry;
  const dirs: string[] = [];
  beforeAll(async () => {
    storage = await freshStorage();
    await storage.data.deploySpace('counter', readFileSync(join(DEFAULT_SPACES_DIR, 'counter', 'index.js'), 'utf8'));
    telemetry = await startTelemetry({ service: 'adama-archiver', instance: 'gc-test', metricsPort: 0, log: silentLogger });
  });
  afterAll(async () => {
    await telemetry?.shutdown();
    await storage?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const newDir = (): string => { const d = mkdtempSync(join(tmpdir(), 'adama-archiver-gc-')); dirs.push(d); return d; };

  it('a failing delete is isolated to its object: the pass goes on, counts and logs it with its code, and backs that document off exponentially', async () => {
    const { data } = storage;
    const real = new FsObjectStore(newDir());
    const deleteAttempts: string[] = [];
    const failing: ObjectStore = {
      describe: () => real.describe(), get: (k) => real.get(k), list: (p) => real.list(p), put: (k, b) => real.put(k, b),
      delete: async (k) => {
        deleteAttempts.push(k);
        if (k.startsWith(`${ARCHIVE_PREFIX}counter/stuck/`)) throw new AdamaError(E.OBJECT_STORE_UNAVAILABLE, 'the object store could not be reached');
        await real.delete(k);
      },
    };
    const clock = new FakeClock(Date.now());
    const stuck = archiveKey({ space: 'counter', key: 'stuck' }, 1, clock.nowMs() - 7_200_000, 'orphan1');
    const other = archiveKey({ space: 'counter', key: 'other' }, 1, clock.nowMs() - 7_200_000, 'orphan2');
    await real.put(stuck, Buffer.from('{}'));
    await real.put(other, Buffer.from('{}'));
    const cold = await coldCounter(data, 'gc-cold', 2);

    const { log, events } = captureLog();
    const config = resolveArchiverConfig({ idleMs: 0, claimLeaseMs: 30_000, gcGraceMs: 60_000, gcIntervalMs: 1_000, backoffMaxMs: 4_000 });
    const archiver = new Archiver({ data, store: failing, clock, log, workerId: 'gc-archiver', config, metrics: telemetry.metrics });
    const loop = new ArchiverLoop({ archiver, data, clock, log, workerId: 'gc-archiver', config });

    const first = await loop.runPass();
    // The failure did not abort the pass: the other orphan went, and the cold document was archived.
    expect(first).toMatchObject({ gcDeleted: 1, gcFailed: 1, archived: 1 });
    expect(await real.list(ARCHIVE_PREFIX)).toEqual(expect.arrayContaining([stuck]));
    expect(await real.list(ARCHIVE_PREFIX)).not.toContain(other);
    expect(await data.lookup(cold)).toMatchObject({ state: 'archived' });
    const failed = events.filter((e) => e.event === 'archiver.gc_delete_failed');
    expect(failed).toEqual([expect.objectContaining({ space: 'counter', key: 'stuck', ref: stuck, code: E.OBJECT_STORE_UNAVAILABLE.code, retryInMs: 1_000 })]);
    const metrics = await (await fetch(`http://127.0.0.1:${telemetry.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^adama_archiver_gc_failures_total 1$/m);

    // Backoff per document: 1 s, then 2 s, then 4 s (the cap), not every GC interval.
    const attemptsOnStuck = (): number => deleteAttempts.filter((k) => k === stuck).length;
    const gcAt = async (advanceMs: number): Promise<number> => { clock.advance(advanceMs); await loop.runPass(); return attemptsOnStuck(); };
    expect(await gcAt(1_000)).toBe(2);  // t=1 s: first wait (1 s) over, retried and failed again
    expect(await gcAt(1_000)).toBe(2);  // t=2 s: waiting 2 s
    expect(await gcAt(1_000)).toBe(3);  // t=3 s: retried, now waits 4 s
    for (let i = 0; i < 3; i++) expect(await gcAt(1_000)).toBe(3);
    expect(await gcAt(1_000)).toBe(4);  // t=7 s
    expect(events.filter((e) => e.event === 'archiver.gc_delete_failed').map((e) => e.retryInMs)).toEqual([1_000, 2_000, 4_000, 4_000]);
  });

  it('collects a filesystem upload left half-done by a SIGKILL (its temp file) once the grace has passed, and keeps a young one', async () => {
    const dir = newDir();
    const store = new FsObjectStore(dir);
    const docDir = join(dir, 'archive', 'counter', 'killed');
    mkdirSync(docDir, { recursive: true });
    const stale = join(docDir, `3-${Date.now() - 7_200_000}-token1.json.tmp-0badf00d`);
    const young = join(docDir, `3-${Date.now()}-token2.json.tmp-0000beef`);
    writeFileSync(stale, 'half an object');
    writeFileSync(young, 'an upload in flight');
    const old = new Date(Date.now() - 7_200_000);
    utimesSync(stale, old, old);
    const archiver = new Archiver({
      data: storage.data, store, clock: new FakeClock(Date.now()), log: silentLogger, workerId: 'tmp-archiver',
      config: resolveArchiverConfig({ claimLeaseMs: 30_000, gcGraceMs: 60_000 }),
    });
    const out = await archiver.collectGarbage();
    expect(out).toMatchObject({ incompleteRemoved: 1 });
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(young)).toBe(true);
    expect(await store.list(ARCHIVE_PREFIX)).toEqual([]);
  });

  it('the archiver.pass log line reports the pass\'s own figures, with running totals under totals (issue 18.14)', async () => {
    const { data } = storage;
    const store = new FsObjectStore(newDir());
    const { log, events } = captureLog();
    const clock = new FakeClock(Date.now());
    const config = resolveArchiverConfig({ idleMs: 0, claimLeaseMs: 30_000, gcGraceMs: 60_000, idlePollMs: 1_000 });
    const archiver = new Archiver({ data, store, clock, log, workerId: 'pass-archiver', config });
    const loop = new ArchiverLoop({ archiver, data, clock, log, workerId: 'pass-archiver', config });
    await coldCounter(data, 'pass-a', 1);
    loop.start();
    const passLine = async (n: number): Promise<Record<string, unknown>> => {
      for (;;) {
        const lines = events.filter((e) => e.event === 'archiver.pass' && Number(e.archived) > 0);
        if (lines.length >= n) return lines[n - 1]!;
        await new Promise((r) => setImmediate(r));
        clock.advance(1_000);
      }
    };
    const first = await passLine(1);
    await coldCounter(data, 'pass-b', 1);
    const second = await passLine(2);
    await loop.stop();
    expect(first).toMatchObject({ archived: 1, totals: { archived: 1 } });
    expect(second).toMatchObject({ archived: 1, claimed: 1, totals: { archived: 2 } });
  });

  it('a document whose archive fails is backed off: its claim is held one lease, then two, not retried every lease (issue 18.13)', async () => {
    const { data } = storage;
    const real = new FsObjectStore(newDir());
    const broken: ObjectStore = {
      describe: () => real.describe(), get: (k) => real.get(k), list: (p) => real.list(p), delete: (k) => real.delete(k),
      put: async () => { throw new AdamaError(E.OBJECT_STORE_UNAVAILABLE, 'the object store failed to put an object'); },
    };
    const ref = await coldCounter(data, 'put-fails', 1);
    const archiver = new Archiver({
      data, store: broken, clock: new FakeClock(Date.now()), log: silentLogger, workerId: 'backoff-archiver',
      config: resolveArchiverConfig({ claimLeaseMs: 60_000, gcGraceMs: 60_000, backoffMaxMs: 600_000 }),
    });
    const db = new Client({ connectionString: storage.connectionString });
    await db.connect();
    try {
      /** How long the document's claim still holds (database clock), and its token. */
      const claim = async (): Promise<{ heldMs: number; token: string }> => {
        const r = await db.query<{ held_ms: number; token: string }>(
          `SELECT (extract(epoch FROM archive_claim_until - now()) * 1000)::float8 AS held_ms, archive_claim_token AS token FROM directory WHERE space = $1 AND key = $2`, [ref.space, ref.key]);
        return { heldMs: r.rows[0]!.held_ms, token: r.rows[0]!.token };
      };
      await expect(archiver.archiveNow(ref)).rejects.toMatchObject({ entry: E.OBJECT_STORE_UNAVAILABLE });
      const first = await claim();
      expect(first.heldMs).toBeGreaterThan(50_000);
      expect(first.heldMs).toBeLessThanOrEqual(60_000);
      expect(await archiver.archiveNow(ref)).toMatchObject({ kind: 'skipped' });
      // An operator (or the collector) ends the hold; the next failure waits twice as long.
      await data.revokeClaims([{ ...ref, claimToken: first.token }]);
      await expect(archiver.archiveNow(ref)).rejects.toMatchObject({ entry: E.OBJECT_STORE_UNAVAILABLE });
      expect((await claim()).heldMs).toBeGreaterThan(110_000);
    } finally {
      await db.end();
    }
  });
});
