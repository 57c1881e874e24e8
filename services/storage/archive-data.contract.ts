/**
 * @module archive-data.contract
 * The archive half of the DataService contract (archive-data.ts), run by the PGlite and the
 * PostgreSQL suites. The guards matter more than the happy path: every test that changes the
 * directory row between two archive steps checks that the later step refuses.
 */
import type { ColdDocument } from './archive-data';
import type { DataService, Snapshot } from './data-service';
import type { DocRef } from '../shared/doc-ref';
import type { ContractFixture } from './data-service.contract';
import { rec } from './data-service.contract-fixtures';

const LEASE_MS = 60_000;

/** An object key for a claim: like the archiver's, it names the claim's token (markArchived checks). */
const objectOf = (c: ColdDocument, prefix: string): string => `${prefix}-${c.claimToken}.json`;

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
      for (const c of claimed) if (c.key !== cold.ref.key) await data.releaseClaim(c, c.claimToken);
      const mine = claimed.find((c) => c.key === cold.ref.key);
      expect(mine).toMatchObject({ ...cold.ref, epoch: 1, headSeq: 3, claimToken: expect.stringMatching(/^[0-9a-f]{32}$/) });
      expect(claimed.find((c) => c.key === bound.ref.key)).toBeUndefined();
      expect((await data.claimColdDocuments('w-b', 0, LEASE_MS, 1000)).find((c) => c.key === cold.ref.key)).toBeUndefined();
      expect(await data.claimDocument(cold.ref, 'w-b', LEASE_MS)).toBeNull();
      await data.releaseClaim(cold.ref, mine!.claimToken);
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
      const obj = objectOf(c, 'archive/x/1');
      expect(await data.markArchived(c, obj)).toBe(true);
      expect(await data.lookup(ref)).toMatchObject({ state: 'archived', host: null, headSeq: 3, epoch: 1, archiveRef: obj });
      expect(await data.listUntrimmed(1000)).toContainEqual({ ...ref, archiveRef: obj });
      expect(await data.trimArchived(ref, obj)).toEqual({ trimmed: true, logRows: 3, snapshotRows: 0 });
      expect(await data.hotRows(ref)).toEqual({ logRows: 0, snapshotSeq: null });
      expect(await data.listUntrimmed(1000)).not.toContainEqual({ ...ref, archiveRef: obj });
      expect(await data.referencedArchiveRefs([obj, 'archive/x/orphan'])).toEqual(new Set([obj]));
    });

    it('markArchived refuses when a host bound the document after the claim, and nothing is trimmed', async () => {
      const { ref, host, worker } = await freeDoc();
      const c = (await data.claimDocument(ref, worker, LEASE_MS))!;
      const obj = objectOf(c, 'archive/y/1');
      expect(await data.findBind(ref, host, [])).toMatchObject({ kind: 'bound', epoch: 2 });
      expect(await data.markArchived(c, obj)).toBe(false);
      expect(await data.trimArchived(ref, obj)).toEqual({ trimmed: false, logRows: 0, snapshotRows: 0 });
      expect(await data.hotRows(ref)).toEqual({ logRows: 3, snapshotSeq: null });
    });

    it('markArchived refuses after a bind and release at the same head (the epoch moved)', async () => {
      const { ref, host, worker } = await freeDoc();
      const c = (await data.claimDocument(ref, worker, LEASE_MS))!;
      const obj = objectOf(c, 'archive/z/1');
      await data.findBind(ref, host, []);
      await data.release(ref, host, 2);
      expect(await data.markArchived(c, obj)).toBe(false);
    });

    it('markArchived refuses once the claim expired', async () => {
      const { ref } = await freeDoc();
      const c = (await data.claimDocument(ref, 'w-slow', 1))!;
      const obj = objectOf(c, 'archive/s/1');
      await new Promise((r) => setTimeout(r, 20));
      expect(await data.markArchived(c, obj)).toBe(false);
      expect((await data.lookup(ref))?.state).toBe('free');
    });

    it('a live claim is never re-taken or extended, not even by the worker holding it (issue 18.11)', async () => {
      const { ref, worker } = await freeDoc();
      const c = (await data.claimDocument(ref, worker, LEASE_MS))!;
      expect(await data.claimDocument(ref, worker, LEASE_MS)).toBeNull();
      expect((await data.claimColdDocuments(worker, 0, LEASE_MS, 1000)).find((x) => x.key === ref.key)).toBeUndefined();
      expect(await data.markArchived(c, objectOf(c, 'archive/live/1'))).toBe(true);
    });

    it('markArchived commits only under the token the row holds, for an object named by it', async () => {
      const { ref, worker } = await freeDoc();
      const old = (await data.claimDocument(ref, worker, 1))!;
      await new Promise((r) => setTimeout(r, 20));
      // The same worker claims again once the first lease ran out: a new token.
      const next = (await data.claimDocument(ref, worker, LEASE_MS))!;
      expect(next.claimToken).not.toBe(old.claimToken);
      expect(await data.markArchived({ ...next, claimToken: old.claimToken }, objectOf(old, 'archive/t/1'))).toBe(false);
      await data.releaseClaim(ref, old.claimToken);
      expect(await data.claimDocument(ref, 'w-other', LEASE_MS)).toBeNull();
      expect(await data.markArchived(next, objectOf(old, 'archive/t/1'))).toBe(false);
      expect(await data.markArchived(next, objectOf(next, 'archive/t/1'))).toBe(true);
    });

    it('holdClaim keeps only the named claim on the document for the hold', async () => {
      const { ref, worker } = await freeDoc();
      const c = (await data.claimDocument(ref, worker, 1))!;
      await data.holdClaim(c, LEASE_MS);
      await new Promise((r) => setTimeout(r, 20));
      expect(await data.claimDocument(ref, 'w-other', LEASE_MS)).toBeNull();
      await data.holdClaim({ ...ref, claimToken: 'not-its-token' }, 0);
      expect(await data.claimDocument(ref, 'w-other', LEASE_MS)).toBeNull();
      await data.revokeClaims([c]);
      expect(await data.claimDocument(ref, 'w-other', LEASE_MS)).not.toBeNull();
    });

    it('revokeClaims ends exactly the named claims, live ones included, and their commits then fail', async () => {
      const a = await freeDoc();
      const b = await freeDoc();
      const ca = (await data.claimDocument(a.ref, a.worker, LEASE_MS))!;
      const cb = (await data.claimDocument(b.ref, b.worker, LEASE_MS))!;
      expect(await data.revokeClaims([{ ...a.ref, claimToken: ca.claimToken }, { ...b.ref, claimToken: 'not-its-token' }])).toBe(1);
      expect(await data.revokeClaims([])).toBe(0);
      expect(await data.markArchived(ca, objectOf(ca, 'archive/rv/1'))).toBe(false);
      expect(await data.markArchived(cb, objectOf(cb, 'archive/rv/1'))).toBe(true);
      // A revoked claim leaves the document claimable at once.
      expect(await data.claimDocument(a.ref, 'w-next', LEASE_MS)).not.toBeNull();
    });

    it('an archived document binds with its ref; restoreArchived installs the snapshot, clears the ref, and the log continues', async () => {
      const { ref, host, worker } = await freeDoc();
      const c = (await data.claimDocument(ref, worker, LEASE_MS))!;
      const obj = objectOf(c, 'archive/r/1');
      await data.markArchived(c, obj);
      await data.trimArchived(ref, obj);
      const bind = await data.findBind(ref, host, []);
      expect(bind).toEqual({ kind: 'bound', epoch: 2, headSeq: 3, archiveRef: obj, previousState: 'archived' });
      expect(await data.restoreArchived(ref, 'someone-else', 2, obj, snap(3))).toBe(false);
      expect(await data.restoreArchived(ref, host, 2, obj, snap(2))).toBe(false);
      expect(await data.restoreArchived(ref, host, 2, obj, snap(3))).toBe(true);
      expect(await data.lookup(ref)).toMatchObject({ state: 'bound', archiveRef: null, headSeq: 3 });
      expect(await data.load(ref)).toEqual({ snapshot: snap(3), records: [] });
      expect(await data.append(ref, host, 2, 3, [rec(4, { d: 4 })])).toEqual({ ok: true });
      expect((await data.load(ref)).records).toEqual([rec(4, { d: 4 })]);
      expect(await data.trimArchived(ref, obj)).toMatchObject({ trimmed: false });
    });

    it('restoreArchived after an interrupted trim replaces the leftover log with the snapshot', async () => {
      const { ref, host, worker } = await freeDoc();
      const c = (await data.claimDocument(ref, worker, LEASE_MS))!;
      const obj = objectOf(c, 'archive/u/1');
      await data.markArchived(c, obj);
      await data.findBind(ref, host, []);
      expect(await data.restoreArchived(ref, host, 2, obj, snap(3))).toBe(true);
      expect(await data.load(ref)).toEqual({ snapshot: snap(3), records: [] });
      expect(await data.hotRows(ref)).toEqual({ logRows: 0, snapshotSeq: 3 });
    });

    it('releaseToArchived gives a failed restore back as archived with the same ref, and unarchive frees it', async () => {
      const { ref, host, worker } = await freeDoc();
      const c = (await data.claimDocument(ref, worker, LEASE_MS))!;
      const obj = objectOf(c, 'archive/f/1');
      await data.markArchived(c, obj);
      await data.trimArchived(ref, obj);
      await data.findBind(ref, host, []);
      expect(await data.releaseToArchived(ref, host, 1, obj)).toBe(false);
      expect(await data.releaseToArchived(ref, host, 2, obj)).toBe(true);
      expect(await data.lookup(ref)).toMatchObject({ state: 'archived', host: null, epoch: 2, archiveRef: obj });
      expect(await data.claimDocument(ref, worker, LEASE_MS)).toBeNull();
      expect(await data.unarchive(ref, 'archive/other', snap(3))).toBe(false);
      expect(await data.unarchive(ref, obj, snap(3))).toBe(true);
      expect(await data.lookup(ref)).toMatchObject({ state: 'free', archiveRef: null, headSeq: 3 });
      expect(await data.findBind(ref, host, [])).toMatchObject({ kind: 'bound', epoch: 3, archiveRef: null, previousState: 'free' });
      expect(await data.load(ref)).toEqual({ snapshot: snap(3), records: [] });
    });
  });
}
