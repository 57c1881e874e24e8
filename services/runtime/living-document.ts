/**
 * @module living-document
 * One loaded document on its owning host: a bounded work queue, one batch executing and at most
 * one batch being committed. The state is resident in one isolate (`ResidentDocument`): a request
 * crosses as a small string and comes back as its redo/undo patches, so its cost follows what it
 * changed, not the document's size. A batch's records go out in ONE fenced append (group commit
 * per document); while that append is in flight the next batch already executes against the
 * uncommitted state, but nothing of a batch is acknowledged or shown to any viewer before its
 * append committed. Then one isolate call commits the resident state and computes the views,
 * delivered as one shared Delta object per group of viewers that see the same thing, and the
 * acks follow in the same synchronous run (read-your-writes). If the append is refused (another host took the document) or its outcome is unknown
 * (database error), the document is shed: nothing of the batch is acknowledged, every stream is
 * told to re-attach, and the next owner loads the truth from the log.
 *
 * The host keeps what is durable: the committed encoded state (folded lazily from a base and the
 * committed records since) and the uncommitted records. When the isolate is lost (memory limit)
 * the document is reopened from them, the uncommitted records are replayed as patches (never by
 * running handlers again), and every viewer gets its full view.
 */
import { applyAll } from '../protocol/delta';
import type { Delta } from '../protocol/messages';
import { wireDelta } from '../protocol/delta-wire';
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
import { DedupeWindow, recordDedupeKey, scopedDedupeKey } from './dedupe-window';
import type { CallContext, PublishRequest, ResidentDocument, SpaceSandbox, StepRequest, ViewGroup } from './space-sandbox';
import { DocumentHistory } from './document-history';

export interface LivingDocumentConfig {
  docQueueDepth: number;
  maxBatch: number;
  maxStateBytes: number;
  maxViewBytes: number;
  maxViewersPerDocument: number;
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

/** The committed state as stored: the log's head and the encoded state it produces. */
export interface Committed { seq: number; encoded: Json }

/** Committed records folded into the host's encoded copy at once, at most (bounds memory, amortises the fold). */
const FOLD_EVERY_RECORDS = 64;

/** Per-stream state in one object (docs/architecture.md §11.3). */
interface Viewer { id: number; who: Who; viewerState: Json; sink: StreamSink }

type Op =
  | { kind: 'send'; who: Who; channel: string; message: Json; dedupe?: string; from?: number; done: Settle<{ seq: number }> }
  | { kind: 'connect'; viewer: Viewer; since?: number; done: Settle<void> }
  | { kind: 'disconnect'; viewerId: number; done: Settle<void> }
  | { kind: 'update'; viewerId: number; viewerState: Json; done: Settle<void> }
  | DeleteOp;

/** Runs alone, after every request before it committed (see runQueue). */
interface DeleteOp { kind: 'delete'; who: Who; done: Settle<{ archiveRef: string | null }> }

interface Settle<T> { resolve(v: T): void; reject(e: unknown): void }

/** What one request did to the working state during a batch. */
type Outcome =
  | { op: Op; result: 'failed'; error: unknown }
  | { op: Op; result: 'ok'; seq: number };

/**
 * A batch that executed and waits for its turn to commit; `speculated`: the views of the state it
 * leaves, computed by its last step (see StepRequest.speculate), delivered when it commits.
 */
interface Executed { outcomes: Outcome[]; records: ChangeRecord[]; generation: number; speculated?: ViewGroup[] }

export class LivingDocument {
  readonly ref: DocRef;
  /** Committed: a base state and the committed records after it, folded on demand. */
  private base: Committed;
  private tail: ChangeRecord[] = [];
  private committedSeq: number;
  /** Records executed but not yet committed (the batch in its append, then the executing one). */
  private uncommitted: ChangeRecord[] = [];
  /** Dedupe keys of the uncommitted records. */
  private readonly pendingDedupe = new Map<string, number>();
  /** Bumped when uncommitted work is thrown away, so a batch executed on top of it is refused. */
  private generation = 0;
  private resident: ResidentDocument | null = null;
  private reopening: Promise<ResidentDocument> | null = null;
  /** The isolate was rebuilt: every viewer must be joined again (and gets its full view). */
  private rejoinAll = false;
  private readonly viewers = new Map<number, Viewer>();
  /** Connects queued or executing, counted against maxViewersPerDocument. */
  private connecting = 0;
  private pendingLeaves: number[] = [];
  private pendingUpdates = new Map<number, Json>();
  private readonly queue: Op[] = [];
  /** The batch loop while it runs; unload awaits it instead of polling. */
  private pumping: Promise<void> | null = null;
  private gone = false;
  /** Set by a clean unload: the batch executing when it began still commits (see runQueue). */
  private finishInFlight = false;
  private idleTimer: TimerHandle | null = null;
  /** The compaction in flight, if any: at most one per document, awaited by unload. */
  private compaction: Promise<void> | null = null;
  private recordsSinceSnapshot: number;
  private readonly dedupe: DedupeWindow;
  private readonly history: DocumentHistory;
  private nextViewerId = 1;

