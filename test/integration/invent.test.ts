/**
 * `invent: true`: a connect to a missing document of such a space creates it with init({}) by the
 * connecting principal and then connects, through a real proxy and host on PostgreSQL. A space
 * without it still answers DOCUMENT_NOT_FOUND; racing connects invent one document, not two.
 * (An `invent` that is not a boolean is a compile error: isolated-sandbox.test.ts.)
 */
import { E } from '../../services/shared/errors';
import { openStorage, type Storage } from '../../services/storage/open-storage';
import { startTestCluster, type TestCluster } from '../support/cluster';
import { spacesDirWith } from '../support/spaces-dir';

const LOBBY = `
module.exports = {
  invent: true,
  init(arg) { return { made: typeof arg === 'object' && arg !== null ? Object.keys(arg).length : -1, present: {}, said: [] }; },
  connect(state, who) { state.present[who.agent] = true; return true; },
  disconnect(state, who) { delete state.present[who.agent]; },
  channels: { say(state, m, who) { state.said.push(who.agent + ':' + m.text); } },
  view(state) { return state; },
};`;

const kindOf = (request: unknown): unknown => (request as { kind?: unknown } | null)?.kind;

describe('invent: documents created on first connect', () => {
  let t: TestCluster;
  let storage: Storage;
  beforeAll(async () => {
    t = await startTestCluster({ spacesDir: spacesDirWith({ lobby: LOBBY }) });
    storage = await openStorage({ databaseUrl: t.databaseUrl });
  });
  afterAll(async () => { await storage?.close(); await t?.close(); });

  it('creates a missing document with init({}) and connects to it; its first record is the create by that principal', async () => {
    const alice = t.client('alice').connect('lobby', 'room-1');
    await alice.ready;
    expect(alice.view).toMatchObject({ made: 0, present: { alice: true }, said: [] });
    await alice.send('say', { text: 'hi' });
    const { records } = await storage.data.load({ space: 'lobby', key: 'room-1' });
    expect(records[0]).toMatchObject({ seq: 1, request: { kind: 'create', arg: {} }, who: { agent: 'alice' } });
    expect(records.map((r) => kindOf(r.request))).toEqual(['create', 'connect', 'send']);
    // A second connect finds it: no second create.
    const bob = t.client('bob').connect('lobby', 'room-1');
    await bob.ready;
    expect(bob.view).toMatchObject({ present: { alice: true, bob: true }, said: ['alice:hi'] });
    await Promise.all([alice.end(), bob.end()]);
  });

  it('invents a document once when many connect to it at the same moment', async () => {
    const docs = Array.from({ length: 8 }, (_, i) => t.client(`racer${i}`).connect('lobby', 'race'));
    await Promise.all(docs.map((d) => d.ready));
    const { records } = await storage.data.load({ space: 'lobby', key: 'race' });
    expect(records.filter((r) => kindOf(r.request) === 'create')).toHaveLength(1);
    // Every racer connected to that one document (a viewer's view may not show the last joins yet).
    expect(records.filter((r) => kindOf(r.request) === 'connect')).toHaveLength(8);
    await Promise.all(docs.map((d) => d.end()));
  });

  it('still answers DOCUMENT_NOT_FOUND for a space that does not invent', async () => {
    const doc = t.client('carol').connect('counter', 'never-made');
    await expect(doc.ready).rejects.toMatchObject({ code: E.DOCUMENT_NOT_FOUND.code, retry: false });
  });
});
