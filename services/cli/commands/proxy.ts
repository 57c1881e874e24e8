/** @module proxy — `adama proxy`: one web-proxy routing to hosts over gRPC. */
import { hostname } from 'node:os';
import { createLogger } from '../../shared/log';
import { startProxyProcess } from '../../web-proxy/proxy-process';
import { parseFlags, type FlagSpec } from '../options';
import { runUntilSignal } from '../run-until-signal';
import { DATABASE_URL_FLAG, INTERNAL_TLS_FLAGS, internalTlsFlags, METRICS_FLAGS, MIGRATE_FLAG, schemaFlag, telemetryFlags, type Command } from './command';
import { EDGE_FLAGS, edgeFlags } from './edge-flags';

const flags: FlagSpec = {
  ...DATABASE_URL_FLAG,
  ...MIGRATE_FLAG,
  port: { default: '8080', help: 'HTTP/WebSocket port (0 picks a free one)' },
  bind: { default: '127.0.0.1', help: 'interface to listen on' },
  'proxy-id': { help: 'id in logs (default <hostname>-<port>)' },
  'membership-poll-ms': { default: '500', help: 'how often the hosts table is read for membership' },
  ...METRICS_FLAGS,
  gossip: { help: 'host:port of the local gossip sidecar (primary membership; the hosts table is the fallback)' },
  locator: { help: 'host:port of the locator: the membership fallback comes from it and the proxy opens no database connection (--database-url is then ignored)' },
  ...EDGE_FLAGS,
  ...INTERNAL_TLS_FLAGS,
};

export const proxyCommand: Command = {
  name: 'proxy',
  summary: 'run one web-proxy (WebSocket edge) routing documents to adama-hosts over gRPC',
  flags,
  async run(args) {
    const f = parseFlags(args, flags);
    const port = f.int('port', 0, 65535);
    const proxyId = f.get('proxy-id') ?? `${hostname()}-${port}`;
    const log = createLogger('proxy').child({ proxy: proxyId });
    const proc = await startProxyProcess({ proxyId, ...(f.get('locator') ? { locatorAddress: f.get('locator')! } : { databaseUrl: f.get('database-url')! }), port, bindAddress: f.get('bind'), membershipPollMs: f.int('membership-poll-ms', 50), log, telemetry: telemetryFlags(f), gossipAddress: f.get('gossip'), edge: edgeFlags(f), tls: internalTlsFlags(f, log, 'serve'), schema: schemaFlag(f) });
    log.info({ url: proc.url, ws: proc.wsUrl, port: proc.port, metricsPort: proc.metricsPort }, 'proxy.ready');
    return runUntilSignal(() => proc.close(), log, 15_000);
  },
};
