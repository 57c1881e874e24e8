/**
 * @module archiver-loop
 * The archiver's shell: passes of finish-trims → (sometimes) collect garbage → claim a batch →
 * archive it, paced to `docsPerSecond` with at most `concurrency` documents in flight. Sleeps
 * `idlePollMs` when a pass found nothing. Every decision is in archiver-plan.ts.
 */
import type { Clock, TimerHandle } from '../shared/clock';
import type { Logger } from '../shared/log';
import type { DataService } from '../storage/data-service';
import type { Archiver } from './archiver';
import { errorCode, errorDetail } from './failure-detail';
import { lagMs, nextStartMs, type ArchiverConfig } from './archiver-plan';

/** This pass's own figures (the archiver's counters are the running totals). */
export interface PassResult { claimed: number; archived: number; skipped: number; failed: number; trimmed: number; gcDeleted: number; gcFailed: number; gcIncomplete: number }

export interface ArchiverLoopDeps {
  archiver: Archiver;
  data: DataService;
  clock: Clock;
  log: Logger;
  workerId: string;
  config: Readonly<ArchiverConfig>;
}

export class ArchiverLoop {
  private stopping = false;
  private running: Promise<void> | null = null;
  private wake: { handle: TimerHandle; resolve(): void } | null = null;
  private lastStartMs: number | null = null;
  private lastGcMs: number | null = null;

  constructor(private readonly deps: ArchiverLoopDeps) {}

  start(): void {
    this.running ??= this.loop();
  }

  /** Stops claiming; documents in flight finish (their claims would expire anyway). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.wake) { this.deps.clock.clearTimeout(this.wake.handle); this.wake.resolve(); }
    await this.running;
  }

  async runPass(): Promise<PassResult> {
    const { archiver, data, clock, config, workerId } = this.deps;
    const result: PassResult = { claimed: 0, archived: 0, skipped: 0, failed: 0, trimmed: 0, gcDeleted: 0, gcFailed: 0, gcIncomplete: 0 };
    result.trimmed = await archiver.finishTrims(config.batchSize);
    const nowMs = clock.nowMs();
    if (this.lastGcMs === null || nowMs - this.lastGcMs >= config.gcIntervalMs) {
      this.lastGcMs = nowMs;
      // A collection that fails as a whole (store listing, database) costs this pass its GC only;
      // claiming and archiving go on, and the next interval tries again.
      try {
        const gc = await archiver.collectGarbage();
        result.gcDeleted = gc.deleted;
        result.gcFailed = gc.failed;
        result.gcIncomplete = gc.incompleteRemoved;
      } catch (err) {
        result.gcFailed += 1;
        archiver.metrics.archiverGcFailures.add(1);
        this.deps.log.warn({ code: errorCode(err), err: String(err), detail: errorDetail(err) }, 'archiver.gc_failed');
      }
    }
    const claimed = await data.claimColdDocuments(workerId, config.idleMs, config.claimLeaseMs, config.batchSize);
    result.claimed = claimed.length;
    const claimedAtMs = clock.nowMs();
    archiver.counters.lagMs = lagMs(claimed.map((c) => c.updatedAtMs), config.idleMs, claimedAtMs);
    for (const c of claimed) archiver.metrics.archiverLagMs.record(lagMs([c.updatedAtMs], config.idleMs, claimedAtMs));
    const inFlight = new Set<Promise<void>>();
    for (const c of claimed) {
      if (this.stopping) { await data.releaseClaim(c, c.claimToken).catch(() => undefined); continue; }
      await this.sleep(nextStartMs(this.lastStartMs, config.docsPerSecond, clock.nowMs()) - clock.nowMs());
      while (inFlight.size >= config.concurrency) await Promise.race(inFlight);
      this.lastStartMs = clock.nowMs();
      const task: Promise<void> = archiver.archiveClaimed(c).then(
        (o) => { if (o.kind === 'archived') result.archived += 1; else result.skipped += 1; },
        () => { result.failed += 1; },
      ).finally(() => inFlight.delete(task));
      inFlight.add(task);
    }
    await Promise.all(inFlight);
    return result;
  }

  private async loop(): Promise<void> {
    const { log, config } = this.deps;
    while (!this.stopping) {
      let idle = true;
      try {
        const r = await this.runPass();
        idle = r.claimed === 0;
        // The pass's own figures at the top level; the running totals under `totals`.
        if (!idle || r.trimmed > 0 || r.gcDeleted > 0 || r.gcFailed > 0 || r.gcIncomplete > 0) log.info({ ...r, totals: { ...this.deps.archiver.counters } }, 'archiver.pass');
      } catch (err) {
        log.warn({ code: errorCode(err), err: String(err), detail: errorDetail(err) }, 'archiver.pass_failed');
      }
      if (idle) await this.sleep(config.idlePollMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.stopping) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const handle = this.deps.clock.setTimeout(() => { this.wake = null; resolve(); }, ms);
      this.wake = { handle, resolve };
    });
  }
}
