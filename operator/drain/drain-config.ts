/** @module drain-config — the timings of host drains, derived from the spec. */
import type { HostTierSpec } from '../api/v1alpha1/types';
import { backoffMs } from '../../services/shared/backoff';

export interface DrainConfig {
  /** One attempt gives up after this long and becomes `Failed` (ms). */
  drainTimeoutMs: number;
  /** Delay before the 2nd attempt; doubled per attempt (ms). */
  retryBackoffMs: number;
  /** Upper bound of that delay (ms); 10 min keeps a broken host visible but not hammered. */
  maxRetryBackoffMs: number;
  /** How soon to look again while a drain progresses (ms). */
  pollIntervalMs: number;
  /** No fewer documents for this long: the drain is reported as DrainStalled (it keeps going). */
  stallAfterMs: number;
}

export function drainConfigFor(hosts: HostTierSpec): DrainConfig {
  return {
    drainTimeoutMs: hosts.drain.timeoutSeconds * 1000,
    retryBackoffMs: hosts.drain.retryBackoffSeconds * 1000,
    maxRetryBackoffMs: 600_000,
    pollIntervalMs: 5_000,
    // Well before the attempt times out, so an SRE sees it while it can still be helped.
    stallAfterMs: Math.min(60_000, Math.round(hosts.drain.timeoutSeconds * 1000 / 3)),
  };
}

/** Backoff after the n-th failed attempt (n ≥ 1): base, 2·base, 4·base … capped. */
export function retryDelayMs(attempts: number, cfg: DrainConfig): number {
  return backoffMs(attempts - 1, cfg.retryBackoffMs, cfg.maxRetryBackoffMs);
}
