/**
 * @module peer/adama-server
 * Our single-process server (web-proxy + adama-host, `startDevCluster`) in its own process, so
 * the load generator does not share its event loop and its CPU can be read from /proc. The
 * database comes from BENCH_SERVER_DATABASE_URL (a fresh PostgreSQL database the parent made);
 * without it, an in-memory PGlite runs inside this process (its worker thread's CPU counts as
 * the server's, as it would in production on one machine). BENCH_SERVER_SPACES_DIR overrides the
 * deployed spaces (default examples/spaces). The per-address edge limits are lifted as in
 * bench-stack.ts. Prints `{"event":"adama.ready","ws":...}` on stdout when serving; SIGTERM
 * closes the cluster (documents unload) and exits.
 */
import { startDevCluster } from '../../services/cli/dev-cluster';
import { silentLogger } from '../../services/shared/log';
import { startEmbeddedPostgres } from '../../services/storage/pglite-server';
import { BENCH_PROXY_LIMITS } from '../bench-stack';

/** The PGlite server's connections: one host's pools and this process; generous. */
const PGLITE_CONNECTIONS = 64;

async function main(): Promise<void> {
  const external = process.env.BENCH_SERVER_DATABASE_URL;
  const embedded = external ? undefined : await startEmbeddedPostgres({ maxConnections: PGLITE_CONNECTIONS });
  const databaseUrl = external ?? embedded!.connectionString;
  const spacesDir = process.env.BENCH_SERVER_SPACES_DIR || undefined;
  const cluster = await startDevCluster({ port: 0, dataDir: '', databaseUrl, spacesDir, hostId: 'bench-peer-host', log: silentLogger, proxy: BENCH_PROXY_LIMITS });
  process.stdout.write(`${JSON.stringify({ event: 'adama.ready', ws: cluster.wsUrl, database: external ? 'postgres' : 'pglite' })}\n`);
  process.once('SIGTERM', () => {
    void cluster.close().then(() => embedded?.close()).finally(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`adama server failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
