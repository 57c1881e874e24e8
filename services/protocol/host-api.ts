/**
 * @module host-api
 * What a web-proxy needs from the host that owns a document. In the single process the proxy
 * calls `DocumentHost` directly; split tiers put a gRPC client behind the same interface, so the
 * proxy does not know which it has.
 */
import type { Delta } from '../protocol/messages';
import type { ErrorBody } from '../shared/errors';
import type { Json } from '../shared/json';
import type { DocRef } from '../shared/doc-ref';
import type { Who } from '../shared/identity';

export interface StreamSink {
  /** A delta for this viewer; the first one is the full view (`reset: true`) unless a resume could be served. */
  onDelta(delta: Delta): void;
  /** The stream ended on the host side. A retryable error means "re-attach (possibly elsewhere) with since". */
  onClosed(error: ErrorBody): void;
}

export interface OpenStreamOptions {
  since?: number;
  viewerState: Json;
  /** Hosts the caller believes dead (its connection to them broke); findbind may take their documents. */
  suspectHosts?: readonly string[];
}

export interface DocumentStream {
  /** Resolves with the seq of the change once it is durable (or of the original change for a repeated dedupe key). */
  send(channel: string, message: Json, dedupe?: string): Promise<{ seq: number }>;
  update(viewerState: Json): Promise<void>;
  /** Ends the stream (runs the space's disconnect). Idempotent. */
  close(): Promise<void>;
}

/** One page of document/list: `next` (the last key) when there may be more. */
export interface DocumentPage { documents: { key: string; seq: number; updatedAt: string }[]; next?: string }

export interface HostClient {
  createDocument(ref: DocRef, who: Who, arg: Json): Promise<{ seq: number }>;
  /** Deletes the document if its space's canDelete(state, who) allows it; its streams end with DOCUMENT_DELETED. */
  deleteDocument(ref: DocRef, who: Who): Promise<void>;
  /**
   * One message to a channel without a stream (the HTTP surface): only to a channel the space
   * lists in `httpChannels`; resolves with the seq once durable. `dedupe` as for a stream's send.
   */
  postMessage(ref: DocRef, who: Who, channel: string, message: Json, dedupe?: string): Promise<{ seq: number }>;
  /** A page of the space's documents in key order after `after`, if its canList(who) allows it. */
  listDocuments(space: string, who: Who, after: string, limit: number): Promise<DocumentPage>;
  openStream(ref: DocRef, who: Who, options: OpenStreamOptions, sink: StreamSink): Promise<DocumentStream>;
}
