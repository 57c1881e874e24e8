import { AdamaError, E, type ErrorEntry } from '../shared/errors';
import type { Json } from '../shared/json';
import type { CallContext, SandboxLimits, SpaceSandbox } from './space-sandbox';
import { createIsolatedSandbox } from './isolated-sandbox';

const LIMITS: SandboxLimits = { memoryLimitMb: 16, callTimeoutMs: 200 };
const ctx: CallContext = { space: 'chat', key: 'room-1', nowMs: 1_700_000_000_000, seq: 1 };
const alice = { agent: 'alice', authority: 'anonymous' };
const bob = { agent: 'bob', authority: 'anonymous' };

const CHAT = `
module.exports = {
  init(arg, ctx) { return { title: arg.title, messages: [], members: [], createdAt: ctx.now }; },
  connect(state, who) { state.members.push(who.agent); return who.agent !== 'mallory'; },
  disconnect(state, who) { state.members = state.members.filter((m) => m !== who.agent); },
  channels: {
    say(state, message, who, ctx) { state.messages.push({ who: who.agent, text: message.text, seq: ctx.seq }); },
    reset(state) { return { title: state.title, messages: [], members: state.members, createdAt: state.createdAt }; },
  },
  view(state) { return { title: state.title, messages: state.messages }; },
};`;

/** A minimal space whose one channel runs `body` with (state, message, who, ctx) in scope. */
function spaceWith(body: string, extra = ''): string {
  return `${extra}
module.exports = {
  init() { return { n: 0 }; },
  channels: { go(state, message, who, ctx) { ${body} } },
  view(state) { return state; },
};`;
}

const open: SpaceSandbox[] = [];
async function sandbox(code: string, limits: SandboxLimits = LIMITS): Promise<SpaceSandbox> {
  const s = await createIsolatedSandbox('test', code, limits);
  open.push(s);
  return s;
}
afterEach(() => {
  for (const s of open.splice(0)) s.dispose();
});

async function failure(p: Promise<unknown>): Promise<AdamaError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AdamaError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}
async function expectCode(p: Promise<unknown>, entry: ErrorEntry): Promise<AdamaError> {
  const err = await failure(p);
  expect(err.entry.name).toBe(entry.name);
  return err;
}

