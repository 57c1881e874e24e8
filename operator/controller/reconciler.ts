/**
 * @module reconciler
 * One level-triggered pass over one AdamaCluster: read the caches, decide, make at most one host
 * step, write status. It never waits for the cluster to change (progress comes from requeues and
 * watch events) and every write is idempotent, so a pass can be cut short or repeated anywhere.
 *
 * Order of a pass: finalizer → migration Jobs → children (server-side apply; the tiers that read
 * the database wait for the Jobs) → observe hosts → plan the host step
 * (operator/drain) → execute it → status. The drain state lives only in `status.drain` and the
 * pod annotation, so a new leader resumes a drain where the last one stopped.
 */
import type { Clock } from '../../services/shared/clock';
import type { Logger } from '../../services/shared/log';
import type { AdamaMetrics } from '../../services/shared/telemetry';
import {
  ANNOTATIONS, FINALIZER, MEMBER_STATES, PLURAL, type AdamaCluster, type AdamaClusterStatus, type DrainStatus,
} from '../api/v1alpha1/types';
import { drainConfigFor, type DrainConfig } from '../drain/drain-config';
import { failDrain } from '../drain/drain-machine';
import { ordinalOf } from '../drain/host-observation';
import { planHostScale, type HostScaleStep } from '../drain/plan-host-scale';
import { deepEqual } from '../../services/protocol/delta';
import type { Json } from '../../services/shared/json';
import { isConflict, type KubeClient, type KubeObject, type ObjectRef } from '../kube/kube-client';
import { names, selectorLabels } from '../specs/common';
import { buildClusterStatus } from '../status/cluster-status';
import { applyAll, desiredChildren, hostReplicasApply, SCALE_FIELD_MANAGER, withHeld, type DesiredChildren } from './children';
import { migrationProgress, waitsForMigration, type MigrationProgress } from './migrations';
import type { ClusterCache } from './cluster-cache';
import type { EventRecorder } from './event-recorder';
import type { HostProbe } from './host-probe';
import { observeHosts, podAddress } from './observe-hosts';
import { tlsEnabled } from '../specs/internal-tls';
import { specProblems } from './validate-spec';

export interface ReconcilerOptions {
  client: KubeClient;
  cache: ClusterCache;
  probe: HostProbe;
  events: EventRecorder;
  clock: Clock;
  log: Logger;
  metrics: AdamaMetrics;
  /** Re-apply unchanged children at least this often (drift repair for kinds we do not watch). */
  reapplyEveryMs: number;
  /** How often a pass comes back while a drain is in flight; default from the spec (5 s). */
  drainPollMs?: number;
}

export interface ReconcileResult {
  /** Run again after this long even without an event. */
  requeueAfterMs?: number;
}

/** How often a failed migration Job is looked at again. */
const FAILED_MIGRATION_POLL_MS = 30_000;

/** Thrown for a write that lost a race; the controller retries at once instead of backing off. */
export class StaleCacheError extends Error {}

export class Reconciler {
  /**
   * Per cluster key: what was applied last (to which uid) and when, to skip identical re-applies.
   * Forgotten when the cluster is gone or released, so churning clusters leaves nothing behind.
   */
  private readonly applied = new Map<string, { uid: string; digest: string; atMs: number }>();
  /**
   * Per cluster key: the migration Jobs (names) seen succeeded and when, so passes in between do
   * not ask again; a resync asks again (a Job deleted since is created and run again).
   */
  private readonly migrated = new Map<string, { want: string; atMs: number; progress: MigrationProgress }>();
  /** Per cluster key: host counts by state as last exported, so the gauge gets deltas. */
  private readonly exportedHosts = new Map<string, Record<string, number>>();

  constructor(private readonly o: ReconcilerOptions) {}

  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    const c = this.o.cache.cluster(namespace, name);
    if (!c) {
      this.forget(`${namespace}/${name}`);
      return {};
    }
    const deleting = c.metadata.deletionTimestamp !== undefined;
    const finalized = c.metadata.finalizers?.includes(FINALIZER) ?? false;
    if (deleting && !finalized) return {};
    const paused = c.metadata.annotations?.[ANNOTATIONS.paused] === 'true';
    if (!deleting && !paused && !finalized) {
      await this.patchCluster(c, { metadata: { finalizers: [...(c.metadata.finalizers ?? []), FINALIZER], resourceVersion: c.metadata.resourceVersion } });
      return { requeueAfterMs: 0 };
    }

