/**
 * @module archive-cut
 * Cuts the archivable state of one document from its hot rows, the same way DocumentHost.load
 * replays them: snapshot, then log records in seq order, stopping at the claimed head. Pure.
 */
import { apply } from '../protocol/delta';
import type { Json } from '../shared/json';
import { DedupeWindow, recordDedupeKey } from '../runtime/dedupe-window';
import type { ChangeRecord, Snapshot } from '../storage/data-service';

export type Cut =
  | { kind: 'ok'; state: Json; meta: Json }
  /** The hot rows do not reach the claimed head or jump past it; archiving them would lose changes. */
  | { kind: 'skip'; reason: string };

/**
 * `dedupeKeys` bounds the dedupe window kept in meta (the host's `dedupeKeysPerDocument`), so a
 * restored document still recognises a client's retried send.
 */
export function cutArchive(snapshot: Snapshot | null, records: readonly ChangeRecord[], headSeq: number, dedupeKeys: number): Cut {
  if (snapshot && snapshot.seq > headSeq) return { kind: 'skip', reason: `snapshot at ${snapshot.seq} is past the claimed head ${headSeq}` };
  const window = new DedupeWindow(dedupeKeys);
  window.rememberMeta(snapshot?.meta ?? null);
  let seq = snapshot?.seq ?? 0;
  let state: Json = snapshot?.state ?? null;
  for (const r of records) {
    if (r.seq > headSeq) break;
    if (r.seq !== seq + 1) return { kind: 'skip', reason: `log jumps from ${seq} to ${r.seq}` };
    state = apply(state, r.redo);
    seq = r.seq;
    const d = recordDedupeKey(r);
    if (d !== undefined) window.remember(d, r.seq);
  }
  if (seq !== headSeq) return { kind: 'skip', reason: `hot rows end at ${seq}, the claimed head is ${headSeq}` };
  return { kind: 'ok', state, meta: window.toMeta() };
}
