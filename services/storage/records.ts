/**
 * @module records
 * What the log and the snapshot table hold, shared by the data service and the archive
 * operations (kept apart from both so neither imports the other).
 */
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
