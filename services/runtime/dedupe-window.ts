/**
 * @module dedupe-window
 * Remembers the seq assigned to recent dedupe keys of one document, so a client that retries a
 * send (for example after a failover) gets the original seq instead of a second application.
 * Bounded: the oldest keys are forgotten first. Rebuilt from the log and snapshot on load.
 *
 * A key belongs to the principal that sent it: Bob's send under a key Alice already used is a
 * new message, not Alice's retry (otherwise it would be acked with Alice's seq and never applied).
 * Snapshots written before keys were scoped hold bare keys; those still match any principal, so a
 * retry that spans the upgrade is not applied twice, and they age out of the window like any key.
 */
import type { Json } from '../shared/json';
import type { Who } from '../shared/identity';

/** Marks snapshot meta whose dedupe entries are scoped to principals. */
const SCOPE_MARK = 'principal';

/** The window's key for `dedupe` sent by `who`: unambiguous whatever the strings hold. */
export function scopedDedupeKey(who: Who, dedupe: string): string {
  return JSON.stringify([who.authority, who.agent, dedupe]);
}

const legacyKey = (dedupe: string): string => JSON.stringify([dedupe]);

/** The scoped key of a log record that carries a dedupe key (a client's send), or undefined. */
export function recordDedupeKey(record: { who: Who | null; request: Json }): string | undefined {
  const r = record.request;
  if (record.who && r && typeof r === 'object' && !Array.isArray(r) && typeof r.dedupe === 'string') return scopedDedupeKey(record.who, r.dedupe);
  return undefined;
}

export class DedupeWindow {
  private readonly seqByKey = new Map<string, number>();
  constructor(private readonly capacity: number) {}

  /** The seq of `who`'s earlier send with this dedupe key, if the window still holds it. */
  get(who: Who, dedupe: string): number | undefined {
    return this.seqByKey.get(scopedDedupeKey(who, dedupe)) ?? this.seqByKey.get(legacyKey(dedupe));
  }

  /** `key` is a scopedDedupeKey (or recordDedupeKey) result. */
  remember(key: string, seq: number): void {
    this.seqByKey.delete(key);
    this.seqByKey.set(key, seq);
    while (this.seqByKey.size > this.capacity) {
      const oldest = this.seqByKey.keys().next().value as string;
      this.seqByKey.delete(oldest);
    }
  }

  /** Loads what toMeta() (or a snapshot from before scoping) stored. */
  rememberMeta(meta: Json): void {
    if (!meta || typeof meta !== 'object' || Array.isArray(meta) || !Array.isArray(meta.dedupe)) return;
    const scoped = meta.dedupeScope === SCOPE_MARK;
    for (const e of meta.dedupe) {
      if (Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'number') this.remember(scoped ? e[0] : legacyKey(e[0]), e[1]);
    }
  }

  /** Serialisable form for the snapshot's meta. */
  toMeta(): { dedupe: [string, number][]; dedupeScope: string } {
    return { dedupe: [...this.seqByKey.entries()], dedupeScope: SCOPE_MARK };
  }
}
