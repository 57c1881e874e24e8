/**
 * @module peer/peer-bench
 * The issue-19 workloads with Colyseus as the peer in the same run. Every server runs in its own
 * process (ours on one process with PostgreSQL, with PGlite, the split tiers; Colyseus; the raw
 * relay as the floor), the clients in a forked load generator, and each figure is printed next to
 * its ratio to Colyseus and to the baseline. Workloads run one after another, each server started
 * fresh for its workload and stopped after it, so no two servers compete for the two cores.
 *
 * - chat: 20 documents x 10 clients closed loop (config peerDocs/peerClients).
 * - pair: one sender, one receiver, in a chat holding 0 and then pairPrefill messages; baseline
 *   is the raw relay (ws-relay-baseline.ts) + one PostgreSQL commit, both measured in this run.
 * - viewers: one document, 1 and then `viewers` viewers, all through one proxy.
 * - cards: the cards example with 1, 10, 25, 50 players (ours only: the figure is how our cost
 *   per message grows with the views it changes).
 */
import { splitDatabaseKind, withBenchDatabase, type DatabaseKind } from '../bench-databases';
import type { BenchConfig } from '../config';
import { startSplitStack } from '../split-stack';
import { openStorage } from '../../services/storage/open-storage';
import { deploySpacesFromDir } from '../../services/cli/spaces-dir';
import { DEFAULT_SPACES_DIR } from '../../services/cli/dev-cluster';
import { postgresUrl } from '../../test/support/databases';
import { describeError } from '../timing';
import { runRelayBaseline } from '../ws-relay-baseline';
import { measureCommit, type CommitResult } from './pg-commit';
import { runLoad, startAdamaSingle, startColyseus, startRelay, type LoadRun, type ServerProcess } from './processes';
import { printTable, type Row, type TableFigure } from './peer-report';
import type { CardsPoint, ChatLoopResult, PairResult, ViewersResult } from './workloads';
import type { TargetKind } from './chat-target';

import { PEER_WORKLOADS, type PeerWorkload } from '../args';

type Figures = Record<string, unknown>;

/** Bound on one load-generator job (setup, warm-up and measured phase). */
const JOB_TIMEOUT_MS = 240_000;
/** No new message starts after this long in a measured phase of the chat loop. */
const PHASE_MS = 60_000;
const SPLIT_HOSTS = 3;
const SPLIT_PGLITE_CONNECTIONS = 128;

/** CPU seconds of the named server processes (all when `names` is omitted) over one phase. */
function serverCpuSeconds(run: LoadRun<unknown>, phase: string, names?: readonly string[]): number {
  const u = run.cpu[phase];
  if (!u) return Number.NaN;
  const cores = Object.entries(u.children).filter(([n]) => n !== 'loadgen' && (!names || names.includes(n))).reduce((a, [, v]) => a + v, 0);
  return cores * u.seconds;
}

interface Server { name: string; kind: TargetKind; urls: string[]; pids(): Record<string, number | undefined> }

async function withServer<T>(start: () => Promise<ServerProcess>, kind: TargetKind, fn: (s: Server) => Promise<T>): Promise<T> {
  const p = await start();
  try {
    return await fn({ name: p.name, kind, urls: [p.url], pids: () => ({ [p.name]: p.pid }) });
  } finally {
    await p.stop();
  }
}

/**
 * Runs `fn` on our split tiers (3 hosts, config.splitProxies proxies) on a fresh database with the
 * example spaces; `internal` says whether proxy -> host gRPC is mTLS or --insecure-internal.
 */
async function withSplit<T>(config: Readonly<BenchConfig>, fn: (s: Server, proxies: string[]) => Promise<T>, internal: 'mtls' | 'insecure' = 'insecure'): Promise<T> {
  const kind: DatabaseKind = splitDatabaseKind();
  return withBenchDatabase(kind, async (db) => {
    const storage = await openStorage({ databaseUrl: db.connectionString });
    try {
      await deploySpacesFromDir(storage.data, DEFAULT_SPACES_DIR);
      const stack = await startSplitStack({ databaseUrl: db.connectionString, hosts: SPLIT_HOSTS, proxies: config.splitProxies, internal });
      try {
        const urls = stack.proxies.map((p) => String(p.ready.ws));
        return await fn({ name: `ours split${internal === 'mtls' ? ' mTLS' : ''} (${kind})`, kind: 'adama', urls, pids: () => stack.pids() }, urls);
      } finally {
        await stack.close();
      }
    } finally {
      await storage.close();
    }
  }, { maxConnections: SPLIT_PGLITE_CONNECTIONS });
}

