/**
 * @module controller
 * Informers feed a de-duplicating work queue of AdamaCluster keys; workers reconcile one key at
 * a time each (never the same key twice at once). Changes to children and host pods enqueue their
 * owning cluster (found by its labels); a periodic resync enqueues every cluster so nothing
 * depends on an event having been seen. Failures back off per cluster.
 */
import type { Clock, TimerHandle } from '../../services/shared/clock';
import type { Logger } from '../../services/shared/log';
import type { AdamaMetrics } from '../../services/shared/telemetry';
import type { KindRef, KubeClient, KubeObject } from '../kube/kube-client';
import { Informer, keyOf, type InformerOptions } from '../runtime/informer';
import { DEFAULT_BACKOFF, WorkQueue, type BackoffConfig } from '../runtime/work-queue';
import { ClusterCache, HOST_POD_SELECTOR, KINDS, MANAGED_SELECTOR, type ClusterInformers } from './cluster-cache';
import type { EventRecorder } from './event-recorder';
import type { HostProbe } from './host-probe';
import { Reconciler, StaleCacheError } from './reconciler';

export interface InformerTimings {
  watchTimeoutSeconds: number;
  staleAfterMs: number;
  retryMs: number;
  maxRetryMs: number;
}

/** client-go: watches of 5–10 min; a silent watch is replaced after the timeout plus a margin. */
export const DEFAULT_INFORMER_TIMINGS: InformerTimings = { watchTimeoutSeconds: 300, staleAfterMs: 330_000, retryMs: 500, maxRetryMs: 30_000 };

export interface ControllerOptions {
  client: KubeClient;
  probe: HostProbe;
  events: EventRecorder;
  clock: Clock;
  log: Logger;
  metrics: AdamaMetrics;
  /** Namespaces to watch; empty: all of them (needs cluster-wide RBAC). */
  namespaces: readonly string[];
  workers: number;
  resyncMs: number;
  informers: InformerTimings;
  backoff?: BackoffConfig;
  drainPollMs?: number;
}

export class Controller {
  readonly cache: ClusterCache;
  private readonly queue: WorkQueue;
  private readonly reconciler: Reconciler;
  private workers: Promise<void>[] = [];
  private resyncTimer: TimerHandle | undefined;
  private stopped = false;
  private depth = 0;
  synced = false;

  constructor(private readonly o: ControllerOptions) {
    this.queue = new WorkQueue(o.clock, o.backoff ?? DEFAULT_BACKOFF, (d) => { o.metrics.operatorQueueDepth.add(d - this.depth); this.depth = d; });
    const make = (kind: KindRef, labelSelector?: string) => {
      const scopes = o.namespaces.length === 0 ? [undefined] : o.namespaces;
      return scopes.map((namespace) => {
        const opts: InformerOptions = { kind, clock: o.clock, log: o.log, ...o.informers, ...(namespace ? { namespace } : {}), ...(labelSelector ? { labelSelector } : {}) };
        return new Informer(o.client, opts);
      });
    };
    const informers: ClusterInformers = {
      clusters: make(KINDS.cluster),
      statefulSets: make(KINDS.statefulSet, MANAGED_SELECTOR),
      deployments: make(KINDS.deployment, MANAGED_SELECTOR),
      pdbs: make(KINDS.pdb, MANAGED_SELECTOR),
      hostPods: make(KINDS.pod, HOST_POD_SELECTOR),
    };
    for (const i of informers.clusters) i.onChange((_t, obj) => this.queue.add(keyOf(obj)));
    for (const i of [...informers.statefulSets, ...informers.deployments, ...informers.pdbs, ...informers.hostPods]) {
      i.onChange((_t, obj) => this.enqueueOwner(obj));
    }
    this.cache = new ClusterCache(informers);
    this.reconciler = new Reconciler({
      client: o.client, cache: this.cache, probe: o.probe, events: o.events, clock: o.clock, log: o.log, metrics: o.metrics,
      reapplyEveryMs: o.resyncMs, ...(o.drainPollMs ? { drainPollMs: o.drainPollMs } : {}),
    });
  }

  /** Clusters the reconciler keeps per-cluster state for. */
  get trackedClusters(): number {
    return this.reconciler.trackedClusters;
  }

  private get allInformers(): Informer[] {
    const i = this.cache.informers;
    return [...i.clusters, ...i.statefulSets, ...i.deployments, ...i.pdbs, ...i.hostPods];
  }

  /** Starts the informers, waits until every cache is filled, then the workers. */
  async start(): Promise<void> {
    await Promise.all(this.allInformers.map((i) => i.start()));
    if (this.stopped) return;
    this.synced = true;
    this.o.log.info({ clusters: this.cache.allClusters().length, namespaces: this.o.namespaces.length === 0 ? 'all' : this.o.namespaces }, 'operator.caches_synced');
    for (let n = 0; n < this.o.workers; n++) this.workers.push(this.work());
    this.scheduleResync();
  }

  /** Stops taking work; waits for reconciles in flight, then stops the informers. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.resyncTimer) this.o.clock.clearTimeout(this.resyncTimer);
    this.queue.shutDown();
    await Promise.all(this.workers);
    await Promise.all(this.allInformers.map((i) => i.stop()));
    this.reconciler.resetExports();
    this.o.metrics.operatorQueueDepth.add(-this.depth);
    this.depth = 0;
  }

  private enqueueOwner(obj: KubeObject): void {
    const cluster = obj.metadata.labels?.['app.kubernetes.io/instance'];
    if (cluster && obj.metadata.namespace) this.queue.add(`${obj.metadata.namespace}/${cluster}`);
  }

  private scheduleResync(): void {
    this.resyncTimer = this.o.clock.setTimeout(() => {
      for (const c of this.cache.allClusters()) this.queue.add(keyOf(c));
      if (!this.stopped) this.scheduleResync();
    }, this.o.resyncMs);
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const [namespace, name] = key.split('/') as [string, string];
      const started = this.o.clock.nowMs();
      try {
        const result = await this.reconciler.reconcile(namespace, name);
        this.queue.forget(key);
        this.o.metrics.operatorReconciles.add(1, { result: 'ok' });
        if (result.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
      } catch (err) {
        this.o.metrics.operatorReconciles.add(1, { result: 'error' });
        if (err instanceof StaleCacheError) {
          // Our cache was behind the server; the watch event is on its way. Try again shortly.
          this.queue.addAfter(key, 200);
        } else {
          const retryMs = this.queue.addRateLimited(key);
          this.o.log.warn({ cluster: key, err: err instanceof Error ? err.message : String(err), retryMs }, 'operator.reconcile_failed');
        }
      } finally {
        this.o.metrics.operatorReconcileMs.record(this.o.clock.nowMs() - started);
        this.queue.done(key);
      }
    }
  }
}
