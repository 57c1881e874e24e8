import { decideLease, microTime, type LeaderConfig } from '../../operator/runtime/leader-election';

const cfg: LeaderConfig = { identity: 'op-a', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

describe('decideLease', () => {
  test('creates the lease when there is none', () => {
    const d = decideLease(undefined, 0, 1_000, cfg);
    expect(d).toEqual({ kind: 'create', spec: { holderIdentity: 'op-a', leaseDurationSeconds: 15, acquireTime: microTime(1_000), renewTime: microTime(1_000), leaseTransitions: 0 } });
  });

  test('the holder renews, keeping its acquire time and transitions', () => {
    const held = { holderIdentity: 'op-a', leaseDurationSeconds: 15, acquireTime: microTime(0), renewTime: microTime(0), leaseTransitions: 3 };
    const d = decideLease(held, 0, 5_000, cfg);
    expect(d).toEqual({ kind: 'renew', spec: { ...held, renewTime: microTime(5_000) } });
  });

  test('a valid lease of another holder is left alone until a full duration after we last saw it change', () => {
    const other = { holderIdentity: 'op-b', leaseDurationSeconds: 15, renewTime: microTime(0), leaseTransitions: 1 };
    expect(decideLease(other, 10_000, 24_999, cfg)).toEqual({ kind: 'wait', holder: 'op-b' });
    const d = decideLease(other, 10_000, 25_000, cfg);
    expect(d.kind).toBe('acquire');
    expect(d.kind === 'acquire' && d.spec).toMatchObject({ holderIdentity: 'op-a', leaseTransitions: 2 });
  });

  test('expiry ignores the holder\'s renewTime, so a skewed clock cannot shorten a lease', () => {
    // renewTime far in the past by our clock, but we saw the record change just now.
    const skewed = { holderIdentity: 'op-b', leaseDurationSeconds: 15, renewTime: microTime(-3_600_000) };
    expect(decideLease(skewed, 100_000, 100_001, cfg).kind).toBe('wait');
  });

  test('a dead holder\'s record, however old, is taken a lease duration after a new process first read it', () => {
    // A replacement pod meets a Lease renewed 96 s ago by a pod that is gone: it cannot know the
    // writer's clock, so it waits one duration from its own first read, then takes it.
    const stale = { holderIdentity: 'op-gone', leaseDurationSeconds: 15, renewTime: microTime(4_000), leaseTransitions: 2 };
    expect(decideLease(stale, 100_000, 114_999, cfg).kind).toBe('wait');
    const d = decideLease(stale, 100_000, 115_000, cfg);
    expect(d.kind === 'acquire' && d.spec).toMatchObject({ holderIdentity: 'op-a', leaseTransitions: 3 });
  });

  test('a released lease (empty holder) is taken at once', () => {
    const released = { holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 4 };
    const d = decideLease(released, 50_000, 50_000, cfg);
    expect(d.kind === 'acquire' && d.spec.leaseTransitions).toBe(5);
  });

  test('MicroTime has six fractional digits', () => {
    expect(microTime(Date.UTC(2026, 10, 21, 12, 0, 0, 123))).toBe('2026-11-21T12:00:00.123000Z');
  });
});
