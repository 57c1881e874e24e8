/**
 * @module append-probe
 * Counts what reaches the log for the documents a scenario picks, by wrapping `append` and
 * `appendMany` on `SqlDataService.prototype` while the probe is open. The cluster runs in this
 * process, so this sees every append the host makes, and shows both kinds of group commit without
 * touching the service code: records per document append (a document's batch) and documents per
 * statement (the host's GroupCommitter sending many documents through one `appendMany`).
 * Only one probe may be open at a time.
 */
import type { AppendItem } from '../services/storage/data-service';
import type { DocRef } from '../services/shared/doc-ref';
import { SqlDataService } from '../services/storage/sql-data-service';

export interface AppendCounts {
  /** append/appendMany calls carrying at least one picked document. */
  statements: number;
  /** Per-document appends of picked documents (one per item of an appendMany). */
  documentAppends: number;
  records: number;
}

export interface AppendProbe {
  counts(): AppendCounts;
  /** Restores the original methods; idempotent. */
  close(): void;
}

let open = false;

export function openAppendProbe(matches: (ref: DocRef) => boolean): AppendProbe {
  if (open) throw new Error('an append probe is already open');
  open = true;
  const proto = SqlDataService.prototype;
  const { append, appendMany } = proto;
  const counts: AppendCounts = { statements: 0, documentAppends: 0, records: 0 };
  /** appendMany falls back to item-by-item `append` after a collision; those are not new appends. */
  let insideMany = 0;
  const count = (items: readonly Pick<AppendItem, 'ref' | 'records'>[]): void => {
    const picked = items.filter((item) => matches(item.ref));
    if (picked.length === 0) return;
    counts.statements++;
    counts.documentAppends += picked.length;
    counts.records += picked.reduce((sum, item) => sum + item.records.length, 0);
  };
  proto.append = function (this: SqlDataService, ...args: Parameters<SqlDataService['append']>) {
    if (insideMany === 0) count([{ ref: args[0], records: args[4] }]);
    return append.apply(this, args);
  };
  proto.appendMany = async function (this: SqlDataService, items: readonly AppendItem[]) {
    count(items);
    insideMany++;
    try {
      return await appendMany.call(this, items);
    } finally {
      insideMany--;
    }
  };
  let closed = false;
  return {
    counts: () => ({ ...counts }),
    close() {
      if (closed) return;
      closed = true;
      proto.append = append;
      proto.appendMany = appendMany;
      open = false;
    },
  };
}
