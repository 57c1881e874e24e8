import type { Condition, DrainStatus } from '../../operator/api/v1alpha1/types';
import { drainingCondition, findCondition, setCondition } from '../../operator/status/conditions';
import { buildMembers } from '../../operator/status/members';

const T0 = '2025-01-01T00:00:00.000Z';
const T1 = '2025-01-01T00:05:00.000Z';

describe('setCondition', () => {
  it('adds a new condition stamped now', () => {
    const out = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'TiersNotReady', message: '0/3 hosts' }, T0);
    expect(out).toEqual([{ type: 'Ready', status: 'False', reason: 'TiersNotReady', message: '0/3 hosts', lastTransitionTime: T0 }]);
  });

  it('keeps lastTransitionTime when only the reason or message changes', () => {
    const before = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'TiersNotReady', message: '0/3 hosts' }, T0);
    const after = setCondition(before, { type: 'Ready', status: 'False', reason: 'Paused', message: '1/3 hosts' }, T1);
    expect(findCondition(after, 'Ready')).toMatchObject({ reason: 'Paused', message: '1/3 hosts', lastTransitionTime: T0 });
  });

  it('moves lastTransitionTime on a flip', () => {
    const before = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'TiersNotReady', message: '' }, T0);
    const after = setCondition(before, { type: 'Ready', status: 'True', reason: 'AllTiersReady', message: '' }, T1);
    expect(findCondition(after, 'Ready')?.lastTransitionTime).toBe(T1);
  });

  it('returns the same array when nothing changed, so the status write can be skipped', () => {
    const before = setCondition(undefined, { type: 'Synced', status: 'True', reason: 'Applied', message: 'ok' }, T0);
    expect(setCondition(before, { type: 'Synced', status: 'True', reason: 'Applied', message: 'ok' }, T1)).toBe(before);
  });

  it('leaves other conditions alone and in order', () => {
    let list: readonly Condition[] = [];
    list = setCondition(list, { type: 'Ready', status: 'True', reason: 'AllTiersReady', message: '' }, T0);
    list = setCondition(list, { type: 'Draining', status: 'False', reason: 'NoDrain', message: '' }, T0);
    list = setCondition(list, { type: 'Ready', status: 'False', reason: 'TiersNotReady', message: '' }, T1);
    expect(list.map((c) => [c.type, c.lastTransitionTime])).toEqual([['Ready', T1], ['Draining', T0]]);
  });
});

const drain: DrainStatus = { host: 'prod-host-2', ordinal: 2, phase: 'MovingStreams', startTime: T0, attemptStartTime: T0, attempts: 1, documentsRemaining: 12 };

describe('drainingCondition', () => {
  it('uses the drain phase as the reason', () => {
    expect(drainingCondition(drain)).toMatchObject({ status: 'True', reason: 'MovingStreams', message: 'draining prod-host-2: 12 documents remaining (attempt 1)' });
    expect(drainingCondition(undefined)).toMatchObject({ status: 'False', reason: 'NoDrain' });
  });

  it('reports a failed attempt with its reason and the retry time', () => {
    const failed: DrainStatus = { ...drain, phase: 'Failed', reason: 'DrainTimedOut', message: '3 left', nextAttemptTime: T1 };
    expect(drainingCondition(failed, 4)).toMatchObject({ reason: 'DrainTimedOut', observedGeneration: 4, message: expect.stringContaining(`retrying at ${T1}`) });
  });

  it('every reason is CamelCase', () => {
    for (const d of [undefined, drain, { ...drain, phase: 'Failed' as const }]) expect(drainingCondition(d).reason).toMatch(/^[A-Z][A-Za-z0-9]*$/);
  });
});

describe('buildMembers', () => {
  it('marks the drained host and leaves the others Serving', () => {
    const hosts = [2, 0, 1].map((n) => ({ name: `prod-host-${n}`, ordinal: n, ready: true, terminating: false, documentsOwned: n }));
    expect(buildMembers(hosts, drain)).toEqual([
      { name: 'prod-host-0', ordinal: 0, ready: true, state: 'Serving', documentsRemaining: 0 },
      { name: 'prod-host-1', ordinal: 1, ready: true, state: 'Serving', documentsRemaining: 1 },
      { name: 'prod-host-2', ordinal: 2, ready: true, state: 'Draining', documentsRemaining: 12, drainStartTime: T0 },
    ]);
    expect(buildMembers(hosts, { ...drain, phase: 'Failed', reason: 'DrainFailed' })[2]).toMatchObject({ state: 'Failed', reason: 'DrainFailed' });
    expect(buildMembers(hosts, { ...drain, phase: 'Done' })[2]?.state).toBe('Drained');
  });
});
