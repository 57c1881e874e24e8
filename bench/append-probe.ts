/**
 * @module append-probe
 * Counts `SqlDataService.append` calls and the records they carry, for the documents a scenario
 * picks, by wrapping the method on the prototype while the probe is open. The cluster runs in this
 * process, so this sees every append the host makes; it is how the benchmark shows group commit
 * (records per append) without touching the service code. Only one probe may be open at a time.
 */
import type { DocRef } from '../services/storage/data-service';
import { SqlDataService } from '../services/storage/sql-data-service';

export interface AppendProbe {
  readonly calls: number;
  readonly records: number;
  /** Restores the original method; idempotent. */
  close(): void;
}

let open = false;

export function openAppendProbe(matches: (ref: DocRef) => boolean): AppendProbe {
  if (open) throw new Error('an append probe is already open');
  open = true;
  const proto = SqlDataService.prototype;
  const original = proto.append;
  let calls = 0;
  let records = 0;
  proto.append = function (this: SqlDataService, ...args: Parameters<SqlDataService['append']>) {
    if (matches(args[0])) { calls++; records += args[4].length; }
    return original.apply(this, args);
  };
  let closed = false;
  return {
    get calls() { return calls; },
    get records() { return records; },
    close() {
      if (closed) return;
      closed = true;
      proto.append = original;
      open = false;
    },
  };
}
