/** Migrations on a fresh database: PostgreSQL when DATABASE_URL is set, else in-memory PGlite. */
import { Pool } from 'pg';
import { freshDatabase, type FreshDatabase } from '../../test/support/databases';
import { appliedVersions, migrate, MIGRATIONS, type Migration } from './migrations';

describe('migrate', () => {
  let db: FreshDatabase;
  const pools: Pool[] = [];
  const newPool = (): Pool => {
    const pool = new Pool({ connectionString: db.connectionString, max: 3 });
    // As SqlDataService does: the server ending an idle client (57P01, e.g. a teardown's DROP
    // DATABASE ... WITH (FORCE) racing the pool's end) is not an error of the test; a query's own
    // failure still rejects and fails it. Without a listener the pool's 'error' event throws.
    pool.on('error', () => undefined);
    pools.push(pool);
    return pool;
  };

  beforeEach(async () => { db = await freshDatabase(); });
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.end()));
    await db.close();
  });

  it('creates every table and records each version once', async () => {
    const pool = newPool();
    expect(await migrate(pool)).toEqual(MIGRATIONS.map((m) => m.version));
    const r = await pool.query<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    expect(r.rows.map((row) => row.name)).toEqual(['directory', 'doc_log', 'doc_snapshot', 'hosts', 'schema_migrations', 'spaces']);
    expect(await appliedVersions(pool)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('applies nothing the second time', async () => {
    const pool = newPool();
    await migrate(pool);
    expect(await migrate(pool)).toEqual([]);
  });

  it('lets two pools migrate the same empty database at once, applying each version exactly once', async () => {
    const [first, second] = await Promise.all([migrate(newPool()), migrate(newPool())]);
    expect([...(first ?? []), ...(second ?? [])].sort()).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await appliedVersions(newPool())).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('rolls back a failing migration completely so it can be fixed and rerun', async () => {
    const pool = newPool();
    const broken: Migration = { version: 99, name: 'broken', sql: 'CREATE TABLE half_done (a int); SELECT no_such_function();' };
    await expect(migrate(pool, [...MIGRATIONS, broken])).rejects.toThrow(/no_such_function/);
    expect(await appliedVersions(pool)).toEqual(MIGRATIONS.map((m) => m.version));
    const r = await pool.query<{ found: boolean }>(`SELECT to_regclass('half_done') IS NOT NULL AS found`);
    expect(r.rows[0]?.found).toBe(false);
    expect(await migrate(pool, [...MIGRATIONS, { ...broken, sql: 'CREATE TABLE half_done (a int)' }])).toEqual([99]);
  });

  it('refuses migrations that are not in strictly increasing version order', async () => {
    const m = (version: number): Migration => ({ version, name: `m${version}`, sql: 'SELECT 1' });
    await expect(migrate(newPool(), [m(1), m(3), m(2)])).rejects.toThrow(/strictly increasing/);
    await expect(migrate(newPool(), [m(1), m(1)])).rejects.toThrow(/strictly increasing/);
  });
});
