/** A space that loops or allocates forever is stopped with a coded error; the host and other documents keep working. */
import { E } from '../../services/shared/errors';
import { startTestCluster, type TestCluster } from '../support/cluster';
import { spacesDirWith } from '../support/spaces-dir';

const RUNAWAY = `
module.exports = {
  init() { return { n: 0 }; },
  channels: {
    spin() { for (;;) {} },
    hog() { const keep = []; for (;;) keep.push(new Array(10000).fill(1)); },
    inc(state) { state.n++; },
  },
  view(state) { return state; },
};`;

const BAD_DISCONNECT = `
module.exports = {
  init() { return { present: 0 }; },
  connect(state) { state.present++; return true; },
  disconnect() { throw new Error('disconnect is broken'); },
  channels: { ping() {} },
  view(state) { return state; },
};`;

describe('runaway space code', () => {
  let t: TestCluster;
  beforeAll(async () => {
    t = await startTestCluster({ spacesDir: spacesDirWith({ runaway: RUNAWAY, 'bad-disconnect': BAD_DISCONNECT }), host: { sandboxCallTimeoutMs: 300, sandboxMemoryMb: 16 } });
  });
  afterAll(async () => { await t.close(); });

  it('stops an infinite loop with SPACE_TIMEOUT and keeps the document usable', async () => {
    const c = t.client('looper');
    await c.createDocument('runaway', 'loop', {});
    const doc = c.connect('runaway', 'loop');
    await doc.ready;
    await expect(doc.send('spin', {})).rejects.toMatchObject({ code: E.SPACE_TIMEOUT.code, retry: false });
    await expect(doc.send('inc', {})).resolves.toMatchObject({ seq: expect.any(Number) });
    expect(doc.view).toEqual({ n: 1 }); // the spin left no trace; only inc applied
  });

  it('stops unbounded allocation with SPACE_MEMORY_LIMIT while other documents keep working', async () => {
    const c = t.client('hogger');
    await c.createDocument('runaway', 'hog', {});
    await c.createDocument('counter', 'bystander', {});
    const hog = c.connect('runaway', 'hog');
    const bystander = c.connect('counter', 'bystander');
    await Promise.all([hog.ready, bystander.ready]);
    const [hogResult, bystanderResult] = await Promise.allSettled([hog.send('hog', {}), bystander.send('add', { by: 2 })]);
    expect(hogResult).toMatchObject({ status: 'rejected', reason: { code: E.SPACE_MEMORY_LIMIT.code } });
    expect(bystanderResult.status).toBe('fulfilled');
    await expect(hog.send('inc', {})).resolves.toMatchObject({ seq: expect.any(Number) });
  });

  it('a stream closes cleanly when the space\'s disconnect() throws, and the document keeps serving', async () => {
    const host = t.cluster.host;
    const ref = { space: 'bad-disconnect', key: 'd' };
    await host.createDocument(ref, { agent: 'a', authority: 'anonymous' }, {});
    const sink = { onDelta: () => undefined, onClosed: () => undefined };
    const first = await host.openStream(ref, { agent: 'a', authority: 'anonymous' }, { viewerState: {} }, sink);
    // Before, this rejected with SPACE_ERROR, and the gRPC service's fire-and-forget close made it
    // an unhandled rejection that could end the host process.
    await expect(first.close()).resolves.toBeUndefined();
    const c = t.client('after');
    const doc = c.connect('bad-disconnect', 'd');
    await doc.ready;
    await expect(doc.send('ping', {})).resolves.toMatchObject({ seq: expect.any(Number) });
    expect(doc.view).toEqual({ present: 2 });
  });
});
