/**
 * @module document-host
 * The adama-host's core: the documents this host owns, loaded on demand through findbind and
 * replayed from the log; creation of new documents; the streams attached to them. It implements
 * `HostClient`, so a web-proxy in the same process calls it directly.
 */
import { PatchFold, encode } from '../protocol/delta';
import type { Clock } from '../shared/clock';
import { AdamaError, E, isAdamaError } from '../shared/errors';
import type { Json } from '../shared/json';
import type { Logger } from '../shared/log';
import { assertName } from '../shared/names';
import type { HostConfig } from '../shared/config';
import type { ChangeRecord, DataService, DocumentListing } from '../storage/data-service';
import type { DocRef } from '../shared/doc-ref';
import type { Who } from '../shared/identity';
import { LivingDocument } from '../runtime/living-document';
import type { ResidentDocument, SandboxFactory, SpaceSandbox } from '../runtime/space-sandbox';
import type { DocumentStream, HostClient, OpenStreamOptions, StreamSink } from '../protocol/host-api';
import { SpaceRegistry } from './space-registry';
import { GroupCommitter } from './group-commit';
import { noopTelemetry, restoreResult, withSpan, type AdamaMetrics } from '../shared/telemetry';
import type { Tracer } from '@opentelemetry/api';
import type { ObjectStore } from '../archiver/object-store';
import { errorDetail } from '../archiver/failure-detail';
import { fetchArchive } from '../archiver/restore';

export interface DocumentHostDeps {
  hostId: string;
  data: DataService;
  sandboxFactory: SandboxFactory;
  clock: Clock;
  log: Logger;
  config: Readonly<HostConfig>;
  metrics?: AdamaMetrics;
  tracer?: Tracer;
  /** Where archived documents are restored from; without it an archived document cannot load. */
  objectStore?: ObjectStore;
  /** Hosts membership (gossip) believes dead right now; findbind may take their documents. */
  deadHosts?: () => readonly string[];
}

const refId = (ref: DocRef): string => `${ref.space}/${ref.key}`;

export class DocumentHost implements HostClient {
  private readonly docs = new Map<string, LivingDocument>();
  private readonly loading = new Map<string, Promise<LivingDocument>>();
  private readonly spaces: SpaceRegistry;
  private readonly committer: GroupCommitter;
  private readonly metrics: AdamaMetrics;
  private readonly tracer: Tracer;
  private accepting = true;

  constructor(private readonly deps: DocumentHostDeps) {
    this.metrics = deps.metrics ?? noopTelemetry().metrics;
    this.tracer = deps.tracer ?? noopTelemetry().tracer;
    // Appends of every document on this host share round trips (group commit across documents).
    this.committer = new GroupCommitter(deps.data, { clock: deps.clock });
    this.spaces = new SpaceRegistry(deps.data, deps.sandboxFactory, {
      memoryLimitMb: deps.config.sandboxMemoryMb,
      callTimeoutMs: deps.config.sandboxCallTimeoutMs,
      syncSliceMs: deps.config.sandboxSyncSliceMs,
      onSlowCall: (space, op) => { this.deps.log.warn({ space, op, sliceMs: deps.config.sandboxSyncSliceMs }, 'space.slow_call'); },
    });
  }

  get hostId(): string { return this.deps.hostId; }
  get loadedDocuments(): number { return this.docs.size; }
  /** Space versions (isolate pools) this host holds right now. */
  get spaceVersionsHeld(): number { return this.spaces.size; }

  async createDocument(ref: DocRef, who: Who, arg: Json): Promise<{ seq: number }> {
    this.assertAccepting();
    assertName('space', ref.space);
    assertName('key', ref.key);
    this.assertRoom();
    const { sandbox, release } = await this.spaces.acquire(ref.space);
    let installed = false;
    try {
      installed = await this.createWith(ref, who, arg, sandbox, release);
    } finally {
      if (!installed) release();
    }
    return { seq: 1 };
  }

