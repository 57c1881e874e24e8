/**
 * Calls into a space run synchronously for up to `syncSliceMs`; one that outruns the slice is
 * stopped and re-run off the event loop with the full limit (isolated-sandbox.ts). These tests
 * show the re-run changes nothing a client could see: a slow handler applies once, a slow view
 * is served (not failed), a runaway still fails with SPACE_TIMEOUT, and the space is reported.
 */
import { AdamaError, E } from '../shared/errors';
import type { Json } from '../shared/json';
import { createIsolatedSandbox } from './isolated-sandbox';
import type { CallContext, ResidentDocument, SpaceSandbox } from './space-sandbox';
import { ResidentDoc, Store } from './isolate/resident-core';

const alice = { agent: 'alice', authority: 'anonymous' };
const ctxAt = (seq: number): CallContext => ({ space: 'slow', key: 'k', nowMs: 1_700_000_000_000, seq });

/** Spins for `ms` of wall time inside the isolate (Date.now is the isolate's own clock). */
const SPACE = `
function spin(ms) { const end = Date.now() + ms; while (Date.now() < end) {} }
module.exports = {
  init() { return { n: 0, log: [] }; },
  channels: {
    add(state, m) { if (m.spinMs) spin(m.spinMs); state.n++; state.log.push(m.tag); },
    forever() { for (;;) {} },
  },
  view(state, who, vs) { if (vs && vs.spinMs) spin(vs.spinMs); return { n: state.n, log: state.log }; },
};`;

const opened: SpaceSandbox[] = [];
afterEach(() => { for (const s of opened.splice(0)) s.dispose(); });

async function residentDoc(slow: string[]): Promise<{ sandbox: SpaceSandbox; doc: ResidentDocument }> {
  const sandbox = await createIsolatedSandbox('slow', SPACE, { memoryLimitMb: 16, callTimeoutMs: 2000, syncSliceMs: 10, onSlowCall: (_space, op) => slow.push(op) });
  opened.push(sandbox);
  const doc = await sandbox.open('slow/k', { n: 0, log: [] } as Json, 0);
  return { sandbox, doc };
}

const send = (seq: number, message: Json) => ({ kind: 'send' as const, channel: 'add', message, who: alice, ctx: ctxAt(seq), maxBytes: 1 << 20 });

describe('the synchronous slice of a space call', () => {
  it('re-runs a handler that outran the slice off the loop and applies it exactly once', async () => {
    const slow: string[] = [];
    const { sandbox, doc } = await residentDoc(slow);
    const first = await doc.step(send(1, { tag: 'slow', spinMs: 60 }));
    expect(first.redo).toEqual({ n: 1, log: ['slow'] });
    expect(slow).toEqual(['step']);
    expect((sandbox as unknown as { slowCalls: number }).slowCalls).toBe(1);
    // The space now runs off the loop; the next change builds on the first, once.
    const second = await doc.step(send(2, { tag: 'fast' }));
    expect(second.redo).toEqual({ n: 2, log: ['slow', 'fast'] });
    const groups = await doc.publish({ seq: 2, join: [{ spec: { id: 1, who: alice, viewerState: {} } }], update: [], leave: [], maxViewBytes: 1 << 20 });
    expect(groups).toHaveLength(1);
    expect(JSON.parse(groups[0]!.data!)).toEqual({ n: 2, log: ['slow', 'fast'] });
  });

  it('serves a view that outran the slice instead of failing its viewer', async () => {
    const slow: string[] = [];
    const { doc } = await residentDoc(slow);
    const groups = await doc.publish({ seq: 0, join: [{ spec: { id: 1, who: alice, viewerState: { spinMs: 60 } } }, { spec: { id: 2, who: alice, viewerState: {} } }], update: [], leave: [], maxViewBytes: 1 << 20 });
    expect(slow).toEqual(['publish']);
    expect(groups.filter((g) => g.fail)).toEqual([]);
    expect(groups.flatMap((g) => g.ids).sort()).toEqual([1, 2]);
  });

  it('finishes a publish whose encoding phase outlasts the slice, and every viewer gets its delta', async () => {
    // Regression: the second phase (encode and diff each group) had no budget, so with many
    // distinct views it outran the slice; its re-run started over with the views already marked
    // published, and sent nothing to anyone.
    const code = `module.exports = {
      init() { return { n: 0 }; },
      channels: { add(state) { state.n++; } },
      view(state, who) { return { n: state.n, me: who.agent, rows: state.rows }; },
    };`;
    const slow: string[] = [];
    const sandbox = await createIsolatedSandbox('wide', code, { memoryLimitMb: 128, callTimeoutMs: 10_000, syncSliceMs: 5, onSlowCall: (_s, op) => slow.push(op) });
    opened.push(sandbox);
    const rows = Array.from({ length: 1000 }, (_, i) => ({ id: i, text: `row ${i}` }));
    const doc = await sandbox.open('wide/k', { n: 0, rows } as Json, 0);
    const ids = Array.from({ length: 400 }, (_, i) => i + 1);
    const join = ids.map((id) => ({ spec: { id, who: { agent: `v${id}`, authority: 'anonymous' }, viewerState: {} } }));
    const groups = await doc.publish({ seq: 0, join, update: [], leave: [], maxViewBytes: 64 << 20 });
    expect(groups.filter((g) => g.fail)).toEqual([]);
    expect(groups.filter((g) => g.data !== undefined).flatMap((g) => g.ids).sort((x, y) => x - y)).toEqual(ids);
    await doc.step(send(1, {}));
    const next = await doc.publish({ seq: 1, join: [], update: [], leave: [], maxViewBytes: 64 << 20 });
    expect(next.filter((g) => g.data !== undefined).flatMap((g) => g.ids).sort((x, y) => x - y)).toEqual(ids);
    expect(next.every((g) => g.data === undefined || JSON.parse(g.data).n === 1)).toBe(true);
  }, 60_000);

  it('still stops a runaway handler with SPACE_TIMEOUT at the full limit, and keeps the document', async () => {
    const slow: string[] = [];
    const sandbox = await createIsolatedSandbox('slow', SPACE, { memoryLimitMb: 16, callTimeoutMs: 300, syncSliceMs: 10, onSlowCall: (_s, op) => slow.push(op) });
    opened.push(sandbox);
    const doc = await sandbox.open('slow/k', { n: 0, log: [] } as Json, 0);
    const err = await doc.step({ ...send(1, {}), channel: 'forever' }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(AdamaError);
    expect((err as AdamaError).entry).toBe(E.SPACE_TIMEOUT);
    expect(slow).toEqual(['step']);
    expect((await doc.step(send(1, { tag: 'after' }))).redo).toEqual({ n: 1, log: ['after'] });
  });
});

describe('resident-core re-runs', () => {
  const store = () => new Store();
  it('a step for a seq already pending replaces that change instead of applying on top of it', () => {
    const doc = new ResidentDoc(store(), { n: 0 }, 0);
    const inc = (d: { n: number }) => { d.n++; return { state: undefined }; };
    doc.step(1, 1 << 20, true, inc);
    const again = doc.step(1, 1 << 20, true, inc);
    expect(again.redo).toEqual({ n: 1 });
    doc.commit(1);
    expect(doc.committed).toEqual({ n: 1 });
  });

  it('a replay run twice applies each change once', () => {
    const doc = new ResidentDoc(store(), { n: 0 }, 0);
    doc.replay(1, { n: 1 });
    doc.replay(2, { n: 2 });
    doc.replay(1, { n: 1 });
    doc.replay(2, { n: 2 });
    doc.commit(2);
    expect(doc.committed).toEqual({ n: 2 });
  });
});
