import type { DrainStatus } from '../../operator/api/v1alpha1/types';
import type { DrainConfig } from '../../operator/drain/drain-config';
import { failDrain } from '../../operator/drain/drain-machine';
import type { HostObservation } from '../../operator/drain/host-observation';
import { planHostScale, type HostScaleInput, type HostScaleStep } from '../../operator/drain/plan-host-scale';
import { FakeClock } from '../../services/shared/clock';

const START = Date.parse('2025-01-01T00:00:00Z');


const cfg: DrainConfig = { drainTimeoutMs: 60_000, retryBackoffMs: 10_000, maxRetryBackoffMs: 40_000, pollIntervalMs: 5_000, stallAfterMs: 60_000 };

const host = (ordinal: number, extra: Partial<HostObservation> = {}): HostObservation => ({
  name: `prod-host-${ordinal}`, ordinal, ready: true, terminating: false,
  reported: { draining: false, documentsLoaded: 7 }, documentsOwned: 7, ...extra,
});
const hosts = (n: number): HostObservation[] => Array.from({ length: n }, (_, i) => host(i));

function input(over: Partial<HostScaleInput>): HostScaleInput {
  return {
    desiredReplicas: 3, minReplicas: 1, currentReplicas: 3, hosts: hosts(3), drain: undefined,
    paused: false, deleting: false, skipDrainOnDelete: false, setName: 'prod-host', nowMs: clock.nowMs(), ...over,
  };
}

/** Tests move time by hand; nothing sleeps. */
let clock = new FakeClock(START);
beforeEach(() => { clock = new FakeClock(START); });

/** Extracts the drain a step carries (or fails the test). */
function drainOf(step: HostScaleStep): DrainStatus {
  if (!('drain' in step)) throw new Error(`step ${step.kind} carries no drain`);
  return step.drain;
}

describe('planHostScale without a drain', () => {
  it.each<[string, Partial<HostScaleInput>, Partial<HostScaleStep>]>([
    ['creates the StatefulSet at the desired count', { currentReplicas: undefined, hosts: [] }, { kind: 'resize', replicas: 3 }],
    ['is steady when desired equals current', {}, { kind: 'steady' }],
    ['grows in one step', { desiredReplicas: 6 }, { kind: 'resize', replicas: 6 }],
    ['does nothing while paused, even when asked to shrink', { paused: true, desiredReplicas: 1 }, { kind: 'paused' }],
  ])('%s', (_name, over, expected) => {
    expect(planHostScale(input(over), cfg)).toMatchObject(expected);
  });

  it('starts a drain of the highest ordinal only, one host at a time', () => {
    const step = planHostScale(input({ desiredReplicas: 1 }), cfg);
    expect(step).toMatchObject({ kind: 'start-drain', drain: { host: 'prod-host-2', ordinal: 2, phase: 'Requested', attempts: 1 } });
  });

  it('refuses a scale-down below the minimum: drains only to the minimum and says so', () => {
    const step = planHostScale(input({ desiredReplicas: 1, minReplicas: 2 }), cfg);
    expect(step).toMatchObject({ kind: 'start-drain', drain: { ordinal: 2 }, refused: { requested: 1, minimum: 2 } });
    expect(planHostScale(input({ desiredReplicas: 0, minReplicas: 3 }), cfg)).toEqual({ kind: 'steady', refused: { requested: 0, minimum: 3 } });
  });
});