  /** Creates the document and keeps it loaded; true when it was installed (and holds the space version). */
  private async createWith(ref: DocRef, who: Who, arg: Json, sandbox: SpaceSandbox, release: () => void): Promise<boolean> {
    const state = await sandbox.init(arg, { space: ref.space, key: ref.key, nowMs: this.deps.clock.nowMs(), seq: 1 });
    let encoded: Json;
    try { encoded = encode(state); } catch (err) { throw new AdamaError(E.SPACE_INVALID_RESULT, `init: ${(err as Error).message}`); }
    const first: ChangeRecord = { seq: 1, who, request: { kind: 'create', arg }, redo: encoded, undo: null };
    const created = await this.deps.data.create(ref, this.deps.hostId, first);
    if (!created) throw new AdamaError(E.DOCUMENT_ALREADY_EXISTS, `${refId(ref)} already exists`);
    // Epoch 1, or past the tombstone of a deleted document of the same key.
    const { epoch } = created;
    this.deps.log.info({ space: ref.space, key: ref.key, agent: who.agent, epoch }, 'document.created');
    if (!this.accepting) {
      // A drain started while we created it: the document exists, but must not stay bound here.
      await this.deps.data.release(ref, this.deps.hostId, epoch);
      return false;
    }
    // The creator is almost always about to connect, so keep the document loaded: it is bound to us.
    if (this.docs.has(refId(ref))) return false;
    const resident = await this.openResident(ref, sandbox, encoded, 1);
    if (this.docs.has(refId(ref))) { resident.close(); return false; }
    this.install(ref, epoch, { seq: 1, encoded }, [first], 1, [], sandbox, resident, release);
    return true;
  }

  async openStream(ref: DocRef, who: Who, options: OpenStreamOptions, sink: StreamSink): Promise<DocumentStream> {
    this.assertAccepting();
    assertName('space', ref.space);
    assertName('key', ref.key);
    return this.onLoaded(ref, async (doc) => {
      const viewerId = await doc.attach(who, options.viewerState, options.since, sink);
      return {
        send: (channel, message, dedupe) => doc.send(who, channel, message, dedupe, viewerId),
        update: (viewerState) => doc.update(viewerId, viewerState),
        close: () => doc.detach(viewerId),
      };
    }, options.suspectHosts ?? [], who);
  }

  /**
   * document/delete: loads the document here if it must (it is deleted by its owner, fenced on
   * the owner's epoch) and asks the space's canDelete; see LivingDocument.delete. The archived
   * object it had is removed too when this host can reach the object store (else the archiver
   * collects it as an orphan).
   */
  async deleteDocument(ref: DocRef, who: Who): Promise<void> {
    this.assertAccepting();
    assertName('space', ref.space);
    assertName('key', ref.key);
    const { archiveRef } = await this.onLoaded(ref, (doc) => doc.delete(who));
    if (archiveRef !== null && this.deps.objectStore) {
      await this.deps.objectStore.delete(archiveRef).catch((err: unknown) => this.deps.log.warn({ space: ref.space, key: ref.key, ref: archiveRef, err: String(err) }, 'document.delete_archive_failed'));
    }
  }

