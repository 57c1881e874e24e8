/**
 * @module archive-data.contract
 * The archive half of the DataService contract (archive-data.ts), run by the PGlite and the
 * PostgreSQL suites. The guards matter more than the happy path: every test that changes the
 * directory row between two archive steps checks that the later step refuses.
 */
import type { DataService, Snapshot } from './data-service';
import type { DocRef } from '../shared/doc-ref';
import type { ContractFixture } from './data-service.contract';
import { rec } from './data-service.contract-fixtures';

const LEASE_MS = 60_000;

export function runArchiveDataContract(name: string, factory: () => Promise<ContractFixture>): void {
  describe(`ArchiveData contract: ${name}`, () => {
    let fx: ContractFixture;
    let data: DataService;
    let n = 0;
    const fresh = (): { ref: DocRef; host: string; worker: string } => {
      n += 1;
      return { ref: { space: 'archive', key: `doc-${n}` }, host: `host-${n}`, worker: `worker-${n}` };
    };
    /** A document with records 1..3, released (free at epoch 1, head 3). */
    const freeDoc = async (): Promise<{ ref: DocRef; host: string; worker: string }> => {
      const f = fresh();
      await data.create(f.ref, f.host, rec(1, { a: 1 }));
      expect(await data.append(f.ref, f.host, 1, 1, [rec(2, { b: 2 }), rec(3, { c: 3 })])).toEqual({ ok: true });
      expect(await data.release(f.ref, f.host, 1)).toBe(true);
      return f;
    };
    const snap = (seq: number): Snapshot => ({ seq, state: { a: 1, b: 2, c: 3 }, meta: { dedupe: [['k', 2]] } });

    beforeAll(async () => { fx = await factory(); data = fx.data; });
    afterAll(async () => { await fx?.close(); });

    it('claimColdDocuments claims free idle documents once, not bound or recently used ones', async () => {
      const cold = await freeDoc();
      const bound = fresh();
      await data.create(bound.ref, bound.host, rec(1, {}));
      expect(await data.claimColdDocuments('w-idle', 3_600_000, LEASE_MS, 100)).toEqual([]);
      const claimed = await data.claimColdDocuments('w-a', 0, LEASE_MS, 1000);
      // Other tests' free documents are claimed too: give them back so they stay claimable.
      for (const c of claimed) if (c.key !== cold.ref.key) await data.releaseClaim(c, 'w-a');
      expect(claimed.find((c) => c.key === cold.ref.key)).toMatchObject({ ...cold.ref, epoch: 1, headSeq: 3 });
      expect(claimed.find((c) => c.key === bound.ref.key)).toBeUndefined();
      expect((await data.claimColdDocuments('w-b', 0, LEASE_MS, 1000)).find((c) => c.key === cold.ref.key)).toBeUndefined();
      expect(await data.claimDocument(cold.ref, 'w-b', LEASE_MS)).toBeNull();
      await data.releaseClaim(cold.ref, 'w-a');
      expect(await data.claimDocument(cold.ref, 'w-b', LEASE_MS)).toMatchObject({ headSeq: 3 });
    });

    it('an expired claim can be taken by another worker', async () => {
      const { ref } = await freeDoc();
      expect(await data.claimDocument(ref, 'w-dead', 1)).not.toBeNull();
      await new Promise((r) => setTimeout(r, 20));
      expect(await data.claimDocument(ref, 'w-next', LEASE_MS)).not.toBeNull();
    });

    it('markArchived commits when the row is still free at the claimed epoch and head, then trim empties the hot tables', async () => {
      const { ref, worker } = await freeDoc();
      const c = (await data.claimDocument(ref, worker, LEASE_MS))!;
      expect(await data.markArchived(ref, worker, c.epoch, c.headSeq, 'archive/x/1')).toBe(true);
      expect(await data.lookup(ref)).toMatchObject({ state: 'archived', host: null, headSeq: 3, epoch: 1, archiveRef: 'archive/x/1' });
      expect(await data.listUntrimmed(1000)).toContainEqual({ ...ref, archiveRef: 'archive/x/1' });
      expect(await data.trimArchived(ref, 'archive/x/1')).toEqual({ trimmed: true, logRows: 3, snapshotRows: 0 });
      expect(await data.hotRows(ref)).toEqual({ logRows: 0, snapshotSeq: null });
      expect(await data.listUntrimmed(1000)).not.toContainEqual({ ...ref, archiveRef: 'archive/x/1' });
      expect(await data.referencedArchiveRefs(['archive/x/1', 'archive/x/orphan'])).toEqual(new Set(['archive/x/1']));
    });

    it('markArchived refuses when a host bound the document after the claim, and nothing is trimmed', async () => {
      const { ref, host, worker } = await freeDoc();
      const c = (await data.claimDocument(ref, worker, LEASE_MS))!;
      expect(await data.findBind(ref, host, [])).toMatchObject({ kind: 'bound', epoch: 2 });
      expect(await data.markArchived(ref, worker, c.epoch, c.headSeq, 'archive/y/1')).toBe(false);
      expect(await data.trimArchived(ref, 'archive/y/1')).toEqual({ trimmed: false, logRows: 0, snapshotRows: 0 });
      expect(await data.hotRows(ref)).toEqual({ logRows: 3, snapshotSeq: null });
    });

    it('markArchived refuses after a bind and release at the same head (the epoch moved)', async () => {
      const { ref, host, worker } = await freeDoc();
      const c = (await data.claimDocument(ref, worker, LEASE_MS))!;
      await data.findBind(ref, host, []);
      await data.release(ref, host, 2);
      expect(await data.markArchived(ref, worker, c.epoch, c.headSeq, 'archive/z/1')).toBe(false);
    });

    it('markArchived refuses once the claim expired or for another worker', async () => {
      const { ref } = await freeDoc();
      const c = (await data.claimDocument(ref, 'w-slow', 1))!;
      await new Promise((r) => setTimeout(r, 20));
      expect(await data.markArchived(ref, 'w-slow', c.epoch, c.headSeq, 'archive/s/1')).toBe(false);
      expect(await data.markArchived(ref, 'w-other', c.epoch, c.headSeq, 'archive/s/1')).toBe(false);
      expect((await data.lookup(ref))?.state).toBe('free');
    });

    it('an archived document binds with its ref; restoreArchived installs the snapshot, clears the ref, and the log continues', async () => {
      const { ref, host, worker } = await freeDoc();
      const c = (await data.claimDocument(ref, worker, LEASE_MS))!;
      await data.markArchived(ref, worker, c.epoch, c.headSeq, 'archive/r/1');
      await data.trimArchived(ref, 'archive/r/1');
      const bind = await data.findBind(ref, host, []);
      expect(bind).toEqual({ kind: 'bound', epoch: 2, headSeq: 3, archiveRef: 'archive/r/1', previousState: 'archived' });
      expect(await data.restoreArchived(ref, 'someone-else', 2, 'archive/r/1', snap(3))).toBe(false);
      expect(await data.restoreArchived(ref, host, 2, 'archive/r/1', snap(2))).toBe(false);
      expect(await data.restoreArchived(ref, host, 2, 'archive/r/1', snap(3))).toBe(true);
      expect(await data.lookup(ref)).toMatchObject({ state: 'bound', archiveRef: null, headSeq: 3 });
      expect(await data.load(ref)).toEqual({ snapshot: snap(3), records: [] });
      expect(await data.append(ref, host, 2, 3, [rec(4, { d: 4 })])).toEqual({ ok: true });
      expect((await data.load(ref)).records).toEqual([rec(4, { d: 4 })]);
      expect(await data.trimArchived(ref, 'archive/r/1')).toMatchObject({ trimmed: false });
    });

    it('restoreArchived after an interrupted trim replaces the leftover log with the snapshot', async () => {
      const { ref, host, worker } = await freeDoc();
      const c = (await data.claimDocument(ref, worker, LEASE_MS))!;
      await data.markArchived(ref, worker, c.epoch, c.headSeq, 'archive/u/1');
      await data.findBind(ref, host, []);
      expect(await data.restoreArchived(ref, host, 2, 'archive/u/1', snap(3))).toBe(true);
      expect(await data.load(ref)).toEqual({ snapshot: snap(3), records: [] });
      expect(await data.hotRows(ref)).toEqual({ logRows: 0, snapshotSeq: 3 });
    });

    it('releaseToArchived gives a failed restore back as archived with the same ref, and unarchive frees it', async () => {
      const { ref, host, worker } = await freeDoc();
      const c = (await data.claimDocument(ref, worker, LEASE_MS))!;
      await data.markArchived(ref, worker, c.epoch, c.headSeq, 'archive/f/1');
      await data.trimArchived(ref, 'archive/f/1');
      await data.findBind(ref, host, []);
      expect(await data.releaseToArchived(ref, host, 1, 'archive/f/1')).toBe(false);
      expect(await data.releaseToArchived(ref, host, 2, 'archive/f/1')).toBe(true);
      expect(await data.lookup(ref)).toMatchObject({ state: 'archived', host: null, epoch: 2, archiveRef: 'archive/f/1' });
      expect(await data.claimDocument(ref, worker, LEASE_MS)).toBeNull();
      expect(await data.unarchive(ref, 'archive/other', snap(3))).toBe(false);
      expect(await data.unarchive(ref, 'archive/f/1', snap(3))).toBe(true);
      expect(await data.lookup(ref)).toMatchObject({ state: 'free', archiveRef: null, headSeq: 3 });
      expect(await data.findBind(ref, host, [])).toMatchObject({ kind: 'bound', epoch: 3, archiveRef: null, previousState: 'free' });
      expect(await data.load(ref)).toEqual({ snapshot: snap(3), records: [] });
    });
  });
}