describe('planHostScale through a whole drain on a fake clock', () => {
  it('goes Requested → MovingStreams → ReleasingBindings → Done → shrink → finish', () => {
    let drain = drainOf(planHostScale(input({ desiredReplicas: 2 }), cfg));
    const seen = (h: HostObservation) => [host(0), host(1), h];

    let step = planHostScale(input({ desiredReplicas: 2, drain, hosts: seen(host(2, { drainingSince: drain.startTime })) }), cfg);
    expect(step).toMatchObject({ kind: 'request', drain: { phase: 'Requested' } });

    clock.advance(1_000);
    step = planHostScale(input({ desiredReplicas: 2, drain, hosts: seen(host(2, { drainingSince: drain.startTime, reported: { draining: true, documentsLoaded: 4 } })) }), cfg);
    drain = drainOf(step);
    expect(drain).toMatchObject({ phase: 'MovingStreams', documentsRemaining: 7 });

    clock.advance(5_000);
    const emptied = host(2, { drainingSince: drain.startTime, reported: { draining: true, documentsLoaded: 0 }, documentsOwned: 2 });
    drain = drainOf(planHostScale(input({ desiredReplicas: 2, drain, hosts: seen(emptied) }), cfg));
    expect(drain).toMatchObject({ phase: 'ReleasingBindings', documentsRemaining: 2 });

    clock.advance(5_000);
    step = planHostScale(input({ desiredReplicas: 2, drain, hosts: seen({ ...emptied, documentsOwned: 1 }) }), cfg);
    expect(step).toMatchObject({ kind: 'wait', requeueAfterMs: 5_000, drain: { phase: 'ReleasingBindings', documentsRemaining: 1 } });

    drain = drainOf(planHostScale(input({ desiredReplicas: 2, drain, hosts: seen({ ...emptied, documentsOwned: 0 }) }), cfg));
    expect(drain.phase).toBe('Done');

    step = planHostScale(input({ desiredReplicas: 2, drain, hosts: seen({ ...emptied, documentsOwned: 0 }) }), cfg);
    expect(step).toMatchObject({ kind: 'shrink', replicas: 2 });

    // The StatefulSet is at 2 but the pod is still terminating: keep the Done drain visible.
    expect(planHostScale(input({ desiredReplicas: 2, currentReplicas: 2, drain, hosts: seen({ ...emptied, terminating: true }) }), cfg).kind).toBe('wait');
    expect(planHostScale(input({ desiredReplicas: 2, currentReplicas: 2, drain, hosts: [host(0), host(1)] }), cfg)).toEqual({ kind: 'finish', host: 'prod-host-2' });
  });

  it('then drains the next highest host when more shrinking is wanted', () => {
    expect(planHostScale(input({ desiredReplicas: 1, currentReplicas: 2, hosts: hosts(2) }), cfg)).toMatchObject({ kind: 'start-drain', drain: { host: 'prod-host-1' } });
  });

  it('re-requests when the host restarted mid-drain and serves again', () => {
    const drain: DrainStatus = { ...mkDrain(), phase: 'MovingStreams' };
    const step = planHostScale(input({ desiredReplicas: 2, drain, hosts: [host(0), host(1), host(2, { drainingSince: drain.startTime })] }), cfg);
    expect(step).toMatchObject({ kind: 'request', drain: { phase: 'Requested' } });
  });

  it('treats an unreachable host that owns nothing as drained', () => {
    const drain = mkDrain();
    const gone = host(2, { drainingSince: drain.startTime, reported: undefined, documentsOwned: 0, ready: false });
    expect(drainOf(planHostScale(input({ desiredReplicas: 2, drain, hosts: [host(0), host(1), gone] }), cfg)).phase).toBe('Done');
  });
});

function mkDrain(over: Partial<DrainStatus> = {}): DrainStatus {
  const t = new Date(clock.nowMs()).toISOString();
  return { host: 'prod-host-2', ordinal: 2, phase: 'Requested', startTime: t, attemptStartTime: t, attempts: 1, documentsRemaining: 7, ...over };
}
const draining = (d: DrainStatus, extra: Partial<HostObservation> = {}) => [host(0), host(1), host(2, { drainingSince: d.startTime, reported: { draining: true, documentsLoaded: 3 }, ...extra })];

