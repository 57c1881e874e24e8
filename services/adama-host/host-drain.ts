/**
 * @module host-drain
 * The host's drain as a small state machine, apart from the sockets and SQL it drives:
 *
 *   serving --drain()--> draining --(every document unloaded, orphans released)--> drained
 *   draining|drained --cancel()--> serving   (after the running unloads finish)
 *   any --close()--> closed                  (the SIGTERM drain; nothing resumes after it)
 *
 * A drain takes the host out of membership first (NOT_SERVING for its gossip sidecar, the lease
 * row removed), so proxies route new streams elsewhere while the documents unload. Rows still
 * bound to this host id that it does not hold (left by a crashed incarnation under the same id)
 * are released under the fence, so a drain always reaches zero. A cancelled drain puts the host
 * back: accepting, SERVING (its sidecar rejoins gossip), lease row back.
 */
import { AdamaError, E } from '../shared/errors';
import type { DrainReply } from '../grpc/host-messages';

export interface DrainSteps {
  /** The gRPC health status the gossip sidecar probes. */
  setServing(serving: boolean): void;
  /** Leave / rejoin lease membership (the `hosts` row). */
  leaveMembership(): Promise<void>;
  rejoinMembership(): Promise<void>;
  /** Stop taking documents and unload every loaded one (snapshot + release). */
  unloadAll(): Promise<void>;
  /** Take documents again after a cancelled drain. */
  resumeAccepting(): void;
  /** Release every row still bound to this host id (none is loaded now); returns how many. */
  releaseOrphans(): Promise<number>;
  /** directory rows bound to this host id. */
  countOwned(): Promise<number>;
  /** Called with each transition, for logs. */
  onTransition?(to: DrainState, detail: Record<string, unknown>): void;
}

export type DrainState = 'serving' | 'draining' | 'drained' | 'closed';

export class HostDrain {
  private stateNow: DrainState = 'serving';
  /** The drain in progress or finished (null while serving). */
  private job: Promise<DrainReply> | null = null;
  /** Cancels and drains queue behind each other so that no two run at once. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly steps: DrainSteps) {}

  get state(): DrainState { return this.stateNow; }
  get draining(): boolean { return this.stateNow !== 'serving'; }
  private get closed(): boolean { return this.stateNow === 'closed'; }

  /**
   * Starts the drain (or joins the one running) and waits for it up to `timeoutMs`; after that it
   * answers with what remains now, and the drain goes on in the background.
   */
  drain(timeoutMs: number): Promise<DrainReply> {
    if (this.closed && this.job === null) return Promise.reject(new AdamaError(E.HOST_SHUTTING_DOWN, 'host is closed'));
    const job = this.job ?? this.startJob();
    return withTimeout(job, timeoutMs, () => this.remaining());
  }

  /**
   * Ends a drain: waits for its unloads to finish, then takes documents again and rejoins
   * membership. A no-op while serving; refused once the host is closing.
   */
  cancel(): Promise<{ resumed: boolean }> {
    const run = this.chain.then(async () => {
      if (this.closed) throw new AdamaError(E.HOST_SHUTTING_DOWN, 'the host is shutting down; its drain cannot be cancelled');
      if (this.job === null) return { resumed: false };
      await this.job.catch(() => undefined);
      if (this.closed) throw new AdamaError(E.HOST_SHUTTING_DOWN, 'the host is shutting down; its drain cannot be cancelled');
      this.job = null;
      this.steps.resumeAccepting();
      await this.steps.rejoinMembership();
      this.steps.setServing(true);
      this.transition('serving', {});
      return { resumed: true };
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** The final drain (SIGTERM): like drain(), but nothing can resume the host afterwards. */
  close(timeoutMs: number): Promise<DrainReply> {
    const reply = this.drain(timeoutMs);
    this.stateNow = 'closed';
    return reply;
  }

  private startJob(): Promise<DrainReply> {
    this.transition('draining', {});
    const job = this.chain.then(async (): Promise<DrainReply> => {
      // NOT_SERVING first: the sidecar announces our departure (one round), proxies stop routing here.
      this.steps.setServing(false);
      await this.steps.leaveMembership();
      await this.steps.unloadAll();
      const orphans = await this.steps.releaseOrphans();
      const remaining = await this.steps.countOwned();
      if (!this.closed) this.transition('drained', { remaining, orphansReleased: orphans });
      return { documents_remaining: remaining, drained: remaining === 0 };
    });
    this.job = job;
    this.chain = job.catch(() => undefined);
    return job;
  }

  private async remaining(): Promise<DrainReply> {
    try {
      const n = await this.steps.countOwned();
      return { documents_remaining: n, drained: n === 0 };
    } catch {
      return { documents_remaining: 0, drained: false };
    }
  }

  private transition(to: DrainState, detail: Record<string, unknown>): void {
    if (!this.closed) this.stateNow = to;
    this.steps.onTransition?.(to, detail);
  }
}

/** `p`, or `fallback()` after `ms`; the timer never outlives the race. */
async function withTimeout<T>(p: Promise<T>, ms: number, fallback: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<T>((resolve, reject) => { timer = setTimeout(() => { fallback().then(resolve, reject); }, ms); });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}
