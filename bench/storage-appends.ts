/**
 * @module storage-appends
 * The storage floor under the durable-appends figures: `SqlDataService.append` called directly on
 * a migrated database (pool of 10, as the cluster uses), sequentially: one record per call, then
 * `batch` records per call (one document), then `appendMany` with one record for each of `clients`
 * documents per call (the statement the host's group committer sends). Each phase starts with
 * `warmup` unmeasured calls. Records resemble a counter `add`.
 */
import { openStorage } from '../services/storage/open-storage';
import type { ChangeRecord } from '../services/storage/data-service';
import type { DocRef } from '../services/shared/doc-ref';
import type { SqlDataService } from '../services/storage/sql-data-service';
import type { BenchConfig } from './config';
import { runClosedLoop, type LoadResult } from './load-loop';
import { withTimeout } from './timing';

export interface StorageResult {
  single: LoadResult;
  batched: LoadResult & { batch: number };
  /** appendMany calls; units are records (one per document per call). */
  many: LoadResult & { documents: number };
}

const HOST = 'bench-storage-host';

export async function runStorageAppends(databaseUrl: string, config: Readonly<BenchConfig>): Promise<StorageResult> {
  const storage = await openStorage({ databaseUrl });
  try {
    const single = await appendPhase(storage.data, { space: 'counter', key: 'raw-single' }, 1, config);
    const batched = await appendPhase(storage.data, { space: 'counter', key: 'raw-batched' }, config.batch, config);
    const many = await appendManyPhase(storage.data, config);
    return { single, batched: { ...batched, batch: config.batch }, many: { ...many, documents: config.clients } };
  } finally {
    await storage.close();
  }
}

async function appendPhase(data: SqlDataService, ref: DocRef, batch: number, config: Readonly<BenchConfig>): Promise<LoadResult> {
  if (!(await data.create(ref, HOST, record(1)))) throw new Error(`${ref.space}/${ref.key} already exists`);
  let head = 1;
  const appendNext = async (): Promise<number> => {
    const records = Array.from({ length: batch }, (_, i) => record(head + 1 + i));
    const r = await data.append(ref, HOST, 1, head, records);
    if (!r.ok) throw new Error(`append at head ${head} was fenced`);
    head += batch;
    return batch;
  };
  for (let i = 0; i < config.warmup; i++) await withTimeout(appendNext(), config.opTimeoutMs, 'warm-up append');
  return runClosedLoop({ workers: 1, durationMs: config.seconds * 1000, maxOps: config.maxOps, opTimeoutMs: config.opTimeoutMs, op: appendNext });
}

async function appendManyPhase(data: SqlDataService, config: Readonly<BenchConfig>): Promise<LoadResult> {
  const docs = Array.from({ length: config.clients }, (_, i) => ({ ref: { space: 'counter', key: `raw-many-${i}` }, head: 1 }));
  for (const d of docs) if (!(await data.create(d.ref, HOST, record(1)))) throw new Error(`${d.ref.space}/${d.ref.key} already exists`);
  const appendNext = async (): Promise<number> => {
    const results = await data.appendMany(docs.map((d) => ({ ref: d.ref, host: HOST, epoch: 1, expectedHead: d.head, records: [record(d.head + 1)] })));
    if (results.some((r) => !r.ok)) throw new Error('an appendMany item was fenced');
    for (const d of docs) d.head++;
    return docs.length;
  };
  for (let i = 0; i < config.warmup; i++) await withTimeout(appendNext(), config.opTimeoutMs, 'warm-up appendMany');
  return runClosedLoop({ workers: 1, durationMs: config.seconds * 1000, maxOps: config.maxOps, opTimeoutMs: config.opTimeoutMs, op: appendNext });
}

/** A change record resembling a counter `add` (seq 1 is the create). */
export function record(seq: number): ChangeRecord {
  return {
    seq,
    who: { agent: 'bench', authority: 'anonymous' },
    request: seq === 1 ? { kind: 'create', arg: {} } : { kind: 'send', channel: 'add', message: { by: 1 }, dedupe: `bench-${seq}` },
    redo: { value: seq },
    undo: seq === 1 ? null : { value: seq - 1 },
  };
}