    const drainCfg: DrainConfig = { ...drainConfigFor(c.spec.hosts), ...(this.o.drainPollMs ? { pollIntervalMs: this.o.drainPollMs } : {}) };
    const pods = this.o.cache.hostPods(c);
    const hosts = await observeHosts(pods, c.spec.hosts.port, this.o.probe, tlsEnabled(c));
    const hostSet = this.o.cache.hostSet(c);

    let invalidSpec: string | undefined;
    let applyError: string | undefined;
    let children: DesiredChildren | undefined;
    if (!paused && !deleting) {
      const problems = specProblems(c);
      try {
        if (problems.length > 0) throw new Error(problems.join('; '));
        children = desiredChildren(c);
      } catch (err) {
        invalidSpec = `invalid spec: ${err instanceof Error ? err.message : String(err)}`;
        this.o.events.record(asObject(c), 'Warning', 'InvalidSpec', invalidSpec);
      }
    }
    let migration: MigrationProgress | undefined;
    if (children) {
      try {
        migration = await this.migrate(c, children.jobs);
        const held = migration.state !== 'Succeeded';
        await this.applyChildren(c, held ? withHeld(children, (o) => waitsForMigration(c, o)) : children, hostSet === undefined);
      } catch (err) {
        applyError = `apply failed: ${String(err)}`;
        this.o.events.record(asObject(c), 'Warning', 'ApplyFailed', applyError);
      }
    }

    const outdated = outdatedOrdinals(pods, hostSet?.updateRevision);
    const step = planHostScale({
      desiredReplicas: c.spec.hosts.replicas, minReplicas: c.spec.hosts.minReplicas, currentReplicas: hostSet?.specReplicas,
      hosts, drain: c.status?.drain, paused, deleting, skipDrainOnDelete: c.metadata.annotations?.[ANNOTATIONS.skipDrainOnDelete] === 'true',
      setName: names.hosts(c), nowMs: this.o.clock.nowMs(), outdated,
    }, drainCfg);
    // Children that failed to apply leave the host count alone too: one failure at a time. Hosts
    // that do not exist yet wait for the migration (the set is created with its template).
    const hostsWait = hostSet === undefined && migration !== undefined && migration.state !== 'Succeeded';
    const outcome = invalidSpec || applyError || hostsWait ? { drain: c.status?.drain, requeueAfterMs: undefined } : await this.execute(c, step, pods, drainCfg, hostSet?.specReplicas);
    if (step.refused) {
      this.o.events.record(asObject(c), 'Warning', 'ScaleDownRefused',
        `spec.hosts.replicas ${step.refused.requested} is below spec.hosts.minReplicas ${step.refused.minimum}; keeping ${step.refused.minimum} hosts`);
    }
    if (outcome.released) { this.forget(`${namespace}/${name}`); return {}; }

