/**
 * @module informer
 * A list-then-watch cache of one resource type, the operator's only view of the cluster state
 * between writes. Failure handling follows client-go's reflector:
 * - the server ends every watch after `watchTimeoutSeconds`; we watch again from the last version;
 * - a 410 (an ERROR event or an HTTP status: the version was compacted) forces a relist;
 * - a watch that delivers nothing, not even a bookmark, for `staleAfterMs` is presumed dead (a
 *   half-open connection never ends on its own) and is replaced by a relist;
 * - other failures retry with exponential backoff.
 * A relist diffs the cache, so deletions missed during an outage still reach the handlers.
 */
import type { Clock, TimerHandle } from '../../services/shared/clock';
import type { Logger } from '../../services/shared/log';
import { isGone, KubeApiError, type KindRef, type KubeClient, type KubeObject, type WatchHandle } from '../kube/kube-client';
import { backoffMs } from '../../services/shared/backoff';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';
export type ChangeHandler = (type: ChangeType, obj: KubeObject) => void;

export interface InformerOptions {
  kind: KindRef;
  /** undefined: every namespace. */
  namespace?: string;
  labelSelector?: string;
  /** Asked of the server per watch; client-go uses 5–10 min. */
  watchTimeoutSeconds: number;
  /** No event or bookmark for this long: the watch is replaced. Must exceed the server's bookmark interval. */
  staleAfterMs: number;
  /** First retry delay after a failed list or watch; doubles up to `maxRetryMs`. */
  retryMs: number;
  maxRetryMs: number;
  clock: Clock;
  log: Logger;
}

/**
 * resourceVersions are opaque, but every API server we know issues increasing integers; when both
 * parse as such, a cached object newer than `candidate` is kept. Otherwise the candidate wins.
 */
function cachedIsNewer(cached: string | undefined, candidate: string | undefined): boolean {
  if (!cached || !candidate || !/^\d+$/.test(cached) || !/^\d+$/.test(candidate)) return false;
  return BigInt(cached) > BigInt(candidate);
}

