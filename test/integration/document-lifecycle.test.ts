/**
 * Document lifecycle (issue 12.2): `document/delete` decided by the space's canDelete(state, who)
 * (default: refuse), fenced like an append, ending every stream of the document with
 * DOCUMENT_DELETED; a deleted key created again is a new document; `document/list` pages a
 * space's documents for principals its canList(who) admits. Through a real proxy and host on
 * PostgreSQL (single process), then through split tiers (proxy -> host over gRPC).
 */
import type { AdamaFailure } from '../../client/index';
import { E } from '../../services/shared/errors';
import { openStorage, type Storage } from '../../services/storage/open-storage';
import { startTestCluster, type TestCluster } from '../support/cluster';
import { startSplitCluster, type SplitCluster } from '../support/split-cluster';
import { spacesDirWith } from '../support/spaces-dir';

/**
 * The first principal to connect owns the shelf and alone may delete it (canDelete also edits the
 * state it was given, which must change nothing); anonymous principals may list, except `nolist*`.
 */
const SHELF = `
module.exports = {
  init(arg) { return { owner: null, title: arg && typeof arg.title === 'string' ? arg.title : '' }; },
  connect(state, who) { if (state.owner === null) state.owner = who.id; return true; },
  canDelete(state, who) { const mine = state.owner === who.id; state.owner = 'edited by canDelete'; return mine; },
  canList(who) { return who.authority === 'anonymous' && !who.agent.startsWith('nolist'); },
  channels: { title(state, m) { state.title = String(m.title); } },
  view(state) { return state; },
};`;

const codeOf = (p: Promise<unknown>) => p.then(() => 'resolved', (e: unknown) => (e as AdamaFailure).code);

/** A stream's end, as its onError reports it. */
function streamEnd(): { onError(e: AdamaFailure): void; ended: Promise<AdamaFailure> } {
  let onError!: (e: AdamaFailure) => void;
  const ended = new Promise<AdamaFailure>((resolve) => { onError = resolve; });
  return { onError, ended };
}

