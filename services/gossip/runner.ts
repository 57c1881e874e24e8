/**
 * @module runner
 * The shell around the pure state: timers (heartbeat + expiry, jittered rounds), the transport,
 * and listeners. Shared by the real sidecar (system clock, gRPC) and the simulation (HeapClock,
 * memory network), so the simulation measures the code that runs in production.
 */
import type { Clock, TimerHandle } from '../shared/clock';
import type { GossipConfig } from './config';
import { applyMessage } from './exchange';
import type { GossipMessage, MemberEntry, MemberMeta } from './messages';
import type { Rng } from './rng';
import {
  applyExpiry, applyHealth, applyHeartbeat, applyJoin, applyLeave, createState, otherMembers, planRound, planSeedProbe, type GossipEvent, type GossipState, type Send,
} from './state';
import type { GossipTransport } from './transport';

export interface RunnerOptions {
  cfg: Readonly<GossipConfig>;
  self: Omit<MemberMeta, 'gossipAddress'>;
  clock: Clock;
  rng: Rng;
  transport: GossipTransport;
  /**
   * Sidecar addresses to open rounds with while we know no member, and to probe for members we
   * have not met (cfg.seedProbeIntervalMs). A function is asked only when one of those is due
   * (the sidecar resolves names behind it).
   */
  seeds?: readonly string[] | (() => readonly string[]);
  /** Our first counter; real sidecars start from wall time so a restart is never "older". */
  initialCounter?: number;
  /** False: start outside our own set until `join()` (a sidecar waiting for its host's first SERVING). Default true. */
  joined?: boolean;
}

export class GossipRunner {
  private s: GossipState;
  private heartbeatTimer: TimerHandle | undefined;
  private roundTimer: TimerHandle | undefined;
  private stopped = false;
  private lastSeedProbeMs: number;
  private readonly eventListeners = new Set<(e: GossipEvent) => void>();
  private readonly setListeners = new Set<(s: GossipState) => void>();

  constructor(private readonly o: RunnerOptions) {
    this.s = createState(o.cfg, { ...o.self, gossipAddress: o.transport.address }, o.clock.nowMs(), o.initialCounter ?? 0, o.joined ?? true);
    o.transport.onMessage((msg) => this.receive(msg));
    this.lastSeedProbeMs = o.clock.nowMs();
  }

  get state(): GossipState { return this.s; }

  /** Starts heartbeats and rounds; the first round opens after a random fraction of an interval. */
  start(): void {
    this.scheduleHeartbeat();
    this.roundTimer = this.o.clock.setTimeout(() => this.round(), this.o.rng.next() * this.o.cfg.gossipIntervalMs);
  }

  onEvent(listener: (e: GossipEvent) => void): () => void { this.eventListeners.add(listener); return () => this.eventListeners.delete(listener); }
  /** Called whenever the member set (its hash) changes. */
  onSetChange(listener: (s: GossipState) => void): () => void { this.setListeners.add(listener); return () => this.setListeners.delete(listener); }

  /** Starts from a known member list (simulation, tests), as if a full exchange had just happened. */
  bootstrap(members: readonly MemberEntry[]): void {
    this.commit(applyMessage(this.s, { kind: 'members', from: '', fromId: '', members, replyWanted: false, deletions: [] }, this.o.clock.nowMs()));
  }

  setHealthy(healthy: boolean): void { this.s = applyHealth(this.s, healthy); }

  /** Enters (or re-enters after `leave`) our own set with a counter of at least floorCounter. */
  join(floorCounter = 0): void {
    if (this.stopped) return;
    this.commit(applyJoin(this.s, this.o.rng, this.o.clock.nowMs(), floorCounter));
  }

  /** Announces our departure; rounds keep running (carrying it) until `stop`. */
  leave(): void {
    if (this.stopped) return;
    this.commit(applyLeave(this.s, this.o.rng, this.o.clock.nowMs()));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.heartbeatTimer) this.o.clock.clearTimeout(this.heartbeatTimer);
    if (this.roundTimer) this.o.clock.clearTimeout(this.roundTimer);
    await this.o.transport.close();
  }

  private receive(msg: GossipMessage): void {
    if (this.stopped) return;
    this.commit(applyMessage(this.s, msg, this.o.clock.nowMs()));
  }

  private seedList(): readonly string[] {
    const seeds = this.o.seeds ?? [];
    return typeof seeds === 'function' ? seeds() : seeds;
  }

  private scheduleHeartbeat(): void {
    this.heartbeatTimer = this.o.clock.setTimeout(() => {
      if (this.stopped) return;
      const now = this.o.clock.nowMs();
      this.s = applyHeartbeat(this.s, now);
      this.commit(applyExpiry(this.s, now));
      this.scheduleHeartbeat();
    }, this.o.cfg.heartbeatIntervalMs);
  }

  private round(): void {
    if (this.stopped) return;
    const now = this.o.clock.nowMs();
    const alone = otherMembers(this.s) === 0;
    const probeDue = this.o.cfg.seedProbeIntervalMs > 0 && now - this.lastSeedProbeMs >= this.o.cfg.seedProbeIntervalMs;
    const seeds = alone || probeDue ? this.seedList() : [];
    const send = planRound(this.s, this.o.rng, seeds);
    if (send) this.o.transport.send(send.to, send.msg);
    if (probeDue && !alone) {
      this.lastSeedProbeMs = now;
      const probe = planSeedProbe(this.s, this.o.rng, seeds);
      if (probe) this.o.transport.send(probe.to, probe.msg);
    }
    const j = this.o.cfg.gossipJitterRatio;
    this.roundTimer = this.o.clock.setTimeout(() => this.round(), this.o.cfg.gossipIntervalMs * (1 - j + 2 * j * this.o.rng.next()));
  }

  private commit(step: { state: GossipState; send: Send[]; events: GossipEvent[] }): void {
    const before = this.s.chain.current.hash;
    this.s = step.state;
    for (const m of step.send) this.o.transport.send(m.to, m.msg);
    for (const e of step.events) for (const l of this.eventListeners) l(e);
    if (this.s.chain.current.hash !== before) for (const l of this.setListeners) l(this.s);
  }
}
