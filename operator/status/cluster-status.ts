/**
 * @module cluster-status
 * The whole `status` of an AdamaCluster from what one reconcile pass saw and did. Pure: the same
 * inputs give the same status, so the writer can skip a write when nothing changed, and
 * `lastTransitionTime` moves only on a flip (see conditions.ts).
 */
import type {
  AdamaCluster, AdamaClusterStatus, Condition, DrainStatus, HostTierStatus, Reason, TierStatus,
} from '../api/v1alpha1/types';
import type { HostObservation } from '../drain/host-observation';
import type { Refusal } from '../drain/plan-host-scale';
import { drainingCondition, setCondition, type ConditionInput } from './conditions';
import { buildMembers } from './members';

export interface TierCounts { desired: number; ready: number }

export interface StatusInput {
  cluster: AdamaCluster;
  nowIso: string;
  /** The host StatefulSet: spec.replicas (current) and status.readyReplicas; undefined before it exists. */
  hostSet?: { replicas: number; readyReplicas: number };
  proxies?: TierCounts;
  locator?: TierCounts;
  archiver?: TierCounts;
  hosts: readonly HostObservation[];
  drain: DrainStatus | undefined;
  hostSelector: string;
  paused: boolean;
  deleting: boolean;
  /** The pass changed something or waits for a change (resize, drain, roll). */
  changing: boolean;
  refused?: Refusal;
  /** Why the children could not be built (a spec the builders reject). */
  invalidSpec?: string;
  /** Why applying the children failed. */
  applyError?: string;
  /** Hosts run an outdated template but the roll waits because not every host is ready. */
  rollBlocked?: { outdated: number };
  /** The schema migration step of this pass (absent while paused, deleting or refused). */
  migration?: { state: 'Succeeded' | 'Running' | 'Failed'; message: string };
}

/** Host pods that should serve and do not: not Ready, not being deleted, not the host being drained. */
const unreadyHosts = (i: StatusInput): string[] =>
  [...i.hosts].sort((a, b) => a.ordinal - b.ordinal).filter((h) => !h.ready && !h.terminating && h.ordinal !== i.drain?.ordinal).map((h) => h.name);

const tier = (t: TierCounts | undefined): TierStatus => {
  const desired = t?.desired ?? 0;
  const ready = t?.ready ?? 0;
  return { desired, ready, readyOf: `${ready}/${desired}` };
};

export function buildClusterStatus(i: StatusInput): AdamaClusterStatus {
  const c = i.cluster;
  const generation = c.metadata.generation;
  const gen = generation === undefined ? {} : { observedGeneration: generation };
  // Counted from the pods themselves: the StatefulSet's readyReplicas lags them (and is omitted at 0).
  const hostsReady = i.hosts.filter((h) => h.ready && !h.terminating).length;
  const hosts: HostTierStatus = {
    desired: c.spec.hosts.replicas, current: i.hostSet?.replicas ?? 0, ready: hostsReady,
    readyOf: `${hostsReady}/${c.spec.hosts.replicas}`, draining: i.drain ? 1 : 0, selector: i.hostSelector,
  };
  const tiers: [string, TierStatus][] = [['hosts', hosts], ['proxies', tier(i.proxies)], ['locator', tier(i.locator)]];
  if (c.spec.archiver.enabled) tiers.push(['archiver', tier(i.archiver)]);
  const notReady = tiers.filter(([, t]) => t.ready < t.desired).map(([name, t]) => `${name} ${t.readyOf}`);
  if (hosts.current !== hosts.desired && !i.refused) notReady.push(`hosts running ${hosts.current}, want ${hosts.desired}`);

  const held = i.migration !== undefined && i.migration.state !== 'Succeeded';
  const applied = !i.paused && !i.deleting && !i.invalidSpec && !i.applyError && !held;
  const conditionInputs: ConditionInput[] = [
    notReady.length === 0
      ? { type: 'Ready', status: 'True', reason: 'AllTiersReady', message: 'every tier has its desired ready replicas', ...gen }
      : { type: 'Ready', status: 'False', reason: 'TiersNotReady', message: notReady.join('; '), ...gen },
    progressing(i, notReady.length > 0, gen),
    degraded(i, gen),
    drainingCondition(i.drain, generation),
    synced(i, gen),
    ...(i.migration ? [migrated(i.migration, gen)] : []),
  ];
  let conditions: readonly Condition[] = c.status?.conditions ?? [];
  for (const input of conditionInputs) conditions = setCondition(conditions, input, i.nowIso);

  return {
    // observedGeneration says "the children match this spec"; it does not move while paused or failing.
    observedGeneration: applied ? generation : c.status?.observedGeneration,
    conditions: [...conditions],
    paused: i.paused,
    hosts,
    proxies: tier(i.proxies),
    locator: tier(i.locator),
    ...(c.spec.archiver.enabled ? { archiver: tier(i.archiver) } : {}),
    members: buildMembers(i.hosts, i.drain),
    ...(i.drain ? { drain: i.drain } : {}),
  };
}

