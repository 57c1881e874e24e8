/** @module dev — `adama dev`: the whole cluster in one process (rung 1). */
import { createLogger } from '../../shared/log';
import { startDevCluster } from '../dev-cluster';
import { parseFlags, type FlagSpec } from '../options';
import { runUntilSignal } from '../run-until-signal';
import { METRICS_FLAGS, telemetryFlags, type Command } from './command';
import { EDGE_FLAGS, edgeFlags } from './edge-flags';

const flags: FlagSpec = {
  port: { default: '8080', help: 'HTTP/WebSocket port (0 picks a free one)' },
  'data-dir': { default: './.adama', help: 'embedded PGlite data directory' },
  'database-url': { help: 'real PostgreSQL instead of PGlite' },
  'spaces-dir': { help: 'folder of spaces to deploy (default examples/spaces)' },
  bind: { default: '127.0.0.1', help: 'interface to listen on' },
  'host-id': { default: 'dev-host', help: 'id of the in-process host' },
  ...METRICS_FLAGS,
  ...EDGE_FLAGS,
};

export const devCommand: Command = {
  name: 'dev',
  summary: 'the whole cluster in one process (web-proxy + adama-host) on embedded PGlite',
  flags,
  async run(args) {
    const f = parseFlags(args, flags);
    const log = createLogger('dev');
    const cluster = await startDevCluster({
      port: f.int('port', 0, 65535), dataDir: f.get('data-dir')!, databaseUrl: f.get('database-url'),
      spacesDir: f.get('spaces-dir'), bindAddress: f.get('bind'), hostId: f.get('host-id')!, log, telemetry: telemetryFlags(f),
      edge: edgeFlags(f),
    });
    log.info({ url: cluster.url, ws: cluster.wsUrl, port: cluster.port, metricsPort: cluster.metricsPort }, 'dev.ready');
    // A token for the demo user, signed by the dev key in the data dir (also: adama token --sub <name>).
    const token = cluster.mintDevToken ? await cluster.mintDevToken('demo') : null;
    const tokenLine = token ? `\n  Demo token (sub "demo", 12 h; auth with it as identity): ${token}\n` : '';
    process.stderr.write(`\n  Adama is running. Demo page: ${cluster.url}   WebSocket: ${cluster.wsUrl}\n${tokenLine}  Stop with Ctrl-C (graceful).\n\n`);
    return runUntilSignal(() => cluster.close(), log, 15_000);
  },
};
