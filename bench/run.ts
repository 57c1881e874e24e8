/**
 * @module run
 * `npm run bench`: the raw `ws` relay baseline, then on each database (in-memory PGlite, and real
 * PostgreSQL when DATABASE_URL is set) send→delta latency, durable appends through the stack and
 * the raw storage append rate. Human-readable lines first, then ONE JSON line with every figure.
 * Knobs: see config.ts (BENCH_MESSAGES, BENCH_SECONDS, ...). Nothing here asserts on timing.
 */
import { availableParallelism, loadavg } from 'node:os';
import { databaseKinds, withBenchDatabase, type DatabaseKind } from './bench-databases';
import { withBenchStack } from './bench-stack';
import { readBenchConfig, type BenchConfig } from './config';
import { runManyDocuments, runOneDocument } from './durable-appends';
import { printDurable, printFailure, printHeader, printRelay, printSendToDelta, printStorage } from './report';
import { runSendToDelta } from './send-to-delta';
import { ratio } from './stats';
import { runStorageAppends } from './storage-appends';
import { describeError } from './timing';
import { runRelayBaseline, type RelayResult } from './ws-relay-baseline';

type Figures = Record<string, unknown>;

async function main(): Promise<void> {
  const config = readBenchConfig();
  const cpus = availableParallelism();
  // Other work on the machine moves every figure; the load average at start and end says how much.
  const loadAtStart = loadavg();
  printHeader(config, cpus, loadAtStart);
  const relay = await runRelayBaseline(config);
  printRelay(relay);
  const databases: Record<string, Figures> = {};
  for (const kind of databaseKinds()) databases[kind] = await runOnDatabase(kind, config, relay);
  const summary = { date: new Date().toISOString(), node: process.version, cpus, loadAverage: { start: loadAtStart, end: loadavg() }, config, baseline: { wsRelay: relay }, databases };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

/** Every stack scenario on one fresh database and cluster, then raw storage on another fresh database. */
async function runOnDatabase(kind: DatabaseKind, config: Readonly<BenchConfig>, relay: RelayResult): Promise<Figures> {
  const figures: Figures = {};
  const attempt = async (name: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      const message = describeError(err);
      printFailure(kind, name, message);
      figures[name] = { error: message };
      process.exitCode = 1;
    }
  };
  await attempt('stack', () => withBenchDatabase(kind, (db) => withBenchStack(db.connectionString, async (stack) => {
    await attempt('sendToDelta', async () => {
      const r = await runSendToDelta(stack, config);
      printSendToDelta(kind, r, relay);
      figures.sendToDelta = { ...r, deltaVsRelayP50: ratio(r.delta.p50Ms, relay.latency.p50Ms), deltaVsRelayP99: ratio(r.delta.p99Ms, relay.latency.p99Ms) };
    });
    await attempt('manyDocuments', async () => {
      const r = await runManyDocuments(stack, config);
      printDurable(kind, `${r.documents} docs x ${config.inFlight} in flight`, r);
      figures.manyDocuments = r;
    });
    await attempt('oneDocument', async () => {
      const r = await runOneDocument(stack, config);
      printDurable(kind, `1 doc, ${r.senders} senders x 1 in flight`, r);
      figures.oneDocument = r;
    });
  })));
  await attempt('storage', () => withBenchDatabase(kind, async (db) => {
    const r = await runStorageAppends(db.connectionString, config);
    printStorage(kind, r);
    figures.storage = r;
  }));
  return figures;
}

main().catch((err: unknown) => {
  process.stderr.write(`benchmark failed: ${describeError(err)}\n`);
  process.exitCode = 1;
});
