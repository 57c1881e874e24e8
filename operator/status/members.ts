/**
 * @module members
 * The per-host member list in status, derived from pods and the one drain in flight.
 */
import type { DrainStatus, MemberStatus } from '../api/v1alpha1/types';
import type { HostObservation } from '../drain/host-observation';

export function buildMembers(hosts: readonly HostObservation[], drain: DrainStatus | undefined): MemberStatus[] {
  return [...hosts].sort((a, b) => a.ordinal - b.ordinal).map((h) => {
    const base = { name: h.name, ordinal: h.ordinal, ready: h.ready };
    if (!drain || drain.ordinal !== h.ordinal) {
      return { ...base, state: h.ready ? 'Serving' as const : 'NotReady' as const, ...(h.documentsOwned === undefined ? {} : { documentsRemaining: h.documentsOwned }) };
    }
    const state = drain.phase === 'Done' ? 'Drained' as const : drain.phase === 'Failed' ? 'Failed' as const : 'Draining' as const;
    return {
      ...base, state, documentsRemaining: drain.documentsRemaining, drainStartTime: drain.startTime,
      ...(drain.phase === 'Failed' && drain.reason ? { reason: drain.reason } : {}),
    };
  });
}
