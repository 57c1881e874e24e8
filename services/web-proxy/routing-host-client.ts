/**
 * @module routing-host-client
 * The split-tier `HostClient`: picks the host for a document (cached placement, else rendezvous
 * over live hosts), follows redirects to the real owner, and on a broken host connection moves on
 * to the next rendezvous host, telling it which host it lost so findbind can take the document
 * over at once. Routing is only a guess that makes things fast; the host's findbind and the fenced
 * append are what make them correct.
 */
import type { InternalTls } from '../grpc/internal-tls';
import { AdamaError, E, isAdamaError } from '../shared/errors';
import type { Json } from '../shared/json';
import type { Logger } from '../shared/log';
import type { DocRef } from '../shared/doc-ref';
import type { Who } from '../shared/identity';
import type { DocumentPage, DocumentStream, HostClient, OpenStreamOptions, StreamSink } from '../protocol/host-api';
import type { Membership } from '../routing/membership';
import { PlacementCache, route } from '../routing/placement-cache';
import { HostConnection } from './host-connection';

export interface RoutingEvents {
  routed?(kind: 'cached' | 'rendezvous' | 'redirect' | 'directory'): void;
  redirected?(): void;
  hostLost?(hostId: string): void;
}

export interface RoutingHostClientOptions {
  membership: Membership;
  log: Logger;
  /** Envelopes per gRPC message and held per host connection (backpressure bound). */
  maxBatch: number;
  maxQueued: number;
  /** How long a host whose connection broke is skipped, unless membership proves it back (ms). */
  suspectForMs: number;
  events?: RoutingEvents;
  /** mTLS for internal gRPC (internal-tls.ts); plaintext when absent. */
  tls?: InternalTls;
  /**
   * Where the directory has a document bound (the locator's Lookup): asked for a document this
   * proxy has no placement for, so it goes straight to the owner instead of to its rendezvous
   * host and a redirect. Any failure or a slow answer (`directoryTimeoutMs`, default 250) falls
   * back to rendezvous: the directory only makes routing faster, never correct.
   */
  directory?: { ownerOf(ref: DocRef): Promise<string | undefined> };
  directoryTimeoutMs?: number;
}

/** The routing key of a space's listing: not a valid document key (names never start with '@'), so it names no document. */
const LISTING_KEY = '@list';

/** How long a routing decision waits for the directory before it falls back to rendezvous. */
const DIRECTORY_TIMEOUT_MS = 250;

/** Redirects followed and hosts tried for one request before giving up with a retryable error. */
const MAX_HOPS = 6;

export class RoutingHostClient implements HostClient {
  private readonly connections = new Map<string, HostConnection>();
  /** Hosts whose connection broke recently, with the time until which they are skipped. */
  private readonly suspects = new Map<string, number>();
  private readonly cache = new PlacementCache();
  private readonly unsubscribe: () => void;

  constructor(private readonly o: RoutingHostClientOptions) {
    let known = new Map(o.membership.current().map((h) => [h.id, h.address]));
    this.unsubscribe = o.membership.onChange((hosts) => {
      const live = new Map(hosts.map((h) => [h.id, h.address]));
      for (const id of known.keys()) if (!live.has(id)) { this.cache.invalidateHost(id); this.connections.get(id)?.close(); }
      // A host that (re)appears, or comes back under its id at a new address (a restart within its
      // lease), is a new process: forget the suspicion and any connection to the old one.
      for (const [id, address] of live) {
        if (known.get(id) === address) continue;
        this.suspects.delete(id);
        if (known.has(id)) this.connections.get(id)?.close();
      }
      known = live;
    });
  }

  createDocument(ref: DocRef, who: Who, arg: Json): Promise<{ seq: number }> {
    return this.routed(ref, (conn) => conn.createDocument(ref, who, arg));
  }

  postMessage(ref: DocRef, who: Who, channel: string, message: Json, dedupe?: string): Promise<{ seq: number }> {
    return this.routed(ref, (conn) => conn.postMessage(ref, who, channel, message, dedupe));
  }

  deleteDocument(ref: DocRef, who: Who): Promise<void> {
    return this.routed(ref, (conn) => conn.deleteDocument(ref, who));
  }

  /**
   * Any host can list (the directory is shared): the rendezvous host of the space's listing, so
   * pages of one space go to one host while it lives, with the same fallbacks as a document.
   */
  listDocuments(space: string, who: Who, after: string, limit: number): Promise<DocumentPage> {
    return this.routed({ space, key: LISTING_KEY }, (conn) => conn.listDocuments(space, who, after, limit));
  }

  openStream(ref: DocRef, who: Who, options: OpenStreamOptions, sink: StreamSink): Promise<DocumentStream> {
    return this.routed(ref, (conn, suspectHosts) => conn.openStream(ref, who, { ...options, suspectHosts }, sink));
  }

