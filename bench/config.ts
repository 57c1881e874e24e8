/**
 * @module config
 * Benchmark knobs, each overridable through the environment (BENCH_<NAME>). The defaults keep one
 * run, both databases included, around a minute on a 2-core machine for the
 * single-process scenarios, plus about 45 s for the split-tier ones (on one database).
 */

export const benchDefaults = {
  /** BENCH_MESSAGES: measured one-at-a-time messages, for the relay baseline and send→delta. */
  messages: 500,
  /** BENCH_WARMUP: messages sent first and not measured (JIT, sandbox, pool warm-up). */
  warmup: 50,
  /** BENCH_SECONDS: length of each throughput phase (seconds); every phase also stops at maxOps. */
  seconds: 4,
  /** BENCH_CLIENTS: clients in the many-documents phase, one `counter` document each. */
  clients: 20,
  /** BENCH_IN_FLIGHT: sends each of those clients keeps in flight. */
  inFlight: 8,
  /** BENCH_SENDERS: clients sending to the one shared `counter` document, one send in flight each. */
  senders: 50,
  /** BENCH_BATCH: records per call in the batched raw-storage phase. */
  batch: 32,
  /** BENCH_MAX_OPS: hard cap on operations per throughput phase, so every loop is bounded. */
  maxOps: 200_000,
  /** BENCH_OP_TIMEOUT_MS: one send, delta or append taking longer than this counts as an error. */
  opTimeoutMs: 15_000,
  /** BENCH_FANOUT_DOCS: `chat` documents in the fan-out scenario (single-process and split stacks). */
  fanoutDocs: 20,
  /** BENCH_FANOUT_CLIENTS: clients (sockets) per fan-out document: one sender, the rest receive. */
  fanoutClients: 10,
  /** BENCH_FANOUT_MESSAGES: measured `say` messages per fan-out document, one at a time (after 20 warm-up ones). */
  fanoutMessages: 20,
  /** BENCH_SPLIT_PROXIES: `adama proxy` processes in the split stack (always 3 `adama host`); clients alternate between them. */
  splitProxies: 2,
  /** BENCH_GROUP_COMMIT_DOCS: documents in the group-commit scenario, one append in flight each. */
  groupCommitDocs: 50,
  /** BENCH_FAILOVER_ROUNDS: SIGKILLs of the busiest host (each followed by a restart under the same id). */
  failoverRounds: 5,
  /** BENCH_FAILOVER_DOCS: `chat` documents in the failover scenario, one client (socket) each. */
  failoverDocs: 24,
  /** BENCH_PEER_DOCS / BENCH_PEER_CLIENTS: the peer chat workload (vs Colyseus), documents x clients (sender included). */
  peerDocs: 20,
  peerClients: 10,
  /** BENCH_PEER_MESSAGES: measured messages per document in the peer chat workload (after BENCH_PEER_WARMUP). */
  peerMessages: 60,
  peerWarmup: 10,
  /**
   * BENCH_PEER_WARMUP_RUNS: whole chat-loop runs (on other documents, results discarded) against each
   * server before its measured run, so every server is measured with its hot paths optimised by the
   * JIT, as a server that has run for a while is. Without them the first 1-2 s dominate: our
   * per-delivery CPU halves between the first and the fourth run (measured 0.149 -> 0.073 ms).
   */
  peerWarmupRuns: 3,
  /** BENCH_PAIR_PREFILL: messages already in the chat for the second pair run (the first has none). */
  pairPrefill: 5_000,
  /** BENCH_PAIR_MESSAGES: measured one-at-a-time messages per pair run. */
  pairMessages: 200,
  /** BENCH_VIEWERS: viewers on one document through one proxy (compared with 1 viewer). */
  viewers: 1_000,
  /** BENCH_VIEWERS_MESSAGES: measured messages in the viewers workload, one at a time. */
  viewersMessages: 20,
} as const;

export type BenchConfig = { -readonly [K in keyof typeof benchDefaults]: number };

/** Reads BENCH_* variables over the defaults; throws listing every invalid value. */
export function readBenchConfig(env: NodeJS.ProcessEnv = process.env): Readonly<BenchConfig> {
  const config = { ...benchDefaults } as BenchConfig;
  const problems: string[] = [];
  for (const field of Object.keys(benchDefaults) as (keyof BenchConfig)[]) {
    const name = 'BENCH_' + field.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0 || (field !== 'seconds' && value < 1)) problems.push(`${name}=${raw} (expected a positive number)`);
    else config[field] = field === 'seconds' ? value : Math.floor(value);
  }
  if (problems.length > 0) throw new Error(`invalid benchmark configuration: ${problems.join('; ')}`);
  return Object.freeze(config);
}