/** Our single process on a fresh PostgreSQL database, or with PGlite inside it. */
function withOursSingle<T>(database: 'postgres' | 'pglite', fn: (s: Server) => Promise<T>): Promise<T> {
  if (database === 'pglite') return withServer(() => startAdamaSingle(undefined), 'adama', (s) => fn({ ...s, name: 'ours 1 process (PGlite)' }));
  return withBenchDatabase('postgres', (db) => withServer(() => startAdamaSingle(db.connectionString), 'adama', (s) => fn({ ...s, name: 'ours 1 process (PostgreSQL)' })));
}

/**
 * One row of a table: runs its load; a failure becomes a FAILED row, its error in the JSON and a
 * failing exit code, never an exception, so the other rows still run. Returns the result, if any.
 */
async function addRow<R>(rows: Row[], figures: Figures, name: string, role: Row['role'], load: () => Promise<LoadRun<R>>, toRow: (run: LoadRun<R>) => Pick<Row, 'values' | 'notes'>): Promise<R | undefined> {
  try {
    const run = await load();
    rows.push({ name, role, ...toRow(run) });
    figures[name] = { ...(run.result as object), cpu: run.cpu };
    return run.result;
  } catch (err) {
    rows.push({ name, role, values: {}, notes: `FAILED: ${describeError(err)}` });
    figures[name] = { error: describeError(err) };
    process.exitCode = 1;
    return undefined;
  }
}

const chatFigures: TableFigure[] = [
  { key: 'deliveriesPerSec', label: 'deliveries/s', higherIsBetter: true },
  { key: 'lastSeenP50Ms', label: 'send→last client p50 ms' },
  { key: 'lastSeenP99Ms', label: 'send→last client p99 ms' },
  { key: 'cpuMsPerDelivery', label: 'server CPU ms/delivery' },
];

async function runChat(config: Readonly<BenchConfig>, figures: Figures): Promise<void> {
  const rows: Row[] = [];
  const job = { workload: 'chat' as const, options: { documents: config.peerDocs, clients: config.peerClients, warmup: config.peerWarmup, messages: config.peerMessages, opTimeoutMs: config.opTimeoutMs, phaseMs: PHASE_MS } };
  const warmJob = { ...job, options: { ...job.options, messages: job.options.warmup * 2 } };
  const one = async (s: Server, role: Row['role']): Promise<void> => {
    const warmThenRun = async (): Promise<LoadRun<ChatLoopResult>> => {
      for (let i = 0; i < config.peerWarmupRuns; i++) await runLoad({ kind: s.kind, urls: s.urls }, warmJob, s.pids, JOB_TIMEOUT_MS);
      return runLoad({ kind: s.kind, urls: s.urls }, job, s.pids, JOB_TIMEOUT_MS);
    };
    await addRow<ChatLoopResult>(rows, figures, s.name, role, warmThenRun, (run) => {
      const r = run.result;
      const cpu = serverCpuSeconds(run, 'phase');
      return {
        values: { deliveriesPerSec: r.deliveriesPerSec, lastSeenP50Ms: r.lastSeen.p50Ms, lastSeenP99Ms: r.lastSeen.p99Ms, cpuMsPerDelivery: r.deliveries > 0 ? (cpu * 1000) / r.deliveries : Number.NaN },
        notes: `missed ${r.missedDeliveries}/${r.expectedDeliveries}, errors ${r.errors}`,
      };
    });
  };
  await withServer(startRelay, 'relay', (s) => one({ ...s, name: 'raw relay' }, 'baseline'));
  await withServer(startColyseus, 'colyseus', (s) => one({ ...s, name: 'Colyseus 0.18' }, 'peer'));
  if (postgresUrl() !== undefined) await withOursSingle('postgres', (s) => one(s, 'ours'));
  await withOursSingle('pglite', (s) => one(s, 'ours'));
  await withSplit(config, (s) => one(s, 'ours'));
  // The same split tiers with mTLS between proxies and hosts: what the encryption costs.
  await withSplit(config, (s) => one(s, 'ours'), 'mtls');
  printTable(`chat ${config.peerDocs} docs x ${config.peerClients} clients, closed loop, ${config.peerMessages} msgs/doc after ${config.peerWarmupRuns} warm-up runs (deliveries = receivers, ${config.peerClients - 1} per message)`, chatFigures, rows);
  figures.rows = rows;
}

const pairFigures: TableFigure[] = [
  { key: 'p50Ms', label: 'send→delta p50 ms' },
  { key: 'p99Ms', label: 'send→delta p99 ms' },
  { key: 'ackP50Ms', label: 'send→ack p50 ms' },
];