    const status = buildClusterStatus({
      cluster: c, nowIso: new Date(this.o.clock.nowMs()).toISOString(),
      ...(hostSet ? { hostSet: { replicas: hostSet.specReplicas, readyReplicas: hostSet.readyReplicas } } : {}),
      proxies: this.tierCounts(c, names.proxies(c), c.spec.proxies.replicas),
      locator: this.tierCounts(c, names.locator(c), c.spec.locator.replicas),
      archiver: this.tierCounts(c, names.archiver(c), c.spec.archiver.replicas),
      hosts, drain: outcome.drain, hostSelector: selectorString(selectorLabels(c, 'host')),
      paused, deleting, changing: step.kind !== 'steady' && step.kind !== 'paused',
      ...(step.refused ? { refused: step.refused } : {}),
      ...(invalidSpec ? { invalidSpec } : {}),
      ...(applyError ? { applyError } : {}),
      ...(step.kind === 'steady' && outdated.length > 0 ? { rollBlocked: { outdated: outdated.length } } : {}),
      ...(migration ? { migration } : {}),
    });
    await this.writeStatus(c, status);
    this.exportHostStates(`${namespace}/${name}`, status.members?.map((m) => m.state) ?? []);
    if (applyError) throw new Error(applyError);
    // Jobs are not watched: a running migration is polled, a failed one looked at now and then
    // (deleting the failed Job is how a user retries it).
    const migrationPoll = migration?.state === 'Running' ? drainCfg.pollIntervalMs : migration?.state === 'Failed' ? FAILED_MIGRATION_POLL_MS : undefined;
    const requeue = migrationPoll === undefined ? outcome.requeueAfterMs : Math.min(outcome.requeueAfterMs ?? Infinity, migrationPoll);
    return requeue === undefined ? {} : { requeueAfterMs: requeue };
  }

  /**
   * Creates the migration Jobs that do not exist yet and reads how they stand. Once every one has
   * succeeded the answer is remembered until the next resync (or until the Jobs change) and Jobs
   * of earlier templates are deleted with their pods. A Job a user deleted is created again, so
   * deleting a Job is how a migration is run again (a failed one, or after a database was replaced).
   */
  private async migrate(c: AdamaCluster, jobs: readonly KubeObject[]): Promise<MigrationProgress> {
    const key = `${c.metadata.namespace}/${c.metadata.name}`;
    const want = jobs.map((j) => j.metadata.name ?? '').join(',');
    const seen = this.migrated.get(key);
    if (seen && seen.want === want && this.o.clock.nowMs() - seen.atMs < this.o.reapplyEveryMs / 2) return seen.progress;
    const current: KubeObject[] = [];
    for (const job of jobs) {
      const ref = { apiVersion: 'batch/v1', kind: 'Job', namespace: c.metadata.namespace, name: job.metadata.name ?? '' };
      let found = await this.o.client.get(ref);
      if (!found) {
        try {
          found = await this.o.client.create({ ...job, metadata: { ...job.metadata, namespace: c.metadata.namespace } });
          this.o.events.record(asObject(c), 'Normal', 'MigrationStarted', `running schema migration Job ${ref.name} (image ${job.metadata.annotations?.['adama.io/image'] ?? '?'})`);
        } catch (err) {
          if (!isConflict(err)) throw err;
          found = await this.o.client.get(ref);
          if (!found) throw new StaleCacheError(`Job ${ref.name} came and went`);
        }
      }
      current.push(found);
    }
    const progress = migrationProgress(current);
    if (progress.state === 'Failed') this.o.events.record(asObject(c), 'Warning', 'MigrationFailed', progress.message);
    if (progress.state === 'Succeeded') {
      if (seen?.want !== want) {
        this.o.events.record(asObject(c), 'Normal', 'MigrationSucceeded', progress.message);
        await this.deleteOldJobs(c, new Set(jobs.map((j) => j.metadata.name ?? '')));
      }
      this.migrated.set(key, { want, atMs: this.o.clock.nowMs(), progress });
    }
    return progress;
  }

  /** Migration Jobs of templates no longer wanted (a finished roll): deleted, their pods with them. */
  private async deleteOldJobs(c: AdamaCluster, keep: ReadonlySet<string>): Promise<void> {
    const selector = `app.kubernetes.io/instance=${c.metadata.name},app.kubernetes.io/component=migrate`;
    const { items } = await this.o.client.list({ apiVersion: 'batch/v1', kind: 'Job' }, c.metadata.namespace, selector);
    for (const j of items) if (!keep.has(j.metadata.name ?? '')) await this.o.client.delete(refOf(j));
  }

  private tierCounts(c: AdamaCluster, name: string, desired: number) {
    return { desired, ready: this.o.cache.deployment(c, name)?.readyReplicas ?? 0 };
  }

  private async applyChildren(c: AdamaCluster, children: DesiredChildren, hostSetMissing: boolean): Promise<void> {
    const key = `${c.metadata.namespace}/${c.metadata.name}`;
    const uid = c.metadata.uid ?? '';
    const last = this.applied.get(key);
    const now = this.o.clock.nowMs();
    // Skipped only while nothing changed, every watched child is in the cache (a deleted one comes
    // back on its DELETED event) and the last apply is younger than half the resync period: the
    // resync tick, one period after the last, may land a little early and must still re-apply
    // (Services and the ConfigMap are not watched; the tick is their drift repair).
    const fresh = last && last.uid === uid && last.digest === children.digest && now - last.atMs < this.o.reapplyEveryMs / 2;
    if (!hostSetMissing && fresh && children.apply.every((o) => this.inCache(c, o))) return;
    // Created at the count the plan will ask for, not the server's default of 1 (the scale
    // manager's apply in this same pass co-owns it; later applies leave it to that manager).
    const apply = hostSetMissing ? children.apply.map((o) => (o.kind === 'StatefulSet'
      ? { ...o, spec: { ...(o.spec as object), replicas: Math.max(c.spec.hosts.replicas, c.spec.hosts.minReplicas) } } : o)) : children.apply;
    const results = await applyAll(this.o.client, apply);
    for (const r of results) this.o.cache.remember(r);
    for (const gone of children.absent) {
      // NetworkPolicies are not watched: delete them on every apply pass (a missing one is not an error).
      const present = gone.kind === 'Deployment' ? this.o.cache.deployment(c, gone.name) !== undefined
        : gone.kind === 'PodDisruptionBudget' ? this.o.cache.hasPdb(c, gone.name) : true;
      if (present) await this.o.client.delete({ ...gone, namespace: c.metadata.namespace });
    }
    this.applied.set(key, { uid, digest: children.digest, atMs: now });
  }

  /** Whether a child we watch is in the cache (unwatched kinds: assumed present). */
  private inCache(c: AdamaCluster, o: KubeObject): boolean {
    switch (o.kind) {
      case 'StatefulSet': return this.o.cache.hostSet(c) !== undefined;
      case 'Deployment': return this.o.cache.deployment(c, o.metadata.name) !== undefined;
      case 'PodDisruptionBudget': return this.o.cache.hasPdb(c, o.metadata.name);
      default: return true;
    }
  }

  /** Performs the planned host step; returns the drain to record. */
  private async execute(c: AdamaCluster, step: HostScaleStep, pods: KubeObject[], cfg: DrainConfig, current: number | undefined):
    Promise<{ drain: DrainStatus | undefined; requeueAfterMs: number | undefined; released?: boolean }> {
    const obj = asObject(c);
    const podOf = (host: string) => pods.find((p) => p.metadata.name === host);
    const poll = cfg.pollIntervalMs;
    switch (step.kind) {
      case 'paused':
        this.o.events.record(obj, 'Normal', 'Paused', `${ANNOTATIONS.paused} is set: no changes until it is removed`);
        return { drain: c.status?.drain, requeueAfterMs: undefined };
      case 'steady':
        return { drain: undefined, requeueAfterMs: undefined };
      case 'resize': {
        await this.setHostReplicas(c, step.replicas);
        // No event at creation: the set is created at this count.
        if (current !== undefined) this.o.events.record(obj, 'Normal', 'ScalingUp', `hosts ${current} → ${step.replicas}`);
        return { drain: undefined, requeueAfterMs: poll };
      }
      case 'start-drain': {
        const pod = podOf(step.drain.host);
        if (pod) {
          const patched = await this.o.client.mergePatch(refOf(pod), { metadata: { annotations: { [ANNOTATIONS.draining]: step.drain.startTime } } });
          this.o.cache.remember(patched);
        }
        this.o.events.record(obj, 'Normal', 'DrainStarted', `draining ${step.drain.host} before removing it (hosts ${c.spec.hosts.replicas} wanted)`);
        return { drain: await this.requestDrain(c, step.drain, pod, cfg), requeueAfterMs: poll };
      }
      case 'request':
        return { drain: await this.requestDrain(c, step.drain, podOf(step.drain.host), cfg), requeueAfterMs: poll };
      case 'wait':
        return { drain: step.drain, requeueAfterMs: step.requeueAfterMs };
      case 'fail':
        // The retry time is in status.drain: a message without it lets identical failures de-duplicate.
        this.o.events.record(obj, 'Warning', step.drain.reason ?? 'DrainFailed', step.drain.message ?? 'drain failed');
        this.o.metrics.operatorDrains.add(1, { result: 'failed' });
        return { drain: step.drain, requeueAfterMs: step.requeueAfterMs };
      case 'shrink':
        await this.setHostReplicas(c, step.replicas);
        this.o.metrics.operatorDrainMs.record(this.o.clock.nowMs() - Date.parse(step.drain.startTime));
        this.o.events.record(obj, 'Normal', 'HostRemoved', `${step.drain.host} owns no documents; hosts → ${step.replicas}`);
        return { drain: step.drain, requeueAfterMs: poll };
      case 'recycle': {
        const pod = podOf(step.host);
        if (pod && pod.metadata.deletionTimestamp === undefined) await this.o.client.delete(refOf(pod));
        this.o.events.record(obj, 'Normal', 'HostRecycled', `${step.host} owns no documents; recreating its pod from the new template`);
        return { drain: step.drain, requeueAfterMs: poll };
      }
      case 'finish':
        this.o.metrics.operatorDrains.add(1, { result: 'finished' });
        this.o.events.record(obj, 'Normal', 'DrainFinished', c.status?.drain?.purpose === 'Roll' ? `${step.host} runs the new template` : `${step.host} is gone`);
        return { drain: undefined, requeueAfterMs: 0 };
      case 'cancel': {
        const pod = podOf(step.host);
        if (pod?.metadata.annotations?.[ANNOTATIONS.draining] !== undefined) {
          this.o.cache.remember(await this.o.client.mergePatch(refOf(pod), { metadata: { annotations: { [ANNOTATIONS.draining]: null } } }));
        }
        // A host that stopped taking documents is told to serve again (CancelDrain); only when it
        // cannot be asked is its pod recreated (a fresh pod of the same name serves).
        const resumed = pod && step.recyclePod ? await this.cancelHostDrain(c, pod) : false;
        const recycle = pod !== undefined && step.recyclePod && !resumed;
        if (recycle) await this.o.client.delete(refOf(pod));
        this.o.metrics.operatorDrains.add(1, { result: 'cancelled' });
        this.o.events.record(obj, 'Normal', 'DrainCancelled',
          `drain of ${step.host} cancelled: ${step.why}${resumed ? '; it serves again' : recycle ? '; its pod is recreated' : ''}`);
        return { drain: undefined, requeueAfterMs: 0 };
      }
      case 'release-finalizer': {
        const skipped = c.metadata.annotations?.[ANNOTATIONS.skipDrainOnDelete] === 'true';
        this.o.events.record(obj, 'Normal', 'FinalizerReleased', skipped
          ? `${ANNOTATIONS.skipDrainOnDelete} is set: hosts were not drained; documents reload on their next owner`
          : 'every host is drained; deletion proceeds');
        const finalizers = (c.metadata.finalizers ?? []).filter((f) => f !== FINALIZER);
        await this.patchCluster(c, { metadata: { finalizers, resourceVersion: c.metadata.resourceVersion } });
        return { drain: undefined, requeueAfterMs: undefined, released: true };
      }
    }
  }

  /** Sends the Drain RPC; an unreachable host or a refused call fails the attempt (retried after backoff). */
  private async requestDrain(c: AdamaCluster, drain: DrainStatus, pod: KubeObject | undefined, cfg: DrainConfig): Promise<DrainStatus> {
    const address = pod ? podAddress(pod, c.spec.hosts.port) : undefined;
    try {
      if (!address) throw new Error(`pod ${drain.host} has no IP`);
      await this.o.probe.drain(address, tlsEnabled(c));
      return drain;
    } catch (err) {
      const failed = failDrain(drain, 'DrainFailed', `Drain RPC to ${drain.host} failed: ${err instanceof Error ? err.message : String(err)}`, this.o.clock.nowMs(), cfg);
      this.o.events.record(asObject(c), 'Warning', 'DrainFailed', failed.message ?? 'drain failed');
      this.o.metrics.operatorDrains.add(1, { result: 'failed' });
      return failed;
    }
  }

  /** true when the host answered CancelDrain (it serves again, whether or not it was still draining). */
  private async cancelHostDrain(c: AdamaCluster, pod: KubeObject): Promise<boolean> {
    const address = podAddress(pod, c.spec.hosts.port);
    if (!address) return false;
    try {
      await this.o.probe.cancelDrain(address, tlsEnabled(c));
      return true;
    } catch (err) {
      this.o.log.warn({ host: pod.metadata.name, err: err instanceof Error ? err.message : String(err) }, 'operator.cancel_drain_failed');
      return false;
    }
  }

  private async setHostReplicas(c: AdamaCluster, replicas: number): Promise<void> {
    this.o.cache.remember(await this.o.client.apply(hostReplicasApply(c, replicas), SCALE_FIELD_MANAGER));
  }

  private async patchCluster(c: AdamaCluster, patch: Record<string, unknown>): Promise<void> {
    try {
      this.o.cache.remember(await this.o.client.mergePatch(refOf(asObject(c)), patch));
    } catch (err) {
      if (isConflict(err)) throw new StaleCacheError(`${c.metadata.name} changed under us`);
      throw err;
    }
  }

  private async writeStatus(c: AdamaCluster, status: AdamaClusterStatus): Promise<void> {
    // Structurally: the server returns a custom resource with its keys sorted, never in our order.
    if (deepEqual(asJson(c.status ?? {}), asJson(status))) return;
    // A merge patch cannot remove a key it does not name: clear `drain` explicitly when it ended.
    const body: Record<string, unknown> = { ...status, ...(status.drain ? {} : { drain: null }) };
    const written = await this.o.client.mergePatchStatus({ ...refOf(asObject(c)), plural: PLURAL }, body);
    this.o.cache.remember(written);
  }

  private exportHostStates(key: string, states: readonly string[]): void {
    const counts = Object.fromEntries(MEMBER_STATES.map((s) => [s, states.filter((x) => x === s).length]));
    const before = this.exportedHosts.get(key) ?? {};
    for (const state of MEMBER_STATES) {
      const delta = (counts[state] ?? 0) - (before[state] ?? 0);
      if (delta !== 0) this.o.metrics.operatorHosts.add(delta, { state });
    }
    if (states.length === 0) this.exportedHosts.delete(key); else this.exportedHosts.set(key, counts);
  }

  /** Clusters this reconciler holds state for (tests: it must return to 0 after churn). */
  get trackedClusters(): number {
    return new Set([...this.applied.keys(), ...this.migrated.keys(), ...this.exportedHosts.keys()]).size;
  }

  private forget(key: string): void {
    this.applied.delete(key);
    this.migrated.delete(key);
    this.exportHostStates(key, []);
  }

  /** Forgets a cluster's exported gauges (leadership lost: another process exports them now). */
  resetExports(): void {
    for (const key of [...this.exportedHosts.keys()]) this.exportHostStates(key, []);
  }
}

/** Host pods whose `controller-revision-hash` is not the StatefulSet's update revision. */
function outdatedOrdinals(pods: readonly KubeObject[], updateRevision: string | undefined): number[] {
  if (!updateRevision) return [];
  return pods.filter((p) => p.metadata.labels?.['controller-revision-hash'] !== updateRevision)
    .map((p) => ordinalOf(p.metadata.name)).filter((n): n is number => n !== undefined);
}

const asObject = (c: AdamaCluster): KubeObject => c as unknown as KubeObject;

/** As JSON carries it: keys whose value is undefined are not there. */
const asJson = (v: unknown): Json => JSON.parse(JSON.stringify(v)) as Json;

export const refOf = (o: KubeObject): ObjectRef => ({ apiVersion: o.apiVersion!, kind: o.kind!, namespace: o.metadata.namespace!, name: o.metadata.name });

export const selectorString = (labels: Record<string, string>): string => Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
