/**
 * @module peer/pg-commit
 * The cost of one durable PostgreSQL commit on this machine, measured in the same run as the pair
 * workload: one connection, `INSERT` of one small row in its own transaction (autocommit), one at
 * a time, so each sample is a round trip plus a WAL flush, as our append pays at least once.
 */
import { Client } from 'pg';
import { summarize, type LatencySummary } from '../stats';
import { nowMs } from '../timing';

export interface CommitResult { latency: LatencySummary }

const WARMUP = 20;

export async function measureCommit(connectionString: string, samples: number): Promise<CommitResult> {
  const client = new Client({ connectionString });
  await client.connect();
  try {
    await client.query('CREATE TABLE IF NOT EXISTS bench_commit (id bigserial PRIMARY KEY, body text NOT NULL)');
    const body = JSON.stringify({ text: 'a message of about the size a chat send carries' });
    const ms: number[] = [];
    for (let i = 0; i < WARMUP + samples; i++) {
      const t0 = nowMs();
      await client.query('INSERT INTO bench_commit (body) VALUES ($1)', [body]);
      if (i >= WARMUP) ms.push(nowMs() - t0);
    }
    return { latency: summarize(ms) };
  } finally {
    await client.end();
  }
}