async function runPairs(config: Readonly<BenchConfig>, figures: Figures): Promise<void> {
  const relay = await runRelayBaseline(config);
  let commit: CommitResult | undefined;
  const pg = postgresUrl();
  if (pg !== undefined) commit = await withBenchDatabase('postgres', (db) => measureCommit(db.connectionString, config.pairMessages));
  const baseline = relay.latency.p50Ms + (commit?.latency.p50Ms ?? 0);
  const rows: Row[] = [{ name: commit ? 'raw relay + 1 PostgreSQL commit' : 'raw relay (no DATABASE_URL: no commit)', role: 'baseline', values: { p50Ms: baseline, p99Ms: relay.latency.p99Ms + (commit?.latency.p99Ms ?? 0) }, notes: `relay p50 ${relay.latency.p50Ms} ms; commit p50 ${commit?.latency.p50Ms ?? '-'} ms` }];
  figures.relay = relay;
  figures.commit = commit ?? null;
  const pairJob = (prefill: number) => ({ workload: 'pair' as const, options: { prefill, warmup: 20, messages: config.pairMessages, opTimeoutMs: config.opTimeoutMs } });
  const both = async (s: Server, role: Row['role']): Promise<void> => {
    const results: Record<number, PairResult> = {};
    for (const prefill of [0, config.pairPrefill]) {
      const r = await addRow<PairResult>(rows, figures, `${s.name}, N=${prefill}`, role, () => runLoad({ kind: s.kind, urls: s.urls }, pairJob(prefill), s.pids, JOB_TIMEOUT_MS), ({ result: p }) => ({
        values: { p50Ms: p.delivery.p50Ms, p99Ms: p.delivery.p99Ms, ackP50Ms: p.ack.p50Ms }, notes: `prefill ${(p.prefillMs / 1000).toFixed(1)} s; errors ${p.errors}`,
      }));
      if (r) results[prefill] = r;
    }
    const empty = results[0];
    const full = results[config.pairPrefill];
    if (empty && full) figures[`${s.name}: p50 N=${config.pairPrefill} / N=0`] = Math.round((full.delivery.p50Ms / empty.delivery.p50Ms) * 100) / 100;
  };
  await withServer(startColyseus, 'colyseus', (s) => both({ ...s, name: 'Colyseus 0.18' }, 'peer'));
  await withOursSingle(pg !== undefined ? 'postgres' : 'pglite', (s) => both(s, 'ours'));
  printTable(`pair: 1 sender, 1 receiver, one message at a time, ${config.pairMessages} msgs, in a chat holding N messages (the chat keeps the last 1,000)`, pairFigures, rows, { matchPeerBy: (name) => name.replace(/^.*, N=/, 'N=') });
  for (const [k, v] of Object.entries(figures)) if (k.includes(' / N=0')) process.stdout.write(`  ${k}: ${String(v)}x\n`);
  figures.rows = rows;
}

const viewerFigures: TableFigure[] = [
  { key: 'lastP50Ms', label: 'send→last viewer p50 ms' },
  { key: 'lastP99Ms', label: 'send→last viewer p99 ms' },
  { key: 'ackP99Ms', label: 'sender ack p99 ms' },
  { key: 'joinCpuS', label: 'server CPU s to join' },
  { key: 'missed', label: 'missed deliveries' },
];

