/**
 * @module archive-scenarios
 * Test-only: the archive → restore scenarios every object store must pass, run against the
 * filesystem store (archiver.test.ts) and a real S3 API (s3-archive.test.ts). Real hosts
 * (in-process DocumentHost) on a real database (PostgreSQL with DATABASE_URL, else PGlite).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DocumentHost } from '../../services/adama-host/document-host';
import type { StreamSink } from '../../services/protocol/host-api';
import { DEFAULT_SPACES_DIR } from '../../services/cli/dev-cluster';
import type { Delta } from '../../services/protocol/messages';
import { createIsolatedSandbox } from '../../services/runtime/isolated-sandbox';
import { systemClock } from '../../services/shared/clock';
import { hostDefaults, resolveConfig } from '../../services/shared/config';
import { E, toErrorBody, type ErrorBody } from '../../services/shared/errors';
import { silentLogger } from '../../services/shared/log';
import type { AdamaMetrics } from '../../services/shared/telemetry';
import type { DataService } from '../../services/storage/data-service';
import type { DocRef } from '../../services/shared/doc-ref';
import { freshStorage } from './databases';
import { ARCHIVE_PREFIX, archiveKey } from '../../services/archiver/archive-format';
import { Archiver, type ArchiverFaults } from '../../services/archiver/archiver';
import { resolveArchiverConfig } from '../../services/archiver/archiver-plan';
import type { ObjectStore } from '../../services/archiver/object-store';

const who = { agent: 'tester', authority: 'anonymous' };
let hostSeq = 0;

export function newHost(data: DataService, store: ObjectStore | undefined, metrics?: AdamaMetrics): DocumentHost {
  hostSeq += 1;
  return new DocumentHost({ hostId: `h-${hostSeq}`, data, sandboxFactory: createIsolatedSandbox, clock: systemClock, log: silentLogger, config: resolveConfig(hostDefaults, {}, {}), objectStore: store, metrics });
}

export function newArchiver(data: DataService, store: ObjectStore, faults?: ArchiverFaults, metrics?: AdamaMetrics): Archiver {
  return new Archiver({
    data, store, clock: systemClock, log: silentLogger, workerId: 'test-archiver', faults, metrics,
    config: resolveArchiverConfig({ idleMs: 0, claimLeaseMs: 30_000, gcGraceMs: 30_000 }),
  });
}

export function sink(): StreamSink & { deltas: Delta[]; closed: Promise<ErrorBody> } {
  let onClosed!: (e: ErrorBody) => void;
  const closed = new Promise<ErrorBody>((r) => (onClosed = r));
  const deltas: Delta[] = [];
  return { deltas, closed, onDelta: (d) => deltas.push(d), onClosed };
}

/** A counter at `value` after `sends` adds, released by its host (free, head = 1 + sends + connect records). */
export async function coldCounter(data: DataService, key: string, sends: number): Promise<DocRef> {
  const ref = { space: 'counter', key };
  const h = newHost(data, undefined);
  await h.createDocument(ref, who, {});
  const s = await h.openStream(ref, who, { viewerState: {} }, sink());
  for (let i = 0; i < sends; i++) await s.send('add', { by: 1 }, `d-${key}-${i}`);
  await h.shutdown();
  return ref;
}

/** Connects with a fresh host; returns the first view and the stream. */
export async function connect(data: DataService, store: ObjectStore | undefined, ref: DocRef, metrics?: AdamaMetrics): Promise<{ host: DocumentHost; view: unknown; send(by: number, dedupe: string): Promise<{ seq: number }> }> {
  const host = newHost(data, store, metrics);
  const s = sink();
  const stream = await host.openStream(ref, who, { viewerState: {} }, s);
  return { host, view: s.deltas[0]?.data, send: (by, dedupe) => stream.send('add', { by }, dedupe) };
}