describe('planHostScale cancel', () => {
  it('a scale-up during a drain cancels it and recycles a host that already stopped serving', () => {
    const drain = mkDrain({ phase: 'MovingStreams' });
    expect(planHostScale(input({ desiredReplicas: 3, drain, hosts: draining(drain) }), cfg)).toEqual({ kind: 'cancel', host: 'prod-host-2', recyclePod: true, why: 'scale-up during drain' });
    expect(planHostScale(input({ desiredReplicas: 5, drain, hosts: draining(drain) }), cfg).kind).toBe('cancel');
  });

  it('keeps the pod when the drain was only requested and the host never started it', () => {
    const drain = mkDrain();
    const step = planHostScale(input({ desiredReplicas: 3, drain, hosts: draining(drain, { reported: { draining: false, documentsLoaded: 3 } }) }), cfg);
    expect(step).toMatchObject({ kind: 'cancel', recyclePod: false });
  });

  it('removes a stale annotation left by an earlier cancel', () => {
    const step = planHostScale(input({ hosts: [host(0), host(1, { drainingSince: '2024-12-31T00:00:00Z' }), host(2)] }), cfg);
    expect(step).toMatchObject({ kind: 'cancel', host: 'prod-host-1', why: 'stale drain annotation' });
  });

  it('cancels when someone changed the StatefulSet under the drain', () => {
    const drain = mkDrain({ ordinal: 1, host: 'prod-host-1' });
    expect(planHostScale(input({ desiredReplicas: 1, drain, hosts: [host(0), host(1, { drainingSince: drain.startTime }), host(2)] }), cfg).kind).toBe('cancel');
  });
});

describe('planHostScale failure and retry', () => {
  it('times out into Failed with backoff, never shrinking, then retries with doubled backoff', () => {
    let drain = mkDrain({ phase: 'MovingStreams' });
    const firstStart = drain.startTime;
    clock.advance(60_000);
    let step = planHostScale(input({ desiredReplicas: 2, drain, hosts: draining(drain) }), cfg);
    expect(step).toMatchObject({ kind: 'fail', requeueAfterMs: 10_000, drain: { phase: 'Failed', reason: 'DrainTimedOut', documentsRemaining: 7 } });
    drain = drainOf(step);
    expect(drain.nextAttemptTime).toBe(new Date(clock.nowMs() + 10_000).toISOString());

    clock.advance(9_999);
    expect(planHostScale(input({ desiredReplicas: 2, drain, hosts: draining(drain) }), cfg)).toMatchObject({ kind: 'wait', requeueAfterMs: 1 });

    clock.advance(1);
    step = planHostScale(input({ desiredReplicas: 2, drain, hosts: draining(drain) }), cfg);
    expect(step).toMatchObject({ kind: 'request', drain: { phase: 'Requested', attempts: 2, attemptStartTime: new Date(clock.nowMs()).toISOString() } });
    drain = drainOf(step);
    expect(drain.reason).toBeUndefined();
    expect(drain.startTime).toBe(firstStart);

    clock.advance(60_000);
    expect(planHostScale(input({ desiredReplicas: 2, drain, hosts: draining(drain) }), cfg)).toMatchObject({ kind: 'fail', requeueAfterMs: 20_000 });
  });

  it('caps the backoff', () => {
    const failed = failDrain(mkDrain({ attempts: 9 }), 'DrainFailed', 'rpc refused', clock.nowMs(), cfg);
    expect(Date.parse(failed.nextAttemptTime ?? '') - clock.nowMs()).toBe(40_000);
    expect(failed).toMatchObject({ phase: 'Failed', reason: 'DrainFailed', message: 'rpc refused' });
  });

  it('a failed drain can still be cancelled by a scale-up', () => {
    const drain = failDrain(mkDrain(), 'DrainFailed', 'x', clock.nowMs(), cfg);
    expect(planHostScale(input({ drain, hosts: draining(drain) }), cfg)).toMatchObject({ kind: 'cancel', recyclePod: true });
  });
});

describe('planHostScale after an operator restart', () => {
  it('resumes from status alone: the same input gives the same step', () => {
    const drain = mkDrain({ phase: 'ReleasingBindings' });
    const a = planHostScale(input({ desiredReplicas: 2, drain, hosts: draining(drain, { documentsOwned: 0 }) }), cfg);
    const b = planHostScale(input({ desiredReplicas: 2, drain, hosts: draining(drain, { documentsOwned: 0 }) }), cfg);
    expect(a).toEqual(b);
    expect(drainOf(a).phase).toBe('Done');
  });

  it('rebuilds a lost status.drain from the pod annotation, keeping the original start time', () => {
    const since = new Date(clock.nowMs() - 20_000).toISOString();
    const step = planHostScale(input({ desiredReplicas: 2, hosts: [host(0), host(1), host(2, { drainingSince: since })] }), cfg);
    expect(step).toMatchObject({ kind: 'request', drain: { host: 'prod-host-2', phase: 'Requested', startTime: since } });
  });
});

