import { hostDefaults, proxyDefaults, resolveConfig } from './config';

describe('resolveConfig', () => {
  it('returns the defaults when nothing overrides them', () => {
    expect(resolveConfig(proxyDefaults, {}, {})).toEqual(proxyDefaults);
  });

  it('lets the environment override a default and flags override the environment', () => {
    const env = { ADAMA_MAX_FRAME_BYTES: '1000', ADAMA_PING_INTERVAL_MS: '500' };
    const c = resolveConfig(proxyDefaults, { pingIntervalMs: 250 }, env);
    expect(c.maxFrameBytes).toBe(1000);
    expect(c.pingIntervalMs).toBe(250);
  });

  it('rejects unknown keys and invalid values, naming each', () => {
    expect(() => resolveConfig(hostDefaults, { nope: 1 } as never, {})).toThrow(/nope|Unrecognized/);
    expect(() => resolveConfig(hostDefaults, { docQueueDepth: -3 }, {})).toThrow(/docQueueDepth/);
    expect(() => resolveConfig(hostDefaults, {}, { ADAMA_MAX_BATCH: 'lots' })).toThrow(/maxBatch/);
  });

  it('freezes the result', () => {
    const c = resolveConfig(hostDefaults, {}, {});
    expect(Object.isFrozen(c)).toBe(true);
  });
});
