/** @module archiver — `adama archiver`: move cold documents to the object store (docs/archiver.md). */
import { createLogger } from '../../shared/log';
import { ARCHIVER_DEFAULTS } from '../../archiver/archiver-plan';
import { startArchiverProcess } from '../../archiver/archiver-process';
import { parseFlags, type FlagSpec } from '../options';
import { runUntilSignal } from '../run-until-signal';
import { DATABASE_URL_FLAG, INTERNAL_TLS_FLAGS, internalTlsFlags, METRICS_FLAGS, MIGRATE_FLAG, schemaFlag, telemetryFlags, type Command } from './command';

const flags: FlagSpec = {
  ...DATABASE_URL_FLAG,
  ...MIGRATE_FLAG,
  ...METRICS_FLAGS,
  'object-store': { help: 'where archives go: fs:<dir> or s3://bucket/prefix?endpoint=…&path-style=true (credentials from AWS_* env)' },
  'idle-ms': { default: String(ARCHIVER_DEFAULTS.idleMs), help: 'archive free documents unchanged for this long' },
  'docs-per-second': { default: String(ARCHIVER_DEFAULTS.docsPerSecond), help: 'pace: documents started per second' },
  concurrency: { default: String(ARCHIVER_DEFAULTS.concurrency), help: 'documents archived at once' },
  'batch-size': { default: String(ARCHIVER_DEFAULTS.batchSize), help: 'documents claimed per pass' },
  'claim-lease-ms': { default: String(ARCHIVER_DEFAULTS.claimLeaseMs), help: 'how long a claim holds; a dead archiver’s work is retaken after this' },
  'idle-poll-ms': { default: String(ARCHIVER_DEFAULTS.idlePollMs), help: 'sleep after a pass that found nothing' },
  'gc-grace-ms': { default: String(ARCHIVER_DEFAULTS.gcGraceMs), help: 'leave unreferenced objects younger than this (>= claim lease + clock skew)' },
  'gc-interval-ms': { default: String(ARCHIVER_DEFAULTS.gcIntervalMs), help: 'how often orphaned objects are collected' },
  'backoff-max-ms': { default: String(ARCHIVER_DEFAULTS.backoffMaxMs), help: 'cap of the per-document backoff after a failed archive (first wait: one claim lease) or GC delete (first wait: one gc interval), doubling per failure' },
  'worker-id': { help: 'names this replica’s claims (default <hostname>-<pid>)' },
  port: { default: '7300', help: 'admin gRPC port (0 picks a free one)' },
  bind: { default: '127.0.0.1', help: 'interface for the admin gRPC' },
  ...INTERNAL_TLS_FLAGS,
};

export const archiverCommand: Command = {
  name: 'archiver',
  summary: 'run the archiver: cold documents to the object store, admin gRPC for `adama doc`',
  flags,
  async run(args) {
    const f = parseFlags(args, flags);
    const objectStore = f.get('object-store');
    if (!objectStore) throw new Error('--object-store is required (fs:<dir> or s3://bucket/prefix)');
    const log = createLogger('archiver');
    const proc = await startArchiverProcess({
      databaseUrl: f.get('database-url')!, objectStore, bindAddress: f.get('bind')!, port: f.int('port', 0, 65535),
      workerId: f.get('worker-id'),
      config: {
        idleMs: f.int('idle-ms'), docsPerSecond: f.int('docs-per-second', 1), concurrency: f.int('concurrency', 1),
        batchSize: f.int('batch-size', 1), claimLeaseMs: f.int('claim-lease-ms', 1), idlePollMs: f.int('idle-poll-ms'),
        gcGraceMs: f.int('gc-grace-ms'), gcIntervalMs: f.int('gc-interval-ms'), backoffMaxMs: f.int('backoff-max-ms'),
      },
      log, telemetry: telemetryFlags(f), tls: internalTlsFlags(f, log, 'serve'), schema: schemaFlag(f),
    });
    log.info({ port: proc.port, workerId: proc.workerId, metricsPort: proc.metricsPort }, 'archiver.ready');
    return runUntilSignal(() => proc.close(), log, 30_000);
  },
};
