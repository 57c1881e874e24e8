/**
 * @module open-storage
 * Wiring only: picks real PostgreSQL (when a URL is given) or embedded PGlite, builds the pool,
 * runs migrations and hands back a ready `SqlDataService`.
 */
import { Pool } from 'pg';
import type { Logger } from '../shared/log';
import { AdamaError, E } from '../shared/errors';
import { migrate, pendingMigrations } from './migrations';
import { maskPassword } from '../shared/urls';
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
  /**
   * `migrate` (default) applies pending migrations; `check` applies none and refuses, with
   * SCHEMA_NOT_CURRENT, a database that lacks one: the mode for processes of a rollout whose
   * migrations ran once, as `adama migrate`, before them.
   */
  schema?: 'migrate' | 'check';
}

export interface Storage {
  readonly data: SqlDataService;
  /** Closes the pool, then the embedded database if there is one. */
  close(): Promise<void>;
  /** Where the data lives, for the startup log; never contains a password. */
  readonly describe: string;
  /** Migration versions this open applied (none in `check` mode or on a current database). */
  readonly migrated: readonly number[];
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
  let migrated: number[] = [];
  try {
    if (options.schema === 'check') {
      const pending = await pendingMigrations(pool);
      if (pending.length > 0) throw new AdamaError(E.SCHEMA_NOT_CURRENT, `${describe} lacks migrations ${pending.join(', ')}: run adama migrate first`);
    } else {
      migrated = await migrate(pool);
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { data, close, describe, migrated };
}