async function runViewerSet(config: Readonly<BenchConfig>, figures: Figures): Promise<void> {
  const rows: Row[] = [];
  const job = (viewers: number) => ({ workload: 'viewers' as const, options: { viewers, warmup: 3, messages: config.viewersMessages, opTimeoutMs: config.opTimeoutMs * 2, joinConcurrency: 50 } });
  const both = async (s: Server, role: Row['role']): Promise<void> => {
    const ackP99: number[] = [];
    for (const viewers of [1, config.viewers]) {
      const r = await addRow<ViewersResult>(rows, figures, `${s.name}, ${viewers} viewer${viewers === 1 ? '' : 's'}`, role, () => runLoad({ kind: s.kind, urls: s.urls }, job(viewers), s.pids, JOB_TIMEOUT_MS * 2), (run) => {
        const v = run.result;
        return {
          values: { lastP50Ms: v.lastSeen.p50Ms, lastP99Ms: v.lastSeen.p99Ms, ackP99Ms: v.ack.p99Ms, joinCpuS: serverCpuSeconds(run, 'join'), missed: v.missedDeliveries },
          notes: `join ${(v.joinMs / 1000).toFixed(1)} s wall; ${v.messages} msgs; errors ${v.errors}${Object.keys(v.errorSamples).length ? ' ' + JSON.stringify(v.errorSamples) : ''}`,
        };
      });
      if (r) ackP99.push(r.ack.p99Ms);
    }
    if (ackP99.length === 2 && ackP99.every((v) => typeof v === 'number' && v > 0)) figures[`${s.name}: ack p99 ${config.viewers} viewers / 1 viewer`] = Math.round((ackP99[1]! / ackP99[0]!) * 100) / 100;
  };
  await withServer(startRelay, 'relay', (s) => both({ ...s, name: 'raw relay' }, 'baseline'));
  await withServer(startColyseus, 'colyseus', (s) => both({ ...s, name: 'Colyseus 0.18' }, 'peer'));
  // Every viewer and the sender on the first proxy: "through one proxy".
  await withSplit(config, (s, proxies) => both({ ...s, urls: proxies.slice(0, 1) }, 'ours'));
  printTable(`viewers: one document, one sender, 1 and ${config.viewers} viewers through one proxy, ${config.viewersMessages} msgs one at a time`, viewerFigures, rows, { matchPeerBy: (name) => name.replace(/^.*, /, '') });
  for (const [k, v] of Object.entries(figures)) if (k.includes(' / 1 viewer')) process.stdout.write(`  ${k}: ${String(v)}x\n`);
  figures.rows = rows;
}

const cardsFigures: TableFigure[] = [
  { key: 'changedViews', label: 'views changed per play' },
  { key: 'lastP50Ms', label: 'send→last player p50 ms' },
  { key: 'lastP99Ms', label: 'send→last player p99 ms' },
  { key: 'cpuMsPerPlay', label: 'server CPU ms/play' },
  { key: 'cpuMsPerView', label: 'server CPU ms/changed view' },
  { key: 'vsOnePlayer', label: 'CPU/play ÷ 1 player' },
];

/** Players in the cards workload; each play changes every one of their views (each different). */
const CARDS_PLAYERS = [1, 10, 25, 50];
/** Measured plays per player count (after 10 unmeasured ones). */
const CARDS_PLAYS = 40;

async function runCardsSet(config: Readonly<BenchConfig>, figures: Figures): Promise<void> {
  const rows: Row[] = [];
  const job = { workload: 'cards' as const, options: { players: CARDS_PLAYERS, messages: CARDS_PLAYS, opTimeoutMs: config.opTimeoutMs } };
  const database = postgresUrl() !== undefined ? 'postgres' : 'pglite';
  await withOursSingle(database, async (s) => {
    const run = await runLoad<CardsPoint[]>({ kind: s.kind, urls: s.urls }, job, s.pids, JOB_TIMEOUT_MS * 2);
    let onePlayer: number | undefined;
    for (const p of run.result) {
      const cpuMsPerPlay = p.plays > 0 ? (serverCpuSeconds(run, `p${p.players}`) * 1000) / p.plays : Number.NaN;
      onePlayer ??= cpuMsPerPlay;
      rows.push({ name: `${s.name}, ${p.players} players`, role: 'ours', values: { changedViews: p.players, lastP50Ms: p.lastSeen.p50Ms, lastP99Ms: p.lastSeen.p99Ms, cpuMsPerPlay, cpuMsPerView: cpuMsPerPlay / p.players, vsOnePlayer: cpuMsPerPlay / onePlayer }, notes: `${p.plays} plays; errors ${p.errors}${p.errors ? ' ' + JSON.stringify(p.errorSamples) : ''}` });
    }
    figures.points = run.result;
    figures.cpu = run.cpu;
  });
  printTable(`cards: P players on one game (examples/spaces/cards), each play changes all P views (each different), ${job.options.messages} plays per P`, cardsFigures, rows);
  figures.rows = rows;
}

export async function runPeerBench(config: Readonly<BenchConfig>, only: ReadonlySet<PeerWorkload>): Promise<Figures> {
  const out: Figures = {};
  const steps: Record<PeerWorkload, (c: Readonly<BenchConfig>, f: Figures) => Promise<void>> = { chat: runChat, pair: runPairs, viewers: runViewerSet, cards: runCardsSet };
  for (const w of PEER_WORKLOADS) {
    if (!only.has(w)) continue;
    const f: Figures = {};
    try {
      await steps[w](config, f);
    } catch (err) {
      process.stdout.write(`[peer] ${w} FAILED: ${describeError(err)}\n`);
      f.error = describeError(err);
      process.exitCode = 1;
    }
    out[w] = f;
  }
  return out;
}
