/**
 * @module data-service.contract
 * The behaviour every DataService must have, as one suite that each implementation runs against
 * its own database (`sql-data-service.pglite.test.ts`, `sql-data-service.postgres.test.ts`).
 * One database per suite; every test uses its own documents and host names, so tests stay
 * independent without a fresh database each.
 */
import { Client } from 'pg';
import type { Json, JsonObject } from '../shared/json';
import type { DataService, DirectoryRow } from './data-service';
import type { DocRef } from '../shared/doc-ref';
import { rec, replay } from './data-service.contract-fixtures';

export interface ContractFixture {
  data: DataService;
  close(): Promise<void>;
  /** The same database, for faults the interface cannot cause (log collisions, expired leases, archiving). */
  connectionString: string;
}

const LEASE_MS = 60_000;

export function runDataServiceContract(name: string, factory: () => Promise<ContractFixture>): void {
  describe(`DataService contract: ${name}`, () => {
    let fx: ContractFixture;
    let data: DataService;
    let n = 0;
    /** A document and host names no other test uses. */
    const fresh = (): { ref: DocRef; a: string; b: string; c: string } => {
      n += 1;
      return { ref: { space: 'contract', key: `doc-${n}` }, a: `host-${n}-a`, b: `host-${n}-b`, c: `host-${n}-c` };
    };
    const sql = async (text: string, params: unknown[] = []): Promise<void> => {
      const client = new Client({ connectionString: fx.connectionString });
      await client.connect();
      try { await client.query(text, params); } finally { await client.end(); }
    };
    const live = (...hosts: string[]): Promise<void[]> => Promise.all(hosts.map((h) => data.heartbeatHost(h, `${h}:9000`, LEASE_MS)));

    beforeAll(async () => { fx = await factory(); data = fx.data; });
    afterAll(async () => { await fx?.close(); });

    it('create then load returns the first record and no snapshot', async () => {
      const { ref, a } = fresh();
      expect(await data.create(ref, a, rec(1, { title: 'hello' }))).toEqual({ epoch: 1 });
      expect(await data.load(ref)).toEqual({ snapshot: null, records: [rec(1, { title: 'hello' })] });
      expect(await data.lookup(ref)).toEqual({ ...ref, host: a, epoch: 1, headSeq: 1, state: 'bound', archiveRef: null });
    });

    it('create refuses a document that already exists and keeps the original', async () => {
      const { ref, a, b } = fresh();
      await data.create(ref, a, rec(1, { v: 1 }));
      expect(await data.create(ref, b, rec(1, { v: 2 }))).toBeNull();
      expect((await data.load(ref)).records).toEqual([rec(1, { v: 1 })]);
      expect((await data.lookup(ref))?.host).toBe(a);
    });

    it('findBind reports not_found for a document that does not exist', async () => {
      const { ref, a } = fresh();
      expect(await data.findBind(ref, a, [])).toEqual({ kind: 'not_found' });
    });

    it('findBind reports not_found for a deleted document', async () => {
      const { ref, a } = fresh();
      await data.create(ref, a, rec(1, {}));
      await sql(`UPDATE directory SET state = 'deleted', host = NULL WHERE space = $1 AND key = $2`, [ref.space, ref.key]);
      expect(await data.findBind(ref, a, [])).toEqual({ kind: 'not_found' });
    });

    it('deleteDocument is fenced: only the host bound at that epoch deletes; then log and snapshot are gone and findBind says not_found', async () => {
      const { ref, a, b } = fresh();
      await data.create(ref, a, rec(1, { v: 1 }));
      expect(await data.append(ref, a, 1, 1, [rec(2, { v: 2 })])).toEqual({ ok: true });
      expect(await data.compact(ref, a, 1, { seq: 2, state: { v: 2 }, meta: {} }, 0)).toBe(true);
      expect(await data.deleteDocument(ref, b, 1)).toBeNull(); // not the owner
      expect(await data.deleteDocument(ref, a, 0)).toBeNull(); // a stale epoch
      expect(await data.deleteDocument(ref, a, 1)).toEqual({ archiveRef: null });
      expect(await data.load(ref)).toEqual({ snapshot: null, records: [] });
      expect(await data.findBind(ref, b, [])).toEqual({ kind: 'not_found' });
      expect(await data.lookup(ref)).toMatchObject({ state: 'deleted', host: null, epoch: 2 });
      // The deleted incarnation can write nothing more, and cannot delete again.
      expect(await data.append(ref, a, 1, 2, [rec(3, { v: 3 })])).toEqual({ ok: false });
      expect(await data.deleteDocument(ref, a, 1)).toBeNull();
    });

    it('create over a deleted key starts a new document at the epoch after the tombstone, fencing the old incarnation', async () => {
      const { ref, a, b } = fresh();
      await data.create(ref, a, rec(1, { v: 1 }));
      await data.deleteDocument(ref, a, 1);
      expect(await data.create(ref, b, rec(1, { again: true }))).toEqual({ epoch: 3 });
      expect(await data.load(ref)).toEqual({ snapshot: null, records: [rec(1, { again: true })] });
      expect(await data.append(ref, a, 1, 1, [rec(2, { stale: true })])).toEqual({ ok: false });
      expect(await data.create(ref, a, rec(1, {}))).toBeNull(); // it exists again
    });

    it('listDocuments pages a space in key order, leaving deleted documents out', async () => {
      const space = `list-${Math.random().toString(36).slice(2, 8)}`;
      const host = 'lister';
      for (const key of ['b', 'a', 'd', 'c']) await data.create({ space, key }, host, rec(1, {}));
      await data.deleteDocument({ space, key: 'c' }, host, 1);
      const first = await data.listDocuments(space, '', 2);
      expect(first.map((d) => d.key)).toEqual(['a', 'b']);
      expect(first[0]).toMatchObject({ seq: 1, updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
      expect((await data.listDocuments(space, 'b', 10)).map((d) => d.key)).toEqual(['d']);
      expect(await data.listDocuments(space, 'd', 10)).toEqual([]);
    });

    it('findBind binds a free document with the next epoch', async () => {
      const { ref, a, b } = fresh();
      await data.create(ref, a, rec(1, {}));
      expect(await data.release(ref, a, 1)).toBe(true);
      expect(await data.findBind(ref, b, [])).toEqual({ kind: 'bound', epoch: 2, headSeq: 1, archiveRef: null, previousState: 'free' });
      expect(await data.lookup(ref)).toMatchObject({ host: b, epoch: 2, state: 'bound' });
    });

    it('findBind binds an archived document and returns its archive reference', async () => {
      const { ref, a, b } = fresh();
      await data.create(ref, a, rec(1, {}));
      await sql(`UPDATE directory SET state = 'archived', host = NULL, archive_ref = 'cold/42' WHERE space = $1 AND key = $2`, [ref.space, ref.key]);
      expect(await data.findBind(ref, b, [])).toEqual({ kind: 'bound', epoch: 2, headSeq: 1, archiveRef: 'cold/42', previousState: 'archived' });
    });

    it('findBind rebinds a document already bound to the caller (a restart) with a new epoch', async () => {
      const { ref, a } = fresh();
      await live(a);
      await data.create(ref, a, rec(1, {}));
      expect(await data.findBind(ref, a, [])).toMatchObject({ kind: 'bound', epoch: 2, previousState: 'bound' });
    });

    it('findBind takes over from an owner that membership reports dead', async () => {
      const { ref, a, b } = fresh();
      await live(a, b);
      await data.create(ref, a, rec(1, {}));
      expect(await data.findBind(ref, b, [a])).toMatchObject({ kind: 'bound', epoch: 2, previousState: 'bound' });
    });

    it('findBind takes over from an owner whose lease has expired', async () => {
      const { ref, a, b } = fresh();
      await live(a, b);
      await data.create(ref, a, rec(1, {}));
      await sql(`UPDATE hosts SET lease_expires_at = now() - interval '1 second' WHERE host_id = $1`, [a]);
      expect(await data.findBind(ref, b, [])).toMatchObject({ kind: 'bound', epoch: 2 });
    });

    it('findBind takes over from an owner with no host row', async () => {
      const { ref, a, b } = fresh();
      await data.create(ref, a, rec(1, {}));
      expect(await data.findBind(ref, b, [])).toMatchObject({ kind: 'bound', epoch: 2 });
    });

    it('findBind redirects to a live owner and changes nothing', async () => {
      const { ref, a, b, c } = fresh();
      await live(a, b);
      await data.create(ref, a, rec(1, {}));
      expect(await data.findBind(ref, b, [c])).toEqual({ kind: 'owned', host: a });
      expect(await data.lookup(ref)).toMatchObject({ host: a, epoch: 1, state: 'bound' });
    });

    it('the epoch increments on every takeover', async () => {
      const { ref, a, b } = fresh();
      await live(a, b);
      await data.create(ref, a, rec(1, {}));
      expect(await data.findBind(ref, b, [a])).toMatchObject({ kind: 'bound', epoch: 2 });
      expect(await data.findBind(ref, a, [b])).toMatchObject({ kind: 'bound', epoch: 3 });
      expect(await data.findBind(ref, a, [])).toMatchObject({ kind: 'bound', epoch: 4 });
      expect(await data.release(ref, a, 4)).toBe(true);
      expect(await data.findBind(ref, b, [])).toMatchObject({ kind: 'bound', epoch: 5 });
    });

    it('append advances the head and readLog returns the half-open range in order', async () => {
      const { ref, a } = fresh();
      await data.create(ref, a, rec(1, { n: 1 }));
      expect(await data.append(ref, a, 1, 1, [rec(2, { n: 2 }), rec(3, { n: 3 })])).toEqual({ ok: true });
      expect(await data.append(ref, a, 1, 3, [rec(4, { n: null, list: [1, 'two', { three: 3 }] }, null)])).toEqual({ ok: true });
      expect((await data.lookup(ref))?.headSeq).toBe(4);
      expect((await data.readLog(ref, 1, 3)).map((r) => r.seq)).toEqual([2, 3]);
      expect(await data.readLog(ref, 3, 10)).toEqual([rec(4, { n: null, list: [1, 'two', { three: 3 }] }, null)]);
    });

    it('append refuses a stale expected head', async () => {
      const { ref, a } = fresh();
      await data.create(ref, a, rec(1, {}));
      await data.append(ref, a, 1, 1, [rec(2, {})]);
      expect(await data.append(ref, a, 1, 1, [rec(2, { again: true })])).toEqual({ ok: false });
      expect((await data.lookup(ref))?.headSeq).toBe(2);
      expect((await data.readLog(ref, 1, 2))[0]?.redo).toEqual({});
    });

    it('append refuses a stale epoch after another host took over', async () => {
      const { ref, a, b } = fresh();
      await data.create(ref, a, rec(1, {}));
      await data.findBind(ref, b, [a]);
      expect(await data.append(ref, a, 1, 1, [rec(2, {})])).toEqual({ ok: false });
      expect(await data.append(ref, b, 2, 1, [rec(2, {})])).toEqual({ ok: true });
    });

    it('append refuses a host that does not own the document', async () => {
      const { ref, a, b } = fresh();
      await data.create(ref, a, rec(1, {}));
      expect(await data.append(ref, b, 1, 1, [rec(2, {})])).toEqual({ ok: false });
      expect(await data.release(ref, a, 1)).toBe(true);
      expect(await data.append(ref, a, 1, 1, [rec(2, {})])).toEqual({ ok: false });
    });

    it('append treats a log collision (23505) as not ok and leaves the head unchanged', async () => {
      const { ref, a } = fresh();
      await data.create(ref, a, rec(1, {}));
      await sql(`INSERT INTO doc_log (space, key, seq, request, redo, undo) VALUES ($1, $2, 3, 'null', '{}', '{}')`, [ref.space, ref.key]);
      expect(await data.append(ref, a, 1, 1, [rec(2, {}), rec(3, {})])).toEqual({ ok: false });
      expect((await data.lookup(ref))?.headSeq).toBe(1);
      expect((await data.readLog(ref, 1, 2))).toEqual([]);
    });

    it('append rejects records whose seqs do not run on from the expected head', async () => {
      const { ref, a } = fresh();
      await data.create(ref, a, rec(1, {}));
      await expect(data.append(ref, a, 1, 1, [rec(3, {})])).rejects.toThrow(/seq 3, expected 2/);
      await expect(data.append(ref, a, 1, 1, [rec(2, {}), rec(4, {})])).rejects.toThrow(/seq 4, expected 3/);
      await expect(data.append(ref, a, 1, 1, [])).rejects.toThrow(/no records/);
    });

    it('appendMany commits several documents in one call', async () => {
      const { a } = fresh();
      const [x, y, z] = [fresh().ref, fresh().ref, fresh().ref] as [DocRef, DocRef, DocRef];
      for (const ref of [x, y, z]) await data.create(ref, a, rec(1, { at: 1 }));
      expect(await data.appendMany([
        { ref: x, host: a, epoch: 1, expectedHead: 1, records: [rec(2, { x: 2 })] },
        { ref: y, host: a, epoch: 1, expectedHead: 1, records: [rec(2, { y: 2 }), rec(3, { y: 3 }, null)] },
        { ref: z, host: a, epoch: 1, expectedHead: 1, records: [rec(2, { z: 2 }), rec(3, { z: 3 }), rec(4, { z: 4 })] },
      ])).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
      expect((await data.lookup(x))?.headSeq).toBe(2);
      expect((await data.lookup(y))?.headSeq).toBe(3);
      expect((await data.lookup(z))?.headSeq).toBe(4);
      expect(await data.readLog(y, 1, 3)).toEqual([rec(2, { y: 2 }), rec(3, { y: 3 }, null)]);
      expect((await data.load(z)).records.map((r) => r.redo)).toEqual([{ at: 1 }, { z: 2 }, { z: 3 }, { z: 4 }]);
    });

    it('appendMany refuses a stale epoch or expected head and still commits the other items', async () => {
      const { a, b } = fresh();
      const [good1, takenOver, behind, good2] = [fresh().ref, fresh().ref, fresh().ref, fresh().ref] as [DocRef, DocRef, DocRef, DocRef];
      for (const ref of [good1, takenOver, behind, good2]) await data.create(ref, a, rec(1, {}));
      await data.findBind(takenOver, b, [a]);
      await data.append(behind, a, 1, 1, [rec(2, { first: true })]);
      expect(await data.appendMany([
        { ref: good1, host: a, epoch: 1, expectedHead: 1, records: [rec(2, {})] },
        { ref: takenOver, host: a, epoch: 1, expectedHead: 1, records: [rec(2, {})] },
        { ref: behind, host: a, epoch: 1, expectedHead: 1, records: [rec(2, { again: true })] },
        { ref: good2, host: a, epoch: 1, expectedHead: 1, records: [rec(2, {}), rec(3, {})] },
      ])).toEqual([{ ok: true }, { ok: false }, { ok: false }, { ok: true }]);
      expect(await data.lookup(takenOver)).toMatchObject({ host: b, epoch: 2, headSeq: 1 });
      expect(await data.readLog(takenOver, 1, 5)).toEqual([]);
      expect(await data.readLog(behind, 1, 5)).toEqual([rec(2, { first: true })]);
      expect((await data.lookup(good1))?.headSeq).toBe(2);
      expect((await data.lookup(good2))?.headSeq).toBe(3);
    });

    it('appendMany refuses an item that collides on the log (23505) and still commits the others', async () => {
      const { a } = fresh();
      const [before, colliding, after] = [fresh().ref, fresh().ref, fresh().ref] as [DocRef, DocRef, DocRef];
      for (const ref of [before, colliding, after]) await data.create(ref, a, rec(1, {}));
      await sql(`INSERT INTO doc_log (space, key, seq, request, redo, undo) VALUES ($1, $2, 3, 'null', '{}', '{}')`, [colliding.space, colliding.key]);
      expect(await data.appendMany([
        { ref: before, host: a, epoch: 1, expectedHead: 1, records: [rec(2, { v: 'before' })] },
        { ref: colliding, host: a, epoch: 1, expectedHead: 1, records: [rec(2, {}), rec(3, {})] },
        { ref: after, host: a, epoch: 1, expectedHead: 1, records: [rec(2, { v: 'after' })] },
      ])).toEqual([{ ok: true }, { ok: false }, { ok: true }]);
      expect((await data.lookup(colliding))?.headSeq).toBe(1);
      expect(await data.readLog(colliding, 1, 2)).toEqual([]);
      expect(await data.readLog(before, 1, 2)).toEqual([rec(2, { v: 'before' })]);
      expect(await data.readLog(after, 1, 2)).toEqual([rec(2, { v: 'after' })]);
    });

    it('appendMany refuses an item whose data the database cannot store (a lone surrogate, U+0000) alone, coded and permanent', async () => {
      const { a } = fresh();
      const [before, surrogate, nul, after] = [fresh().ref, fresh().ref, fresh().ref, fresh().ref] as [DocRef, DocRef, DocRef, DocRef];
      for (const ref of [before, surrogate, nul, after]) await data.create(ref, a, rec(1, {}));
      const results = await data.appendMany([
        { ref: before, host: a, epoch: 1, expectedHead: 1, records: [rec(2, { v: 'before' })] },
        { ref: surrogate, host: a, epoch: 1, expectedHead: 1, records: [rec(2, { text: 'hi', x: '\ud800' })] },
        { ref: nul, host: a, epoch: 1, expectedHead: 1, records: [rec(2, { text: 'a\u0000b' })] },
        { ref: after, host: a, epoch: 1, expectedHead: 1, records: [rec(2, { v: 'after' })] },
      ]);
      expect(results.map((r) => r.ok)).toEqual([true, false, false, true]);
      for (const r of [results[1], results[2]]) expect(r).toMatchObject({ ok: false, refused: { code: 4150, retry: false } });
      expect(await data.append(surrogate, a, 1, 1, [rec(2, { x: '\udc00' })])).toMatchObject({ ok: false, refused: { code: 4150 } });
      expect((await data.lookup(surrogate))?.headSeq).toBe(1);
      expect(await data.readLog(before, 1, 2)).toEqual([rec(2, { v: 'before' })]);
      expect(await data.readLog(after, 1, 2)).toEqual([rec(2, { v: 'after' })]);
      // A well-formed pair (an emoji) is stored.
      expect(await data.append(surrogate, a, 1, 1, [rec(2, { x: '\ud83d\ude00' })])).toEqual({ ok: true });
    });

    it('appendMany of one item behaves exactly like append', async () => {
      const { a, b } = fresh();
      const viaAppend = fresh().ref;
      const viaMany = fresh().ref;
      type Step = [host: string, epoch: number, expectedHead: number, records: ReturnType<typeof rec>[]];
      const steps: Step[] = [
        [a, 1, 1, [rec(2, { n: 2 }), rec(3, { n: 3 }, null)]], // ok
        [a, 1, 1, [rec(2, { stale: true })]], // stale head
        [b, 1, 3, [rec(4, {})]], // not the owner
        [a, 2, 3, [rec(4, {})]], // wrong epoch
        [a, 1, 3, [rec(4, { n: null, list: [1, 'two'] })]], // ok
      ];
      for (const ref of [viaAppend, viaMany]) await data.create(ref, a, rec(1, { n: 1 }));
      for (const [host, epoch, expectedHead, records] of steps) {
        const one = await data.append(viaAppend, host, epoch, expectedHead, records);
        expect(await data.appendMany([{ ref: viaMany, host, epoch, expectedHead, records }])).toEqual([one]);
      }
      const strip = (row: DirectoryRow | null): DirectoryRow | null => (row === null ? null : { ...row, key: '' });
      expect(strip(await data.lookup(viaMany))).toEqual(strip(await data.lookup(viaAppend)));
      expect(await data.load(viaMany)).toEqual(await data.load(viaAppend));
      expect((await data.lookup(viaMany))?.headSeq).toBe(4);
    });

    it('appendMany of no items returns an empty list', async () => {
      expect(await data.appendMany([])).toEqual([]);
    });

    it('appendMany validates every item like append and rejects a document named twice, writing nothing', async () => {
      const { a } = fresh();
      const [x, y] = [fresh().ref, fresh().ref] as [DocRef, DocRef];
      for (const ref of [x, y]) await data.create(ref, a, rec(1, {}));
      const ok = { ref: x, host: a, epoch: 1, expectedHead: 1, records: [rec(2, {})] };
      await expect(data.appendMany([ok, { ref: y, host: a, epoch: 1, expectedHead: 1, records: [rec(3, {})] }])).rejects.toThrow(/seq 3, expected 2/);
      await expect(data.appendMany([ok, { ref: y, host: a, epoch: 1, expectedHead: 1, records: [] }])).rejects.toThrow(/no records/);
      await expect(data.appendMany([ok, { ...ok, records: [rec(2, { twice: true })] }])).rejects.toThrow(/twice/);
      expect((await data.lookup(x))?.headSeq).toBe(1);
      expect((await data.lookup(y))?.headSeq).toBe(1);
    });

    it('two concurrent findBind calls for one document bind exactly one host', async () => {
      const { a, b, c } = fresh();
      await live(a, b);
      const refs = Array.from({ length: 10 }, (_, i) => ({ space: 'contract-race', key: `${a}-${i}` }));
      for (const ref of refs) {
        await data.create(ref, c, rec(1, {}));
        await data.release(ref, c, 1);
      }
      const results = await Promise.all(refs.map((ref) => Promise.all([data.findBind(ref, a, []), data.findBind(ref, b, [])])));
      for (const [i, [ra, rb]] of results.entries()) {
        const kinds = [ra.kind, rb.kind].sort();
        expect(kinds).toEqual(['bound', 'owned']);
        const winner = ra.kind === 'bound' ? a : b;
        expect(ra.kind === 'owned' ? ra.host : rb.kind === 'owned' ? rb.host : null).toBe(winner);
        expect(await data.lookup(refs[i] as DocRef)).toMatchObject({ host: winner, epoch: 2, state: 'bound' });
      }
    });

    it('compaction keeps load() equal to replaying the full log', async () => {
      const { ref, a } = fresh();
      const patches: JsonObject[] = [
        { title: 'draft', tags: ['a'] }, { count: 1 }, { meta: { owner: 'ann', size: 2 } }, { count: 2, title: null },
        { meta: { size: null, color: 'red' } }, { tags: ['a', 'b'] }, { count: 3 }, { list: [{ x: 1 }] },
        { meta: null }, { title: 'final' }, { count: 4 },
      ];
      await data.create(ref, a, rec(1, patches[0] as JsonObject));
      for (let seq = 2; seq <= patches.length; seq++) {
        expect(await data.append(ref, a, 1, seq - 1, [rec(seq, patches[seq - 1] as JsonObject)])).toEqual({ ok: true });
      }
      const full = replay(null, patches);
      const stateAt = (seq: number): Json => replay(null, patches.slice(0, seq));

      expect(await data.compact(ref, a, 1, { seq: 6, state: stateAt(6), meta: { by: a } }, 2)).toBe(true);
      const loaded = await data.load(ref);
      expect(loaded.snapshot).toEqual({ seq: 6, state: stateAt(6), meta: { by: a } });
      expect(loaded.records.map((r) => r.seq)).toEqual([7, 8, 9, 10, 11]);
      expect(replay(loaded.snapshot?.state ?? null, loaded.records.map((r) => r.redo))).toEqual(full);
      expect((await data.readLog(ref, 0, 11)).map((r) => r.seq)).toEqual([5, 6, 7, 8, 9, 10, 11]);

      expect(await data.compact(ref, a, 1, { seq: 11, state: full, meta: {} }, 0)).toBe(true);
      expect(await data.load(ref)).toEqual({ snapshot: { seq: 11, state: full, meta: {} }, records: [] });
    });

    it('compaction ignores a snapshot that is not newer than the stored one', async () => {
      const { ref, a } = fresh();
      await data.create(ref, a, rec(1, { v: 1 }));
      await data.append(ref, a, 1, 1, [rec(2, { v: 2 }), rec(3, { v: 3 })]);
      expect(await data.compact(ref, a, 1, { seq: 3, state: { v: 3 }, meta: {} }, 5)).toBe(true);
      expect(await data.compact(ref, a, 1, { seq: 2, state: { v: 2 }, meta: {} }, 0)).toBe(false);
      expect(await data.compact(ref, a, 1, { seq: 4, state: { v: 4 }, meta: {} }, 0)).toBe(false);
      expect((await data.load(ref)).snapshot).toEqual({ seq: 3, state: { v: 3 }, meta: {} });
      expect((await data.readLog(ref, 0, 3)).length).toBe(3);
    });

    it('compaction is refused for a host that no longer owns the document', async () => {
      const { ref, a, b } = fresh();
      await data.create(ref, a, rec(1, { v: 1 }));
      await data.findBind(ref, b, [a]);
      expect(await data.compact(ref, a, 1, { seq: 1, state: { v: 1 }, meta: {} }, 0)).toBe(false);
      expect(await data.load(ref)).toEqual({ snapshot: null, records: [rec(1, { v: 1 })] });
    });

    it('release frees the document so another host can bind it', async () => {
      const { ref, a, b } = fresh();
      await live(a, b);
      await data.create(ref, a, rec(1, {}));
      expect(await data.findBind(ref, b, [])).toEqual({ kind: 'owned', host: a });
      expect(await data.release(ref, a, 1)).toBe(true);
      expect(await data.release(ref, a, 1)).toBe(true);
      expect(await data.lookup(ref)).toMatchObject({ host: null, state: 'free', epoch: 1 });
      expect(await data.findBind(ref, b, [])).toMatchObject({ kind: 'bound', epoch: 2, previousState: 'free' });
    });

    it('release by a host that does not own the document, or at a stale epoch, changes nothing', async () => {
      const { ref, a, b } = fresh();
      await data.create(ref, a, rec(1, {}));
      expect(await data.release(ref, b, 1)).toBe(false);
      expect(await data.release(ref, a, 2)).toBe(false);
      expect(await data.lookup(ref)).toMatchObject({ host: a, state: 'bound', epoch: 1 });
    });

    it('releaseAllBoundTo frees every row bound to the host at any epoch, fences its appends, and leaves other hosts alone', async () => {
      const { a, b } = fresh();
      const doc = (key: string): DocRef => ({ space: `orphans-${a}`, key });
      await live(a, b);
      await data.create(doc('one'), a, rec(1, {}));
      await data.create(doc('two'), a, rec(1, {}));
      await data.findBind(doc('two'), a, []); // rebound by a restart of `a`: epoch 2
      await data.create(doc('other'), b, rec(1, {}));
      expect(await data.releaseAllBoundTo(a)).toBe(2);
      expect(await data.countByHost(a)).toBe(0);
      expect(await data.lookup(doc('two'))).toMatchObject({ host: null, state: 'free', epoch: 2 });
      expect(await data.lookup(doc('other'))).toMatchObject({ host: b, state: 'bound' });
      // A zombie of the old incarnation can no longer write.
      expect(await data.append(doc('one'), a, 1, 1, [rec(2, {})])).toEqual({ ok: false });
      expect(await data.findBind(doc('one'), b, [])).toMatchObject({ kind: 'bound', epoch: 2 });
      expect(await data.releaseAllBoundTo(a)).toBe(0);
    });

    it('listByHost lists only the documents bound to that host', async () => {
      const { a, b } = fresh();
      const doc = (key: string): DocRef => ({ space: `list-${a}`, key });
      await data.create(doc('z'), a, rec(1, {}));
      await data.create(doc('m'), a, rec(1, {}));
      await data.create(doc('x'), b, rec(1, {}));
      await data.create(doc('gone'), a, rec(1, {}));
      await data.release(doc('gone'), a, 1);
      expect(await data.listByHost(a)).toEqual([doc('m'), doc('z')]);
      expect(await data.listByHost(b)).toEqual([doc('x')]);
    });

    it('countByHost counts the documents bound to that host, as listByHost lists them', async () => {
      const { a, b, c } = fresh();
      const doc = (key: string): DocRef => ({ space: `count-${a}`, key });
      await data.create(doc('one'), a, rec(1, {}));
      await data.create(doc('two'), a, rec(1, {}));
      await data.create(doc('other'), b, rec(1, {}));
      await data.create(doc('gone'), a, rec(1, {}));
      await data.release(doc('gone'), a, 1);
      expect(await data.countByHost(a)).toBe(2);
      expect(await data.countByHost(a)).toBe((await data.listByHost(a)).length);
      expect(await data.countByHost(b)).toBe(1);
      expect(await data.countByHost(c)).toBe(0);
    });

    it('deploySpace adds a version only when the code changes and getSpace returns the latest', async () => {
      const { a } = fresh();
      const space = `space-${a}`;
      expect(await data.getSpace(space)).toBeNull();
      expect(await data.deploySpace(space, 'v1 code')).toEqual({ space, version: 1, code: 'v1 code' });
      expect(await data.deploySpace(space, 'v1 code')).toEqual({ space, version: 1, code: 'v1 code' });
      expect(await data.deploySpace(space, 'v2 code')).toEqual({ space, version: 2, code: 'v2 code' });
      expect(await data.deploySpace(space, 'v1 code')).toEqual({ space, version: 3, code: 'v1 code' });
      expect(await data.getSpace(space)).toEqual({ space, version: 3, code: 'v1 code' });
      expect(await data.getSpaceVersion(space)).toBe(3);
    });

    it('host leases: heartbeats renew, expired leases are not live, expireHost ends a lease but keeps the address', async () => {
      const { a, b } = fresh();
      const before = Date.now();
      await live(a, b);
      await data.heartbeatHost(a, 'moved:9001', LEASE_MS);
      await sql(`UPDATE hosts SET lease_expires_at = now() - interval '1 second' WHERE host_id = $1`, [b]);
      const mine = (await data.liveHosts()).filter((h) => h.hostId === a || h.hostId === b);
      expect(mine.map((h) => [h.hostId, h.address])).toEqual([[a, 'moved:9001']]);
      // Database clock versus ours: allow generous skew, the lease is a minute long.
      expect(mine[0]?.leaseExpiresAtMs).toBeGreaterThan(before + LEASE_MS - 10_000);
      await data.expireHost(a);
      expect((await data.liveHosts()).some((h) => h.hostId === a)).toBe(false);
      expect(await data.hostAddress(a)).toBe('moved:9001');
      expect(await data.hostAddress(`${a}-never`)).toBeNull();
    });
  });
}
