/**
 * A drain that makes no progress is reported, not waited on silently (issue 18.2): after
 * `stallAfterMs` with the same number of documents still bound to the host, status.drain carries
 * reason DrainStalled, the Draining condition shows it and Degraded lists it; progress clears it.
 */
import type { DrainStatus } from '../../operator/api/v1alpha1/types';
import type { DrainConfig } from '../../operator/drain/drain-config';
import { advanceDrain } from '../../operator/drain/drain-machine';
import type { HostObservation } from '../../operator/drain/host-observation';
import { drainingCondition } from '../../operator/status/conditions';

const cfg: DrainConfig = { drainTimeoutMs: 300_000, retryBackoffMs: 30_000, maxRetryBackoffMs: 600_000, pollIntervalMs: 5_000, stallAfterMs: 60_000 };
const T0 = Date.UTC(2026, 11, 3, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();
const start: DrainStatus = { host: 'demo-host-2', ordinal: 2, phase: 'ReleasingBindings', startTime: iso(T0), attemptStartTime: iso(T0), attempts: 1, documentsRemaining: 1 };
/** A restarted host that still owns one row of its crashed incarnation and never releases it. */
const stuck = (owned: number): HostObservation => ({ name: 'demo-host-2', ordinal: 2, ready: true, terminating: false, reported: { draining: true, documentsLoaded: 0 }, documentsOwned: owned });

describe('a drain without progress', () => {
  test('is marked DrainStalled once nothing moved for stallAfterMs, with the count in the message', () => {
    const early = advanceDrain(start, stuck(1), T0 + 59_999, cfg);
    expect(early.drain.reason).toBeUndefined();
    const late = advanceDrain(early.drain, stuck(1), T0 + 60_000, cfg);
    expect(late.kind).toBe('wait');
    expect(late.drain).toMatchObject({ phase: 'ReleasingBindings', reason: 'DrainStalled', message: '1 document still bound to demo-host-2; no progress for 60 s' });
    expect(drainingCondition(late.drain)).toMatchObject({ status: 'True', reason: 'DrainStalled' });
  });

  test('progress clears the mark and restarts the clock', () => {
    const stalled = advanceDrain(advanceDrain(start, stuck(3), T0, cfg).drain, stuck(3), T0 + 61_000, cfg).drain;
    expect(stalled.reason).toBe('DrainStalled');
    const moved = advanceDrain(stalled, stuck(2), T0 + 62_000, cfg).drain;
    expect(moved.reason).toBeUndefined();
    expect(moved.message).toBeUndefined();
    expect(advanceDrain(moved, stuck(2), T0 + 62_000 + 59_000, cfg).drain.reason).toBeUndefined();
  });
});
