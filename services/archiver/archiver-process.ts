/**
 * @module archiver-process
 * Wiring for `adama archiver`: storage, object store, the archive loop and the admin gRPC server.
 *
 * ADAMA_ARCHIVER_CRASH_AFTER=object-write|directory-update exists FOR TESTS ONLY
 * (test/fault/archiver-crash.test.ts): the process SIGKILLs itself right after that step of the
 * first document it archives, so crash recovery can be tested at exact points. Never set it in
 * production.
 */
import { hostname } from 'node:os';
import { systemClock } from '../shared/clock';
import type { Logger } from '../shared/log';
import { startTelemetry, type TelemetryOptions } from '../shared/telemetry';
import { openStorage } from '../storage/open-storage';
import { ARCHIVER_POLICY } from '../grpc/call-policy';
import type { InternalTls } from '../grpc/internal-tls';
import { startGrpcServer } from '../grpc/server';
import { Archiver, type ArchiverFaults } from './archiver';
import { ArchiverLoop } from './archiver-loop';
import { resolveArchiverConfig, type ArchiverConfig } from './archiver-plan';
import { createArchiverService } from './archiver-service';
import { openObjectStore } from './open-object-store';

export interface ArchiverProcessOptions {
  databaseUrl: string;
  objectStore: string;
  bindAddress: string;
  port: number;
  workerId?: string;
  config?: Partial<ArchiverConfig>;
  log: Logger;
  /** Prometheus endpoint and traces (--metrics-port, --metrics-host, --otlp-traces-url). */
  telemetry?: Pick<TelemetryOptions, 'metricsPort' | 'metricsHost' | 'otlpTracesUrl'>;
  /** mTLS for internal gRPC (internal-tls.ts); plaintext when absent. */
  tls?: InternalTls;
  /** `check`: apply no migrations, refuse a database that lacks one (open-storage.ts). Default migrate. */
  schema?: 'migrate' | 'check';
}

export interface RunningArchiver { port: number; workerId: string; metricsPort: number | undefined; close(): Promise<void> }

export async function startArchiverProcess(o: ArchiverProcessOptions): Promise<RunningArchiver> {
  const config = resolveArchiverConfig(o.config);
  const workerId = o.workerId ?? `${hostname()}-${process.pid}`;
  const telemetry = await startTelemetry({ service: 'adama-archiver', instance: workerId, log: o.log, ...o.telemetry });
  const storage = await openStorage({ databaseUrl: o.databaseUrl, poolSize: config.concurrency + 2, log: o.log, schema: o.schema });
  const store = await openObjectStore(o.objectStore);
  const archiver = new Archiver({
    data: storage.data, store, clock: systemClock, log: o.log, workerId, config, metrics: telemetry.metrics,
    faults: crashFaults(process.env.ADAMA_ARCHIVER_CRASH_AFTER, o.log),
  });
  const loop = new ArchiverLoop({ archiver, data: storage.data, clock: systemClock, log: o.log, workerId, config });
  const server = await startGrpcServer(o.bindAddress, o.port, [{ file: 'archiver.proto', service: 'adama.archiver.v1.Archiver', impl: createArchiverService(archiver) }], o.tls ? { tls: o.tls, policy: ARCHIVER_POLICY, log: o.log } : undefined);
  o.log.info({ storage: storage.describe, store: store.describe(), workerId, config }, 'archiver.config');
  loop.start();
  return {
    port: server.port,
    workerId,
    metricsPort: telemetry.metricsPort,
    async close() {
      server.setHealth('NOT_SERVING');
      await loop.stop();
      await server.close();
      await storage.close();
      await telemetry.shutdown();
    },
  };
}

function crashFaults(point: string | undefined, log: Logger): ArchiverFaults | undefined {
  if (point === undefined || point === '') return undefined;
  if (point !== 'object-write' && point !== 'directory-update') throw new Error(`ADAMA_ARCHIVER_CRASH_AFTER must be object-write or directory-update, got ${point}`);
  const die = (): void => {
    log.warn({ point }, 'archiver.test_crash');
    process.kill(process.pid, 'SIGKILL');
  };
  return point === 'object-write' ? { afterObjectWrite: die } : { afterDirectoryUpdate: die };
}