export const keyOf = (obj: { metadata: { namespace?: string; name: string } }): string => `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;

export class Informer {
  private readonly cache = new Map<string, KubeObject>();
  private readonly handlers: ChangeHandler[] = [];
  private resourceVersion = '';
  private watch: WatchHandle | undefined;
  private stopped = false;
  private needList = true;
  private lastActivityMs = 0;
  private watchdog: TimerHandle | undefined;
  private sleeper: { timer: TimerHandle; wake: () => void } | undefined;
  private syncedResolve!: () => void;
  private readonly syncedPromise = new Promise<void>((resolve) => { this.syncedResolve = resolve; });
  private loop: Promise<void> | undefined;
  /** Counters for tests and logs. */
  readonly stats = { lists: 0, watches: 0, expired: 0, stale: 0, failures: 0 };

  constructor(private readonly client: KubeClient, private readonly o: InformerOptions) {}

  onChange(handler: ChangeHandler): void {
    this.handlers.push(handler);
  }

  /** Starts the loop; resolves once the first list filled the cache. */
  start(): Promise<void> {
    this.loop ??= this.run();
    return this.syncedPromise;
  }

  get(namespace: string, name: string): KubeObject | undefined {
    return this.cache.get(`${namespace}/${name}`);
  }

  list(filter?: (obj: KubeObject) => boolean): KubeObject[] {
    const all = [...this.cache.values()];
    return filter ? all.filter(filter) : all;
  }

  /**
   * Puts an object our own write returned into the cache (when it is in our namespace), so a
   * reconcile right after the write does not act on the version before it. The watch event of
   * the same write overwrites it with the same content.
   */
  remember(obj: KubeObject): void {
    if (this.o.namespace !== undefined && obj.metadata.namespace !== this.o.namespace) return;
    const cached = this.cache.get(keyOf(obj));
    if (cached && cachedIsNewer(cached.metadata.resourceVersion, obj.metadata.resourceVersion)) return;
    this.cache.set(keyOf(obj), obj);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.disarmWatchdog();
    this.watch?.abort();
    this.sleeper?.wake();
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        if (this.needList) await this.relist();
        const err = await this.watchOnce();
        if (this.stopped) break;
        if (err && isGone(err)) { this.stats.expired++; this.needList = true; }
        else if (err) throw err;
        failures = 0;
      } catch (err) {
        if (this.stopped) break;
        failures++;
        this.stats.failures++;
        if (isGone(err)) this.needList = true;
        const delay = backoffMs(failures - 1, this.o.retryMs, this.o.maxRetryMs);
        this.o.log.warn({ kind: this.o.kind.kind, namespace: this.o.namespace, err: String(err), retryMs: delay }, 'informer.retry');
        await this.sleep(delay);
      }
    }
  }

  private async relist(): Promise<void> {
    const { items, resourceVersion } = await this.client.list(this.o.kind, this.o.namespace, this.o.labelSelector);
    this.stats.lists++;
    const seen = new Set<string>();
    for (const obj of items) {
      const key = keyOf(obj);
      seen.add(key);
      const old = this.cache.get(key);
      this.cache.set(key, obj);
      if (!old) this.emit('ADDED', obj);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.emit('MODIFIED', obj);
    }
    for (const [key, obj] of this.cache) {
      if (!seen.has(key)) { this.cache.delete(key); this.emit('DELETED', obj); }
    }
    this.resourceVersion = resourceVersion;
    this.needList = false;
    this.syncedResolve();
  }

  /**
   * One watch from the current version; resolves with how it ended: null to go on at once (a
   * server timeout, or the watchdog asked for a relist), else an error for `run` to handle.
   */
  private async watchOnce(): Promise<Error | null> {
    /** What an ERROR event said; the server sends one for a compacted version (410) and then ends. */
    let reported: KubeApiError | undefined;
    const handle = await this.client.watch(
      this.o.kind, this.o.namespace,
      { resourceVersion: this.resourceVersion, timeoutSeconds: this.o.watchTimeoutSeconds, labelSelector: this.o.labelSelector },
      (event) => {
        this.lastActivityMs = this.o.clock.nowMs();
        const rv = event.object?.metadata?.resourceVersion;
        switch (event.type) {
          case 'BOOKMARK':
            if (rv) this.resourceVersion = rv;
            return;
          case 'ERROR': {
            const status = event.object as { code?: number; message?: string };
            reported = new KubeApiError(status.code ?? 500, status.message ?? 'watch ERROR event');
            // Any other error leaves the cache's version in doubt: relist after the backoff too.
            if (!isGone(reported)) this.needList = true;
            handle.abort();
            return;
          }
          case 'DELETED':
            this.cache.delete(keyOf(event.object));
            break;
          default:
            this.cache.set(keyOf(event.object), event.object);
        }
        if (rv) this.resourceVersion = rv;
        this.emit(event.type, event.object);
      },
    );
    this.stats.watches++;
    this.watch = handle;
    if (this.stopped) handle.abort();
    this.lastActivityMs = this.o.clock.nowMs();
    this.armWatchdog(handle);
    const err = await handle.done;
    this.disarmWatchdog();
    this.watch = undefined;
    if (this.stopped) return null;
    if (reported) return reported;
    // After our own abort (the watchdog wants a relist) the fetch ends with an AbortError: not a failure.
    return this.needList ? null : err;
  }

  private armWatchdog(handle: WatchHandle): void {
    const check = () => {
      const idle = this.o.clock.nowMs() - this.lastActivityMs;
      if (idle >= this.o.staleAfterMs) {
        this.stats.stale++;
        this.o.log.warn({ kind: this.o.kind.kind, namespace: this.o.namespace, idleMs: idle }, 'informer.stale_watch');
        this.needList = true;
        handle.abort();
        return;
      }
      this.watchdog = this.o.clock.setTimeout(check, this.o.staleAfterMs - idle);
    };
    this.watchdog = this.o.clock.setTimeout(check, this.o.staleAfterMs);
  }

  private disarmWatchdog(): void {
    if (this.watchdog) this.o.clock.clearTimeout(this.watchdog);
    this.watchdog = undefined;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => { this.sleeper = undefined; resolve(); };
      this.sleeper = { timer: this.o.clock.setTimeout(wake, ms), wake: () => { this.o.clock.clearTimeout(this.sleeper!.timer); wake(); } };
    });
  }

  private emit(type: ChangeType, obj: KubeObject): void {
    for (const h of this.handlers) {
      try { h(type, obj); } catch (err) { this.o.log.error({ err: String(err) }, 'informer.handler_failed'); }
    }
  }
}