  /** Streams currently carried per host (for health and tests). */
  streamsByHost(): Record<string, number> {
    return Object.fromEntries([...this.connections].map(([id, c]) => [id, c.streamCount]));
  }

  close(): void {
    this.unsubscribe();
    for (const c of this.connections.values()) c.close();
    this.connections.clear();
  }

  private async routed<T>(ref: DocRef, attempt: (conn: HostConnection, suspectHosts: string[]) => Promise<T>): Promise<T> {
    let redirectTo: string | undefined;
    let directed = false;
    if (ref.key !== LISTING_KEY && this.cache.get(ref.space, ref.key) === undefined) {
      redirectTo = await this.ownerInDirectory(ref);
      directed = redirectTo !== undefined;
    }
    for (let hop = 0; hop < MAX_HOPS; hop++) {
      const suspects = this.currentSuspects();
      const hosts = this.o.membership.current();
      let hostId: string | undefined;
      if (redirectTo !== undefined && !suspects.has(redirectTo) && hosts.some((h) => h.id === redirectTo)) {
        hostId = redirectTo;
        this.o.events?.routed?.(directed ? 'directory' : 'redirect');
      } else {
        const choice = route(ref.space, ref.key, hosts, this.cache, suspects);
        hostId = choice?.id;
        if (hostId !== undefined) this.o.events?.routed?.(this.cache.get(ref.space, ref.key) === hostId ? 'cached' : 'rendezvous');
      }
      if (hostId === undefined) throw new AdamaError(E.NO_LIVE_HOSTS, `no live host for ${ref.space}/${ref.key} (${hosts.length} known, ${suspects.size} suspected)`);
      redirectTo = undefined;
      directed = false;
      const conn = this.connection(hostId);
      if (!conn) { this.suspect(hostId); continue; }
      try {
        const result = await attempt(conn, [...suspects]);
        this.cache.set(ref.space, ref.key, hostId);
        return result;
      } catch (err) {
        if (isAdamaError(err, E.OWNED_ELSEWHERE) && err.owner && err.owner !== hostId) {
          this.o.events?.redirected?.();
          this.cache.set(ref.space, ref.key, err.owner);
          redirectTo = err.owner;
          continue;
        }
        if (isAdamaError(err, E.HOST_UNREACHABLE) || isAdamaError(err, E.HOST_SHUTTING_DOWN)) {
          // onDead already suspected an unreachable host; a host shutting down is only skipped for a while.
          if (!this.suspects.has(hostId)) this.suspects.set(hostId, Date.now() + this.o.suspectForMs);
          this.cache.invalidate(ref.space, ref.key);
          continue;
        }
        if (isAdamaError(err, E.APPEND_FENCED) || isAdamaError(err, E.DOC_UNLOADED)) {
          // The host lost or dropped the document under us: the placement is stale, route again.
          this.cache.invalidate(ref.space, ref.key);
          continue;
        }
        throw err;
      }
    }
    throw new AdamaError(E.TOO_MANY_REDIRECTS, `${ref.space}/${ref.key}: gave up after ${MAX_HOPS} hops`);
  }

  /** The directory's owner of `ref`, or undefined (none, not a live member, or no answer in time). */
  private async ownerInDirectory(ref: DocRef): Promise<string | undefined> {
    const directory = this.o.directory;
    if (!directory) return undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        directory.ownerOf(ref),
        new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), this.o.directoryTimeoutMs ?? DIRECTORY_TIMEOUT_MS); }),
      ]);
    } catch (err) {
      this.o.log.debug({ space: ref.space, key: ref.key, err: String(err) }, 'routing.directory_failed');
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  private connection(hostId: string): HostConnection | undefined {
    const existing = this.connections.get(hostId);
    if (existing && !existing.isDead) return existing;
    const member = this.o.membership.current().find((h) => h.id === hostId);
    if (!member) return undefined;
    const conn = new HostConnection({
      hostId, address: member.address, log: this.o.log, maxBatch: this.o.maxBatch, maxQueued: this.o.maxQueued, tls: this.o.tls,
      onDead: (c) => {
        if (this.connections.get(hostId) === c) this.connections.delete(hostId);
        this.suspect(hostId);
      },
    });
    this.connections.set(hostId, conn);
    return conn;
  }

  private suspect(hostId: string): void {
    this.suspects.set(hostId, Date.now() + this.o.suspectForMs);
    this.cache.invalidateHost(hostId);
    this.o.events?.hostLost?.(hostId);
  }

  private currentSuspects(): Set<string> {
    const now = Date.now();
    for (const [id, until] of this.suspects) if (until <= now) this.suspects.delete(id);
    return new Set(this.suspects.keys());
  }
}
