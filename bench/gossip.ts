/**
 * @module gossip
 * The gossip failure detector's figures for `npm run bench` (the lead wires `runGossipBench` into
 * run.ts): the deterministic simulation (services/gossip/simulation.ts) at the given sizes and
 * loss rates, printed next to the seed's figures, plus one JSON-ready object. Simulated time, so
 * machine load does not move detection times; only the wall time to compute them.
 * Standalone: `node dist/bench/gossip.js [members,...]`.
 */
import { gossipDefaults } from '../services/gossip/config';
import { formatSimulationTable, runSimulation, type SimulationResult } from '../services/gossip/simulation';

/** The seed's figures the issue compares against. */
export const GOSSIP_SEED_FIGURES = { deadAfterUnseenMs: 10_000, roundsToSpread1000: '10–11' } as const;

export interface GossipBench { rows: SimulationResult[]; wallMs: number; seed: typeof GOSSIP_SEED_FIGURES }

export function runGossipBench(members: readonly number[] = [10, 100, 1000], lossRates: readonly number[] = [0, 0.01]): GossipBench {
  const started = Date.now();
  const rows: SimulationResult[] = [];
  for (const n of members) for (const loss of lossRates) rows.push(runSimulation({ members: n, lossRate: loss }));
  return { rows, wallMs: Date.now() - started, seed: GOSSIP_SEED_FIGURES };
}

export function printGossipBench(b: GossipBench): void {
  process.stdout.write(`gossip failure detector (simulated; ${(b.wallMs / 1000).toFixed(1)} s to compute)\n`);
  process.stdout.write(formatSimulationTable(b.rows, gossipDefaults) + '\n');
}

if (require.main === module) {
  const members = (process.argv[2] ?? '10,100,1000').split(',').map(Number);
  const b = runGossipBench(members);
  printGossipBench(b);
  process.stdout.write(JSON.stringify({ gossip: b }) + '\n');
}
