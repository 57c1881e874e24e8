/**
 * @module pglite-server
 * Embedded PostgreSQL for rung 1 (single process) and for tests: a PGlite instance, in memory or
 * persistent in a directory, served on 127.0.0.1 so the ordinary `pg` driver, and therefore the
 * same `SqlDataService` and SQL as on real PostgreSQL, can use it.
 *
 * Startup costs about 2-3 s for a fresh in-memory or new on-disk database (initdb inside
 * WebAssembly) and well under a second to reopen an existing data directory. PGlite runs on a
 * worker thread (pglite-worker.ts) and queries run one at a time, as PGlite has a single session;
 * see pglite-wire-server.ts for what that means for callers.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { PGliteWireServer } from './pglite-wire-server';
import { startPGliteWorker } from './pglite-worker';
import { once } from '../shared/once';

export interface EmbeddedPostgresOptions {
  /** Directory for the database files, created if missing; undefined keeps everything in memory. */
  dataDir?: string;
  /** TCP port on 127.0.0.1; 0 (the default) lets the OS pick a free one. */
  port?: number;
  /** Connections the server accepts at once; must be at least the pool size. Default 16. */
  maxConnections?: number;
}

export interface EmbeddedPostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres (no password, no TLS). */
  readonly connectionString: string;
  readonly port: number;
  /** Stops serving (dropping clients and rolling back their open transactions), then closes PGlite, flushing data to disk. */
  close(): Promise<void>;
}

export const EMBEDDED_DEFAULTS = { port: 0, maxConnections: 16 } as const;

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const dataDir = options.dataDir === undefined ? undefined : resolve(options.dataDir);
  if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });
  const db = await startPGliteWorker({ dataDir });
  const server = new PGliteWireServer({
    exec: (bytes) => db.exec(bytes),
    host: '127.0.0.1',
    port: options.port ?? EMBEDDED_DEFAULTS.port,
    maxConnections: options.maxConnections ?? EMBEDDED_DEFAULTS.maxConnections,
  });
  let port: number;
  try {
    port = await server.start();
  } catch (err) {
    await db.close();
    throw err;
  }
  return {
    connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    close: once(async () => {
      try { await server.stop(); } finally { await db.close(); }
    }),
  };
}
