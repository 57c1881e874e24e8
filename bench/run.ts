/**
 * @module run
 * `npm run bench`: the raw `ws` relay baseline, then on each database (in-memory PGlite, and real
 * PostgreSQL when DATABASE_URL is set) send→delta latency, durable appends through the stack and
 * the raw storage append rate; then the split-tier scenarios on one database (PostgreSQL when
 * DATABASE_URL is set, else PGlite): chat fan-out on the single-process stack and on real
 * `adama host`/`adama proxy` child processes, appends/s with and without group commit, and
 * failover time after SIGKILL of a host. Human-readable lines first, then ONE JSON line with every
 * figure. Knobs: see config.ts (BENCH_MESSAGES, BENCH_SECONDS, BENCH_FANOUT_DOCS, ...). Nothing here
 * asserts on timing.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { packageRoot } from '../services/shared/paths';
import { parseBenchArgs } from './args';
import { runPeerBench } from './peer/peer-bench';
import { databaseKinds, splitDatabaseKind, withBenchDatabase, type DatabaseKind } from './bench-databases';
import { runArchiveBench } from './archive';
import { withBenchStack } from './bench-stack';
import { readBenchConfig, type BenchConfig } from './config';
import { runManyDocuments, runOneDocument } from './durable-appends';
import { runFailover } from './failover-time';
import { runGroupCommit } from './group-commit';
import {
  printChildLogs, printDurable, printFailover, printFailure, printFanout, printGroupCommit, printHeader, printRelay, printSendToDelta, printSplitStart, printStorage,
} from './report';
import { runFanout, type FanoutOptions, type FanoutResult } from './split-fanout';
import { startSplitStack, type SplitStack } from './split-stack';
import { openStorage } from '../services/storage/open-storage';
import { deploySpacesFromDir } from '../services/cli/spaces-dir';
import { DEFAULT_SPACES_DIR } from '../services/cli/dev-cluster';
import { runSendToDelta } from './send-to-delta';
import { ratio } from './stats';
import { runStorageAppends } from './storage-appends';
import { describeError, nowMs } from './timing';
import { runRelayBaseline, type RelayResult } from './ws-relay-baseline';

type Figures = Record<string, unknown>;

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2));
  const config = readBenchConfig();
  const cpus = availableParallelism();
  // Other work on the machine moves every figure; the load average at start and end says how much.
  const loadAtStart = loadavg();
  printHeader(config, cpus, loadAtStart);
  process.stdout.write(`workloads: ${[...args.only].join(', ')}\n`);
  const summary: Figures = { date: new Date().toISOString(), node: process.version, cpus, config, only: [...args.only] };
  // The peer workloads first: they are the headline figures (issue 19), each server in its own process.
  const peerOnly = new Set(args.peer);
  if (peerOnly.size > 0) summary.peer = await runPeerBench(config, peerOnly);
  if (args.only.has('stack') || args.only.has('split')) {
    const relay = await runRelayBaseline(config);
    printRelay(relay);
    summary.baseline = { wsRelay: relay };
    if (args.only.has('stack')) {
      const databases: Record<string, Figures> = {};
      for (const kind of databaseKinds()) databases[kind] = await runOnDatabase(kind, config, relay);
      summary.databases = databases;
    }
    if (args.only.has('split')) {
      summary.splitTier = await runSplitTier(splitDatabaseKind(), config, relay);
      summary.archive = await withBenchDatabase(splitDatabaseKind(), (db) => runArchiveBench(db.connectionString));
    }
  }
  summary.loadAverage = { start: loadAtStart, end: loadavg() };
  const out = args.out ?? join(packageRoot(), 'dist', 'bench-results.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.stderr.write(`figures written to ${out}\n`);
}

/** Runs `fn`; a failure is printed, stored as figures[name].error and fails the run's exit code. */
function attempter(tag: string, figures: Figures): (name: string, fn: () => Promise<void>) => Promise<void> {
  return async (name, fn) => {
    try {
      await fn();
    } catch (err) {
      const message = describeError(err);
      printFailure(tag, name, message);
      figures[name] = { error: message };
      process.exitCode = 1;
    }
  };
}

