/**
 * @module watch
 * Watch streams: newline-delimited `{type, object}` over a chunked 200 response.
 * - resourceVersion unset or "0": synthetic ADDED for the current objects, then changes;
 * - a resourceVersion: the stored history after it; older than the compaction point → one ERROR
 *   event (Status 410 Expired) and the stream ends, as the real server answers inside a 200;
 * - label/field selectors apply to both states of a change: an object that stops matching is
 *   DELETED for this watch, one that starts matching is ADDED;
 * - BOOKMARK every bookmarkIntervalMs when allowWatchBookmarks; `timeoutSeconds` ends the stream cleanly.
 */
import type { ServerResponse } from 'node:http';
import type { Api, ListOptions } from './api';
import { errors, type Status } from './errors';
import type { ResourceType } from './registry';
import type { EventType, KubeObject, StoreEvent } from './store';

export interface WatchRequest extends ListOptions {
  type: ResourceType;
  /** Undefined: all namespaces. */
  namespace?: string;
  resourceVersion?: string;
  allowBookmarks: boolean;
  timeoutSeconds?: number;
}

interface OpenWatch { res: ServerResponse; close: () => void }

const expiredStatus = (rv: string, compacted: number): Status => ({
  kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Expired', code: 410,
  message: `too old resource version: ${rv} (${compacted})`,
});

export class Watches {
  private readonly open = new Set<OpenWatch>();

  /** `onOpenOrClose` lets waiters re-check after a watch opens or ends (those are not store changes). */
  constructor(private readonly api: Api, private readonly bookmarkIntervalMs: number, private readonly onOpenOrClose: () => void) {}

  count(): number { return this.open.size; }

  /** Validates first (throwing a 400 before any header is sent), then streams. */
  serve(req: WatchRequest, res: ServerResponse): void {
    const store = this.api.store;
    const match = this.api.matcher(req.type, req);
    const rvParam = req.resourceVersion ?? '';
    const fromRv = rvParam === '' || rvParam === '0' ? undefined : Number(rvParam);
    if (fromRv !== undefined && (!Number.isInteger(fromRv) || fromRv < 0)) throw errors.badRequest(`invalid resource version "${rvParam}"`);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();

    const write = (type: EventType | 'ERROR' | 'BOOKMARK', object: unknown): void => {
      if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify({ type, object })}\n`);
    };
    const inScope = (o: KubeObject): boolean => req.namespace === undefined || o.metadata.namespace === req.namespace;
    const visible = (o: KubeObject | undefined): boolean => !!o && inScope(o) && match(o);
    const deliver = (e: StoreEvent): void => {
      const now = visible(e.object);
      const before = e.type === 'MODIFIED' ? visible(e.previous) : now;
      const type: EventType | undefined =
        e.type === 'MODIFIED' ? (now && before ? 'MODIFIED' : now ? 'ADDED' : before ? 'DELETED' : undefined) : now ? e.type : undefined;
      if (type) write(type, this.api.present(req.type, e.object));
    };

    if (fromRv === undefined) {
      for (const o of store.list(req.type, req.namespace)) if (match(o)) write('ADDED', this.api.present(req.type, o));
    } else {
      const backlog = store.since(req.type, fromRv);
      if (backlog === 'expired') {
        write('ERROR', expiredStatus(rvParam, store.compactionRv()));
        res.end();
        return;
      }
      backlog.forEach(deliver);
    }

    const unsubscribe = store.subscribe((e) => { if (e.resource === req.type) deliver(e); });
    const timers: NodeJS.Timeout[] = [];
    if (req.allowBookmarks) {
      timers.push(setInterval(() => write('BOOKMARK', { kind: req.type.kind, apiVersion: req.type.apiVersion, metadata: { resourceVersion: String(store.currentRv()) } }), this.bookmarkIntervalMs));
    }
    if (req.timeoutSeconds !== undefined && req.timeoutSeconds > 0) timers.push(setTimeout(() => close(), req.timeoutSeconds * 1000));
    const entry: OpenWatch = { res, close: () => close() };
    const cleanup = (): void => {
      unsubscribe();
      timers.forEach((t) => clearTimeout(t));
      if (this.open.delete(entry)) this.onOpenOrClose();
    };
    const close = (): void => { cleanup(); if (!res.writableEnded) res.end(); };
    res.on('close', cleanup);
    // A write racing a dropped socket must end this watch, not the process.
    res.on('error', cleanup);
    this.open.add(entry);
    this.onOpenOrClose();
  }

  /** Compaction under open watches: each gets ERROR 410 and ends (clients relist). */
  expireAll(): void {
    const compacted = this.api.store.compactionRv();
    for (const w of [...this.open]) {
      if (!w.res.writableEnded && !w.res.destroyed) w.res.write(`${JSON.stringify({ type: 'ERROR', object: expiredStatus(String(compacted), compacted) })}\n`);
      w.close();
    }
  }

  /** Connections lost: sockets destroyed mid-stream, no final event. */
  dropAll(): void {
    for (const w of [...this.open]) w.res.socket?.destroy();
  }

  closeAll(): void {
    for (const w of [...this.open]) w.close();
  }
}
