#!/usr/bin/env -S node --no-node-snapshot
/**
 * @module main
 * The `adama` command. Each deployable is a subcommand; configuration comes from flags, then
 * ADAMA_* environment variables, then validated defaults.
 */
import { parseArgs } from 'node:util';
import { renderErrorsMarkdown } from '../shared/errors';
import { createLogger } from '../shared/log';
import { startDevCluster } from './dev-cluster';

const USAGE = `usage: adama <command> [options]

commands:
  dev          the whole cluster in one process (web-proxy + adama-host) on embedded PGlite
                 --port <n>           (ADAMA_PORT, default 8080; 0 picks a free port)
                 --data-dir <path>    (ADAMA_DATA_DIR, default ./.adama)
                 --database-url <url> (ADAMA_DATABASE_URL; real PostgreSQL instead of PGlite)
                 --spaces-dir <path>  (ADAMA_SPACES_DIR, default examples/spaces)
                 --bind <address>     (ADAMA_BIND, default 127.0.0.1)
                 --host-id <id>       (ADAMA_HOST_ID, default dev-host)
  errors-doc   print docs/errors.md generated from the error registry
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'dev': return runDev(rest);
    case 'errors-doc': process.stdout.write(renderErrorsMarkdown()); return 0;
    case undefined: case 'help': case '--help': case '-h': process.stdout.write(USAGE); return command ? 0 : 2;
    default: process.stderr.write(`adama: unknown command ${command}\n\n${USAGE}`); return 2;
  }
}

async function runDev(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      port: { type: 'string' }, 'data-dir': { type: 'string' }, 'database-url': { type: 'string' },
      'spaces-dir': { type: 'string' }, bind: { type: 'string' }, 'host-id': { type: 'string' },
    },
  });
  const env = process.env;
  const port = Number(values.port ?? env.ADAMA_PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be an integer 0-65535, got ${values.port ?? env.ADAMA_PORT}`);
  const log = createLogger('dev');
  const cluster = await startDevCluster({
    port,
    dataDir: values['data-dir'] ?? env.ADAMA_DATA_DIR ?? './.adama',
    databaseUrl: values['database-url'] ?? env.ADAMA_DATABASE_URL,
    spacesDir: values['spaces-dir'] ?? env.ADAMA_SPACES_DIR,
    bindAddress: values.bind ?? env.ADAMA_BIND,
    hostId: values['host-id'] ?? env.ADAMA_HOST_ID ?? 'dev-host',
    log,
  });
  log.info({ url: cluster.url, ws: cluster.wsUrl, port: cluster.port }, 'dev.ready');
  process.stderr.write(`\n  Adama is running. Demo page: ${cluster.url}   WebSocket: ${cluster.wsUrl}\n  Stop with Ctrl-C (graceful).\n\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'dev.stopping');
      const force = setTimeout(() => { log.error({}, 'dev.stop_timeout'); process.exit(1); }, 15_000);
      force.unref();
      cluster.close().then(resolve, (err: unknown) => { log.error({ err: String(err) }, 'dev.stop_failed'); resolve(); });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  log.info({}, 'dev.stopped');
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => { process.stderr.write(`adama: ${(err as Error).message}\n`); process.exitCode = 1; },
);
