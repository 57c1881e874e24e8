/**
 * @module locator-process
 * `adama locator`: the locator as its own process (gRPC on a port, health service included).
 */
import type { Logger } from '../shared/log';
import { openStorage } from '../storage/open-storage';
import { LOCATOR_POLICY } from '../grpc/call-policy';
import { INSECURE_INTERNAL, type InternalTls } from '../grpc/internal-tls';
import { startGrpcServer } from '../grpc/server';
import { createLocatorService } from './locator-service';

export interface LocatorProcess { port: number; healthPort?: number; close(): Promise<void> }

export async function startLocatorProcess(o: { databaseUrl: string; bindAddress: string; port: number; log: Logger; tls?: InternalTls; schema?: 'migrate' | 'check'; healthPort?: number }): Promise<LocatorProcess> {
  const storage = await openStorage({ databaseUrl: o.databaseUrl, poolSize: 4, log: o.log, schema: o.schema });
  const server = await startGrpcServer(o.bindAddress, o.port, [{ file: 'locator.proto', service: 'adama.locator.v1.Locator', impl: createLocatorService(storage.data, o.log) }], { tls: o.tls ?? INSECURE_INTERNAL, policy: LOCATOR_POLICY, log: o.log, healthPort: o.healthPort });
  o.log.info({ port: server.port, healthPort: server.healthPort }, 'locator.ready');
  return {
    port: server.port,
    ...(server.healthPort !== undefined ? { healthPort: server.healthPort } : {}),
    async close() {
      await server.close(2_000);
      await storage.close();
    },
  };
}