describe('planHostScale on delete (finalizer)', () => {
  it('drains every host, one at a time, ignoring the minimum', () => {
    expect(planHostScale(input({ deleting: true, minReplicas: 3 }), cfg)).toMatchObject({ kind: 'start-drain', drain: { ordinal: 2 } });
    expect(planHostScale(input({ deleting: true, currentReplicas: 1, hosts: hosts(1) }), cfg)).toMatchObject({ kind: 'start-drain', drain: { ordinal: 0 } });
  });

  it('releases the finalizer at zero hosts, with no StatefulSet, or when told to skip the drain', () => {
    expect(planHostScale(input({ deleting: true, currentReplicas: 0, hosts: [] }), cfg)).toEqual({ kind: 'release-finalizer' });
    expect(planHostScale(input({ deleting: true, currentReplicas: undefined, hosts: [] }), cfg)).toEqual({ kind: 'release-finalizer' });
    expect(planHostScale(input({ deleting: true, skipDrainOnDelete: true }), cfg)).toEqual({ kind: 'release-finalizer' });
  });

  it('a paused cluster does not even release the finalizer', () => {
    expect(planHostScale(input({ deleting: true, paused: true, currentReplicas: 0, hosts: [] }), cfg)).toEqual({ kind: 'paused' });
  });
});

describe('planHostScale rolling a new template (OnDelete)', () => {
  const done = (ordinal: number): DrainStatus => ({ ...drainOf(planHostScale(input({ outdated: [ordinal] }), cfg)), phase: 'Done', documentsRemaining: 0 });

  it('drains the highest outdated host first, marked as a roll', () => {
    const step = planHostScale(input({ outdated: [0, 1] }), cfg);
    expect(step).toMatchObject({ kind: 'start-drain', drain: { host: 'prod-host-1', ordinal: 1, purpose: 'Roll', phase: 'Requested' } });
  });

  it('waits while any host is down or terminating: one replacement at a time', () => {
    expect(planHostScale(input({ outdated: [2], hosts: [host(0), host(1, { ready: false }), host(2)] }), cfg)).toEqual({ kind: 'steady' });
    expect(planHostScale(input({ outdated: [2], hosts: [host(0), host(1)] }), cfg)).toEqual({ kind: 'steady' });
  });

  it('a scale change takes precedence over a roll', () => {
    expect(planHostScale(input({ outdated: [1], desiredReplicas: 4 }), cfg)).toEqual({ kind: 'resize', replicas: 4 });
  });

  it('after the drain: deletes the still-outdated pod, waits for its replacement, then finishes', () => {
    const drain = done(2);
    expect(planHostScale(input({ drain, outdated: [2] }), cfg)).toEqual({ kind: 'recycle', host: 'prod-host-2', drain });
    expect(planHostScale(input({ drain, outdated: [2], hosts: [host(0), host(1), host(2, { terminating: true })] }), cfg)).toMatchObject({ kind: 'wait' });
    expect(planHostScale(input({ drain, outdated: [], hosts: [host(0), host(1)] }), cfg)).toMatchObject({ kind: 'wait' });
    expect(planHostScale(input({ drain, outdated: [], hosts: [host(0), host(1), host(2, { ready: false })] }), cfg)).toMatchObject({ kind: 'wait' });
    expect(planHostScale(input({ drain, outdated: [] }), cfg)).toEqual({ kind: 'finish', host: 'prod-host-2' });
  });

  it('a host-count change during a roll cancels it and recreates the drained pod', () => {
    const drain = { ...done(1), phase: 'MovingStreams' as const };
    expect(planHostScale(input({ drain, outdated: [1], desiredReplicas: 2 }), cfg)).toMatchObject({ kind: 'cancel', host: 'prod-host-1', recyclePod: true });
  });

  it('a roll drain in flight advances like any drain', () => {
    const drain = drainOf(planHostScale(input({ outdated: [1] }), cfg));
    const step = planHostScale(input({ drain, outdated: [1], hosts: [host(0), host(1, { reported: { draining: true, documentsLoaded: 2 } }), host(2)] }), cfg);
    expect(step).toMatchObject({ kind: 'wait', drain: { phase: 'MovingStreams', purpose: 'Roll' } });
  });
});
