/**
 * @module records
 * What the log and the snapshot table hold, shared by the data service and the archive
 * operations (kept apart from both so neither imports the other).
 */
import type { DocRef } from '../shared/doc-ref';
import { AdamaError, E } from '../shared/errors';
import type { Json } from '../shared/json';
import type { Who } from '../shared/identity';

/** One change to a document: RFC 7386-style merge patches over the encoded state (see docs/deltas.md). */
export interface ChangeRecord {
  seq: number;
  who: Who | null;
  /** What caused the change, e.g. {kind:'send', channel, message, dedupe} or {kind:'connect'}. */
  request: Json;
  redo: Json;
  undo: Json;
}

export interface Snapshot { seq: number; state: Json; meta: Json }

/**
 * What is wrong with appending `records` after `expectedHead` (a bug of the caller: empty, or seqs
 * that are not expectedHead+1, +2, ...), or null. `what` names the operation in the message.
 */
export function appendProblem(what: string, ref: DocRef, expectedHead: number, records: readonly ChangeRecord[]): AdamaError | null {
  if (records.length === 0) return new AdamaError(E.INTERNAL, `${what} ${ref.space}/${ref.key}: no records`);
  for (let i = 0; i < records.length; i++) {
    const seq = records[i]!.seq;
    if (seq !== expectedHead + 1 + i) return new AdamaError(E.INTERNAL, `${what} ${ref.space}/${ref.key}: record ${i} has seq ${seq}, expected ${expectedHead + 1 + i}`);
  }
  return null;
}