  constructor(private readonly deps: LivingDocumentDeps, committed: Committed, init: { recordsSinceSnapshot: number; recent: ChangeRecord[]; snapshotMeta: Json; resident?: ResidentDocument }) {
    this.ref = deps.ref;
    this.base = committed;
    this.committedSeq = committed.seq;
    this.resident = init.resident ?? null;
    this.recordsSinceSnapshot = init.recordsSinceSnapshot;
    this.dedupe = new DedupeWindow(deps.config.dedupeKeysPerDocument);
    this.dedupe.rememberMeta(init.snapshotMeta);
    this.history = new DocumentHistory(deps.config.memoryHistoryRecords);
    for (const r of init.recent) {
      this.history.push(r);
      const d = recordDedupeKey(r);
      if (d) this.dedupe.remember(d, r.seq);
    }
    this.armIdleTimer();
  }

  get seq(): number { return this.committedSeq; }
  get epoch(): number { return this.deps.epoch; }
  get streamCount(): number { return this.viewers.size; }
  get isGone(): boolean { return this.gone; }

  /** The committed state, encoded as stored (folds the committed records into the base first). */
  committedState(): Committed {
    if (this.tail.length > 0) {
      const encoded = applyAll(this.base.encoded, this.tail.map((r) => r.redo)) as Json;
      this.base = { seq: this.committedSeq, encoded };
      this.tail = [];
    }
    return this.base;
  }

  /** The resident state's encoded form, as the isolate holds it (tests and diagnostics). */
  async residentState(): Promise<Json> { return (await this.residentDoc()).state(this.committedSeq); }

  // ---- requests -------------------------------------------------------------------------

  attach(who: Who, viewerState: Json, since: number | undefined, sink: StreamSink): Promise<number> {
    if (this.viewers.size + this.connecting >= this.deps.config.maxViewersPerDocument) {
      return Promise.reject(new AdamaError(E.TOO_MANY_VIEWERS, `${this.ref.space}/${this.ref.key} has ${this.viewers.size} viewers (limit ${this.deps.config.maxViewersPerDocument})`));
    }
    const viewer: Viewer = { id: this.nextViewerId++, who, viewerState, sink };
    this.connecting++;
    const attached = this.enqueue<void>((done) => ({ kind: 'connect', viewer, since, done }));
    return attached.then(
      () => { this.connecting--; return viewer.id; },
      (err: unknown) => { this.connecting--; throw err; },
    );
  }

  /** `from`: the sender's own stream, which gets the change's delta before the ack (read-your-writes). */
  send(who: Who, channel: string, message: Json, dedupe: string | undefined, from?: number): Promise<{ seq: number }> {
    return this.enqueue((done) => ({ kind: 'send', who, channel, message, dedupe, from, done }));
  }

