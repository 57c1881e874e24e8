/**
 * @module group-commit
 * Durable appends per second with and without group commit across documents, through the storage
 * API (`SqlDataService`, pool of 10 as a host uses) on the split stack's database: `documents`
 * documents, each with exactly one append of one record in flight (a closed loop per document,
 * like a host whose every document has one batch in flight).
 * - per append: every document calls `append` itself, so there are up to `documents` concurrent
 *   statements, at most pool-size of them on the database at once.
 * - group commit: every document calls the host's real `GroupCommitter` (defaults: one flush in
 *   flight, up to 128 documents per flush), which sends what has queued as one `appendMany`.
 * Each phase lasts `seconds` (capped at `maxOps`) after `warmup`/10 unmeasured rounds; each runs on
 * its own documents. The ratio is group-commit appends/s over per-append appends/s.
 */
import { GroupCommitter, GROUP_COMMIT_DEFAULTS } from '../services/adama-host/group-commit';
import { type Appender } from '../services/storage/data-service';
import type { DocRef } from '../services/shared/doc-ref';
import type { SqlDataService } from '../services/storage/sql-data-service';
import type { BenchConfig } from './config';
import { runClosedLoop, type LoadResult } from './load-loop';
import { ratio, round } from './stats';
import { record } from './storage-appends';
import { withTimeout } from './timing';

export interface GroupCommitResult {
  documents: number;
  perAppend: LoadResult;
  grouped: LoadResult & { flushes: number; documentsPerFlush: number; maxBatchItems: number; maxInFlight: number };
  /** grouped appends/s ÷ per-append appends/s. */
  speedup: number;
}

const HOST = 'bench-group-commit';

export async function runGroupCommit(data: SqlDataService, config: Readonly<BenchConfig>): Promise<GroupCommitResult> {
  const n = config.groupCommitDocs;
  const perAppend = await phase(data, data, `gc-each-${Date.now().toString(36)}`, n, config);
  const committer = new GroupCommitter(data);
  let grouped: LoadResult;
  let flushes: number;
  let items: number;
  try {
    // Counted from after the warm-up, so only the measured flushes are in the figure.
    let flushesAtStart = 0;
    let itemsAtStart = 0;
    grouped = await phase(data, committer, `gc-group-${Date.now().toString(36)}`, n, config, () => { flushesAtStart = committer.flushes; itemsAtStart = committer.itemsFlushed; });
    flushes = committer.flushes - flushesAtStart;
    items = committer.itemsFlushed - itemsAtStart;
  } finally {
    await committer.close();
  }
  return {
    documents: n,
    perAppend,
    grouped: { ...grouped, flushes, documentsPerFlush: flushes === 0 ? 0 : round(items / flushes, 1), maxBatchItems: GROUP_COMMIT_DEFAULTS.maxBatchItems, maxInFlight: GROUP_COMMIT_DEFAULTS.maxInFlight },
    speedup: ratio(grouped.okPerSec, perAppend.okPerSec),
  };
}

async function phase(
  data: SqlDataService, appender: Appender, prefix: string, n: number, config: Readonly<BenchConfig>, afterWarmup?: () => void,
): Promise<LoadResult> {
  const docs: { ref: DocRef; head: number }[] = Array.from({ length: n }, (_, i) => ({ ref: { space: 'counter', key: `${prefix}-${i}` }, head: 1 }));
  for (const d of docs) if (!(await data.create(d.ref, HOST, record(1)))) throw new Error(`${d.ref.space}/${d.ref.key} already exists`);
  const appendNext = async (w: number): Promise<void> => {
    const d = docs[w]!;
    const r = await appender.append(d.ref, HOST, 1, d.head, [record(d.head + 1)]);
    if (!r.ok) throw new Error(`append to ${d.ref.key} at head ${d.head} was fenced`);
    d.head++;
  };
  const warmupRounds = Math.max(1, Math.ceil(config.warmup / 10));
  for (let i = 0; i < warmupRounds; i++) {
    await withTimeout(Promise.all(docs.map((_, w) => appendNext(w))), config.opTimeoutMs, 'warm-up appends');
  }
  afterWarmup?.();
  return runClosedLoop({ workers: n, durationMs: config.seconds * 1000, maxOps: config.maxOps, opTimeoutMs: config.opTimeoutMs, op: appendNext });
}
