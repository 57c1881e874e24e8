/**
 * The embedded server must give every pool client the illusion of its own session: whole
 * exchanges never interleave, a transaction block excludes everyone else, and a client that
 * vanishes mid-transaction leaves nothing behind.
 */
import { Client, Pool } from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './pglite-server';

describe('startEmbeddedPostgres (in memory)', () => {
  let pg: EmbeddedPostgres;
  let pool: Pool;

  beforeAll(async () => {
    pg = await startEmbeddedPostgres({ maxConnections: 10 });
    pool = new Pool({ connectionString: pg.connectionString, max: 8 });
    await pool.query('CREATE TABLE t (a int PRIMARY KEY, b text NOT NULL)');
  });
  afterAll(async () => {
    await pool.end();
    await pg.close();
  });

  it('runs with the small shared buffers of an embedded database, not a server\'s 128 MB', async () => {
    expect((await pool.query<{ shared_buffers: string }>('SHOW shared_buffers')).rows[0]!.shared_buffers).toBe('16MB');
  });

  it('runs concurrent queries from many clients, even with parameters larger than one TCP read', async () => {
    const big = 'x'.repeat(300_000);
    const results = await Promise.all(Array.from({ length: 120 }, async (_, i) => {
      if (i % 6 === 0) {
        const r = await pool.query<{ a: number; n: number }>('INSERT INTO t (a, b) VALUES ($1, $2) RETURNING a, length(b) AS n', [i, big]);
        return r.rows[0]?.a === i && r.rows[0]?.n === big.length;
      }
      // A different statement with a different number of parameters: a mixed-up Bind would fail or answer wrongly.
      const r = await pool.query<{ s: string }>('SELECT $1::text AS s', [`q${i}`]);
      return r.rows[0]?.s === `q${i}`;
    }));
    expect(results.every(Boolean)).toBe(true);
  });

  it('keeps other clients out of an open transaction block until it ends', async () => {
    const tx = await pool.connect();
    try {
      await tx.query('BEGIN');
      await tx.query(`INSERT INTO t (a, b) VALUES (-1, 'uncommitted')`);
      const outside = pool.query<{ n: number }>('SELECT count(*)::int AS n FROM t WHERE a = -1');
      // Give the outside query time to reach the server while the block is open (a server-side pause, not a test sleep).
      await tx.query('SELECT pg_sleep(0.05)');
      await tx.query('ROLLBACK');
      expect((await outside).rows[0]?.n).toBe(0);
    } finally {
      tx.release();
    }
  });

  it('rolls back the open transaction of a client that disconnects', async () => {
    const client = new Client({ connectionString: pg.connectionString });
    await client.connect();
    await client.query('BEGIN');
    await client.query(`INSERT INTO t (a, b) VALUES (-2, 'abandoned')`);
    await client.end();
    const r = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM t WHERE a = -2');
    expect(r.rows[0]?.n).toBe(0);
  });

  it('refuses connections beyond maxConnections with SQLSTATE 53300', async () => {
    const extra = Array.from({ length: 12 }, () => new Client({ connectionString: pg.connectionString }));
    const outcomes = await Promise.allSettled(extra.map((c) => c.connect()));
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((o) => (o.reason as { code?: string }).code === '53300')).toBe(true);
    await Promise.all(extra.map((c, i) => (outcomes[i]?.status === 'fulfilled' ? c.end() : undefined)));
  });
});
