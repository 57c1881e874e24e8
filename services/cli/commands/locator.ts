/** @module locator — `adama locator`: the gRPC locator over the directory table. */
import { createLogger } from '../../shared/log';
import { startLocatorProcess } from '../../locator/locator-process';
import { parseFlags, type FlagSpec } from '../options';
import { runUntilSignal } from '../run-until-signal';
import { DATABASE_URL_FLAG, HEALTH_PORT_FLAG, healthPortFlag, INTERNAL_TLS_FLAGS, internalTlsFlags, MIGRATE_FLAG, schemaFlag, type Command } from './command';

const flags: FlagSpec = {
  ...DATABASE_URL_FLAG,
  ...MIGRATE_FLAG,
  port: { default: '7000', help: 'gRPC port (0 picks a free one)' },
  bind: { default: '127.0.0.1', help: 'interface for gRPC' },
  ...HEALTH_PORT_FLAG,
  ...INTERNAL_TLS_FLAGS,
};

export const locatorCommand: Command = {
  name: 'locator',
  summary: 'run the locator (gRPC view of the findbind directory)',
  flags,
  async run(args) {
    const f = parseFlags(args, flags);
    const log = createLogger('locator');
    const proc = await startLocatorProcess({ databaseUrl: f.get('database-url')!, bindAddress: f.get('bind')!, port: f.int('port', 0, 65535), log, tls: internalTlsFlags(f, log, 'serve'), schema: schemaFlag(f), healthPort: healthPortFlag(f) });
    return runUntilSignal(() => proc.close(), log, 10_000);
  },
};
