/**
 * @module drain-machine
 * The one host drain as a resumable state machine. Its phase (Requested → MovingStreams →
 * ReleasingBindings → Done, or Failed → back to Requested after a backoff) is the only state, kept
 * in `status.drain`; each pass moves at most one phase, so an operator restart loses nothing.
 */
import type { DrainStatus } from '../api/v1alpha1/types';
import { retryDelayMs, type DrainConfig } from './drain-config';
import type { HostObservation } from './host-observation';

export type DrainAction =
  /** Send the host its Drain RPC (idempotent; re-sent while Requested). */
  | { kind: 'request'; drain: DrainStatus }
  /** Nothing to do but look again later. */
  | { kind: 'wait'; drain: DrainStatus; requeueAfterMs: number }
  /** The attempt just failed; emit a Warning event, retry after the backoff. */
  | { kind: 'fail'; drain: DrainStatus; requeueAfterMs: number };

const iso = (ms: number): string => new Date(ms).toISOString();

export function newDrain(host: string, ordinal: number, nowMs: number, startTime = iso(nowMs)): DrainStatus {
  return { host, ordinal, phase: 'Requested', startTime, attemptStartTime: iso(nowMs), attempts: 1, documentsRemaining: 0 };
}

/** Marks the attempt failed (the shell calls this when the Drain RPC errors, too). */
export function failDrain(d: DrainStatus, reason: 'DrainFailed' | 'DrainTimedOut', message: string, nowMs: number, cfg: DrainConfig): DrainStatus {
  return { ...d, phase: 'Failed', reason, message, nextAttemptTime: iso(nowMs + retryDelayMs(d.attempts, cfg)) };
}

/** The best count we have of documents the host still owns. */
function remaining(d: DrainStatus, h: HostObservation | undefined): number {
  return h?.documentsOwned ?? h?.reported?.documentsLoaded ?? d.documentsRemaining;
}

/** One pass of a drain that is not Done. */
export function advanceDrain(d: DrainStatus, host: HostObservation | undefined, nowMs: number, cfg: DrainConfig): DrainAction {
  const poll = cfg.pollIntervalMs;
  if (d.phase === 'Failed') {
    const retryAtMs = Date.parse(d.nextAttemptTime ?? '') || 0;
    if (nowMs < retryAtMs) return { kind: 'wait', drain: d, requeueAfterMs: retryAtMs - nowMs };
    const { reason: _r, message: _m, nextAttemptTime: _n, progressTime: _p, ...rest } = d;
    return { kind: 'request', drain: { ...rest, phase: 'Requested', attempts: d.attempts + 1, attemptStartTime: iso(nowMs) } };
  }
  const left = remaining(d, host);
  const seen = { ...d, documentsRemaining: left };
  if (nowMs - Date.parse(d.attemptStartTime) >= cfg.drainTimeoutMs) {
    const failed = failDrain(seen, 'DrainTimedOut', `${left} documents still owned after ${cfg.drainTimeoutMs} ms`, nowMs, cfg);
    return { kind: 'fail', drain: failed, requeueAfterMs: retryDelayMs(d.attempts, cfg) };
  }
  // An unreachable host that owns nothing serves nothing: removing it loses no document, and
  // anything it grabbed meanwhile is fenced and reloaded elsewhere.
  if (host?.reported === undefined && host?.documentsOwned === 0) return { kind: 'wait', drain: { ...seen, phase: 'Done' }, requeueAfterMs: 0 };
  switch (d.phase) {
    case 'Requested':
      if (host?.reported?.draining) return { kind: 'wait', drain: { ...seen, phase: 'MovingStreams' }, requeueAfterMs: 0 };
      return { kind: 'request', drain: seen };
    case 'MovingStreams':
    case 'ReleasingBindings':
      // The host restarted (eviction, crash) and serves again: ask once more.
      if (host?.reported && !host.reported.draining) return { kind: 'request', drain: { ...seen, phase: 'Requested' } };
      if (d.phase === 'MovingStreams' && host?.reported?.documentsLoaded === 0) return { kind: 'wait', drain: { ...moved(seen, nowMs), phase: 'ReleasingBindings' }, requeueAfterMs: 0 };
      if (d.phase === 'ReleasingBindings' && host?.documentsOwned === 0) return { kind: 'wait', drain: { ...moved(seen, nowMs), phase: 'Done' }, requeueAfterMs: 0 };
      return { kind: 'wait', drain: judgeProgress(d, seen, nowMs, cfg), requeueAfterMs: poll };
    case 'Done':
      return { kind: 'wait', drain: d, requeueAfterMs: 0 };
  }
}

/** Progress was made now: the stall clock restarts and a DrainStalled mark goes. */
function moved(d: DrainStatus, nowMs: number): DrainStatus {
  const { reason: _r, message: _m, ...rest } = d;
  return { ...rest, progressTime: iso(nowMs) };
}

/**
 * A drain that holds the same documents for `stallAfterMs` is marked DrainStalled (it keeps
 * going, until its attempt times out): a host that never releases a row, e.g. one bound to a
 * crashed incarnation, shows up in status instead of a silent wait.
 */
function judgeProgress(before: DrainStatus, seen: DrainStatus, nowMs: number, cfg: DrainConfig): DrainStatus {
  if (seen.documentsRemaining < before.documentsRemaining) return moved(seen, nowMs);
  const sinceMs = nowMs - Date.parse(before.progressTime ?? before.attemptStartTime);
  if (sinceMs < cfg.stallAfterMs) return seen;
  const n = seen.documentsRemaining;
  return { ...seen, reason: 'DrainStalled', message: `${n} document${n === 1 ? '' : 's'} still bound to ${seen.host}; no progress for ${Math.round(sinceMs / 1000)} s` };
}