type Gen = { observedGeneration?: number };

function progressing(i: StatusInput, notReady: boolean, gen: Gen): ConditionInput {
  if (i.paused) return { type: 'Progressing', status: 'False', reason: 'Paused', message: 'adama.io/paused is set: the operator changes nothing', ...gen };
  if (i.deleting) return { type: 'Progressing', status: 'True', reason: 'Deleting', message: 'draining every host before the finalizer is released', ...gen };
  // Nothing is applied while the spec is refused or the apply fails: no progress, say why.
  if (i.invalidSpec) return { type: 'Progressing', status: 'False', reason: 'InvalidSpec', message: `blocked: ${i.invalidSpec}`, ...gen };
  if (i.applyError) return { type: 'Progressing', status: 'False', reason: 'ApplyFailed', message: `blocked: ${i.applyError}`, ...gen };
  if (i.migration?.state === 'Failed') return { type: 'Progressing', status: 'False', reason: 'MigrationFailed', message: `blocked: ${i.migration.message}`, ...gen };
  if (i.migration?.state === 'Running') return { type: 'Progressing', status: 'True', reason: 'MigrationRunning', message: i.migration.message, ...gen };
  if (i.rollBlocked && !i.drain) {
    const n = i.rollBlocked.outdated;
    return {
      type: 'Progressing', status: 'True', reason: 'RollBlocked', ...gen,
      message: `${n} host${n === 1 ? ' runs' : 's run'} an outdated pod template; the roll waits until every host is ready (not ready: ${unreadyHosts(i).join(', ') || 'a host pod is missing'})`,
    };
  }
  if (i.changing || notReady) return { type: 'Progressing', status: 'True', reason: 'Reconciling', message: i.drain ? `draining ${i.drain.host}` : 'tiers are converging on the spec', ...gen };
  return { type: 'Progressing', status: 'False', reason: 'Stable', message: 'the cluster matches its spec', ...gen };
}

function degraded(i: StatusInput, gen: Gen): ConditionInput {
  // Every problem is in the message; the reason names the most urgent one.
  const problems: [Reason, string][] = [];
  if (i.invalidSpec) problems.push(['InvalidSpec', i.invalidSpec]);
  if (i.applyError) problems.push(['ApplyFailed', i.applyError]);
  if (i.migration?.state === 'Failed') problems.push(['MigrationFailed', i.migration.message]);
  if (i.drain?.phase === 'Failed') problems.push([i.drain.reason ?? 'DrainFailed', `drain of ${i.drain.host} failed: ${i.drain.message ?? 'unknown'}`]);
  if (i.drain?.phase !== 'Failed' && i.drain?.reason === 'DrainStalled') problems.push(['DrainStalled', `drain of ${i.drain.host} stalled: ${i.drain.message ?? 'no progress'}`]);
  const unready = unreadyHosts(i);
  if (unready.length > 0) problems.push(['HostsNotReady', `host pods not ready: ${unready.join(', ')}`]);
  if (i.refused) {
    problems.push(['ScaleDownRefused', `spec.hosts.replicas ${i.refused.requested} is below spec.hosts.minReplicas ${i.refused.minimum}; keeping ${i.refused.minimum}`]);
  }
  const first = problems[0];
  if (!first) return { type: 'Degraded', status: 'False', reason: 'Stable', message: 'no failures', ...gen };
  return { type: 'Degraded', status: 'True', reason: first[0], message: problems.map(([, m]) => m).join('; '), ...gen };
}

function synced(i: StatusInput, gen: Gen): ConditionInput {
  if (i.paused) return { type: 'Synced', status: 'False', reason: 'Paused', message: 'children are not updated while paused', ...gen };
  if (i.deleting) return { type: 'Synced', status: 'False', reason: 'Deleting', message: 'the cluster is being deleted', ...gen };
  if (i.invalidSpec) return { type: 'Synced', status: 'False', reason: 'InvalidSpec', message: i.invalidSpec, ...gen };
  if (i.applyError) return { type: 'Synced', status: 'False', reason: 'ApplyFailed', message: i.applyError, ...gen };
  if (i.migration && i.migration.state !== 'Succeeded') {
    return { type: 'Synced', status: 'False', reason: i.migration.state === 'Failed' ? 'MigrationFailed' : 'MigrationRunning', message: `hosts, locator and archiver keep their current version: ${i.migration.message}`, ...gen };
  }
  return { type: 'Synced', status: 'True', reason: 'Applied', message: 'every child object matches the spec', ...gen };
}

function migrated(m: NonNullable<StatusInput['migration']>, gen: Gen): ConditionInput {
  const reason = m.state === 'Succeeded' ? 'MigrationSucceeded' : m.state === 'Failed' ? 'MigrationFailed' : 'MigrationRunning';
  return { type: 'Migrated', status: m.state === 'Succeeded' ? 'True' : 'False', reason, message: m.message, ...gen };
}