/** Every stack scenario on one fresh database and cluster, then raw storage on another fresh database. */
async function runOnDatabase(kind: DatabaseKind, config: Readonly<BenchConfig>, relay: RelayResult): Promise<Figures> {
  const figures: Figures = {};
  const attempt = attempter(kind, figures);
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

/** Hosts in the split stack (fixed: the figures are about 3 hosts, as `adama cluster` runs). */
const SPLIT_HOSTS = 3;
/**
 * Fan-out warm-up messages per document (unmeasured). The children start cold (JIT, the space's
 * isolate on each host), while the in-process stack runs code the earlier scenarios already
 * warmed; with 3 warm-up messages the split figures came out about 1.4x worse than with 20.
 */
const FANOUT_WARMUP = 20;
/** The one-sender-one-receiver run: at most this many measured messages (BENCH_MESSAGES if lower), after PAIR_WARMUP. */
const PAIR_MESSAGES = 200;
const PAIR_WARMUP = 20;
/** Connections the bench's PGlite accepts: 3 hosts x 10 + proxies x 2 + this process, with room for restarts. */
const SPLIT_PGLITE_CONNECTIONS = 128;

/**
 * The split-tier scenarios, all on one database kind: fan-out on a fresh single-process stack,
 * then on one fresh database for the split stack: group commit through the storage API (before the
 * children start), the fan-out through the children, and failover rounds. Each fan-out is preceded
 * by the same path with one document and two clients (no concurrency), to separate the cost of the
 * extra hops from the cost of load.
 */
async function runSplitTier(kind: DatabaseKind, config: Readonly<BenchConfig>, relay: RelayResult): Promise<Figures> {
  const figures: Figures = { database: kind, hosts: SPLIT_HOSTS, proxies: config.splitProxies };
  const attempt = attempter('split', figures);
  const fanoutOptions = (newClient: FanoutOptions['newClient']): FanoutOptions => ({
    documents: config.fanoutDocs, clientsPerDocument: config.fanoutClients, messages: config.fanoutMessages, warmup: FANOUT_WARMUP,
    opTimeoutMs: config.opTimeoutMs, newClient,
  });
  /** One document, one sender, one receiver: the per-message cost of the path without concurrency. */
  const pairOptions = (newClient: FanoutOptions['newClient']): FanoutOptions => ({
    documents: 1, clientsPerDocument: 2, messages: Math.min(config.messages, PAIR_MESSAGES), warmup: PAIR_WARMUP, opTimeoutMs: config.opTimeoutMs, newClient,
  });
  let single: FanoutResult | undefined;
  let singlePair: FanoutResult | undefined;
  await attempt('fanoutSingleProcess', () => withBenchDatabase(kind, (db) => withBenchStack(db.connectionString, async (stack) => {
    await attempt('pairSingleProcess', async () => {
      singlePair = await runFanout(pairOptions((name) => stack.client(name)));
      printFanout('pair single-process', singlePair, relay);
      figures.pairSingleProcess = singlePair;
    });
    single = await runFanout(fanoutOptions((name) => stack.client(name)));
    printFanout('fanout single-process', single, relay);
    figures.fanoutSingleProcess = { ...single, deltaVsRelayP50: ratio(single.delta.p50Ms, relay.latency.p50Ms), deltaVsRelayP99: ratio(single.delta.p99Ms, relay.latency.p99Ms) };
  })));
  await attempt('splitStack', () => withBenchDatabase(kind, async (db) => {
    const storage = await openStorage({ databaseUrl: db.connectionString });
    let stack: SplitStack | undefined;
    try {
      await deploySpacesFromDir(storage.data, DEFAULT_SPACES_DIR);
      await attempt('groupCommit', async () => {
        const r = await runGroupCommit(storage.data, config);
        printGroupCommit('group commit', r);
        figures.groupCommit = r;
      });
      const t0 = nowMs();
      stack = await startSplitStack({ databaseUrl: db.connectionString, hosts: SPLIT_HOSTS, proxies: config.splitProxies });
      const s = stack;
      figures.stackStartMs = Math.round(nowMs() - t0);
      printSplitStart('split', kind, SPLIT_HOSTS, config.splitProxies, nowMs() - t0);
      await attempt('pairSplit', async () => {
        const r = await runFanout({ ...pairOptions((name, index) => s.client(name, index)), children: () => s.pids() });
        printFanout('pair split', r, relay, singlePair);
        figures.pairSplit = r;
      });
      await attempt('fanoutSplit', async () => {
        const r = await runFanout({ ...fanoutOptions((name, index) => s.client(name, index)), children: () => s.pids() });
        printFanout('fanout split', r, relay, single);
        figures.fanoutSplit = {
          ...r, deltaVsRelayP50: ratio(r.delta.p50Ms, relay.latency.p50Ms), deltaVsRelayP99: ratio(r.delta.p99Ms, relay.latency.p99Ms),
          ...(single ? { vsSingleProcess: { deltaP50: ratio(r.delta.p50Ms, single.delta.p50Ms), deltaP99: ratio(r.delta.p99Ms, single.delta.p99Ms), deliveriesPerSec: ratio(r.deliveriesPerSec, single.deliveriesPerSec) } } : {}),
        };
      });
      await attempt('failover', async () => {
        const r = await runFailover(s, storage.data, {
          rounds: config.failoverRounds, documents: config.failoverDocs, proxies: config.splitProxies,
          opTimeoutMs: config.opTimeoutMs, recoveryTimeoutMs: Math.max(config.opTimeoutMs, 30_000), settleMs: 1_000,
        });
        printFailover('failover', r);
        figures.failover = r;
      });
    } finally {
      await stack?.close();
      if (stack) {
        const logs = stack.logs();
        printChildLogs('split', logs);
        figures.childLogs = logs;
      }
      await storage.close();
    }
  }, { maxConnections: SPLIT_PGLITE_CONNECTIONS }));
  return figures;
}

main().catch((err: unknown) => {
  process.stderr.write(`benchmark failed: ${describeError(err)}\n`);
  process.exitCode = 1;
});