describe('createIsolatedSandbox', () => {
  it('runs init, connect, send and view for a small chat space', async () => {
    const s = await sandbox(CHAT);
    expect(s.channels).toEqual(['say', 'reset']);
    const s0 = await s.init({ title: 'hi' }, ctx);
    expect(s0).toEqual({ title: 'hi', messages: [], members: [], createdAt: ctx.nowMs });
    const c = await s.connect(s0, alice, ctx);
    expect(c).toEqual({ allow: true, state: { title: 'hi', messages: [], members: ['alice'], createdAt: ctx.nowMs } });
    const { state } = await s.send(c.state, 'say', { text: 'hello' }, alice, { ...ctx, seq: 7 });
    expect(await s.views(state, [{ who: bob, viewerState: null }])).toEqual([
      { title: 'hi', messages: [{ who: 'alice', text: 'hello', seq: 7 }] },
    ]);
  });

  it('keeps the state a handler mutated in place', async () => {
    const s = await sandbox(CHAT);
    const { state } = await s.disconnect({ title: 't', messages: [], members: ['alice', 'bob'], createdAt: 0 }, alice, ctx);
    expect(state).toEqual({ title: 't', messages: [], members: ['bob'], createdAt: 0 });
  });

  it('uses the new state a handler returned', async () => {
    const s = await sandbox(CHAT);
    const before = { title: 't', messages: [{ who: 'a', text: 'x', seq: 1 }], members: ['a'], createdAt: 0 };
    const { state } = await s.send(before, 'reset', null, alice, ctx);
    expect(state).toEqual({ title: 't', messages: [], members: ['a'], createdAt: 0 });
  });

  it('reports a denied connect as allow false', async () => {
    const s = await sandbox(CHAT);
    const c = await s.connect({ title: 't', messages: [], members: [], createdAt: 0 }, { agent: 'mallory', authority: 'anonymous' }, ctx);
    expect(c.allow).toBe(false);
  });

  it('allows every viewer and changes nothing when the space has no connect or disconnect', async () => {
    const s = await sandbox(spaceWith('state.n++;'));
    expect(await s.connect({ n: 1 }, alice, ctx)).toEqual({ allow: true, state: { n: 1 } });
    expect(await s.disconnect({ n: 1 }, alice, ctx)).toEqual({ state: { n: 1 } });
  });

  it('shows each viewer only their own hand in one views call', async () => {
    const cards = `module.exports = {
      init() { return { hands: { alice: [1, 2], bob: [3, 4] }, table: [9] }; },
      channels: {},
      view(state, who) {
        // Deliberately edits the state it was given; other viewers must not be affected.
        const mine = state.hands[who.agent] || [];
        delete state.hands;
        return { mine, table: state.table };
      },
    };`;
    const s = await sandbox(cards);
    const state = await s.init(null, ctx);
    const views = await s.views(state, [
      { who: alice, viewerState: null },
      { who: bob, viewerState: null },
    ]);
    expect(views).toEqual([
      { mine: [1, 2], table: [9] },
      { mine: [3, 4], table: [9] },
    ]);
  });

  it('stops an infinite loop with SPACE_TIMEOUT and keeps serving the next call', async () => {
    const s = await sandbox(spaceWith('if (message.spin) { for (;;) {} } state.n++;'));
    await expectCode(s.send({ n: 0 }, 'go', { spin: true }, alice, ctx), E.SPACE_TIMEOUT);
    expect(await s.send({ n: 0 }, 'go', { spin: false }, alice, ctx)).toEqual({ state: { n: 1 } });
  });

  it('reports unbounded allocation as SPACE_MEMORY_LIMIT and serves the next call from a fresh isolate', async () => {
    // A generous timeout so that the heap limit, not the clock, is what stops the loop.
    const s = await sandbox(
      spaceWith('if (message.hog) { const keep = []; for (let i = 0; ; i++) keep.push(new Array(10000).fill(i)); } state.n++;'),
      { memoryLimitMb: 16, callTimeoutMs: 10_000 },
    );
    await expectCode(s.send({ n: 0 }, 'go', { hog: true }, alice, ctx), E.SPACE_MEMORY_LIMIT);
    expect(await s.send({ n: 0 }, 'go', { hog: false }, alice, ctx)).toEqual({ state: { n: 1 } });
  });

  it('turns a thrown plain Error into SPACE_REJECTED carrying its message', async () => {
    const s = await sandbox(spaceWith("throw new Error('not your turn');"));
    const err = await expectCode(s.send({ n: 0 }, 'go', null, alice, ctx), E.SPACE_REJECTED);
    expect(err.message).toBe('not your turn');
  });

  it('truncates a rejection message to 200 characters', async () => {
    const s = await sandbox(spaceWith("throw new Error('x'.repeat(500));"));
    const err = await expectCode(s.send({ n: 0 }, 'go', null, alice, ctx), E.SPACE_REJECTED);
    expect(err.message).toHaveLength(200);
  });

  it('turns a TypeError into SPACE_ERROR', async () => {
    const s = await sandbox(spaceWith('state.missing.field = 1;'));
    const err = await expectCode(s.send({ n: 0 }, 'go', null, alice, ctx), E.SPACE_ERROR);
    expect(err.message).toContain('TypeError');
  });

  it('turns a thrown non-Error value into SPACE_ERROR', async () => {
    const s = await sandbox(spaceWith("throw 'oops';"));
    await expectCode(s.send({ n: 0 }, 'go', null, alice, ctx), E.SPACE_ERROR);
  });

  it('refuses a cyclic result with SPACE_INVALID_RESULT', async () => {
    const s = await sandbox(spaceWith('state.self = state;'));
    await expectCode(s.send({ n: 0 }, 'go', null, alice, ctx), E.SPACE_INVALID_RESULT);
  });

  it('refuses a function returned as the new state with SPACE_INVALID_RESULT', async () => {
    const s = await sandbox(spaceWith('return () => 1;'));
    await expectCode(s.send({ n: 0 }, 'go', null, alice, ctx), E.SPACE_INVALID_RESULT);
  });

  it('rejects code with a syntax error with SPACE_COMPILE_ERROR', async () => {
    const err = await expectCode(createIsolatedSandbox('bad', 'module.exports = {', LIMITS), E.SPACE_COMPILE_ERROR);
    expect(err.message).toContain('does not compile');
  });

  it('rejects a space without a view with SPACE_COMPILE_ERROR naming the reason', async () => {
    const code = 'module.exports = { init() { return {}; }, channels: {} };';
    const err = await expectCode(createIsolatedSandbox('bad', code, LIMITS), E.SPACE_COMPILE_ERROR);
    expect(err.message).toContain('view is not a function');
  });

  it('rejects a channel that is not a function with SPACE_COMPILE_ERROR', async () => {
    const code = 'module.exports = { init() { return {}; }, channels: { say: 1 }, view(s) { return s; } };';
    await expectCode(createIsolatedSandbox('bad', code, LIMITS), E.SPACE_COMPILE_ERROR);
  });

  it('reads invent: false unless the space says true, and rejects an invent that is not a boolean', async () => {
    const plain = await createIsolatedSandbox('plain', 'module.exports = { init() { return {}; }, channels: {}, view(s) { return s; } };', LIMITS);
    const inventing = await createIsolatedSandbox('lobby', 'module.exports = { invent: true, init() { return {}; }, channels: {}, view(s) { return s; } };', LIMITS);
    try {
      expect(plain.invent).toBe(false);
      expect(inventing.invent).toBe(true);
    } finally { plain.dispose(); inventing.dispose(); }
    const err = await expectCode(createIsolatedSandbox('bad', "module.exports = { invent: 'yes', init() { return {}; }, channels: {}, view(s) { return s; } };", LIMITS), E.SPACE_COMPILE_ERROR);
    expect(err.message).toContain('invent is not true or false');
  });

  it('reads httpChannels (none by default) and rejects one that names no channel', async () => {
    const plain = await createIsolatedSandbox('plain', 'module.exports = { init() { return {}; }, channels: { a() {} }, view(s) { return s; } };', LIMITS);
    const hooks = await createIsolatedSandbox('hooks', "module.exports = { httpChannels: ['a'], init() { return {}; }, channels: { a() {}, b() {} }, view(s) { return s; } };", LIMITS);
    try {
      expect(plain.httpChannels).toEqual([]);
      expect(hooks.httpChannels).toEqual(['a']);
    } finally { plain.dispose(); hooks.dispose(); }
    const err = await expectCode(createIsolatedSandbox('bad', "module.exports = { httpChannels: ['nope'], init() { return {}; }, channels: {}, view(s) { return s; } };", LIMITS), E.SPACE_COMPILE_ERROR);
    expect(err.message).toContain('httpChannels names nope');
  });

  it('rejects code whose top level never finishes with SPACE_COMPILE_ERROR', async () => {
    const err = await expectCode(createIsolatedSandbox('bad', 'for (;;) {}', LIMITS), E.SPACE_COMPILE_ERROR);
    expect(err.message).toContain('did not finish');
  });

  it('lets another space finish while one space is stuck in a loop', async () => {
    const stuck = await sandbox(spaceWith('for (;;) {}'));
    const fine = await sandbox(spaceWith('state.n++;'));
    const [a, b] = await Promise.allSettled([
      stuck.send({ n: 0 }, 'go', null, alice, ctx),
      fine.send({ n: 0 }, 'go', null, alice, ctx),
    ]);
    expect(a.status).toBe('rejected');
    expect(b).toEqual({ status: 'fulfilled', value: { state: { n: 1 } } });
  });

  it('serves concurrent calls on one sandbox, even when one of them times out', async () => {
    const s = await sandbox(spaceWith('if (message.spin) { for (;;) {} } state.n += message.add;'));
    const results = await Promise.allSettled([
      s.send({ n: 0 }, 'go', { add: 1 }, alice, ctx),
      s.send({ n: 0 }, 'go', { spin: true }, alice, ctx),
      s.send({ n: 0 }, 'go', { add: 2 }, alice, ctx),
    ]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as AdamaError).entry.name))).toEqual([
      { state: { n: 1 } },
      'SPACE_TIMEOUT',
      { state: { n: 2 } },
    ]);
  });

  it('hides host globals from the space', async () => {
    const s = await sandbox(spaceWith('return { process: typeof process, require: typeof require, setTimeout: typeof setTimeout };'));
    expect((await s.send({ n: 0 }, 'go', null, alice, ctx)).state).toEqual({
      process: 'undefined',
      require: 'undefined',
      setTimeout: 'undefined',
    });
  });

  it('removes WebAssembly, whose memory would escape the heap limit', async () => {
    const s = await sandbox(spaceWith('return { wasm: typeof WebAssembly };'));
    expect((await s.send({ n: 0 }, 'go', null, alice, ctx)).state).toEqual({ wasm: 'undefined' });
  });

  it('passes the call context as plain data', async () => {
    const s = await sandbox(spaceWith('return ctx;'));
    expect((await s.send({ n: 0 }, 'go', null, alice, ctx)).state).toEqual({ space: 'chat', key: 'room-1', now: ctx.nowMs, seq: 1 });
  });

  it('answers an unknown channel with CHANNEL_NOT_FOUND', async () => {
    const s = await sandbox(CHAT);
    await expectCode(s.send({} as Json, 'shout', null, alice, ctx), E.CHANNEL_NOT_FOUND);
  });

  it('answers an inherited property name used as a channel with CHANNEL_NOT_FOUND', async () => {
    const s = await sandbox(CHAT);
    await expectCode(s.send({} as Json, 'constructor', null, alice, ctx), E.CHANNEL_NOT_FOUND);
  });

  it('refuses calls after dispose, and dispose twice is harmless', async () => {
    const s = await sandbox(CHAT);
    s.dispose();
    s.dispose();
    await expectCode(s.init({ title: 't' }, ctx), E.DOC_UNLOADED);
  });
});
