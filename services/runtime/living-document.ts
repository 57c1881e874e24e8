/**
 * @module living-document
 * One loaded document on its owning host: state in memory, a bounded work queue, one batch in
 * flight. A batch applies queued requests in the sandbox one after another, appends all their
 * change records in ONE fenced append (group commit per document), and only then acknowledges
 * the senders, commits the new state and sends per-viewer deltas. If the append is refused
 * (another host took the document) or its outcome is unknown (database error), the document is
 * shed: nothing of the batch is acknowledged, every stream is told to re-attach, and the next
 * owner loads the truth from the log.
 */
import { apply, decode, diff, encode } from '../protocol/delta';
import type { Clock, TimerHandle } from '../shared/clock';
import { AdamaError, E, isAdamaError, toErrorBody, type ErrorBody, type ErrorEntry } from '../shared/errors';
import { findUnstorableString, type Json } from '../shared/json';
import type { Logger } from '../shared/log';
import type { ChangeRecord, DataService } from '../storage/data-service';
import type { DocRef } from '../shared/doc-ref';
import type { Who } from '../shared/identity';
import type { StreamSink } from '../protocol/host-api';
import type { Appender } from '../storage/data-service';
import { withSpan, type AdamaMetrics } from '../shared/telemetry';
import type { Tracer } from '@opentelemetry/api';
import { DedupeWindow } from './dedupe-window';
import type { CallContext, SpaceSandbox } from './space-sandbox';
import { DocumentHistory } from './document-history';

export interface LivingDocumentConfig {
  docQueueDepth: number;
  maxBatch: number;
  maxStateBytes: number;
  snapshotEveryRecords: number;
  keepHistoryRecords: number;
  memoryHistoryRecords: number;
  idleUnloadMs: number;
  dedupeKeysPerDocument: number;
}

export interface LivingDocumentDeps {
  ref: DocRef;
  hostId: string;
  epoch: number;
  data: DataService;
  /** Where appends go: the host's group committer (many documents per statement). */
  appender: Appender;
  metrics: AdamaMetrics;
  tracer: Tracer;
  sandbox: SpaceSandbox;
  clock: Clock;
  log: Logger;
  config: LivingDocumentConfig;
  /** Called once when the document leaves memory (idle unload, shed or shutdown). */
  onGone(doc: LivingDocument): void;
}

/** The committed state: the log's head and the state it produces, in both encodings. */
export interface Committed { seq: number; encoded: Json; plain: Json }

/** Per-stream state in one object (docs/architecture.md §11.3). */
interface Viewer { id: number; who: Who; viewerState: Json; lastView: Json | undefined; sink: StreamSink }

type Op =
  | { kind: 'send'; who: Who; channel: string; message: Json; dedupe?: string; done: Settle<{ seq: number }> }
  | { kind: 'connect'; viewer: Viewer; since?: number; done: Settle<void> }
  | { kind: 'disconnect'; viewerId: number; done: Settle<void> }
  | { kind: 'update'; viewerId: number; viewerState: Json; done: Settle<void> };

interface Settle<T> { resolve(v: T): void; reject(e: unknown): void }

/** What one request did to the working state during a batch. */
type Outcome =
  | { op: Op; result: 'failed'; error: unknown }
  | { op: Op; result: 'ok'; seq: number };

export class LivingDocument {
  readonly ref: DocRef;
  private committed: Committed;
  private readonly viewers = new Map<number, Viewer>();
  private readonly queue: Op[] = [];
  /** The batch loop while it runs; unload awaits it instead of polling. */
  private pumping: Promise<void> | null = null;
  private gone = false;
  private idleTimer: TimerHandle | null = null;
  /** The compaction in flight, if any: at most one per document, awaited by unload. */
  private compaction: Promise<void> | null = null;
  private recordsSinceSnapshot: number;
  private readonly dedupe: DedupeWindow;
  private readonly history: DocumentHistory;
  private nextViewerId = 1;

