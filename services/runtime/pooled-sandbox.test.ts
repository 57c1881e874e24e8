import { E } from '../shared/errors';
import { createIsolatedSandbox } from './isolated-sandbox';
import { pooledSandboxFactory } from './pooled-sandbox';

const SPACE = `module.exports = {
  init() { return { n: 0 }; },
  channels: { spin() { for (;;) {} }, inc(state) { state.n++; } },
  view(state) { return state; },
};`;
const who = { agent: 'a', authority: 'anonymous' };
const ctx = { space: 's', key: 'k', nowMs: 0, seq: 1 };
const limits = { memoryLimitMb: 16, callTimeoutMs: 500 };

describe('pooledSandboxFactory', () => {
  it('serves another call while one isolate is stuck in a runaway call', async () => {
    const sandbox = await pooledSandboxFactory(createIsolatedSandbox, 2)('s', SPACE, limits);
    const order: string[] = [];
    const spin = sandbox.send({ n: 0 }, 'spin', {}, who, ctx).then(() => order.push('spin'), (e: { code: number }) => { order.push(`spin:${e.code}`); });
    const inc = sandbox.send({ n: 0 }, 'inc', {}, who, ctx).then((r) => { order.push('inc'); return r; });
    expect((await inc).state).toEqual({ n: 1 });
    await spin;
    expect(order).toEqual(['inc', `spin:${E.SPACE_TIMEOUT.code}`]);
    sandbox.dispose();
  });

  it('queues behind the runaway call with a single isolate', async () => {
    const sandbox = await pooledSandboxFactory(createIsolatedSandbox, 1)('s', SPACE, limits);
    const order: string[] = [];
    const spin = sandbox.send({ n: 0 }, 'spin', {}, who, ctx).catch(() => { order.push('spin'); });
    const inc = sandbox.send({ n: 0 }, 'inc', {}, who, ctx).then(() => { order.push('inc'); });
    await Promise.all([spin, inc]);
    expect(order).toEqual(['spin', 'inc']);
    sandbox.dispose();
  });

  it('fails as a whole when the space does not compile, leaving no isolate behind', async () => {
    await expect(pooledSandboxFactory(createIsolatedSandbox, 3)('s', 'module.exports = {', limits)).rejects.toMatchObject({ code: E.SPACE_COMPILE_ERROR.code });
  });
});
