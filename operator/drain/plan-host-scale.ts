/**
 * @module plan-host-scale
 * Decides the next host-scaling step from what status, annotations and pods hold — nothing else,
 * so a restarted operator resumes where the last one stopped. Scale-down removes one host at a
 * time, highest ordinal first, and only after it owns no documents. The shell performs the step.
 */
import type { DrainStatus } from '../api/v1alpha1/types';
import { advanceDrain, newDrain, type DrainAction } from './drain-machine';
import type { DrainConfig } from './drain-config';
import type { HostObservation } from './host-observation';

export interface HostScaleInput {
  /** spec.hosts.replicas (what the user or HPA asked). */
  desiredReplicas: number;
  minReplicas: number;
  /** The StatefulSet's spec.replicas; undefined when it does not exist yet. */
  currentReplicas: number | undefined;
  hosts: readonly HostObservation[];
  drain: DrainStatus | undefined;
  paused: boolean;
  /** The AdamaCluster has a deletionTimestamp: drain every host, then release the finalizer. */
  deleting: boolean;
  skipDrainOnDelete: boolean;
  /** The StatefulSet's name; pod n is `<setName>-<n>`. */
  setName: string;
  /** Ordinals of host pods still on an older template revision (OnDelete: replaced by us, one at a time). */
  outdated?: readonly number[];
  nowMs: number;
}

/** Why the plan used the minimum instead of the desired count; the shell emits a Warning. */
export interface Refusal { requested: number; minimum: number }

export type HostScaleStep = (
  | { kind: 'paused' }
  | { kind: 'steady' }
  /** Apply the StatefulSet at this many replicas (create or grow). */
  | { kind: 'resize'; replicas: number }
  /** Annotate the pod `adama.io/draining`, write status.drain, send the Drain RPC. */
  | { kind: 'start-drain'; drain: DrainStatus }
  | DrainAction
  /** The host owns nothing: lower the StatefulSet by one, keep status.drain (Done) until the pod is gone. */
  | { kind: 'shrink'; replicas: number; drain: DrainStatus }
  /** A roll's host is drained: delete its pod so the StatefulSet recreates it from the new template. */
  | { kind: 'recycle'; host: string; drain: DrainStatus }
  /** The drained pod is gone (or, in a roll, back on the new template and ready): clear status.drain. */
  | { kind: 'finish'; host: string }
  /** Drop the drain and the annotation; delete the pod too when it already stopped serving. */
  | { kind: 'cancel'; host: string; recyclePod: boolean; why: string }
  | { kind: 'release-finalizer' }
) & { refused?: Refusal };

export function planHostScale(input: HostScaleInput, cfg: DrainConfig): HostScaleStep {
  const step = planUnrefused(input, cfg);
  const refused = !input.deleting && input.desiredReplicas < input.minReplicas;
  return refused ? { ...step, refused: { requested: input.desiredReplicas, minimum: input.minReplicas } } : step;
}

function planUnrefused(input: HostScaleInput, cfg: DrainConfig): HostScaleStep {
  if (input.paused) return { kind: 'paused' };
  if (input.deleting && input.skipDrainOnDelete) return { kind: 'release-finalizer' };
  const current = input.currentReplicas;
  const target = input.deleting ? 0 : Math.max(input.desiredReplicas, input.minReplicas);
  if (current === undefined) return input.deleting ? { kind: 'release-finalizer' } : { kind: 'resize', replicas: target };

  const byOrdinal = (n: number) => input.hosts.find((h) => h.ordinal === n);
  const drain = input.drain ?? recoverFromAnnotation(input.hosts, current);
  // An annotation on a host we are not draining is left over from a cancelled drain.
  const stray = input.hosts.find((h) => h.drainingSince !== undefined && h.ordinal !== drain?.ordinal);
  if (stray) return { kind: 'cancel', host: stray.name, recyclePod: stray.reported?.draining ?? false, why: 'stale drain annotation' };

  if (drain?.purpose === 'Roll') return planRoll(drain, byOrdinal(drain.ordinal), input, target, current, cfg);
  if (drain) {
    const host = byOrdinal(drain.ordinal);
    if (drain.ordinal >= current) return host ? { kind: 'wait', drain, requeueAfterMs: cfg.pollIntervalMs } : { kind: 'finish', host: drain.host };
    if (target >= current) return cancel(drain, host, 'scale-up during drain');
    if (drain.ordinal !== current - 1) return cancel(drain, host, `host ${drain.host} is no longer the highest ordinal`);
    if (drain.phase === 'Done') return { kind: 'shrink', replicas: current - 1, drain };
    return advanceDrain(drain, host, input.nowMs, cfg);
  }
  if (target > current) return { kind: 'resize', replicas: target };
  if (target < current) {
    const ordinal = current - 1;
    const name = byOrdinal(ordinal)?.name ?? `${input.setName}-${ordinal}`;
    return { kind: 'start-drain', drain: newDrain(name, ordinal, input.nowMs) };
  }
  if (input.deleting) return { kind: 'release-finalizer' };
  // A template change rolls hosts one at a time, highest outdated first, and only while every
  // host is up: replacing a pod must not coincide with another host being down.
  const outdated = (input.outdated ?? []).filter((n) => n < current);
  const allUp = input.hosts.length === current && input.hosts.every((h) => h.ready && !h.terminating);
  if (outdated.length > 0 && allUp) {
    const ordinal = Math.max(...outdated);
    const name = byOrdinal(ordinal)?.name ?? `${input.setName}-${ordinal}`;
    return { kind: 'start-drain', drain: { ...newDrain(name, ordinal, input.nowMs), purpose: 'Roll' } };
  }
  return { kind: 'steady' };
}

/** A roll drain: drain as usual, then delete the pod, then wait for its replacement to be ready. */
function planRoll(drain: DrainStatus, host: HostObservation | undefined, input: HostScaleInput, target: number, current: number, cfg: DrainConfig): HostScaleStep {
  if (input.deleting || target !== current) return cancel(drain, host, 'the host count changed during a roll');
  if (drain.phase !== 'Done') return advanceDrain(drain, host, input.nowMs, cfg);
  const wait = { kind: 'wait' as const, drain, requeueAfterMs: cfg.pollIntervalMs };
  if (!host || host.terminating) return wait;
  if (input.outdated?.includes(drain.ordinal)) return { kind: 'recycle', host: drain.host, drain };
  return host.ready ? { kind: 'finish', host: drain.host } : wait;
}

function cancel(drain: DrainStatus, host: HostObservation | undefined, why: string): HostScaleStep {
  // A host that already stopped taking documents cannot resume; a fresh pod (same name) can.
  const recyclePod = (host?.reported?.draining ?? false) || drain.phase === 'MovingStreams' || drain.phase === 'ReleasingBindings' || drain.phase === 'Done';
  return { kind: 'cancel', host: drain.host, recyclePod, why };
}

/**
 * status.drain was lost (status writes can fail after the pod was annotated): the annotation on
 * the highest host is the record, so resume at Requested with the original start time.
 */
function recoverFromAnnotation(hosts: readonly HostObservation[], current: number): DrainStatus | undefined {
  const h = hosts.find((x) => x.ordinal === current - 1 && x.drainingSince !== undefined);
  if (!h?.drainingSince) return undefined;
  const startMs = Date.parse(h.drainingSince);
  return Number.isNaN(startMs) ? undefined : newDrain(h.name, h.ordinal, startMs, h.drainingSince);
}