  /**
   * Deletes the document if the space's canDelete(state, who) allows it, once every request
   * queued before this one committed: a fenced delete (a stale owner is refused), then every
   * stream ends with DOCUMENT_DELETED and the document leaves memory. Resolves with the archived
   * object the document had, for the host to remove.
   */
  delete(who: Who): Promise<{ archiveRef: string | null }> {
    return this.enqueue((done) => ({ kind: 'delete', who, done }));
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

  /**
   * Executes batch N+1 while batch N's append is in flight, then commits N+1 only after N
   * settled: appends of one document stay in order and each is fenced on the head N left.
   */
  private async runQueue(): Promise<void> {
    let committing: Promise<void> | null = null;
    try {
      while (!this.gone && (this.queue.length > 0 || committing)) {
        if (this.queue.length === 0) { await committing; committing = null; continue; }
        if (this.queue[0]!.kind === 'delete') {
          if (committing) { await committing; committing = null; }
          await this.runDelete(this.queue.shift() as DeleteOp);
          continue;
        }
        // A batch ends before a delete: the delete waits for it to commit.
        let n = 0;
        while (n < this.queue.length && n < this.deps.config.maxBatch && this.queue[n]!.kind !== 'delete') n++;
        const batch = this.queue.splice(0, n);
        // Views are speculated only on top of committed state: with a batch in its append, the
        // views viewers hold would run ahead of what that batch's publish expects.
        const executed = await this.execute(batch, committing === null);
        if (committing) { await committing; committing = null; }
        if (this.gone) {
          // A clean unload still owns the document until it releases: the batch that already ran
          // commits (a drain does not bounce work in flight). After a shed it cannot, so it fails.
          if (this.finishInFlight && executed.generation === this.generation) await this.commitBatch(executed);
          else for (const o of executed.outcomes) o.op.done.reject(o.result === 'failed' ? o.error : new AdamaError(E.DOC_UNLOADED, `${this.ref.space}/${this.ref.key} left this host`));
          break;
        }
        if (executed.generation !== this.generation) { await this.refuseStale(executed); continue; }
        committing = this.commitBatch(executed);
      }
      // Only when the document left (the loop exits with nothing committing otherwise): no await
      // may sit between the last queue check and `finally`, or a request queued in between waits forever.
      if (committing) await committing;
    } catch (err) {
      // The batch code settles every request itself; anything escaping it is a bug, logged, never a crash.
      this.deps.log.error({ space: this.ref.space, key: this.ref.key, err: String(err) }, 'document.batch_failed');
    } finally {
      // Synchronous with the loop's last queue check, so a request queued from now on starts a
      // new loop at once. The loop awaited at least once, so this runs after pump() assigned.
      this.pumping = null;
      this.armIdleTimer();
      this.pump();
    }
  }

  /**
   * Applies a batch to the resident working state; every request gets an outcome. With
   * `maySpeculate`, the batch's last request, a send, also asks for the views of the state the
   * batch leaves, unless the batch or the document has viewer changes waiting for a publish.
   */
  private async execute(batch: Op[], maySpeculate: boolean): Promise<Executed> {
    this.deps.metrics.groupCommitBatchSize.record(batch.length);
    const generation = this.generation;
    const records: ChangeRecord[] = [];
    const outcomes: Outcome[] = [];
    let speculated: ViewGroup[] | undefined;
    const joins = batch.some((op) => op.kind === 'connect');
    for (let i = 0; i < batch.length; i++) {
      const op = batch[i]!;
      try {
        const speculate = maySpeculate && !joins && i === batch.length - 1 && !this.rejoinAll && this.pendingLeaves.length === 0 && this.pendingUpdates.size === 0;
        const step = await this.applyOp(op, speculate);
        speculated = step.groups;
        if (step.record) {
          records.push(step.record);
          this.uncommitted.push(step.record);
          const d = recordDedupeKey(step.record);
          if (d) this.pendingDedupe.set(d, step.record.seq);
        }
        outcomes.push({ op, result: 'ok', seq: step.seq });
      } catch (error) {
        outcomes.push({ op, result: 'failed', error });
        speculated = undefined;
      }
    }
    return { outcomes, records, generation, ...(speculated ? { speculated } : {}) };
  }

  /** Appends a batch, then acknowledges it, commits it in the isolate and publishes its views. */
  private async commitBatch(executed: Executed): Promise<void> {
    const { outcomes, records } = executed;
    if (records.length > 0) {
      const lost = await this.appendOrLose(records);
      if (lost === E.RECORD_UNSTORABLE) {
        // Nothing committed and the document is as it was: refuse this batch, keep the document.
        this.refuseUnstorable(outcomes, records);
        await this.discardUncommitted();
        return;
      }
      if (lost) {
        for (const o of outcomes) o.op.done.reject(o.result === 'failed' ? o.error : new AdamaError(lost, `${this.ref.space}/${this.ref.key}: ${lost.description}`));
        this.shed(lost);
        return;
      }
      this.uncommitted.splice(0, records.length);
      for (const r of records) {
        this.tail.push(r);
        this.history.push(r);
        const d = recordDedupeKey(r);
        if (d) { this.dedupe.remember(d, r.seq); this.pendingDedupe.delete(d); }
      }
      this.committedSeq = records[records.length - 1]!.seq;
      this.recordsSinceSnapshot += records.length;
      if (this.tail.length >= FOLD_EVERY_RECORDS) this.committedState();
    }
    await this.settle(outcomes, executed.speculated);
    this.maybeCompact();
  }

  /** A batch executed on top of work that was thrown away: nothing of it may commit. */
  private async refuseStale(executed: Executed): Promise<void> {
    for (const o of executed.outcomes) {
      o.op.done.reject(o.result === 'failed' ? o.error : new AdamaError(E.BATCH_PARTNER_REFUSED, `${this.ref.space}/${this.ref.key}: ${E.BATCH_PARTNER_REFUSED.description}`));
    }
    await this.discardUncommitted();
  }

  private async discardUncommitted(): Promise<void> {
    this.generation++;
    this.uncommitted = [];
    this.pendingDedupe.clear();
    const resident = this.resident;
    if (resident && !resident.lost) await resident.rollback().catch(() => { this.resident?.close(); this.resident = null; });
  }

  /** The resident document, reopened from the host's committed copy if its isolate was lost. */
  private residentDoc(): Promise<ResidentDocument> {
    if (this.resident && !this.resident.lost) return Promise.resolve(this.resident);
    this.reopening ??= this.reopen().finally(() => { this.reopening = null; });
    return this.reopening;
  }

  private async reopen(): Promise<ResidentDocument> {
    const hadOne = this.resident !== null;
    this.resident?.close();
    this.resident = null;
    const { seq, encoded } = this.committedState();
    const doc = await this.deps.sandbox.open(`${this.ref.space}/${this.ref.key}`, encoded, seq);
    await doc.replay(this.uncommitted);
    if (hadOne) {
      this.rejoinAll = true;
      this.deps.log.warn({ space: this.ref.space, key: this.ref.key, seq, replayed: this.uncommitted.length, code: E.SPACE_DOC_LOST.code }, 'document.rebuilt');
    }
    this.resident = doc;
    return doc;
  }

  /** One step in the isolate; a document whose isolate was replaced is rebuilt and the step runs once more. */
  private async step(request: StepRequest) {
    const doc = await this.residentDoc();
    try {
      return await doc.step(request);
    } catch (err) {
      if (!isAdamaError(err, E.SPACE_DOC_LOST)) throw err;
      return (await this.residentDoc()).step(request);
    }
  }

  /** Applies one request to the working state; returns the record (if the state changed or a send was accepted). */
  private async applyOp(op: Op, speculate: boolean): Promise<{ record?: ChangeRecord; seq: number; groups?: ViewGroup[] }> {
    const workingSeq = this.committedSeq + this.uncommitted.length;
    const ctx = this.context(workingSeq + 1);
    const maxBytes = this.deps.config.maxStateBytes;
    const committed = this.committedSeq;
    switch (op.kind) {
      case 'send': {
        const known = op.dedupe === undefined ? undefined : (this.pendingDedupe.get(scopedDedupeKey(op.who, op.dedupe)) ?? this.dedupe.get(op.who, op.dedupe));
        if (known !== undefined) return { seq: known };
        const step = await this.step({
          kind: 'send', channel: op.channel, message: op.message, who: op.who, ctx, maxBytes, committed,
          ...(speculate ? { speculate: { maxViewBytes: this.deps.config.maxViewBytes } } : {}),
        });
        const request: Json = { kind: 'send', channel: op.channel, message: op.message, ...(op.dedupe ? { dedupe: op.dedupe } : {}) };
        // Every accepted send gets a record, even one that changed nothing: the seq in its ack
        // is then a real log position, and its dedupe key is durable.
        return { ...this.record(ctx.seq, op.who, request, step.redo, step.undo, true), ...(step.groups ? { groups: step.groups } : {}) };
      }
      case 'connect': {
        const step = await this.step({ kind: 'connect', who: op.viewer.who, ctx, maxBytes, committed });
        if (!step.allow) throw new AdamaError(E.CONNECT_DENIED, `${this.ref.space} refused ${op.viewer.who.agent}`);
        return this.record(ctx.seq, op.viewer.who, { kind: 'connect' }, step.redo, step.undo, false);
      }
      case 'disconnect': {
        const viewer = this.viewers.get(op.viewerId);
        if (!viewer) return { seq: workingSeq };
        this.viewers.delete(op.viewerId);
        this.pendingUpdates.delete(op.viewerId);
        this.pendingLeaves.push(op.viewerId);
        try {
          const step = await this.step({ kind: 'disconnect', who: viewer.who, ctx, maxBytes, committed });
          return this.record(ctx.seq, viewer.who, { kind: 'disconnect' }, step.redo, step.undo, false);
        } catch (err) {
          // The viewer is gone whatever the space's disconnect() did: its failure changes nothing
          // and is the space's bug, logged with its code, not the caller's (a closing stream).
          this.deps.log.warn({ space: this.ref.space, key: this.ref.key, agent: viewer.who.agent, code: isAdamaError(err) ? err.code : E.INTERNAL.code, err: String(err) }, 'space.disconnect_failed');
          return { seq: workingSeq };
        }
      }
      case 'update': {
        const viewer = this.viewers.get(op.viewerId);
        if (viewer) { viewer.viewerState = op.viewerState; this.pendingUpdates.set(op.viewerId, op.viewerState); }
        return { seq: workingSeq };
      }
      case 'delete':
        throw new AdamaError(E.INTERNAL, 'a delete runs alone (runQueue), never in a batch');
    }
  }

  /** The change record of one step; none when nothing changed and `always` is false. */
  private record(seq: number, who: Who, request: Json, redo: Json | null, undo: Json | null, always: boolean): { record?: ChangeRecord; seq: number } {
    if (redo === null && !always) return { seq: seq - 1 };
    return { record: { seq, who, request, redo: redo ?? {}, undo: undo ?? {} }, seq };
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
        appender.append(ref, hostId, epoch, this.committedSeq, records));
      metrics.appendDurationMs.record(clock.nowMs() - startedMs);
      metrics.appends.add(1, { result: res.ok ? 'ok' : 'fenced' });
      if (res.ok) { metrics.appendRecords.add(records.length); return null; }
      if (res.refused) {
        log.warn({ space: ref.space, key: ref.key, code: res.refused.code, err: res.refused.message }, 'append.refused');
        return E.RECORD_UNSTORABLE;
      }
      log.warn({ space: ref.space, key: ref.key, epoch, seq: this.committedSeq }, 'append.fenced');
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
   * After a commit (or a batch with no records): one isolate call commits the resident state and
   * computes the views of everyone whose view may have changed plus the joining viewers; then
   * each group of viewers gets one shared, frozen Delta, and the joins are answered.
   */
  private async settle(outcomes: Outcome[], speculated?: ViewGroup[]): Promise<void> {
    const joins: { viewer: Viewer; since?: Json; done: Settle<void> }[] = [];
    for (const o of outcomes) {
      if (o.result === 'failed') { o.op.done.reject(o.error); continue; }
      if (o.op.kind === 'connect') {
        const since = o.op.since === undefined ? undefined : await this.encodedStateAt(o.op.since);
        joins.push({ viewer: o.op.viewer, since, done: o.op.done });
        this.viewers.set(o.op.viewer.id, o.op.viewer);
      }
    }
    // The senders' own streams get the change first and then their acks, so a sender sees its
    // delta before its ack (read-your-writes); everyone else gets it on the next turn of the event
    // loop, after the acks went out, so an ack does not wait for the document's audience.
    const senders = new Set<number>();
    for (const o of outcomes) if (o.result === 'ok' && o.op.kind === 'send' && o.op.from !== undefined) senders.add(o.op.from);
    const { failed: failedJoins, deliverRest } = await this.publish(joins, senders, speculated);
    for (const o of outcomes) if (o.result === 'ok' && o.op.kind === 'send') o.op.done.resolve({ seq: o.seq });
    if (deliverRest) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      deliverRest();
    }
    for (const j of joins) {
      const failure = failedJoins.get(j.viewer.id);
      if (failure) j.done.reject(failure);
      else j.done.resolve();
    }
    for (const o of outcomes) if (o.result === 'ok' && (o.op.kind === 'update' || o.op.kind === 'disconnect')) o.op.done.resolve();
  }

