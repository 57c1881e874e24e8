/**
 * @module conditions
 * Condition helpers. `lastTransitionTime` moves only when `status` flips, so `kubectl wait` and
 * alerting see real transitions, not every reconcile. Functions return the same array when nothing
 * changed, letting the status writer skip the write.
 */
import type { Condition, ConditionStatus, ConditionType, DrainStatus, Reason } from '../api/v1alpha1/types';

export interface ConditionInput {
  type: ConditionType;
  status: ConditionStatus;
  reason: Reason;
  message: string;
  observedGeneration?: number;
}

export const findCondition = (conds: readonly Condition[] | undefined, type: ConditionType): Condition | undefined =>
  conds?.find((c) => c.type === type);

export const isTrue = (conds: readonly Condition[] | undefined, type: ConditionType): boolean => findCondition(conds, type)?.status === 'True';

/** Sets one condition; `nowIso` is used only when the status flips (or the condition is new). */
export function setCondition(conds: readonly Condition[] | undefined, input: ConditionInput, nowIso: string): readonly Condition[] {
  const list = conds ?? [];
  const old = findCondition(list, input.type);
  const next: Condition = {
    ...input,
    lastTransitionTime: old && old.status === input.status ? old.lastTransitionTime : nowIso,
  };
  if (old && sameCondition(old, next)) return list;
  return old ? list.map((c) => (c.type === input.type ? next : c)) : [...list, next];
}

function sameCondition(a: Condition, b: Condition): boolean {
  return a.status === b.status && a.reason === b.reason && a.message === b.message
    && a.lastTransitionTime === b.lastTransitionTime && a.observedGeneration === b.observedGeneration;
}

/** The `Draining` condition mirrors the one drain in flight; its reason is the drain phase. */
export function drainingCondition(drain: DrainStatus | undefined, observedGeneration?: number): ConditionInput {
  const gen = observedGeneration === undefined ? {} : { observedGeneration };
  if (!drain) return { type: 'Draining', status: 'False', reason: 'NoDrain', message: 'no host is draining', ...gen };
  if (drain.phase === 'Failed') {
    return {
      type: 'Draining', status: 'True', reason: drain.reason ?? 'DrainFailed', ...gen,
      message: `drain of ${drain.host} failed (attempt ${drain.attempts}): ${drain.message ?? 'unknown'}; retrying at ${drain.nextAttemptTime ?? 'soon'}`,
    };
  }
  return {
    type: 'Draining', status: 'True', reason: drain.reason === 'DrainStalled' ? 'DrainStalled' : drain.phase, ...gen,
    message: drain.reason === 'DrainStalled'
      ? `draining ${drain.host} (${drain.phase}, attempt ${drain.attempts}): ${drain.message ?? 'no progress'}`
      : `draining ${drain.host}: ${drain.documentsRemaining} documents remaining (attempt ${drain.attempts})`,
  };
}