describe('document lifecycle on one process', () => {
  let t: TestCluster;
  let storage: Storage;
  beforeAll(async () => {
    t = await startTestCluster({ spacesDir: spacesDirWith({ shelf: SHELF }) });
    storage = await openStorage({ databaseUrl: t.databaseUrl });
  });
  afterAll(async () => { await storage?.close(); await t?.close(); });

  it('deletes for the principal canDelete admits: every stream ends with DOCUMENT_DELETED, the log is gone, a connect finds nothing', async () => {
    const owner = t.client('owner-1');
    await owner.createDocument('shelf', 'books', { title: 'Books' });
    const ownerDoc = owner.connect('shelf', 'books');
    await ownerDoc.ready;
    const end = streamEnd();
    const watcher = t.client('watcher').connect('shelf', 'books', { onError: end.onError });
    await watcher.ready;
    await ownerDoc.send('title', { title: 'Old books' });

    await owner.deleteDocument('shelf', 'books');
    await expect(end.ended).resolves.toMatchObject({ code: E.DOCUMENT_DELETED.code, retry: false });
    await expect(codeOf(watcher.send('title', { title: 'x' }))).resolves.toBe(E.DOCUMENT_DELETED.code);
    expect(await storage.data.load({ space: 'shelf', key: 'books' })).toEqual({ snapshot: null, records: [] });
    expect(await storage.data.lookup({ space: 'shelf', key: 'books' })).toMatchObject({ state: 'deleted', host: null });
    await expect(codeOf(t.client('late').connect('shelf', 'books').ready)).resolves.toBe(E.DOCUMENT_NOT_FOUND.code);
    await expect(codeOf(owner.deleteDocument('shelf', 'books'))).resolves.toBe(E.DOCUMENT_NOT_FOUND.code);
  });

  it('refuses with DELETE_DENIED when canDelete says no or the space has none, and the document keeps working (canDelete edits nothing)', async () => {
    const owner = t.client('owner-2');
    await owner.createDocument('shelf', 'kept', { title: 'Kept' });
    const doc = owner.connect('shelf', 'kept');
    await doc.ready;
    await expect(codeOf(t.client('intruder').deleteDocument('shelf', 'kept'))).resolves.toBe(E.DELETE_DENIED.code);
    await doc.send('title', { title: 'Still here' });
    expect(doc.view).toMatchObject({ owner: 'anonymous:owner-2', title: 'Still here' });
    await owner.createDocument('counter', 'no-delete', {});
    await expect(codeOf(owner.deleteDocument('counter', 'no-delete'))).resolves.toBe(E.DELETE_DENIED.code);
    await doc.end();
  });

  it('creates a deleted key again as a new document from init', async () => {
    const owner = t.client('owner-3');
    await owner.createDocument('shelf', 'again', { title: 'First' });
    const first = owner.connect('shelf', 'again');
    await first.ready;
    await first.send('title', { title: 'First, edited' });
    await owner.deleteDocument('shelf', 'again');
    expect(await owner.createDocument('shelf', 'again', { title: 'Second' })).toEqual({ seq: 1 });
    const second = owner.connect('shelf', 'again');
    await second.ready;
    expect(second.view).toEqual({ owner: 'anonymous:owner-3', title: 'Second' });
    const { records } = await storage.data.load({ space: 'shelf', key: 'again' });
    expect(records.map((r) => r.seq)).toEqual([1, 2]);
    await second.end();
  });

  it('lists a space in key order, page by page, without deleted documents; LIST_DENIED for principals canList refuses and spaces without it', async () => {
    const c = t.client('owner-lister');
    for (const key of ['l-c', 'l-a', 'l-d', 'l-b', 'l-gone']) await c.createDocument('shelf', key, {});
    const gone = c.connect('shelf', 'l-gone'); // the first to connect owns it
    await gone.ready;
    await c.deleteDocument('shelf', 'l-gone');
    const keys: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 10; page++) {
      const r = await c.listDocuments('shelf', { limit: 2, ...(after !== undefined ? { after } : {}) });
      expect(r.documents.length).toBeLessThanOrEqual(2);
      keys.push(...r.documents.map((d) => d.key));
      if (r.next === undefined) break;
      after = r.next;
    }
    expect(keys.filter((k) => k.startsWith('l-'))).toEqual(['l-a', 'l-b', 'l-c', 'l-d']); // l-gone was deleted
    expect(keys).not.toContain('books'); // deleted in the first test
    expect(keys).toEqual([...keys].sort());
    const one = (await c.listDocuments('shelf', { after: 'l-a', limit: 1 })).documents[0];
    expect(one).toEqual({ key: 'l-b', seq: 1, updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    await expect(codeOf(t.client('nolist-1').listDocuments('shelf'))).resolves.toBe(E.LIST_DENIED.code);
    await expect(codeOf(c.listDocuments('counter'))).resolves.toBe(E.LIST_DENIED.code);
  });
});

describe('document lifecycle through split tiers', () => {
  let s: SplitCluster;
  beforeAll(async () => {
    s = await startSplitCluster({ hosts: 2, proxies: 1 });
    await s.storage.data.deploySpace('shelf', SHELF);
  }, 60_000);
  afterAll(async () => { await s?.close(); });

  it('deletes through the proxy on the owning host, ends the streams there, and lists from any host', async () => {
    const owner = s.client('owner-split');
    for (let i = 0; i < 6; i++) await owner.createDocument('shelf', `s-${i}`, {});
    const end = streamEnd();
    const doc = owner.connect('shelf', 's-3', { onError: end.onError });
    await doc.ready;
    await owner.deleteDocument('shelf', 's-3');
    await expect(end.ended).resolves.toMatchObject({ code: E.DOCUMENT_DELETED.code, retry: false });
    const listed = await owner.listDocuments('shelf', { limit: 100 });
    expect(listed.documents.map((d) => d.key)).toEqual(['s-0', 's-1', 's-2', 's-4', 's-5']);
    expect(listed.next).toBeUndefined();
    const s4 = owner.connect('shelf', 's-4');
    await s4.ready;
    await expect(codeOf(s.client('intruder-split').deleteDocument('shelf', 's-4'))).resolves.toBe(E.DELETE_DENIED.code);
  });
});