  /**
   * Publishes the committed state: delivers at once to the streams in `first` (and everyone, when
   * `first` is empty) and returns the delivery to the rest for the caller to run, plus the errors
   * of joining viewers that could not be served.
   */
  private async publish(joins: { viewer: Viewer; since?: Json }[], first: ReadonlySet<number>, speculated?: ViewGroup[]): Promise<{ failed: Map<number, AdamaError>; deliverRest: (() => void) | null }> {
    const failed = new Map<number, AdamaError>();
    const joining = new Set(joins.map((j) => j.viewer.id));
    let groups: ViewGroup[] | undefined;
    // Views speculated by the batch's last step (no joins then) serve as they are, unless the
    // isolate was rebuilt since: then everyone joins again through a publish.
    if (speculated && joins.length === 0 && !this.rejoinAll) groups = speculated;
    for (let attempt = 0; groups === undefined; attempt++) {
      const request = this.publishRequest(joins);
      try {
        const doc = await this.residentDoc();
        groups = await doc.publish(request);
        break;
      } catch (err) {
        if (attempt === 0 && this.resident?.lost !== false) continue; // isolate lost: rebuilt, everyone rejoins
        const error = isAdamaError(err) ? err : new AdamaError(E.INTERNAL, String(err));
        this.deps.log.warn({ space: this.ref.space, key: this.ref.key, code: error.code, err: String(err) }, 'view.failed');
        for (const id of joining) failed.set(id, error);
        for (const v of [...this.viewers.values()]) if (!joining.has(v.id)) this.closeViewer(v, toErrorBody(error));
        for (const id of joining) this.viewers.delete(id);
        // What the isolate knows of the viewers is unknown now: rebuild it at the next call.
        this.resident?.close();
        this.resident = null;
        return { failed, deliverRest: null };
      }
    }
    const seq = this.committedSeq;
    const later: { delta: Delta; ids: number[] }[] = [];
    for (const g of groups) {
      if (g.fail) {
        const error = viewFailure(g.fail);
        this.deps.log.warn({ space: this.ref.space, key: this.ref.key, code: error.code, viewers: g.ids.length, bytes: g.fail.bytes, err: g.fail.message }, 'view.failed');
        for (const id of g.ids) {
          const v = this.viewers.get(id);
          if (!v) continue;
          if (joining.has(id)) { failed.set(id, error); this.viewers.delete(id); }
          else this.closeViewer(v, toErrorBody(error));
        }
        continue;
      }
      if (g.data === undefined) continue;
      // One object for every viewer of the group: the wire layer serializes it once (by identity),
      // and it carries the isolate's text as is (parsed only if an in-process sink reads data).
      const delta: Delta = Object.freeze(wireDelta(g.data, seq, g.reset === true));
      const rest: number[] = [];
      for (const id of g.ids) {
        if (first.size === 0 || first.has(id)) this.viewers.get(id)?.sink.onDelta(delta);
        else rest.push(id);
      }
      if (rest.length > 0) later.push({ delta, ids: rest });
    }
    // Looked up again when run: a viewer that left in between gets nothing (its stream is closed).
    const deliverRest = later.length === 0 ? null : () => { for (const l of later) for (const id of l.ids) this.viewers.get(id)?.sink.onDelta(l.delta); };
    return { failed, deliverRest };
  }

