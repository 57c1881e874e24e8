/**
 * @module deletions
 * Deletions that ride along on every message, and the guards that keep stale gossip from
 * removing a live member (docs/architecture.md §11.6). A peer's deletion of X is accepted only when
 *   - X is not us (we refute by heartbeating on),
 *   - X's counter has not advanced here since the deleter last saw it, and
 *   - for a timeout deletion, our own last sighting of X is older than deletionGuardMs.
 * A self-announced departure skips the sighting guard: X itself said it is leaving.
 * A deletion of ourselves while we are a healthy member is refuted: our counter jumps above the one the
 * deleter named, so every peer that took the deletion takes us back (a restarted member whose
 * clock lags the old incarnation's is not stuck behind its own tombstone).
 * Tombstones are made only when we remove a member ourselves, so expired ones cannot bounce back
 * between peers forever.
 */
import type { Deletion } from './messages';
import { reshape, type GossipEvent, type GossipState, type Tombstone } from './state';

export interface Applied { state: GossipState; events: GossipEvent[] }

/** Why a deletion is refused, or undefined when it is accepted. Pure; one reason per guard. */
export function refuseDeletion(s: GossipState, d: Deletion, nowMs: number): 'self' | 'unknown' | 'advanced' | 'recently-seen' | undefined {
  if (d.id === s.selfId) return 'self';
  const i = s.index.get(d.id);
  if (i === undefined) return 'unknown';
  if (s.counters[i]! > d.counter) return 'advanced';
  if (!d.self && nowMs - s.seenAtMs[i]! < s.cfg.deletionGuardMs) return 'recently-seen';
  return undefined;
}

export function applyDeletions(s: GossipState, deletions: readonly Deletion[], nowMs: number): Applied {
  if (deletions.length === 0) return { state: s, events: [] };
  const remove = new Set<string>();
  const events: GossipEvent[] = [];
  let tombstones: Map<string, Tombstone> | undefined;
  let refuted: GossipState | undefined;
  for (const d of deletions) {
    const reason = refuseDeletion(s, d, nowMs);
    if (reason === 'self') {
      refuted = refute(refuted ?? s, d.counter);
      continue;
    }
    if (reason === undefined) {
      const i = s.index.get(d.id)!;
      tombstones ??= new Map(s.tombstones);
      tombstones.set(d.id, { meta: s.meta.get(d.id), counter: Math.max(d.counter, s.counters[i]!), atMs: nowMs, self: d.self });
      remove.add(d.id);
      events.push({ kind: 'dead', id: d.id, cause: d.self ? 'departure' : 'deletion' });
      continue;
    }
    // Already deleted here: learn a higher counter or that it was a departure, but keep our age.
    const t = (tombstones ?? s.tombstones).get(d.id);
    if (reason === 'unknown' && t !== undefined && (d.counter > t.counter || (d.self && !t.self))) {
      tombstones ??= new Map(s.tombstones);
      tombstones.set(d.id, { ...t, counter: Math.max(t.counter, d.counter), self: t.self || d.self });
    }
  }
  const base = refuted ?? s;
  if (tombstones === undefined) return { state: base, events };
  return { state: reshape(base, [], remove, nowMs, tombstones), events };
}

/**
 * Raises our own counter past `deletedAt` if a peer deleted us there. Nothing to do while we are
 * away, and nothing while our host is unhealthy: a sidecar beside a hung or dead host must let
 * the deletion stand (refuting it would route clients back to a host that cannot answer). Once
 * the host serves again the deletions still riding on gossip are refuted then.
 */
function refute(s: GossipState, deletedAt: number): GossipState {
  const i = s.index.get(s.selfId);
  if (i === undefined || !s.heartbeating || s.counters[i]! > deletedAt) return s;
  const counters = s.counters.slice();
  counters[i] = deletedAt + 1;
  return { ...s, counters };
}
