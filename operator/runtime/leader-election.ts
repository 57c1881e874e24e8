/**
 * @module leader-election
 * One active operator per installation, through a coordination.k8s.io/v1 Lease, as client-go's
 * leaderelection does it. `decideLease` is the pure rule; `LeaderElector` is the loop around it.
 * Expiry is judged by when *we* last saw the lease record (its spec) change, not by its renewTime,
 * so clock skew between pods cannot hand the lease to two holders: a record that stays the same
 * for its leaseDurationSeconds is free, however old its renewTime. A new process therefore waits
 * one lease duration from its first read of a dead holder's record, then takes it (client-go's
 * observedTime/observedRawRecord). Writes are conditional on the record's resourceVersion: of two
 * candidates racing for an expired lease, the API server lets one win.
 */
import type { Clock, TimerHandle } from '../../services/shared/clock';
import type { Logger } from '../../services/shared/log';
import { isConflict, type KubeClient, type KubeObject } from '../kube/kube-client';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface LeaderConfig {
  identity: string;
  /** Followers wait this long after the last change they saw before taking over (client-go: 15 s). */
  leaseDurationMs: number;
  /** A leader that could not renew for this long steps down (client-go: 10 s); < leaseDuration. */
  renewDeadlineMs: number;
  /** Pause between attempts (client-go: 2 s). */
  retryPeriodMs: number;
}

export const DEFAULT_LEADER_TIMINGS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 } as const;

export type LeaseDecision =
  | { kind: 'create' | 'renew' | 'acquire'; spec: LeaseSpec }
  /** Someone else holds a valid lease. */
  | { kind: 'wait'; holder: string };

/** MicroTime, as the Lease API stores it. */
export const microTime = (ms: number): string => new Date(ms).toISOString().replace(/Z$/, '000Z');

/**
 * @param current the lease's spec, or undefined when no Lease exists
 * @param observedAtMs our local time when we first saw this version of the record
 */
export function decideLease(current: LeaseSpec | undefined, observedAtMs: number, nowMs: number, cfg: LeaderConfig): LeaseDecision {
  const seconds = Math.ceil(cfg.leaseDurationMs / 1000);
  const now = microTime(nowMs);
  if (!current) return { kind: 'create', spec: { holderIdentity: cfg.identity, leaseDurationSeconds: seconds, acquireTime: now, renewTime: now, leaseTransitions: 0 } };
  if (current.holderIdentity === cfg.identity) return { kind: 'renew', spec: { ...current, leaseDurationSeconds: seconds, renewTime: now } };
  const heldFor = (current.leaseDurationSeconds ?? seconds) * 1000;
  const free = !current.holderIdentity || nowMs >= observedAtMs + heldFor;
  if (!free) return { kind: 'wait', holder: current.holderIdentity! };
  return {
    kind: 'acquire',
    spec: { holderIdentity: cfg.identity, leaseDurationSeconds: seconds, acquireTime: now, renewTime: now, leaseTransitions: (current.leaseTransitions ?? 0) + 1 },
  };
}

/** Why a leader stopped leading: another identity holds the record, or renewals failed past the deadline. */
export type LostReason = 'taken_over' | 'renew_deadline_passed';

export interface LeaderCallbacks {
  onStartedLeading(): void;
  /** Called once leadership is lost; the owner must stop every write at once. */
  onStoppedLeading(reason: LostReason): void;
}

/** The record as compared between reads: its spec, keys sorted (a metadata-only write is no change of the record). */
const recordKey = (spec: LeaseSpec | undefined): string =>
  spec === undefined ? '' : JSON.stringify(Object.keys(spec).sort().map((k) => [k, spec[k as keyof LeaseSpec]]));

export class LeaderElector {
  private timer: TimerHandle | undefined;
  private leading = false;
  private lastRenewMs = 0;
  private observed: { record: string; atMs: number } | undefined;
  private stopped = false;
  private attempt: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: KubeClient,
    private readonly lease: { namespace: string; name: string },
    private readonly cfg: LeaderConfig,
    private readonly callbacks: LeaderCallbacks,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.tick();
  }

  /**
   * Stops campaigning. With `release`, a leader hands the lease back (holder cleared) so a successor
   * need not wait it out; without, the lease runs out as if the process had died.
   */
  async stop(release = true): Promise<void> {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    await this.attempt;
    if (!this.leading || !release) { this.leading = false; return; }
    this.leading = false;
    try {
      const obj = await this.client.get(this.ref());
      const spec = obj?.spec as LeaseSpec | undefined;
      if (obj && spec?.holderIdentity === this.cfg.identity) {
        await this.client.replace({ ...obj, spec: { ...spec, holderIdentity: '', leaseDurationSeconds: 1 } });
        this.log.info({ lease: this.lease.name }, 'leader.released');
      }
    } catch (err) {
      this.log.warn({ err: String(err) }, 'leader.release_failed');
    }
  }

  private tick(): void {
    if (this.stopped) return;
    this.attempt = this.tryOnce().finally(() => {
      if (!this.stopped) this.timer = this.clock.setTimeout(() => this.tick(), this.cfg.retryPeriodMs);
    });
  }

  private ref() {
    return { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: this.lease.namespace, name: this.lease.name };
  }

  private async tryOnce(): Promise<void> {
    const now = this.clock.nowMs();
    let ok = false;
    try {
      const obj = await this.client.get(this.ref());
      if (this.stopped) return;
      const spec = obj?.spec as LeaseSpec | undefined;
      const record = recordKey(spec);
      if (this.observed?.record !== record) this.observed = { record, atMs: now };
      const decision = decideLease(spec, this.observed.atMs, now, this.cfg);
      if (decision.kind === 'wait') {
        if (this.leading) this.log.warn({ holder: decision.holder }, 'leader.taken_over');
        this.loseLeadership('taken_over');
        return;
      }
      if (decision.kind === 'create') {
        await this.client.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.lease.name, namespace: this.lease.namespace }, spec: decision.spec });
      } else {
        await this.client.replace({ ...(obj as KubeObject), spec: decision.spec });
      }
      ok = true;
      if (decision.kind !== 'renew') this.log.info({ lease: this.lease.name, transition: decision.kind }, 'leader.acquired');
    } catch (err) {
      // A conflict means another candidate wrote first; anything else is an API problem. Either way, try again.
      if (!isConflict(err)) this.log.warn({ err: String(err) }, 'leader.renew_failed');
    }
    if (this.stopped) return;
    if (ok) {
      this.lastRenewMs = now;
      if (!this.leading) {
        this.leading = true;
        this.callbacks.onStartedLeading();
      }
    } else if (this.leading && this.clock.nowMs() - this.lastRenewMs >= this.cfg.renewDeadlineMs) {
      this.log.warn({ sinceRenewMs: this.clock.nowMs() - this.lastRenewMs }, 'leader.renew_deadline_passed');
      this.loseLeadership('renew_deadline_passed');
    }
  }

  private loseLeadership(reason: LostReason): void {
    if (!this.leading) return;
    this.leading = false;
    this.callbacks.onStoppedLeading(reason);
  }
}
