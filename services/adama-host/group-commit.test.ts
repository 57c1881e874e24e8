/**
 * GroupCommitter against a real database (PGlite, or PostgreSQL with DATABASE_URL). Tests that
 * need to hold a flush open wrap the real DataService in `GatedData`, which forwards each
 * appendMany only when the test releases it.
 */
import { Pool } from 'pg';
import { freshStorage } from '../../test/support/databases';
import { AdamaError, E, isAdamaError } from '../shared/errors';
import type { AppendItem, AppendResult, DataService } from '../storage/data-service';
import type { DocRef } from '../shared/doc-ref';
import { rec } from '../storage/data-service.contract-fixtures';
import { SqlDataService } from '../storage/sql-data-service';
import { GroupCommitter } from './group-commit';

const HOST = 'gc-host';

/** One turn of the event loop: lets the committer start any flush it is going to start (no timing involved). */
const turn = (): Promise<void> => new Promise((resolve) => { setImmediate(resolve); });

interface HeldCall { items: AppendItem[]; release(): void; fail(err: unknown): void }

/** Holds every appendMany until the test releases it (forwarded to the real service) or fails it. */
class GatedData implements Pick<DataService, 'appendMany'> {
  readonly calls: HeldCall[] = [];
  private waiters: { n: number; resolve(): void }[] = [];
  constructor(private readonly real: DataService) {}

  appendMany(items: readonly AppendItem[]): Promise<AppendResult[]> {
    return new Promise((resolve, reject) => {
      this.calls.push({ items: [...items], release: () => { this.real.appendMany(items).then(resolve, reject); }, fail: reject });
      this.waiters = this.waiters.filter((w) => (this.calls.length >= w.n ? (w.resolve(), false) : true));
    });
  }

  /** Resolves once the committer has issued `n` appendMany calls in total. */
  called(n: number): Promise<HeldCall> {
    const call = (): HeldCall => this.calls[n - 1] as HeldCall;
    if (this.calls.length >= n) return Promise.resolve(call());
    return new Promise((resolve) => { this.waiters.push({ n, resolve: () => resolve(call()) }); });
  }

  keys(): string[][] { return this.calls.map((c) => c.items.map((i) => i.ref.key)); }
}

