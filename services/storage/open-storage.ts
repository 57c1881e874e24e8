/**
 * @module open-storage
 * Wiring only: picks real PostgreSQL (when a URL is given) or embedded PGlite, builds the pool,
 * runs migrations and hands back a ready `SqlDataService`.
 */
import { Pool } from 'pg';
import type { Logger } from '../shared/log';
import { migrate } from './migrations';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './pglite-server';
import { SqlDataService } from './sql-data-service';

export interface StorageOptions {
  /** postgres://… of a real PostgreSQL; when absent, an embedded PGlite is started. */
  databaseUrl?: string;
  /** PGlite data directory (created if missing); absent means in memory. Ignored with databaseUrl. */
  dataDir?: string;
  /**
   * Connections in the pool. Default 10. On PGlite queries run one at a time anyway, so more
   * connections only let more requests wait in line; an open transaction stalls all of them.
   */
  poolSize?: number;
  log?: Logger;
}

export interface Storage {
  readonly data: SqlDataService;
  /** Closes the pool, then the embedded database if there is one. */
  close(): Promise<void>;
  /** Where the data lives, for the startup log; never contains a password. */
  readonly describe: string;
}

export const STORAGE_DEFAULTS = { poolSize: 10 } as const;

export async function openStorage(options: StorageOptions = {}): Promise<Storage> {
  const poolSize = options.poolSize ?? STORAGE_DEFAULTS.poolSize;
  let embedded: EmbeddedPostgres | null = null;
  let connectionString: string;
  let describe: string;
  if (options.databaseUrl !== undefined && options.databaseUrl !== '') {
    connectionString = options.databaseUrl;
    describe = `postgres ${maskPassword(options.databaseUrl)}`;
  } else {
    // Headroom above the pool for the occasional extra client (a migration, a psql session).
    embedded = await startEmbeddedPostgres({ dataDir: options.dataDir, maxConnections: poolSize + 4 });
    connectionString = embedded.connectionString;
    describe = `embedded PGlite (${options.dataDir ?? 'in memory'}) at ${embedded.connectionString}`;
  }
  const pool = new Pool({ connectionString, max: poolSize });
  const data = new SqlDataService(pool, { ownsPool: true, log: options.log });
  const close = async (): Promise<void> => {
    try { await data.close(); } finally { await embedded?.close(); }
  };
  try {
    await migrate(pool);
  } catch (err) {
    await close();
    throw err;
  }
  return { data, close, describe };
}

/** postgres://user:secret@host/db → postgres://user:***@host/db */
export function maskPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable database URL)';
  }
}
