/**
 * @module proxy-stream
 * One document stream on a client socket, in one object (docs/architecture.md §11.3): where it points, what the
 * client last saw, the host-side handle, and the re-attach loop. When the host side closes the
 * stream with a retryable error (document shed, moved, unloaded), the proxy re-attaches with
 * `since = lastSeq` so the client keeps its socket and its stream id and receives only what it
 * missed.
 */
import type { Delta } from '../protocol/messages';
import { AdamaError, E, type ErrorBody } from '../shared/errors';
import type { Json } from '../shared/json';
import type { Logger } from '../shared/log';
import { backoffMs } from '../shared/backoff';
import type { DocRef } from '../shared/doc-ref';
import type { Who } from '../shared/identity';
import type { DocumentStream, HostClient } from '../protocol/host-api';

export interface StreamOutput {
  delta(streamId: number, delta: Delta): void;
  /** The stream ended for good: the client is told with a failure frame for its id. */
  failed(streamId: number, error: ErrorBody): void;
  /** The stream moved to a (possibly different) host after its host closed it. */
  reattached?(streamId: number): void;
}

export interface ProxyStreamOptions {
  id: number;
  ref: DocRef;
  who: Who;
  viewerState: Json;
  since?: number;
  host: HostClient;
  output: StreamOutput;
  log: Logger;
  maxPendingSends: number;
  rerouteBackoffMs: number;
}

const MAX_REATTACH_ATTEMPTS = 12;
const MAX_BACKOFF_MS = 2000;

export class ProxyStream {
  readonly id: number;
  readonly ref: DocRef;
  /** Whom the stream acts for; per-principal message limits are charged to it. */
  readonly who: Who;
  private lastSeq: number | undefined;
  private viewerState: Json;
  private handle: Promise<DocumentStream>;
  private pendingSends = 0;
  private ended = false;
  /** Bumped on every (re)attach so that a late close from an old handle is ignored. */
  private generation = 0;

  constructor(private readonly o: ProxyStreamOptions) {
    this.id = o.id;
    this.ref = o.ref;
    this.who = o.who;
    this.viewerState = o.viewerState;
    this.lastSeq = o.since;
    this.handle = this.attach();
  }

  /** Resolves once the first attach succeeded; rejects with the coded error if it did not. */
  /** The re-attach backoff in progress, if any (end() cuts it short). */
  private backoff: { timer: ReturnType<typeof setTimeout>; wake(): void } | undefined;

  opened(): Promise<void> { return this.handle.then(() => undefined); }

  async send(channel: string, message: Json, dedupe: string | undefined): Promise<{ seq: number }> {
    if (this.pendingSends >= this.o.maxPendingSends) {
      throw new AdamaError(E.PENDING_SENDS_FULL, `stream ${this.id} has ${this.pendingSends} sends in flight`);
    }
    this.pendingSends++;
    try {
      const handle = await this.handle;
      return await handle.send(channel, message, dedupe);
    } finally {
      this.pendingSends--;
    }
  }

  async update(viewerState: Json): Promise<void> {
    this.viewerState = viewerState;
    const handle = await this.handle;
    await handle.update(viewerState);
  }

  /** Client-initiated end: detaches on the host; never re-attaches afterwards. */
  async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    // A re-attach waiting out its backoff ends now: no timer outlives the stream.
    if (this.backoff) { clearTimeout(this.backoff.timer); this.backoff.wake(); this.backoff = undefined; }
    try {
      const handle = await this.handle;
      await handle.close();
    } catch {
      // The stream was already gone on the host side; ending it is then a no-op.
    }
  }

  private attach(): Promise<DocumentStream> {
    const generation = ++this.generation;
    return this.o.host.openStream(this.ref, this.o.who, { since: this.lastSeq, viewerState: this.viewerState }, {
      onDelta: (delta) => {
        if (this.ended || generation !== this.generation) return;
        this.lastSeq = delta.seq;
        this.o.output.delta(this.id, delta);
      },
      onClosed: (error) => {
        if (this.ended || generation !== this.generation) return;
        if (error.retry) this.reattach(error, 0);
        else this.fail(error);
      },
    });
  }

  /** Re-attaches with backoff; sends that arrive meanwhile wait for the new handle. */
  private reattach(cause: ErrorBody, attempt: number): void {
    this.o.log.info({ space: this.ref.space, key: this.ref.key, conn: this.id, code: cause.code, attempt }, 'stream.reattach');
    const delayMs = backoffMs(attempt, this.o.rerouteBackoffMs, MAX_BACKOFF_MS);
    this.handle = new Promise<void>((wake) => {
      this.backoff = { timer: setTimeout(() => { this.backoff = undefined; wake(); }, delayMs), wake };
    }).then(() => {
      if (this.ended) throw new AdamaError(E.UNKNOWN_CONNECTION, `stream ${this.id} ended`);
      return this.attach();
    });
    this.handle.then(() => this.o.output.reattached?.(this.id), () => undefined);
    this.handle.catch((err: unknown) => {
      if (this.ended) return;
      const body = err instanceof AdamaError ? { code: err.code, message: err.message, retry: err.retry } : { code: E.INTERNAL.code, message: E.INTERNAL.description, retry: true };
      if (body.retry && attempt + 1 < MAX_REATTACH_ATTEMPTS) this.reattach(body, attempt + 1);
      else this.fail(body);
    });
  }

  private fail(error: ErrorBody): void {
    if (this.ended) return;
    this.ended = true;
    this.o.output.failed(this.id, error);
  }
}