  private publishRequest(joins: { viewer: Viewer; since?: Json }[]): PublishRequest {
    const spec = (v: Viewer) => ({ id: v.id, who: v.who, viewerState: v.viewerState });
    const leave = this.pendingLeaves;
    const update = [...this.pendingUpdates];
    this.pendingLeaves = [];
    this.pendingUpdates = new Map();
    const base = { seq: this.committedSeq, maxViewBytes: this.deps.config.maxViewBytes };
    if (this.rejoinAll) {
      // A rebuilt isolate knows no viewers: everyone joins again and gets a full view.
      this.rejoinAll = false;
      return { ...base, join: [...this.viewers.values()].map((v) => ({ spec: spec(v) })), update: [], leave: [] };
    }
    return { ...base, join: joins.map((j) => (j.since === undefined ? { spec: spec(j.viewer) } : { spec: spec(j.viewer), since: j.since })), update, leave };
  }

  /** Rewinds the committed state to `since` with undo records, or undefined if the gap is not available. */
  private async encodedStateAt(since: number): Promise<Json | undefined> {
    const { seq, encoded } = this.committedState();
    if (since > seq || since < 1) return undefined;
    if (since === seq) return encoded;
    let records = this.history.range(since, seq);
    if (!records) {
      records = await this.deps.data.readLog(this.ref, since, seq);
      if (records.length !== seq - since || records[0]?.seq !== since + 1) return undefined;
    }
    let state: Json;
    try {
      state = applyAll(encoded, records.map((r) => r.undo).reverse()) as Json;
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
    const { seq, encoded } = this.committedState();
    const taken = this.recordsSinceSnapshot;
    try {
      const meta: Json = this.dedupe.toMeta();
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
    this.finishInFlight = true;
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
    this.deps.log.info({ space: this.ref.space, key: this.ref.key, seq: this.committedSeq, reason }, 'document.unloaded');
    this.releaseResident();
    this.deps.metrics.documentsShed.add(1, { reason });
    this.deps.onGone(this);
  }

  private async runDelete(op: DeleteOp): Promise<void> {
    if (this.gone) { op.done.reject(new AdamaError(E.DOC_UNLOADED, `${this.ref.space}/${this.ref.key} left this host`)); return; }
    try {
      const allowed = await (await this.residentDoc()).canDelete(op.who, this.committedSeq);
      if (!allowed) throw new AdamaError(E.DELETE_DENIED, `${this.ref.space}/${this.ref.key}: the space does not let ${op.who.authority}:${op.who.agent} delete it`);
      const deleted = await this.deps.data.deleteDocument(this.ref, this.deps.hostId, this.deps.epoch);
      if (!deleted) {
        op.done.reject(new AdamaError(E.APPEND_FENCED, `${this.ref.space}/${this.ref.key}: another host owns it now`));
        this.shed(E.APPEND_FENCED);
        return;
      }
      this.endDeleted(op.who);
      op.done.resolve(deleted);
    } catch (err) {
      op.done.reject(err);
    }
  }

  /** The document was deleted: every stream ends for good (not retryable) and it leaves memory. */
  private endDeleted(who: Who): void {
    this.gone = true;
    this.disarmIdleTimer();
    this.failQueued(E.DOCUMENT_DELETED);
    for (const v of [...this.viewers.values()]) this.closeViewer(v, { code: E.DOCUMENT_DELETED.code, message: `${this.ref.space}/${this.ref.key} was deleted`, retry: false });
    this.deps.log.info({ space: this.ref.space, key: this.ref.key, epoch: this.deps.epoch, seq: this.committedSeq, agent: who.agent, authority: who.authority }, 'document.deleted');
    this.deps.metrics.documentsShed.add(1, { reason: 'deleted' });
    this.releaseResident();
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
    this.releaseResident();
    this.deps.onGone(this);
  }

  private releaseResident(): void {
    this.resident?.close();
    this.resident = null;
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

/** The coded error of a viewer whose view could not be served. */
function viewFailure(fail: { kind: string; message: string }): AdamaError {
  return new AdamaError(fail.kind === 'viewtoolarge' ? E.VIEW_TOO_LARGE : E.VIEW_FAILED, fail.message);
}