describe('GroupCommitter', () => {
  let storage: Awaited<ReturnType<typeof freshStorage>>;
  let data: SqlDataService;
  let n = 0;
  /** Fresh documents, created bound to HOST at epoch 1, head 1. */
  const docs = async (count: number): Promise<DocRef[]> => {
    n += 1;
    const refs = Array.from({ length: count }, (_, i) => ({ space: 'gc', key: `t${n}-d${i}` }));
    for (const ref of refs) expect(await data.create(ref, HOST, rec(1, { v: 1 }))).toEqual({ epoch: 1 });
    return refs;
  };
  /** The append a document at `head` would make next: one record. */
  const next = (c: GroupCommitter, ref: DocRef, head: number, epoch = 1): Promise<AppendResult> => c.append(ref, HOST, epoch, head, [rec(head + 1, { v: head + 1 })]);

  beforeAll(async () => { storage = await freshStorage(8); data = storage.data; });
  afterAll(async () => { await storage?.close(); });

  it('commits 50 documents appending concurrently in far fewer flushes than appends', async () => {
    const refs = await docs(50);
    const sizes: number[] = [];
    const committer = new GroupCommitter(data, { onFlush: (size) => sizes.push(size) });
    const rounds = 5;
    // Each document keeps one append in flight, as a LivingDocument does.
    const results = await Promise.all(refs.map(async (ref) => {
      const out: AppendResult[] = [];
      for (let head = 1; head <= rounds; head++) out.push(await next(committer, ref, head));
      return out;
    }));
    expect(results.flat().every((r) => r.ok)).toBe(true);
    expect(committer.itemsFlushed).toBe(50 * rounds);
    expect(committer.flushes).toBeLessThan(50);
    expect(sizes.length).toBe(committer.flushes);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(50 * rounds);
    for (const ref of refs) {
      expect((await data.lookup(ref))?.headSeq).toBe(1 + rounds);
      expect((await data.readLog(ref, 0, 10)).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    }
    await committer.close();
  });

  it('refuses a fenced item alone while the rest of its batch commits', async () => {
    const [x, y, z] = (await docs(3)) as [DocRef, DocRef, DocRef];
    await data.findBind(y, 'gc-other-host', [HOST]);
    const sizes: number[] = [];
    const committer = new GroupCommitter(data, { onFlush: (size) => sizes.push(size) });
    const results = await Promise.all([next(committer, x, 1), next(committer, y, 1), next(committer, z, 1)]);
    expect(sizes).toEqual([3]);
    expect(results).toEqual([{ ok: true }, { ok: false }, { ok: true }]);
    expect(await data.lookup(y)).toMatchObject({ host: 'gc-other-host', epoch: 2, headSeq: 1 });
    expect((await data.lookup(x))?.headSeq).toBe(2);
    expect((await data.lookup(z))?.headSeq).toBe(2);
    await committer.close();
  });

  it('rejects an append the database cannot store (lone surrogate) alone with RECORD_UNSTORABLE, and commits the rest of its batch', async () => {
    const [x, y, z] = (await docs(3)) as [DocRef, DocRef, DocRef];
    const sizes: number[] = [];
    const committer = new GroupCommitter(data, { onFlush: (size) => sizes.push(size) });
    const bad = committer.append(y, HOST, 1, 1, [rec(2, { text: 'hi', x: '\ud800' })]);
    const settled = await Promise.allSettled([next(committer, x, 1), bad, next(committer, z, 1)]);
    expect(sizes).toEqual([3]);
    expect(settled[0]).toEqual({ status: 'fulfilled', value: { ok: true } });
    expect(settled[2]).toEqual({ status: 'fulfilled', value: { ok: true } });
    expect(settled[1].status).toBe('rejected');
    const reason = (settled[1] as PromiseRejectedResult).reason;
    expect(isAdamaError(reason, E.RECORD_UNSTORABLE)).toBe(true);
    expect((reason as AdamaError).retry).toBe(false);
    expect((await data.lookup(y))?.headSeq).toBe(1);
    await committer.close();
  });

  it('rejects a malformed append alone without failing the batch it would have joined', async () => {
    const [x, y] = (await docs(2)) as [DocRef, DocRef];
    const committer = new GroupCommitter(data);
    const bad = committer.append(y, HOST, 1, 1, [rec(3, {})]);
    const good = next(committer, x, 1);
    await expect(bad).rejects.toThrow(/seq 3, expected 2/);
    expect(await good).toEqual({ ok: true });
    await committer.close();
  });

  it('queues appends that arrive during a flush and sends them together when it completes', async () => {
    const [a, b, c, d] = (await docs(4)) as [DocRef, DocRef, DocRef, DocRef];
    const gate = new GatedData(data);
    const committer = new GroupCommitter(gate);
    const first = next(committer, a, 1);
    const flush1 = await gate.called(1);
    const later = [next(committer, b, 1), next(committer, c, 1), next(committer, d, 1)];
    await turn();
    expect(gate.calls.length).toBe(1);
    expect(committer.queued).toBe(3);
    expect(committer.inFlight).toBe(1);
    flush1.release();
    expect(await first).toEqual({ ok: true });
    (await gate.called(2)).release();
    expect(await Promise.all(later)).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(gate.keys()).toEqual([[a.key], [b.key, c.key, d.key]]);
    await committer.close();
  });

  it('caps a batch at maxBatchItems and sends the rest in the following flush', async () => {
    const refs = await docs(5);
    const gate = new GatedData(data);
    const committer = new GroupCommitter(gate, { maxBatchItems: 2 });
    const all = refs.map((ref) => next(committer, ref, 1));
    for (let i = 1; i <= 3; i++) (await gate.called(i)).release();
    expect(await Promise.all(all)).toEqual(refs.map(() => ({ ok: true })));
    expect(gate.calls.map((call) => call.items.length)).toEqual([2, 2, 1]);
    await committer.close();
  });

  it('runs up to maxInFlight flushes at once', async () => {
    const [a, b, c] = (await docs(3)) as [DocRef, DocRef, DocRef];
    const gate = new GatedData(data);
    const committer = new GroupCommitter(gate, { maxInFlight: 2 });
    const pa = next(committer, a, 1);
    await gate.called(1);
    const pb = next(committer, b, 1);
    await gate.called(2);
    const pc = next(committer, c, 1);
    await turn();
    expect(gate.calls.length).toBe(2);
    expect(committer.inFlight).toBe(2);
    expect(committer.queued).toBe(1);
    gate.calls[1]?.release();
    expect(await pb).toEqual({ ok: true });
    (await gate.called(3)).release();
    gate.calls[0]?.release();
    expect(await Promise.all([pa, pc])).toEqual([{ ok: true }, { ok: true }]);
    expect(gate.keys()).toEqual([[a.key], [b.key], [c.key]]);
    await committer.close();
  });

  it('never sends one document in two flushes at once, so its appends commit in order', async () => {
    const [x, y] = (await docs(2)) as [DocRef, DocRef];
    const gate = new GatedData(data);
    const committer = new GroupCommitter(gate, { maxInFlight: 2 });
    const x2 = next(committer, x, 1);
    await gate.called(1);
    // Pipelined on top of the append in flight: it must wait for it, while y may go ahead.
    const x3 = next(committer, x, 2);
    const y2 = next(committer, y, 1);
    (await gate.called(2)).release();
    expect(await y2).toEqual({ ok: true });
    await turn();
    expect(gate.keys()).toEqual([[x.key], [y.key]]);
    expect(committer.queued).toBe(1);
    gate.calls[0]?.release();
    (await gate.called(3)).release();
    expect(await Promise.all([x2, x3])).toEqual([{ ok: true }, { ok: true }]);
    expect(gate.keys()[2]).toEqual([x.key]);
    expect((await data.lookup(x))?.headSeq).toBe(3);
    await committer.close();
  });

  it('rejects every item of a failed statement with its error and keeps flushing later batches', async () => {
    const [a, b, c, d] = (await docs(4)) as [DocRef, DocRef, DocRef, DocRef];
    const gate = new GatedData(data);
    const committer = new GroupCommitter(gate);
    const pa = next(committer, a, 1);
    const flush1 = await gate.called(1);
    const failed = [next(committer, b, 1), next(committer, c, 1)].map((p) => p.catch((err: unknown) => err));
    flush1.release();
    await pa;
    const boom = new AdamaError(E.STORAGE_UNAVAILABLE, 'appendMany: database unreachable (test)');
    (await gate.called(2)).fail(boom);
    expect(await Promise.all(failed)).toEqual([boom, boom]);
    const pd = next(committer, d, 1);
    (await gate.called(3)).release();
    expect(await pd).toEqual({ ok: true });
    expect(committer.flushes).toBe(3);
    expect((await data.lookup(b))?.headSeq).toBe(1);
    await committer.close();
  });

  it('reports a database it cannot reach as STORAGE_UNAVAILABLE to every item of the batch', async () => {
    const [a, b] = (await docs(2)) as [DocRef, DocRef];
    const unreachable = new SqlDataService(new Pool({ connectionString: storage.connectionString, max: 1 }));
    await unreachable.close();
    const committer = new GroupCommitter(unreachable);
    const errors = await Promise.all([next(committer, a, 1), next(committer, b, 1)].map((p) => p.catch((err: unknown) => err)));
    expect(committer.flushes).toBe(1);
    expect(errors[0]).toBe(errors[1]);
    expect(isAdamaError(errors[0], E.STORAGE_UNAVAILABLE)).toBe(true);
  });

  it('refuses an append with DOC_QUEUE_FULL once maxQueued appends wait for a flush', async () => {
    const refs = await docs(4);
    const gate = new GatedData(data);
    const committer = new GroupCommitter(gate, { maxQueued: 2 });
    const first = next(committer, refs[0] as DocRef, 1);
    const flush1 = await gate.called(1);
    const queued = [next(committer, refs[1] as DocRef, 1), next(committer, refs[2] as DocRef, 1)];
    const refused = next(committer, refs[3] as DocRef, 1).catch((err: unknown) => err);
    expect(isAdamaError(await refused, E.DOC_QUEUE_FULL)).toBe(true);
    expect(gate.calls.length).toBe(1);
    flush1.release();
    (await gate.called(2)).release();
    expect(await Promise.all([first, ...queued])).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect((await data.lookup(refs[3] as DocRef))?.headSeq).toBe(1);
    await committer.close();
  });

  it('close waits for the running flush, rejects queued appends with HOST_SHUTTING_DOWN and refuses new ones', async () => {
    const [a, b, c] = (await docs(3)) as [DocRef, DocRef, DocRef];
    const gate = new GatedData(data);
    const committer = new GroupCommitter(gate);
    const running = next(committer, a, 1);
    const flush1 = await gate.called(1);
    const queued = next(committer, b, 1).catch((err: unknown) => err);
    let closed = false;
    const closing = committer.close().then(() => { closed = true; });
    expect(isAdamaError(await queued, E.HOST_SHUTTING_DOWN)).toBe(true);
    expect(closed).toBe(false);
    flush1.release();
    await closing;
    expect(await running).toEqual({ ok: true });
    await expect(next(committer, c, 1)).rejects.toMatchObject({ entry: { name: 'HOST_SHUTTING_DOWN' } });
    expect(gate.calls.length).toBe(1);
    expect((await data.lookup(b))?.headSeq).toBe(1);
  });
});
