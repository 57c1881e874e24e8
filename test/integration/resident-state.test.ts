/**
 * The resident data path (issue 19) through a real DocumentHost, real isolates and a real
 * database: a throwing handler changes nothing, an isolate killed mid-document is rebuilt with
 * nothing lost or applied twice, a viewer whose view is too large is closed alone, and viewers
 * who see the same thing share one Delta object.
 */
import { DocumentHost } from '../../services/adama-host/document-host';
import { DEFAULT_ISOLATES_PER_SPACE } from '../../services/adama-host/space-registry';
import { createIsolatedSandbox } from '../../services/runtime/isolated-sandbox';
import type { SandboxFactory, SpaceSandbox } from '../../services/runtime/space-sandbox';
import { systemClock } from '../../services/shared/clock';
import { hostDefaults, resolveConfig, type HostConfig } from '../../services/shared/config';
import { AdamaError, E } from '../../services/shared/errors';
import type { DataService } from '../../services/storage/data-service';
import { createLogger, silentLogger } from '../../services/shared/log';
import { apply, decode } from '../../services/protocol/delta';
import type { Json } from '../../services/shared/json';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SPACES_DIR } from '../../services/cli/dev-cluster';
import { diff, encode } from '../../services/protocol/delta';
import type { Delta } from '../../services/protocol/messages';
import type { LivingDocument } from '../../services/runtime/living-document';
import { freshStorage } from '../support/databases';
import { mulberry32 } from '../support/prng';
import { ViewWatcher } from '../support/host-rpc';

const who = (agent: string) => ({ agent, authority: 'anonymous' });

const NOTES = `
module.exports = {
  init() { return { items: [], n: 0, present: 0 }; },
  connect(state) { state.present++; return true; },
  disconnect(state) { if (state.present > 0) state.present--; },
  channels: {
    add(state, m) { state.items.push({ id: ++state.n, text: m.text }); },
    half(state, m) { state.items.push({ id: ++state.n, text: 'half' }); throw new Error('refused after a write'); },
    nested(state) { state.items[0].text = 'edited'; state.items[0].deep = { a: [1, 2] }; delete state.items[0].deep.a; throw new TypeError('bug'); },
    grow(state, m) { state.blob = 'x'.repeat(m.bytes); },
    bomb() { const a = []; for (;;) a.push(new Array(1e5).fill(1)); },
  },
  view(state, who, vs) {
    if (vs && vs.big) return { items: state.items, pad: 'y'.repeat(vs.big) };
    return { items: state.items, present: state.present };
  },
};`;

const BAD_DISCONNECT = `
module.exports = {
  init() { return { present: 0 }; },
  connect(state) { state.present++; return true; },
  disconnect() { throw new Error('disconnect is broken'); },
  channels: { ping() {} },
  view(state) { return state; },
};`;

