/**
 * @module durable-appends
 * Acknowledged (hence durable) sends per second through the whole stack, on `counter` documents:
 * - many documents: `clients` clients, each on its own document, each with `inFlight` sends
 *   outstanding; shows how far the host scales across documents.
 * - one document: `senders` clients on the same document, one send in flight each; every batch
 *   becomes one fenced append (group commit per document), so records per append is reported.
 * The append probe counts the host's appends for the documents of the phase: records per document
 * append, and document appends per statement (the host's group commit across documents).
 */
import type { AdamaDocument } from '../client/index';
import type { BenchConfig } from './config';
import type { BenchStack } from './bench-stack';
import { openAppendProbe, type AppendCounts } from './append-probe';
import { runClosedLoop, type LoadResult } from './load-loop';
import { round } from './stats';
import { withTimeout } from './timing';

export interface DurableResult extends LoadResult {
  documents: number;
  senders: number;
  /** What reached the log for these documents during the phase (see append-probe.ts). */
  appends: AppendCounts;
  /** Records per document append: group commit within a document. */
  recordsPerAppend: number;
  /** Document appends per statement: group commit across documents. */
  documentsPerStatement: number;
}

/** Sends each client makes before the measured phase (sandbox and pool warm-up). */
const WARMUP_SENDS_PER_DOC = 5;

export async function runManyDocuments(stack: BenchStack, config: Readonly<BenchConfig>): Promise<DurableResult> {
  const prefix = `many-${Date.now().toString(36)}`;
  const docs: AdamaDocument[] = [];
  for (let i = 0; i < config.clients; i++) {
    const client = stack.client(`writer${i}`);
    const key = `${prefix}-${i}`;
    await withTimeout(client.createDocument('counter', key, { start: 0 }), config.opTimeoutMs, 'createDocument');
    docs.push(client.connect('counter', key));
  }
  return measure(config, docs, config.clients * config.inFlight, (w) => docs[w % docs.length]!, (key) => key.startsWith(prefix));
}

export async function runOneDocument(stack: BenchStack, config: Readonly<BenchConfig>): Promise<DurableResult> {
  const key = `shared-${Date.now().toString(36)}`;
  const docs: AdamaDocument[] = [];
  for (let i = 0; i < config.senders; i++) {
    const client = stack.client(`sender${i}`);
    if (i === 0) await withTimeout(client.createDocument('counter', key, { start: 0 }), config.opTimeoutMs, 'createDocument');
    docs.push(client.connect('counter', key));
  }
  return measure(config, docs, config.senders, (w) => docs[w]!, (k) => k === key);
}

async function measure(
  config: Readonly<BenchConfig>, docs: AdamaDocument[], workers: number,
  docOf: (worker: number) => AdamaDocument, isOurKey: (key: string) => boolean,
): Promise<DurableResult> {
  await withTimeout(Promise.all(docs.map((d) => d.ready)), config.opTimeoutMs, 'first views');
  for (let i = 0; i < WARMUP_SENDS_PER_DOC; i++) {
    await withTimeout(Promise.all(docs.map((d) => d.send('add', { by: 1 }))), config.opTimeoutMs, 'warm-up sends');
  }
  const probe = openAppendProbe((ref) => ref.space === 'counter' && isOurKey(ref.key));
  let result: LoadResult;
  let appends: AppendCounts;
  try {
    result = await runClosedLoop({
      workers,
      durationMs: config.seconds * 1000,
      maxOps: config.maxOps,
      opTimeoutMs: config.opTimeoutMs,
      op: async (w) => { await docOf(w).send('add', { by: 1 }); },
    });
    appends = probe.counts();
  } finally {
    probe.close();
  }
  await Promise.all(docs.map((d) => d.end()));
  const documents = new Set(docs.map((d) => d.key)).size;
  return {
    ...result, documents, senders: workers, appends,
    recordsPerAppend: appends.documentAppends === 0 ? 0 : round(appends.records / appends.documentAppends, 2),
    documentsPerStatement: appends.statements === 0 ? 0 : round(appends.documentAppends / appends.statements, 2),
  };
}
