import type { DrainStatus } from '../../operator/api/v1alpha1/types';
import { findCondition } from '../../operator/status/conditions';
import { buildClusterStatus, type StatusInput } from '../../operator/status/cluster-status';
import { cluster } from './crd-schema';

const T0 = '2026-11-21T10:00:00.000Z';
const T1 = '2026-11-21T10:05:00.000Z';

function input(over: Partial<StatusInput> = {}): StatusInput {
  const c = cluster();
  c.metadata.generation = 4;
  return {
    cluster: c, nowIso: T0,
    hostSet: { replicas: 3, readyReplicas: 3 }, proxies: { desired: 2, ready: 2 }, locator: { desired: 1, ready: 1 }, archiver: { desired: 1, ready: 1 },
    hosts: [0, 1, 2].map((n) => ({ name: `prod-host-${n}`, ordinal: n, ready: true, terminating: false, documentsOwned: 5 })),
    drain: undefined, hostSelector: 'app.kubernetes.io/component=host', paused: false, deleting: false, changing: false,
    ...over,
  };
}

const drain: DrainStatus = { host: 'prod-host-2', ordinal: 2, phase: 'Failed', startTime: T0, attemptStartTime: T0, attempts: 2, documentsRemaining: 4, reason: 'DrainTimedOut', message: '4 documents still owned', nextAttemptTime: T1 };

describe('buildClusterStatus', () => {
  test('a converged cluster is Ready, Stable, Synced at its generation, not Degraded or Draining', () => {
    const s = buildClusterStatus(input());
    expect(s.observedGeneration).toBe(4);
    expect(s.hosts).toEqual({ desired: 3, current: 3, ready: 3, readyOf: '3/3', draining: 0, selector: 'app.kubernetes.io/component=host' });
    const state = Object.fromEntries(s.conditions!.map((c) => [c.type, `${c.status}/${c.reason}`]));
    expect(state).toEqual({ Ready: 'True/AllTiersReady', Progressing: 'False/Stable', Degraded: 'False/Stable', Draining: 'False/NoDrain', Synced: 'True/Applied' });
    expect(s.members!.map((m) => m.state)).toEqual(['Serving', 'Serving', 'Serving']);
  });

  test('lastTransitionTime moves only when a condition flips', () => {
    const first = buildClusterStatus(input());
    const c = cluster(); c.metadata.generation = 4; c.status = first;
    const again = buildClusterStatus(input({ cluster: c, nowIso: T1 }));
    expect(again.conditions).toEqual(first.conditions);
    const flipped = buildClusterStatus(input({ cluster: c, nowIso: T1, proxies: { desired: 2, ready: 1 } }));
    const ready = findCondition(flipped.conditions, 'Ready')!;
    expect([ready.status, ready.reason, ready.lastTransitionTime, ready.message]).toEqual(['False', 'TiersNotReady', T1, 'proxies 1/2']);
    expect(findCondition(flipped.conditions, 'Synced')!.lastTransitionTime).toBe(T0);
  });

  test('a failed drain shows as Degraded and Draining with its reason, and the member as Failed', () => {
    const s = buildClusterStatus(input({ drain, changing: true }));
    expect(findCondition(s.conditions, 'Degraded')).toMatchObject({ status: 'True', reason: 'DrainTimedOut' });
    expect(findCondition(s.conditions, 'Draining')).toMatchObject({ status: 'True', reason: 'DrainTimedOut' });
    expect(s.members![2]).toMatchObject({ state: 'Failed', reason: 'DrainTimedOut', documentsRemaining: 4, drainStartTime: T0 });
    expect(s.hosts!.draining).toBe(1);
    expect(s.drain).toEqual(drain);
  });

  test('paused: says so, and observedGeneration stays where the last applied spec left it', () => {
    const c = cluster(); c.metadata.generation = 5; c.status = { observedGeneration: 4 };
    const s = buildClusterStatus(input({ cluster: c, paused: true }));
    expect(s.paused).toBe(true);
    expect(s.observedGeneration).toBe(4);
    expect(findCondition(s.conditions, 'Progressing')).toMatchObject({ status: 'False', reason: 'Paused' });
    expect(findCondition(s.conditions, 'Synced')).toMatchObject({ status: 'False', reason: 'Paused' });
  });

  test('a refused scale-down is Degraded with ScaleDownRefused and not reported as a missing host', () => {
    const c = cluster({ hosts: { replicas: 1, minReplicas: 3 } }); c.metadata.generation = 2;
    const s = buildClusterStatus(input({ cluster: c, refused: { requested: 1, minimum: 3 } }));
    expect(findCondition(s.conditions, 'Degraded')).toMatchObject({ status: 'True', reason: 'ScaleDownRefused' });
    expect(findCondition(s.conditions, 'Degraded')!.message).toContain('below spec.hosts.minReplicas 3');
  });

  test('an apply failure is Degraded and not Synced', () => {
    const s = buildClusterStatus(input({ applyError: 'apply failed: HTTP 500' }));
    expect(findCondition(s.conditions, 'Synced')).toMatchObject({ status: 'False', reason: 'ApplyFailed', message: 'apply failed: HTTP 500' });
    expect(findCondition(s.conditions, 'Degraded')).toMatchObject({ status: 'True', reason: 'ApplyFailed' });
  });

  test('host pods that never ran are NotReady members, Degraded HostsNotReady, and not counted ready', () => {
    // Six pods exist, two Pending (unscheduled, never probed); the StatefulSet's own count lags.
    const hosts = [0, 1, 2, 3, 4, 5].map((n) => ({ name: `prod-host-${n}`, ordinal: n, ready: n < 4, terminating: false }));
    const c = cluster({ hosts: { replicas: 6 } }); c.metadata.generation = 4;
    const s = buildClusterStatus(input({ cluster: c, hostSet: { replicas: 6, readyReplicas: 0 }, hosts }));
    expect(s.members!.map((m) => m.state)).toEqual(['Serving', 'Serving', 'Serving', 'Serving', 'NotReady', 'NotReady']);
    expect(s.hosts).toMatchObject({ current: 6, ready: 4, readyOf: '4/6' });
    expect(findCondition(s.conditions, 'Degraded')).toMatchObject({ status: 'True', reason: 'HostsNotReady', message: 'host pods not ready: prod-host-4, prod-host-5' });
    expect(findCondition(s.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'TiersNotReady' });
  });

  test('an invalid spec blocks progress: Progressing is False with the reason, not "converging"', () => {
    const s = buildClusterStatus(input({ invalidSpec: 'invalid spec: an archiver needs an object store', proxies: { desired: 3, ready: 2 } }));
    expect(findCondition(s.conditions, 'Progressing')).toMatchObject({ status: 'False', reason: 'InvalidSpec', message: 'blocked: invalid spec: an archiver needs an object store' });
  });

  test('a roll that waits for unready hosts says so', () => {
    const hosts = [0, 1, 2].map((n) => ({ name: `prod-host-${n}`, ordinal: n, ready: n !== 0, terminating: false }));
    const s = buildClusterStatus(input({ hosts, rollBlocked: { outdated: 2 } }));
    expect(findCondition(s.conditions, 'Progressing')).toMatchObject({
      status: 'True', reason: 'RollBlocked', message: '2 hosts run an outdated pod template; the roll waits until every host is ready (not ready: prod-host-0)',
    });
  });
});