  /**
   * Runs `fn` on the document, loaded here if need be; one that left memory in between (idle
   * unload, shed) is loaded again, twice at most. `inventor`: a missing document of an `invent`
   * space is created by this principal first (connects only).
   */
  private async onLoaded<T>(ref: DocRef, fn: (doc: LivingDocument) => Promise<T>, suspectHosts: readonly string[] = [], inventor?: Who): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      // Checked on every attempt: a retry after a drain unloaded the document must not bind it here again.
      this.assertAccepting();
      let doc: LivingDocument;
      try {
        doc = await this.acquire(ref, suspectHosts);
      } catch (err) {
        if (inventor && attempt < 2 && isAdamaError(err, E.DOCUMENT_NOT_FOUND) && await this.invent(ref, inventor)) continue;
        throw err;
      }
      try {
        return await fn(doc);
      } catch (err) {
        if (attempt < 2 && isAdamaError(err, E.DOC_UNLOADED)) continue;
        throw err;
      }
    }
  }

  /** HostClient.postMessage: a send by `who` with no stream, to a channel the space opened to HTTP. */
  async postMessage(ref: DocRef, who: Who, channel: string, message: Json, dedupe?: string): Promise<{ seq: number }> {
    this.assertAccepting();
    assertName('space', ref.space);
    assertName('key', ref.key);
    const { sandbox, release } = await this.spaces.acquire(ref.space);
    const open = sandbox.httpChannels.includes(channel);
    release();
    if (!open) throw new AdamaError(E.HTTP_CHANNEL_DENIED, `space ${ref.space}: channel ${channel} does not take messages over HTTP`);
    return this.onLoaded(ref, (doc) => doc.send(who, channel, message, dedupe));
  }

  /**
   * document/list: a page of the space's documents in key order, for a principal the space's
   * canList(who) admits. Any host answers (the directory is shared); `limit` is capped at maxListPage.
   */
  async listDocuments(space: string, who: Who, after: string, limit: number): Promise<{ documents: DocumentListing[]; next?: string }> {
    this.assertAccepting();
    assertName('space', space);
    const { sandbox, release } = await this.spaces.acquire(space);
    let allowed: boolean;
    try { allowed = await sandbox.canList(who); } finally { release(); }
    if (!allowed) throw new AdamaError(E.LIST_DENIED, `space ${space} does not let ${who.authority}:${who.agent} list its documents`);
    const page = Math.min(Math.max(1, Math.floor(limit)), this.deps.config.maxListPage);
    const documents = await this.deps.data.listDocuments(space, after, page);
    return documents.length === page ? { documents, next: documents[documents.length - 1]!.key } : { documents };
  }

  /**
   * A connect to a missing document of a space with `invent: true` creates it first: init({}) by
   * the connecting principal, bound here like any create. False when the space does not invent.
   * Two connects racing to invent one document both go on: the loser's create finds it exists.
   */
  private async invent(ref: DocRef, who: Who): Promise<boolean> {
    const { sandbox, release } = await this.spaces.acquire(ref.space);
    const invents = sandbox.invent;
    release();
    if (!invents) return false;
    try {
      await this.createDocument(ref, who, {});
      this.deps.log.info({ space: ref.space, key: ref.key, agent: who.agent }, 'document.invented');
    } catch (err) {
      if (!isAdamaError(err, E.DOCUMENT_ALREADY_EXISTS)) throw err;
    }
    return true;
  }

  /** Refuses new work and unloads every document cleanly (snapshot + release); `resume` undoes it. */
  async drain(reason: 'drain' | 'shutdown' = 'drain'): Promise<void> {
    this.accepting = false;
    await Promise.allSettled([...this.loading.values()]);
    await Promise.all([...this.docs.values()].map((d) => d.unload(reason)));
  }

  /** Takes new work again after a cancelled drain. */
  resume(): void {
    this.accepting = true;
  }

  /** Drains, then stops the group committer and the sandboxes: the host cannot resume after this. */
  async shutdown(reason: 'drain' | 'shutdown' = 'shutdown'): Promise<void> {
    await this.drain(reason);
    await this.committer.close();
    this.spaces.dispose();
  }

  /** One indexed read per attach to a document in memory: is the directory still ours at this epoch? */
  private async stillOwns(doc: LivingDocument): Promise<boolean> {
    const row = await this.deps.data.lookup(doc.ref);
    return row !== null && row.state === 'bound' && row.host === this.deps.hostId && row.epoch === doc.epoch;
  }

  /** The cap on loaded documents: a host at its limit refuses (retryably) rather than grow without bound. */
  private assertRoom(): void {
    const max = this.deps.config.maxLoadedDocuments;
    if (this.docs.size + this.loading.size >= max) throw new AdamaError(E.TOO_MANY_DOCUMENTS, `host ${this.deps.hostId} has ${this.docs.size} documents loaded (limit ${max})`);
  }

  /** Makes the state resident in the space's isolate; a state the isolate cannot decode is a damaged log. */
  private async openResident(ref: DocRef, sandbox: SpaceSandbox, encoded: Json, seq: number): Promise<ResidentDocument> {
    try {
      return await sandbox.open(refId(ref), encoded, seq);
    } catch (err) {
      if (isAdamaError(err, E.SPACE_MEMORY_LIMIT) || isAdamaError(err, E.SPACE_TIMEOUT) || isAdamaError(err, E.DOC_UNLOADED)) throw err;
      throw new AdamaError(E.LOG_CORRUPT, `${refId(ref)}: the stored state does not decode`, { cause: err });
    }
  }

  private assertAccepting(): void {
    if (!this.accepting) throw new AdamaError(E.HOST_SHUTTING_DOWN, `host ${this.deps.hostId} is shutting down`);
  }

  private async acquire(ref: DocRef, suspectHosts: readonly string[]): Promise<LivingDocument> {
    const id = refId(ref);
    const doc = this.docs.get(id);
    if (doc && !doc.isGone) {
      if (await this.stillOwns(doc)) return doc;
      // Another host took the document over while we kept a copy: never serve a stale view.
      doc.loseOwnership();
    }
    let pending = this.loading.get(id);
    if (!pending) {
      this.assertRoom();
      pending = withSpan(this.tracer, 'adama.document.load', { 'adama.space': ref.space, 'adama.key': ref.key }, () => this.load(ref, suspectHosts))
        .finally(() => this.loading.delete(id));
      this.loading.set(id, pending);
    }
    return pending;
  }

  /** findbind, then replay snapshot + log; refuses a log that does not reach the directory's head. */
  private async load(ref: DocRef, suspectHosts: readonly string[]): Promise<LivingDocument> {
    const { data, hostId } = this.deps;
    const dead = [...suspectHosts, ...(this.deps.deadHosts?.() ?? [])].filter((h) => h !== hostId);
    const bind = await data.findBind(ref, hostId, dead);
    if (bind.kind === 'not_found') throw new AdamaError(E.DOCUMENT_NOT_FOUND, `${refId(ref)} does not exist`);
    if (bind.kind === 'owned') throw new AdamaError(E.OWNED_ELSEWHERE, `${refId(ref)} is owned by ${bind.host}`, { owner: bind.host });
    // The document holds its space version while loaded, so a superseded version is disposed when its last document leaves.
    const { sandbox, release } = await this.spaces.acquire(ref.space);
    try {
      // A set archive_ref means the hot rows may be gone: the object is the truth (docs/archiver.md).
      if (bind.archiveRef !== null) return await this.restore(ref, bind.epoch, bind.headSeq, bind.archiveRef, sandbox, release);
      return await this.replay(ref, bind, sandbox, release);
    } catch (err) {
      release();
      throw err;
    }
  }

  private async replay(ref: DocRef, bind: { epoch: number; headSeq: number }, sandbox: SpaceSandbox, release: () => void): Promise<LivingDocument> {
    const { data, log } = this.deps;
    const { snapshot, records } = await data.load(ref);
    let seq = snapshot?.seq ?? 0;
    const fold = new PatchFold(snapshot?.state ?? null);
    for (const r of records) {
      if (r.seq !== seq + 1) throw new AdamaError(E.LOG_CORRUPT, `${refId(ref)}: log jumps from ${seq} to ${r.seq}`);
      try {
        fold.apply(r.redo);
      } catch (err) {
        throw new AdamaError(E.LOG_CORRUPT, `${refId(ref)}: record ${r.seq} does not apply to the state before it`, { cause: err });
      }
      seq = r.seq;
    }
    if (seq !== bind.headSeq) throw new AdamaError(E.LOG_CORRUPT, `${refId(ref)}: log ends at ${seq} but the directory head is ${bind.headSeq}`);
    const resident = await this.openResident(ref, sandbox, fold.value as Json, seq);
    log.info({ space: ref.space, key: ref.key, epoch: bind.epoch, seq, replayed: records.length }, 'document.loaded');
    return this.install(ref, bind.epoch, { seq, encoded: fold.value as Json }, records, records.length, snapshot?.meta ?? null, sandbox, resident, release);
  }

  /**
   * Restores an archived document we just bound: fetch + verify the object, write it as the
   * document's snapshot at the archived head (clearing archive_ref, fenced on our epoch), install.
   * On failure the binding goes back to 'archived' with the same ref, so the error is coded, the
   * document is never served empty, and a repaired object can still be restored later.
   */
  private async restore(ref: DocRef, epoch: number, headSeq: number, archiveRef: string, sandbox: SpaceSandbox, release: () => void): Promise<LivingDocument> {
    const { data, hostId, log, clock } = this.deps;
    const startedMs = clock.nowMs();
    let restored: Awaited<ReturnType<typeof fetchArchive>>;
    try {
      restored = await fetchArchive(this.deps.objectStore, archiveRef, ref, headSeq);
      const snapshot = { seq: headSeq, state: restored.doc.state, meta: restored.doc.meta };
      if (!(await data.restoreArchived(ref, hostId, epoch, archiveRef, snapshot))) {
        throw new AdamaError(E.APPEND_FENCED, `${refId(ref)}: lost ownership at epoch ${epoch} while restoring`);
      }
    } catch (err) {
      const code = isAdamaError(err) ? err.entry.code : undefined;
      log.warn({ space: ref.space, key: ref.key, epoch, seq: headSeq, code, ref: archiveRef, err: String(err), detail: errorDetail(err) }, 'document.restore_failed');
      this.metrics.documentsRestored.add(1, { result: restoreResult(err) });
      this.metrics.documentRestoreMs.record(clock.nowMs() - startedMs);
      if (!isAdamaError(err, E.APPEND_FENCED)) {
        await data.releaseToArchived(ref, hostId, epoch, archiveRef).catch((e: unknown) => log.warn({ space: ref.space, key: ref.key, err: String(e) }, 'document.restore_release_failed'));
      }
      throw err;
    }
    const ms = clock.nowMs() - startedMs;
    this.metrics.documentsRestored.add(1, { result: 'ok' });
    this.metrics.documentRestoreMs.record(ms);
    log.info({ space: ref.space, key: ref.key, epoch, seq: headSeq, bytes: restored.bytes, ms, ref: archiveRef }, 'document.restored');
    const encoded = restored.doc.state;
    const resident = await this.openResident(ref, sandbox, encoded, headSeq);
    return this.install(ref, epoch, { seq: headSeq, encoded }, [], 0, restored.doc.meta, sandbox, resident, release);
  }

  private install(ref: DocRef, epoch: number, committed: { seq: number; encoded: Json }, recent: ChangeRecord[], recordsSinceSnapshot: number, snapshotMeta: Json, sandbox: SpaceSandbox, resident: ResidentDocument, release: () => void): LivingDocument {
    const doc = new LivingDocument(
      {
        ref, epoch, sandbox,
        hostId: this.deps.hostId,
        data: this.deps.data,
        appender: this.committer,
        metrics: this.metrics,
        tracer: this.tracer,
        clock: this.deps.clock,
        log: this.deps.log,
        config: this.deps.config,
        onGone: (d) => {
          release();
          if (this.docs.get(refId(ref)) === d) this.docs.delete(refId(ref));
          this.metrics.documentsLoadedNow.add(-1);
        },
      },
      committed,
      { recordsSinceSnapshot, recent, snapshotMeta, resident },
    );
    this.docs.set(refId(ref), doc);
    this.metrics.documentsLoaded.add(1);
    this.metrics.documentsLoadedNow.add(1);
    return doc;
  }
}