export function runArchiveScenarios(name: string, openStore: () => Promise<ObjectStore & { close?(): void }>): void {
  describe(`archive and restore through ${name}`, () => {
    let storage: Awaited<ReturnType<typeof freshStorage>>;
    let data: DataService;
    let store: ObjectStore & { close?(): void };
    beforeAll(async () => {
      storage = await freshStorage();
      data = storage.data;
      await data.deploySpace('counter', readFileSync(join(DEFAULT_SPACES_DIR, 'counter', 'index.js'), 'utf8'));
      store = await openStore();
    });
    afterAll(async () => { store?.close?.(); await storage?.close(); });

    it('archives a cold document (hot rows gone, object present) and a connect restores it with identical state and a continuing seq', async () => {
      const ref = await coldCounter(data, 'roundtrip', 5);
      const before = await data.lookup(ref);
      const out = await newArchiver(data, store).archiveNow(ref);
      expect(out).toMatchObject({ kind: 'archived', headSeq: before!.headSeq });
      const objectKey = (out as { objectKey: string }).objectKey;
      expect(await data.hotRows(ref)).toEqual({ logRows: 0, snapshotSeq: null });
      expect(await data.lookup(ref)).toMatchObject({ state: 'archived', archiveRef: objectKey, headSeq: before!.headSeq });
      expect(await store.list(`${ARCHIVE_PREFIX}counter/roundtrip/`)).toEqual([objectKey]);

      const c = await connect(data, store, ref);
      expect(c.view).toEqual({ value: 5 });
      const { seq } = await c.send(10, 'after-restore');
      expect(seq).toBeGreaterThan(before!.headSeq);
      // A retried send from before the archive is still recognised (dedupe meta travelled).
      expect(await c.send(1, 'd-roundtrip-4')).toEqual({ seq: expect.any(Number) });
      await c.host.shutdown();
      expect(await data.lookup(ref)).toMatchObject({ state: 'free', archiveRef: null });

      // The restore wrote a snapshot: the object is garbage now and later loads do not need it.
      await store.delete(objectKey);
      const again = await connect(data, store, ref);
      expect(again.view).toEqual({ value: 15 });
      await again.host.shutdown();
    });

    it('skips a document a host binds while its object is being written: nothing trimmed, the host keeps its state', async () => {
      const ref = await coldCounter(data, 'race', 3);
      let racer: Awaited<ReturnType<typeof connect>> | undefined;
      // A store whose upload lets a host bind the document before the archiver's guarded update.
      const racing: ObjectStore = {
        describe: () => store.describe(), list: (p) => store.list(p), get: (k) => store.get(k), delete: (k) => store.delete(k),
        put: async (k, b) => { await store.put(k, b); racer = await connect(data, store, ref); },
      };
      const out = await newArchiver(data, racing).archiveNow(ref);
      expect(out).toEqual({ kind: 'skipped', reason: 'the directory row changed since the claim' });
      expect(await data.lookup(ref)).toMatchObject({ state: 'bound', archiveRef: null });
      expect((await data.hotRows(ref)).logRows).toBeGreaterThan(0);
      expect(await store.list(`${ARCHIVE_PREFIX}counter/race/`)).toEqual([]);
      expect(racer!.view).toEqual({ value: 3 });
      await racer!.send(1, 'racer-1');
      await racer!.host.shutdown();
      const reload = await connect(data, store, ref);
      expect(reload.view).toEqual({ value: 4 });
      await reload.host.shutdown();
    });

    it('a missing object fails the connect with ARCHIVE_MISSING and leaves the row archived, so a returned object still restores', async () => {
      const ref = await coldCounter(data, 'missing', 2);
      const out = await newArchiver(data, store).archiveNow(ref) as { objectKey: string };
      const body = (await store.get(out.objectKey))!;
      await store.delete(out.objectKey);
      await expect(connect(data, store, ref)).rejects.toMatchObject({ entry: E.ARCHIVE_MISSING });
      expect(await data.lookup(ref)).toMatchObject({ state: 'archived', host: null, archiveRef: out.objectKey });
      await store.put(out.objectKey, body);
      const c = await connect(data, store, ref);
      expect(c.view).toEqual({ value: 2 });
      await c.host.shutdown();
    });

    it('a corrupted object fails the connect with ARCHIVE_CORRUPT, never an empty document', async () => {
      const ref = await coldCounter(data, 'corrupt', 2);
      const out = await newArchiver(data, store).archiveNow(ref) as { objectKey: string };
      const body = (await store.get(out.objectKey))!.toString().replace('"value":2', '"value":9');
      await store.put(out.objectKey, Buffer.from(body));
      await expect(connect(data, store, ref)).rejects.toMatchObject({ entry: E.ARCHIVE_CORRUPT });
      await store.put(out.objectKey, Buffer.from('not json'));
      await expect(connect(data, store, ref)).rejects.toMatchObject({ entry: E.ARCHIVE_CORRUPT });
      expect(await data.lookup(ref)).toMatchObject({ state: 'archived', archiveRef: out.objectKey });
      expect((await newArchiver(data, store).inspect(ref)).object).toMatchObject({ exists: true, verified: false });
    });

    it('inspect reports the real size of a corrupt, non-empty object (issue 18.14)', async () => {
      const ref = await coldCounter(data, 'corrupt-size', 1);
      const out = await newArchiver(data, store).archiveNow(ref) as { objectKey: string };
      await store.put(out.objectKey, Buffer.from('twelve bytes'));
      expect((await newArchiver(data, store).inspect(ref)).object).toMatchObject({ exists: true, verified: false, bytes: 12 });
    });

    it('a failed restore tells the client its code and a neutral message; the object key and the store stay in the log (issue 18.14)', async () => {
      const ref = await coldCounter(data, 'neutral', 1);
      const out = await newArchiver(data, store).archiveNow(ref) as { objectKey: string };
      const body = (await store.get(out.objectKey))!;
      const internals = [out.objectKey, store.describe(), 'archive/'];
      const clientMessage = async (s: ObjectStore | undefined): Promise<ErrorBody> => {
        const err = await connect(data, s, ref).then(() => { throw new Error('connect succeeded'); }, (e: unknown) => e);
        return toErrorBody(err);
      };
      await store.delete(out.objectKey);
      const missing = await clientMessage(store);
      expect(missing.code).toBe(E.ARCHIVE_MISSING.code);
      await store.put(out.objectKey, Buffer.from('{"format":"adama-archive/1"}'));
      const corrupt = await clientMessage(store);
      expect(corrupt.code).toBe(E.ARCHIVE_CORRUPT.code);
      const noStore = await clientMessage(undefined);
      expect(noStore.code).toBe(E.OBJECT_STORE_UNAVAILABLE.code);
      for (const m of [missing, corrupt, noStore]) for (const secret of internals) expect(m.message).not.toContain(secret);
      await store.put(out.objectKey, body);
    });

    it('a host without an object store refuses an archived document with a retryable code', async () => {
      const ref = await coldCounter(data, 'nostore', 1);
      await newArchiver(data, store).archiveNow(ref);
      await expect(connect(data, undefined, ref)).rejects.toMatchObject({ entry: E.OBJECT_STORE_UNAVAILABLE });
      const c = await connect(data, store, ref);
      expect(c.view).toEqual({ value: 1 });
      await c.host.shutdown();
    });

    it('finishes an interrupted trim, and a host binding before the trim restores from the object', async () => {
      const crash = (): never => { throw new Error('crash after directory update'); };
      const a = await coldCounter(data, 'untrimmed-a', 2);
      const b = await coldCounter(data, 'untrimmed-b', 3);
      await expect(newArchiver(data, store, { afterDirectoryUpdate: crash }).archiveNow(a)).rejects.toThrow('crash');
      await expect(newArchiver(data, store, { afterDirectoryUpdate: crash }).archiveNow(b)).rejects.toThrow('crash');
      expect((await data.hotRows(a)).logRows).toBeGreaterThan(0);
      const hostB = await connect(data, store, b);
      expect(hostB.view).toEqual({ value: 3 });
      expect(await newArchiver(data, store).finishTrims(1000)).toBeGreaterThanOrEqual(1);
      expect(await data.hotRows(a)).toEqual({ logRows: 0, snapshotSeq: null });
      expect((await data.hotRows(b)).snapshotSeq).not.toBeNull();
      await hostB.send(1, 'b-after');
      await hostB.host.shutdown();
      const reloadB = await connect(data, store, b);
      expect(reloadB.view).toEqual({ value: 4 });
      await reloadB.host.shutdown();
      const reloadA = await connect(data, store, a);
      expect(reloadA.view).toEqual({ value: 2 });
      await reloadA.host.shutdown();
    });

    it('RestoreNow brings a document back to the hot tables as free; garbage collection keeps only referenced objects', async () => {
      const ref = await coldCounter(data, 'admin', 4);
      const archiver = newArchiver(data, store);
      const out = await archiver.archiveNow(ref) as { objectKey: string; headSeq: number };
      const orphan = archiveKey(ref, out.headSeq, Date.now() - 3_600_000, 'orphan');
      await store.put(orphan, Buffer.from('{}'));
      const young = archiveKey(ref, out.headSeq, Date.now(), 'young');
      await store.put(young, Buffer.from('{}'));
      await archiver.collectGarbage();
      expect(await store.list(`${ARCHIVE_PREFIX}counter/admin/`)).toEqual([out.objectKey, young].sort());
      expect(await archiver.restoreNow(ref)).toEqual({ restored: true, headSeq: out.headSeq });
      expect(await data.lookup(ref)).toMatchObject({ state: 'free', archiveRef: null, headSeq: out.headSeq });
      expect(await archiver.restoreNow(ref)).toMatchObject({ restored: false });
      const c = await connect(data, undefined, ref);
      expect(c.view).toEqual({ value: 4 });
      await c.host.shutdown();
      expect(archiver.counters).toMatchObject({ archived: 1, restored: 1 });
    });
  });
}
