/**
 * @module bench-databases
 * The databases each storage-backed scenario runs on: always a fresh in-memory PGlite, and a fresh
 * PostgreSQL database (created and dropped through DATABASE_URL, as the tests do) when that
 * variable is set. Every scenario opens its own, so no scenario sees another's rows.
 */
import { freshDatabase, postgresUrl } from '../test/support/databases';
import { startEmbeddedPostgres } from '../services/storage/pglite-server';

export type DatabaseKind = 'pglite' | 'postgres';

export interface BenchDatabase {
  readonly kind: DatabaseKind;
  readonly connectionString: string;
  close(): Promise<void>;
}

/** The one database the split-tier scenarios run on: PostgreSQL when DATABASE_URL is set, else PGlite. */
export function splitDatabaseKind(): DatabaseKind {
  return postgresUrl() === undefined ? 'pglite' : 'postgres';
}

/** pglite always; postgres too when DATABASE_URL is set. */
export function databaseKinds(): DatabaseKind[] {
  return postgresUrl() === undefined ? ['pglite'] : ['pglite', 'postgres'];
}

export interface BenchDatabaseOptions {
  /** PGlite only: connections its server accepts at once (default 16). Several processes sharing it need more. */
  maxConnections?: number;
}

export async function openBenchDatabase(kind: DatabaseKind, options: BenchDatabaseOptions = {}): Promise<BenchDatabase> {
  if (kind === 'pglite') {
    const embedded = await startEmbeddedPostgres({ maxConnections: options.maxConnections });
    return { kind, connectionString: embedded.connectionString, close: () => embedded.close() };
  }
  // freshDatabase() creates adama_t_<random> through DATABASE_URL and drops it on close.
  const db = await freshDatabase();
  if (db.kind !== 'postgres') { await db.close(); throw new Error('DATABASE_URL vanished while the benchmark ran'); }
  return { kind, connectionString: db.connectionString, close: () => db.close() };
}

/** Opens a database, runs `fn`, and closes the database whatever happens. */
export async function withBenchDatabase<T>(kind: DatabaseKind, fn: (db: BenchDatabase) => Promise<T>, options: BenchDatabaseOptions = {}): Promise<T> {
  const db = await openBenchDatabase(kind, options);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}