describe('resident document state (in process, real isolates and database)', () => {
  let storage: Awaited<ReturnType<typeof freshStorage>>;
  const sandboxes: SpaceSandbox[] = [];
  /** Keeps every sandbox the host makes, so a test can kill its isolate as V8 would. */
  const factory: SandboxFactory = async (space, code, limits) => {
    const s = await createIsolatedSandbox(space, code, limits);
    sandboxes.push(s);
    return s;
  };
  const hosts: DocumentHost[] = [];
  function host(config: Partial<HostConfig> = {}, id = `h${hosts.length}`, data: DataService = storage.data): DocumentHost {
    const h = new DocumentHost({ hostId: id, data, sandboxFactory: factory, clock: systemClock, log: process.env.DEBUG_LOG ? createLogger("t", "debug") : silentLogger, config: resolveConfig(hostDefaults, config, {}) });
    hosts.push(h);
    return h;
  }

  beforeAll(async () => {
    storage = await freshStorage();
    await storage.data.deploySpace('notes', NOTES);
    await storage.data.deploySpace('bad-disconnect', BAD_DISCONNECT);
  }, 120_000);
  afterAll(async () => {
    for (const h of hosts) await h.shutdown().catch(() => undefined);
    await storage?.close();
  });

  /** The state the log produces when replayed from scratch. */
  async function replayed(space: string, key: string): Promise<Json> {
    const { snapshot, records } = await storage.data.load({ space, key });
    let s: Json = snapshot?.state ?? null;
    for (const r of records) s = apply(s, r.redo);
    return decode(s);
  }

  const docOf = (h: DocumentHost, space: string, key: string): LivingDocument => (h as unknown as { docs: Map<string, LivingDocument> }).docs.get(`${space}/${key}`)!;
  const sandboxesOf = (space: string) => sandboxes.filter((s) => s.space === space) as unknown as { killForTest(): void }[];

  /** Replays the log from scratch and checks every record's patches are exactly the whole-state diffs. */
  async function checkLog(space: string, key: string): Promise<Json[]> {
    const { snapshot, records } = await storage.data.load({ space, key });
    expect(snapshot).toBeNull();
    const states: Json[] = [];
    let s: Json = null;
    for (const r of records) {
      const next = apply(s, r.redo);
      if (r.seq > 1) {
        expect(r.redo).toEqual(diff(s, next) ?? {});
        expect(r.undo).toEqual(diff(next, s) ?? {});
        expect(apply(next, r.undo)).toEqual(s);
      }
      states[r.seq] = next;
      s = next;
    }
    expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i + 1)); // no gap, nothing twice
    return states;
  }

  it('a handler that throws (after writing, or deep in a nested edit) changes nothing', async () => {
    const h = host();
    const ref = { space: 'notes', key: 'throws' };
    await h.createDocument(ref, who('a'), {});
    const w = new ViewWatcher();
    const s = await h.openStream(ref, who('a'), { viewerState: {} }, w);
    await s.send('add', { text: 'one' });
    const before = await docOf(h, 'notes', 'throws').residentState();
    await expect(s.send('half', {})).rejects.toMatchObject({ code: E.SPACE_REJECTED.code });
    await expect(s.send('nested', {})).rejects.toMatchObject({ code: E.SPACE_ERROR.code });
    expect(await docOf(h, 'notes', 'throws').residentState()).toEqual(before);
    const { seq } = await s.send('add', { text: 'two' });
    expect(seq).toBe(4); // create, connect, two adds: the throwing sends left no record
    expect(w.view).toEqual({ items: [{ id: 1, text: 'one' }, { id: 2, text: 'two' }], present: 1 });
    await checkLog('notes', 'throws');
    expect(encode(await replayed('notes', 'throws'))).toEqual(await docOf(h, 'notes', 'throws').residentState());
  });

  it('a change refused by the log after its views were speculated leaves every viewer with the committed view', async () => {
    // The database refuses the next append for its data (RECORD_UNSTORABLE) after the isolate
    // already computed the views of that change in the same call as the change (speculate).
    let refuseNext = false;
    const refusing = new Proxy(storage.data, {
      get(target, k) {
        if (k === 'appendMany') {
          return async (items: Parameters<DataService['appendMany']>[0]) => {
            if (!refuseNext) return target.appendMany(items);
            refuseNext = false;
            return items.map(() => ({ ok: false, refused: new AdamaError(E.RECORD_UNSTORABLE, 'refused by the test') }));
          };
        }
        const v = Reflect.get(target, k) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const h = host({}, undefined, refusing);
    const ref = { space: 'notes', key: 'refused-after-views' };
    await h.createDocument(ref, who('a'), {});
    const a = new ViewWatcher();
    const b = new ViewWatcher();
    const s = await h.openStream(ref, who('a'), { viewerState: {} }, a);
    await h.openStream(ref, who('b'), { viewerState: {} }, b);
    await s.send('add', { text: 'one' });
    refuseNext = true;
    await expect(s.send('add', { text: 'two' })).rejects.toMatchObject({ retry: expect.any(Boolean) });
    await s.send('add', { text: 'three' });
    const expected = { items: [{ id: 1, text: 'one' }, { id: 2, text: 'three' }], present: 2 };
    expect(a.view).toEqual(expected); // the sender's stream has the change before its ack
    await b.until((v) => JSON.stringify(v) === JSON.stringify(expected));
    expect(await replayed('notes', 'refused-after-views')).toEqual({ items: expected.items, n: 2, present: 2 });
  });

  it('rebuilds a document whose isolate was killed mid-batch: nothing acknowledged is lost, nothing applied twice', async () => {
    const h = host();
    const ref = { space: 'notes', key: 'killed' };
    await h.createDocument(ref, who('a'), {});
    const w = new ViewWatcher();
    const s = await h.openStream(ref, who('a'), { viewerState: {} }, w);
    await s.send('add', { text: 'before' });
    // Several sends queued, and the isolates die while the first of them runs.
    const sends = ['k1', 'k2', 'k3', 'k4', 'k5'].map((t) => s.send('add', { text: t }, `dedupe-${t}`));
    for (const sb of sandboxesOf('notes')) sb.killForTest();
    const results = await Promise.allSettled(sends);
    const acked = results.flatMap((r, i) => (r.status === 'fulfilled' ? [`k${i + 1}`] : []));
    for (const r of results) if (r.status === 'rejected') expect([E.SPACE_MEMORY_LIMIT.code, E.SPACE_DOC_LOST.code]).toContain((r.reason as { code: number }).code);
    // The document keeps serving; retrying every send with its dedupe key applies each exactly once.
    for (const t of ['k1', 'k2', 'k3', 'k4', 'k5']) await s.send('add', { text: t }, `dedupe-${t}`);
    await s.send('add', { text: 'after' });
    const texts = ((await replayed('notes', 'killed')) as { items: { text: string }[] }).items.map((i) => i.text);
    // Each exactly once (a send refused by the kill lands where its retry did).
    expect(texts[0]).toBe('before');
    expect(texts[texts.length - 1]).toBe('after');
    expect([...texts].sort()).toEqual(['after', 'before', 'k1', 'k2', 'k3', 'k4', 'k5']);
    expect(acked.every((t) => texts.includes(t))).toBe(true);
    await checkLog('notes', 'killed');
    expect(await docOf(h, 'notes', 'killed').residentState()).toEqual(encode(await replayed('notes', 'killed')));
    expect((w.view as { items: { text: string }[] }).items.map((i) => i.text)).toEqual(texts);
  });

  it('survives a real memory-limit kill by the space (allocation bomb) with the state intact', async () => {
    const h = host({ sandboxMemoryMb: 16, sandboxCallTimeoutMs: 2000 });
    const ref = { space: 'notes', key: 'bomb' };
    await h.createDocument(ref, who('a'), {});
    const w = new ViewWatcher();
    const s = await h.openStream(ref, who('a'), { viewerState: {} }, w);
    await s.send('add', { text: 'kept' });
    await expect(s.send('bomb', {})).rejects.toMatchObject({ code: E.SPACE_MEMORY_LIMIT.code });
    await s.send('add', { text: 'next' });
    await w.until((v) => (v as { items: unknown[] }).items.length === 2);
    expect(w.view).toEqual({ items: [{ id: 1, text: 'kept' }, { id: 2, text: 'next' }], present: 1 });
    await checkLog('notes', 'bomb');
  });

  it('closes alone, with VIEW_TOO_LARGE, a viewer whose view passes the limit; the others continue', async () => {
    const h = host({ maxViewBytes: 2000 });
    const ref = { space: 'notes', key: 'big-view' };
    await h.createDocument(ref, who('a'), {});
    const small = new ViewWatcher();
    const big = new ViewWatcher();
    const s = await h.openStream(ref, who('a'), { viewerState: {} }, small);
    const b = await h.openStream(ref, who('b'), { viewerState: {} }, big);
    await b.update({ big: 5000 });
    expect(await big.closed).toMatchObject({ code: E.VIEW_TOO_LARGE.code });
    await s.send('add', { text: 'still here' });
    expect(small.view).toEqual({ items: [{ id: 1, text: 'still here' }], present: 2 });
    // A viewer that joins with a view already too large is refused alone, with the same code.
    await expect(h.openStream(ref, who('c'), { viewerState: { big: 5000 } }, new ViewWatcher())).rejects.toMatchObject({ code: E.VIEW_TOO_LARGE.code });
    await s.send('add', { text: 'and here' });
    expect((small.view as { items: unknown[] }).items).toHaveLength(2);
  });

  it('gives viewers who see the same thing the same frozen Delta object; the sender gets it before its ack, the others right after', async () => {
    const h = host();
    const ref = { space: 'notes', key: 'shared' };
    await h.createDocument(ref, who('a'), {});
    const got: Delta[][] = [[], [], []];
    const sink = (i: number) => ({ onDelta: (d: Delta) => got[i]!.push(d), onClosed: () => undefined });
    const streams = [];
    for (let i = 0; i < 3; i++) streams.push(await h.openStream(ref, who(`v${i}`), { viewerState: i === 2 ? { big: 10 } : {} }, sink(i)));
    for (const g of got) g.length = 0;
    await streams[0]!.send('add', { text: 'hello' });
    // Read-your-writes: the sender's delta arrived before its ack; nobody else waited for the ack.
    expect(got[0]).toHaveLength(1);
    expect(got[1]).toHaveLength(0);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(got[1]).toHaveLength(1);
    expect(got[0]![0]).toBe(got[1]![0]);
    expect(Object.isFrozen(got[0]![0])).toBe(true);
    expect(got[2]![0]).not.toBe(got[0]![0]); // a different view gets its own delta
  });

  it('caps viewers per document and loaded documents per host with coded, retryable errors', async () => {
    const h = host({ maxViewersPerDocument: 2, maxLoadedDocuments: 2 });
    await h.createDocument({ space: 'notes', key: 'cap-1' }, who('a'), {});
    await h.createDocument({ space: 'notes', key: 'cap-2' }, who('a'), {});
    await expect(h.createDocument({ space: 'notes', key: 'cap-3' }, who('a'), {})).rejects.toMatchObject({ code: E.TOO_MANY_DOCUMENTS.code });
    const ref = { space: 'notes', key: 'cap-1' };
    await h.openStream(ref, who('a'), { viewerState: {} }, new ViewWatcher());
    await h.openStream(ref, who('b'), { viewerState: {} }, new ViewWatcher());
    await expect(h.openStream(ref, who('c'), { viewerState: {} }, new ViewWatcher())).rejects.toMatchObject({ code: E.TOO_MANY_VIEWERS.code, retry: true });
  });

  describe('property: resident execution = replaying the log from scratch, for every example space', () => {
    const SPACES = ['chat', 'counter', 'cards', 'private-notes'];
    const MESSAGES: Record<string, (r: () => number) => [string, Json]> = {
      chat: (r) => ['say', r() < 0.15 ? { text: '' } : { text: `m${Math.floor(r() * 1000)}` }],
      counter: (r) => ['add', r() < 0.1 ? { by: 'x' } : { by: Math.floor(r() * 10) - 3 }],
      cards: (r) => (r() < 0.4 ? ['deal', { count: 1 + Math.floor(r() * 3) }] : ['play', { card: ['AS', '2H', '10D', 'KC'][Math.floor(r() * 4)]! }]),
      'private-notes': (r) => ['write', r() < 0.1 ? { text: '' } : { text: `n${Math.floor(r() * 100)}` }],
    };
    for (const space of SPACES) {
      it(`${space}: patches, resident state and every viewer's view match a replay (seeded)`, async () => {
        await storage.data.deploySpace(space, readFileSync(join(DEFAULT_SPACES_DIR, space, 'index.js'), 'utf8'));
        const h = host();
        const key = `prop-${space}`;
        const ref = { space, key };
        await h.createDocument(ref, who('creator'), null);
        const r = mulberry32(0x19 + space.length);
        const open: { agent: string; stream: Awaited<ReturnType<DocumentHost['openStream']>>; watcher: ViewWatcher }[] = [];
        for (let i = 0; i < 60; i++) {
          const x = r();
          if (x < 0.2 && open.length < 5) {
            const agent = `u${Math.floor(r() * 4)}`;
            const watcher = new ViewWatcher();
            const stream = await h.openStream(ref, { agent, authority: 'jwt' }, { viewerState: {} }, watcher);
            open.push({ agent, stream, watcher });
          } else if (x < 0.3 && open.length > 1) {
            const [gone] = open.splice(Math.floor(r() * open.length), 1);
            await gone!.stream.close();
          } else if (open.length > 0) {
            const who = open[Math.floor(r() * open.length)]!;
            const [channel, message] = MESSAGES[space]!(r);
            await who.stream.send(channel, message).catch(() => undefined);
          }
        }
        const states = await checkLog(space, key);
        const head = states[states.length - 1]!;
        expect(await docOf(h, space, key).residentState()).toEqual(head);
        const reference = sandboxes.find((s) => s.space === space)!;
        for (const o of open) {
          const [expected] = await reference.views(decode(head), [{ who: { agent: o.agent, authority: 'jwt' }, viewerState: {} }]);
          expect(o.watcher.view).toEqual(decode(encode(expected!)));
        }
      });
    }
  });

  it('disposes superseded space versions once no document uses them (redeploy churn, issue 18.6)', async () => {
    const h = host();
    const live = () => sandboxes.filter((sb) => sb.space === 'churn' && !(sb as unknown as { disposed: boolean }).disposed).length;
    const held = new ViewWatcher();
    await storage.data.deploySpace('churn', NOTES);
    await h.createDocument({ space: 'churn', key: 'held' }, who('a'), {});
    const stream = await h.openStream({ space: 'churn', key: 'held' }, who('a'), { viewerState: {} }, held);
    for (let v = 1; v <= 12; v++) {
      await storage.data.deploySpace('churn', `${NOTES}\n// v${v}`);
      await h.createDocument({ space: 'churn', key: `k${v}` }, who('a'), {});
      await docOf(h, 'churn', `k${v}`).unload('idle'); // as the idle timer would
    }
    // The first version is still used by 'held'; of the rest only the newest remains.
    expect(h.spaceVersionsHeld).toBe(2);
    await stream.send('add', { text: 'old version still serves' });
    await stream.close();
    await docOf(h, 'churn', 'held').unload('idle');
    expect(h.spaceVersionsHeld).toBe(1);
    await Promise.resolve();
    expect(live()).toBe(DEFAULT_ISOLATES_PER_SPACE); // one version's isolates, not 13 versions' pools
  });

  it('closes a stream whose space disconnect() throws and keeps serving', async () => {
    const h = host();
    const ref = { space: 'bad-disconnect', key: 'd' };
    await h.createDocument(ref, who('a'), {});
    const first = await h.openStream(ref, who('a'), { viewerState: {} }, new ViewWatcher());
    await expect(first.close()).resolves.toBeUndefined();
    const watcher = new ViewWatcher();
    const second = await h.openStream(ref, who('b'), { viewerState: {} }, watcher);
    await second.send('ping', {});
    expect(watcher.view).toEqual({ present: 2 });
  });
});