  constructor(private readonly deps: LivingDocumentDeps, committed: Committed, init: { recordsSinceSnapshot: number; recent: ChangeRecord[]; dedupe: [string, number][] }) {
    this.ref = deps.ref;
    this.committed = committed;
    this.recordsSinceSnapshot = init.recordsSinceSnapshot;
    this.dedupe = new DedupeWindow(deps.config.dedupeKeysPerDocument);
    for (const [k, s] of init.dedupe) this.dedupe.remember(k, s);
    this.history = new DocumentHistory(deps.config.memoryHistoryRecords);
    for (const r of init.recent) {
      this.history.push(r);
      const d = dedupeKeyOf(r.request);
      if (d) this.dedupe.remember(d, r.seq);
    }
    this.armIdleTimer();
  }

  get seq(): number { return this.committed.seq; }
  get epoch(): number { return this.deps.epoch; }
  get streamCount(): number { return this.viewers.size; }
  get isGone(): boolean { return this.gone; }

  // ---- requests -------------------------------------------------------------------------

  attach(who: Who, viewerState: Json, since: number | undefined, sink: StreamSink): Promise<number> {
    const viewer: Viewer = { id: this.nextViewerId++, who, viewerState, lastView: undefined, sink };
    return this.enqueue<void>((done) => ({ kind: 'connect', viewer, since, done })).then(() => viewer.id);
  }

  send(who: Who, channel: string, message: Json, dedupe: string | undefined): Promise<{ seq: number }> {
    return this.enqueue((done) => ({ kind: 'send', who, channel, message, dedupe, done }));
  }

  update(viewerId: number, viewerState: Json): Promise<void> {
    return this.enqueue((done) => ({ kind: 'update', viewerId, viewerState, done }));
  }

  detach(viewerId: number): Promise<void> {
    if (!this.viewers.has(viewerId) || this.gone) return Promise.resolve();
    // Detaching must not be refused by a full queue, or a departed viewer would linger.
    return this.enqueue((done) => ({ kind: 'disconnect', viewerId, done }), true);
  }

  private enqueue<T>(make: (done: Settle<T>) => Op, bypassLimit = false): Promise<T> {
    if (this.gone) return Promise.reject(new AdamaError(E.DOC_UNLOADED, `${this.ref.space}/${this.ref.key} is not loaded here`));
    if (!bypassLimit && this.queue.length >= this.deps.config.docQueueDepth) {
      return Promise.reject(new AdamaError(E.DOC_QUEUE_FULL, `${this.ref.space}/${this.ref.key} has ${this.queue.length} queued requests`));
    }
    return new Promise<T>((resolve, reject) => {
      this.queue.push(make({ resolve, reject } as Settle<T>) as Op);
      this.disarmIdleTimer();
      this.pump();
    });
  }

  // ---- the batch loop -------------------------------------------------------------------

  /** Starts the batch loop unless it runs already (or there is nothing to do). */
  private pump(): void {
    if (this.pumping || this.queue.length === 0 || this.gone) return;
    this.pumping = this.runQueue();
  }

