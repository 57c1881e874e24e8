/**
 * @module databases
 * Fresh, isolated databases for tests. With DATABASE_URL set, each call creates its own PostgreSQL
 * database (adama_t_<random>) through an admin connection and drops it on close; otherwise each
 * call starts its own in-memory PGlite. Either way tests never share state or clean up by hand.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../../services/storage/pglite-server';
import { openStorage, type Storage } from '../../services/storage/open-storage';

export interface FreshDatabase {
  readonly connectionString: string;
  readonly kind: 'postgres' | 'pglite';
  close(): Promise<void>;
}

/** DATABASE_URL when the environment provides a real PostgreSQL, else undefined. */
export function postgresUrl(): string | undefined {
  const url = process.env.DATABASE_URL;
  return url === undefined || url === '' ? undefined : url;
}

/**
 * An empty database (no migrations run). `adminUrl` names the PostgreSQL server to create it on
 * (default DATABASE_URL; neither: PGlite).
 */
export async function freshDatabase(adminUrl = postgresUrl()): Promise<FreshDatabase> {
  if (adminUrl === undefined) {
    // Several child processes (hosts, proxies) may share one test database.
    const embedded = await startEmbeddedPostgres({ maxConnections: 128 });
    return { connectionString: embedded.connectionString, kind: 'pglite', close: () => embedded.close() };
  }
  const name = `adama_t_${randomBytes(6).toString('hex')}`;
  await withAdmin(adminUrl, (admin) => admin.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    connectionString: url.toString(),
    kind: 'postgres',
    // FORCE (PostgreSQL 13+) ends connections a failed test may have leaked.
    close: async () => { await withAdmin(adminUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)); },
  };
}

/** A migrated storage on a fresh database; close() closes the pool and drops the database. */
export async function freshStorage(poolSize = 8, adminUrl = postgresUrl()): Promise<Storage & { connectionString: string; kind: FreshDatabase['kind'] }> {
  const db = await freshDatabase(adminUrl);
  try {
    const storage = await openStorage({ databaseUrl: db.connectionString, poolSize });
    return {
      data: storage.data,
      describe: storage.describe,
      migrated: storage.migrated,
      connectionString: db.connectionString,
      kind: db.kind,
      close: async () => { try { await storage.close(); } finally { await db.close(); } },
    };
  } catch (err) {
    await db.close();
    throw err;
  }
}

async function withAdmin<T>(url: string, fn: (admin: Client) => Promise<T>): Promise<T> {
  const admin = new Client({ connectionString: url });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}