  private async runQueue(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.gone) {
        const batch = this.queue.splice(0, this.deps.config.maxBatch);
        await this.runBatch(batch);
      }
    } catch (err) {
      // runBatch settles every request itself; anything escaping it is a bug, logged, never a crash.
      this.deps.log.error({ space: this.ref.space, key: this.ref.key, err: String(err) }, 'document.batch_failed');
    } finally {
      // Synchronous with the loop's last queue check, so a request queued from now on starts a
      // new loop at once. The loop awaited at least one batch, so this runs after pump() assigned.
      this.pumping = null;
      this.armIdleTimer();
    }
  }

  private async runBatch(batch: Op[]): Promise<void> {
    this.deps.metrics.groupCommitBatchSize.record(batch.length);
    let working = this.committed;
    const records: ChangeRecord[] = [];
    const outcomes: Outcome[] = [];
    const batchDedupe = new Map<string, number>();
    for (const op of batch) {
      try {
        const step = await this.applyOp(op, working, batchDedupe);
        if (step.record) {
          records.push(step.record);
          working = step.next;
        }
        outcomes.push({ op, result: 'ok', seq: step.seq });
      } catch (error) {
        outcomes.push({ op, result: 'failed', error });
      }
    }
    if (records.length > 0) {
      const lost = await this.appendOrLose(records);
      if (lost === E.RECORD_UNSTORABLE) {
        // Nothing committed and the document is as it was: refuse this batch, keep the document.
        this.refuseUnstorable(outcomes, records);
        return;
      }
      if (lost) {
        for (const o of outcomes) o.op.done.reject(o.result === 'failed' ? o.error : new AdamaError(lost, `${this.ref.space}/${this.ref.key}: ${lost.description}`));
        this.shed(lost);
        return;
      }
      this.committed = working;
      for (const r of records) {
        this.history.push(r);
        const d = dedupeKeyOf(r.request);
        if (d) this.dedupe.remember(d, r.seq);
      }
      this.recordsSinceSnapshot += records.length;
    }
    await this.settle(outcomes, records.length > 0);
    this.maybeCompact();
  }

  /** Applies one request to `working`; returns the record (if the state changed or a send was accepted). */
  private async applyOp(op: Op, working: Committed, batchDedupe: Map<string, number>): Promise<{ record?: ChangeRecord; next: Committed; seq: number }> {
    const ctx = this.context(working.seq + 1);
    switch (op.kind) {
      case 'send': {
        const known = op.dedupe === undefined ? undefined : (batchDedupe.get(op.dedupe) ?? this.dedupe.get(op.dedupe));
        if (known !== undefined) return { next: working, seq: known };
        const { state } = await this.deps.sandbox.send(working.plain, op.channel, op.message, op.who, ctx);
        const request: Json = { kind: 'send', channel: op.channel, message: op.message, ...(op.dedupe ? { dedupe: op.dedupe } : {}) };
        // Every accepted send gets a record, even one that changed nothing: the seq in its ack
        // is then a real log position, and its dedupe key is durable.
        const step = this.change(working, state, op.who, request, true)!;
        if (op.dedupe !== undefined) batchDedupe.set(op.dedupe, step.seq);
        return step;
      }
      case 'connect': {
        const { allow, state } = await this.deps.sandbox.connect(working.plain, op.viewer.who, ctx);
        if (!allow) throw new AdamaError(E.CONNECT_DENIED, `${this.ref.space} refused ${op.viewer.who.agent}`);
        return this.change(working, state, op.viewer.who, { kind: 'connect' }, false) ?? { next: working, seq: working.seq };
      }
      case 'disconnect': {
        const viewer = this.viewers.get(op.viewerId);
        if (!viewer) return { next: working, seq: working.seq };
        this.viewers.delete(op.viewerId);
        let state: Json;
        try {
          ({ state } = await this.deps.sandbox.disconnect(working.plain, viewer.who, ctx));
        } catch (err) {
          // The viewer is gone whatever the space's disconnect() did: its failure changes nothing
          // and is the space's bug, logged with its code, not the caller's (a closing stream).
          this.deps.log.warn({ space: this.ref.space, key: this.ref.key, agent: viewer.who.agent, code: isAdamaError(err) ? err.code : E.INTERNAL.code, err: String(err) }, 'space.disconnect_failed');
          return { next: working, seq: working.seq };
        }
        return this.change(working, state, viewer.who, { kind: 'disconnect' }, false) ?? { next: working, seq: working.seq };
      }
      case 'update': {
        const viewer = this.viewers.get(op.viewerId);
        if (viewer) viewer.viewerState = op.viewerState;
        return { next: working, seq: working.seq };
      }
    }
  }

  /** Builds the change record between `working` and `state`; undefined when nothing changed and `always` is false. */
  private change(working: Committed, state: Json, who: Who, request: Json, always: boolean): { record: ChangeRecord; next: Committed; seq: number } | undefined {
    const bytes = JSON.stringify(state).length;
    if (bytes > this.deps.config.maxStateBytes) throw new AdamaError(E.STATE_TOO_LARGE, `state would be ${bytes} bytes (limit ${this.deps.config.maxStateBytes})`);
    let encoded: Json;
    try {
      encoded = encode(state);
    } catch (err) {
      throw new AdamaError(E.SPACE_INVALID_RESULT, (err as Error).message);
    }
    const redo = diff(working.encoded, encoded);
    if (redo === undefined && !always) return undefined;
    const seq = working.seq + 1;
    const record: ChangeRecord = { seq, who, request, redo: redo ?? {}, undo: diff(encoded, working.encoded) ?? {} };
    return { record, next: { seq, encoded, plain: state }, seq };
  }

  /**
   * The database refused the batch's data: the request whose record holds the unstorable value
   * gets RECORD_UNSTORABLE (permanent); the others of the batch were innocent and may retry.
   */
  private refuseUnstorable(outcomes: Outcome[], records: readonly ChangeRecord[]): void {
    const bySeq = new Map(records.map((r) => [r.seq, r]));
    for (const o of outcomes) {
      if (o.result === 'failed') { o.op.done.reject(o.error); continue; }
      const record = bySeq.get(o.seq);
      const guilty = record !== undefined && findUnstorableString(record) !== undefined;
      const entry = guilty ? E.RECORD_UNSTORABLE : E.BATCH_PARTNER_REFUSED;
      o.op.done.reject(new AdamaError(entry, `${this.ref.space}/${this.ref.key}: ${entry.description}`));
    }
  }

  /** Returns the error that lost the batch, or null when the append committed. */
  private async appendOrLose(records: ChangeRecord[]): Promise<ErrorEntry | null> {
    const { appender, hostId, epoch, ref, log, metrics, clock } = this.deps;
    const startedMs = clock.nowMs();
    try {
      const res = await withSpan(this.deps.tracer, 'adama.append', { 'adama.space': ref.space, 'adama.key': ref.key, 'adama.epoch': epoch, 'adama.records': records.length }, () =>
        appender.append(ref, hostId, epoch, this.committed.seq, records));
      metrics.appendDurationMs.record(clock.nowMs() - startedMs);
      metrics.appends.add(1, { result: res.ok ? 'ok' : 'fenced' });
      if (res.ok) { metrics.appendRecords.add(records.length); return null; }
      if (res.refused) {
        log.warn({ space: ref.space, key: ref.key, code: res.refused.code, err: res.refused.message }, 'append.refused');
        return E.RECORD_UNSTORABLE;
      }
      log.warn({ space: ref.space, key: ref.key, epoch, seq: this.committed.seq }, 'append.fenced');
      return E.APPEND_FENCED;
    } catch (err) {
      if (isAdamaError(err, E.RECORD_UNSTORABLE)) {
        // Refused for its data alone (the group committer's verdict for this item): nothing committed.
        metrics.appends.add(1, { result: 'refused' });
        log.warn({ space: ref.space, key: ref.key, code: err.code, err: err.message }, 'append.refused');
        return E.RECORD_UNSTORABLE;
      }
      // The outcome is unknown: the rows may have committed. Shedding makes the next owner read
      // the truth; clients retry with their dedupe keys, so nothing is applied twice.
      metrics.appends.add(1, { result: 'error' });
      log.error({ space: ref.space, key: ref.key, err: String(err) }, 'append.failed');
      return E.STORAGE_UNAVAILABLE;
    }
  }

  /**
   * After a commit (or a batch with no records): deltas to everyone whose view changed, then the
   * acks, so a sender's own delta reaches it before its ack (read-your-writes), then new viewers.
   */
  private async settle(outcomes: Outcome[], stateChanged: boolean): Promise<void> {
    const toRefresh = new Set<Viewer>(stateChanged ? this.viewers.values() : []);
    for (const o of outcomes) {
      if (o.result === 'ok' && o.op.kind === 'update') { const v = this.viewers.get(o.op.viewerId); if (v) toRefresh.add(v); }
    }
    await this.publish([...toRefresh]);
    const joining: { viewer: Viewer; since?: number; done: Settle<void> }[] = [];
    for (const o of outcomes) {
      if (o.result === 'failed') { o.op.done.reject(o.error); continue; }
      switch (o.op.kind) {
        case 'send': o.op.done.resolve({ seq: o.seq }); break;
        case 'connect': joining.push(o.op); this.viewers.set(o.op.viewer.id, o.op.viewer); break;
        case 'update': case 'disconnect': o.op.done.resolve(); break;
      }
    }
    for (const j of joining) {
      try {
        await this.welcome(j.viewer, j.since);
        j.done.resolve();
      } catch (err) {
        this.viewers.delete(j.viewer.id);
        j.done.reject(err);
      }
    }
  }

  /** Sends each viewer the patch from what it last saw to its current view (nothing if equal). */
  private async publish(viewers: Viewer[]): Promise<void> {
    if (viewers.length === 0) return;
    const { seq, plain } = this.committed;
    let views: Json[];
    try {
      views = await this.deps.sandbox.views(plain, viewers.map((v) => ({ who: v.who, viewerState: v.viewerState })));
    } catch (err) {
      this.deps.log.warn({ space: this.ref.space, key: this.ref.key, code: toErrorBody(err).code }, 'view.failed');
      for (const v of viewers) this.closeViewer(v, toErrorBody(err));
      return;
    }
    viewers.forEach((v, i) => {
      let next: Json;
      try {
        next = encodeView(views[i]!);
      } catch (err) {
        this.closeViewer(v, toErrorBody(err));
        return;
      }
      const patch = diff(v.lastView, next);
      v.lastView = next;
      if (patch !== undefined) v.sink.onDelta({ data: patch, seq });
    });
  }

  /** The first delta of a stream: the gap since `since` when it can be served, else the full view. */
  private async welcome(viewer: Viewer, since: number | undefined): Promise<void> {
    const { seq, plain, encoded } = this.committed;
    const viewerInput = [{ who: viewer.who, viewerState: viewer.viewerState }];
    const [view] = await this.deps.sandbox.views(plain, viewerInput);
    const current = encodeView(view!);
    viewer.lastView = current;
    const before = since === undefined ? undefined : await this.encodedStateAt(since, encoded);
    if (before !== undefined) {
      const [old] = await this.deps.sandbox.views(decode(before), viewerInput);
      viewer.sink.onDelta({ data: diff(encodeView(old!), current) ?? {}, seq });
    } else {
      viewer.sink.onDelta({ data: current, seq, reset: true });
    }
  }

  /** Rewinds the committed state to `since` with undo records, or undefined if the gap is not available. */
  private async encodedStateAt(since: number, encoded: Json): Promise<Json | undefined> {
    const seq = this.committed.seq;
    if (since > seq || since < 1) return undefined;
    if (since === seq) return encoded;
    let records = this.history.range(since, seq);
    if (!records) {
      records = await this.deps.data.readLog(this.ref, since, seq);
      if (records.length !== seq - since || records[0]?.seq !== since + 1) return undefined;
    }
    let state = encoded;
    try {
      for (let i = records.length - 1; i >= 0; i--) state = apply(state, records[i]!.undo);
    } catch (err) {
      // An undo that does not apply means the history is damaged: serve the full view instead.
      this.deps.log.warn({ space: this.ref.space, key: this.ref.key, since, code: E.LOG_CORRUPT.code, err: String(err) }, 'resume.undo_failed');
      return undefined;
    }
    return state;
  }

  // ---- compaction, idleness, shedding -------------------------------------------------------

  private maybeCompact(): void {
    if (this.compaction || this.recordsSinceSnapshot < this.deps.config.snapshotEveryRecords) return;
    void this.compactNow();
  }

  /** Writes a snapshot of the committed state and trims old log records; joins one in flight. Never throws. */
  compactNow(): Promise<void> {
    this.compaction ??= this.compact().finally(() => { this.compaction = null; });
    return this.compaction;
  }

  private async compact(): Promise<void> {
    const { seq, encoded } = this.committed;
    const taken = this.recordsSinceSnapshot;
    try {
      const meta: Json = { dedupe: this.dedupe.entries() };
      const ok = await this.deps.data.compact(this.ref, this.deps.hostId, this.deps.epoch, { seq, state: encoded, meta }, this.deps.config.keepHistoryRecords);
      if (ok) this.recordsSinceSnapshot -= taken;
      this.deps.log.debug({ space: this.ref.space, key: this.ref.key, seq, ok }, 'compact.done');
    } catch (err) {
      this.deps.log.warn({ space: this.ref.space, key: this.ref.key, err: String(err) }, 'compact.failed');
    }
  }

  private armIdleTimer(): void {
    if (this.gone || this.viewers.size > 0 || this.queue.length > 0 || this.pumping || this.idleTimer) return;
    this.idleTimer = this.deps.clock.setTimeout(() => { this.idleTimer = null; void this.unloadIfIdle(); }, this.deps.config.idleUnloadMs);
  }

  private disarmIdleTimer(): void {
    if (this.idleTimer) { this.deps.clock.clearTimeout(this.idleTimer); this.idleTimer = null; }
  }

  private async unloadIfIdle(): Promise<void> {
    if (this.gone || this.viewers.size > 0 || this.queue.length > 0 || this.pumping) return;
    await this.unload('idle');
  }

  /**
   * Leaves memory cleanly: waits for the batch in flight, snapshots, releases the binding, and
   * tells remaining streams to re-attach (with `retry`, so a proxy moves them). Used for idle
   * unloads, drains and shutdown.
   */
  async unload(reason: 'idle' | 'drain' | 'shutdown'): Promise<void> {
    if (this.gone) return;
    this.gone = true;
    this.disarmIdleTimer();
    await this.pumping;
    this.failQueued(E.DOC_UNLOADED);
    // A compaction in flight may predate the last batch: let it finish, then snapshot what is left.
    await this.compaction;
    if (this.recordsSinceSnapshot > 0) await this.compactNow();
    try {
      await this.deps.data.release(this.ref, this.deps.hostId, this.deps.epoch);
    } catch (err) {
      this.deps.log.warn({ space: this.ref.space, key: this.ref.key, err: String(err) }, 'release.failed');
    }
    const error = reason === 'idle' ? E.DOC_UNLOADED : E.HOST_SHUTTING_DOWN;
    for (const v of [...this.viewers.values()]) this.closeViewer(v, { code: error.code, message: `${this.ref.space}/${this.ref.key} moved (${reason})`, retry: true });
    this.deps.log.info({ space: this.ref.space, key: this.ref.key, seq: this.committed.seq, reason }, 'document.unloaded');
    this.deps.metrics.documentsShed.add(1, { reason });
    this.deps.onGone(this);
  }

  /** Called when the directory shows another owner: sheds at once, streams re-attach to the new owner. */
  loseOwnership(): void {
    this.shed(E.APPEND_FENCED);
  }

  /** Drops the document at once after losing ownership; the streams re-attach and the new owner loads the log. */
  private shed(cause: ErrorEntry): void {
    if (this.gone) return;
    this.gone = true;
    this.disarmIdleTimer();
    this.failQueued(cause);
    for (const v of [...this.viewers.values()]) this.closeViewer(v, { code: cause.code, message: `${this.ref.space}/${this.ref.key}: ${cause.description}`, retry: true });
    this.deps.log.warn({ space: this.ref.space, key: this.ref.key, epoch: this.deps.epoch, code: cause.code }, 'document.shed');
    this.deps.metrics.documentsShed.add(1, { reason: cause === E.APPEND_FENCED ? 'fenced' : 'storage_unavailable' });
    this.deps.onGone(this);
  }

  private failQueued(entry: ErrorEntry): void {
    for (const op of this.queue.splice(0)) op.done.reject(new AdamaError(entry, `${this.ref.space}/${this.ref.key}: ${entry.description}`));
  }

  private closeViewer(v: Viewer, error: ErrorBody): void {
    this.viewers.delete(v.id);
    v.sink.onClosed(error);
  }

  private context(seq: number): CallContext {
    return { space: this.ref.space, key: this.ref.key, nowMs: this.deps.clock.nowMs(), seq };
  }
}

function encodeView(view: Json): Json {
  try {
    return encode(view);
  } catch (err) {
    throw new AdamaError(E.SPACE_INVALID_RESULT, `view: ${(err as Error).message}`);
  }
}

function dedupeKeyOf(request: Json): string | undefined {
  if (request && typeof request === 'object' && !Array.isArray(request) && typeof request.dedupe === 'string') return request.dedupe;
  return undefined;
}
