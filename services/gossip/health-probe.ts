/**
 * @module health-probe
 * Asks the local host's standard grpc.health.v1 `Check` with a deadline. A hung host (SIGSTOP,
 * stuck event loop) times out, a dead one refuses: either way the sidecar stops heartbeating.
 * A host that answers NOT_SERVING is alive but draining or stopping: the sidecar announces its
 * departure, so it leaves membership in one round instead of after the failure timeout.
 */
import * as grpc from '@grpc/grpc-js';
import { internalChannel, INSECURE_INTERNAL, type InternalTls } from '../grpc/internal-tls';
import { serviceClient } from '../grpc/load-proto';

export type HealthResult = 'serving' | 'not_serving' | 'failed';

export interface HealthProbe { check(timeoutMs: number): Promise<HealthResult>; close(): void }

export function createHealthProbe(address: string, tls: InternalTls = INSECURE_INTERNAL): HealthProbe {
  const Health = serviceClient('health.proto', 'grpc.health.v1.Health');
  const client = new Health(address, ...internalChannel(tls, 'host', { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 500 })) as unknown as grpc.Client & {
    Check(req: { service: string }, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void): void;
  };
  return {
    check(timeoutMs) {
      return new Promise<HealthResult>((resolve) => {
        client.Check({ service: '' }, { deadline: Date.now() + timeoutMs }, (err, res) =>
          resolve(err ? 'failed' : res?.status === 'SERVING' ? 'serving' : res?.status === 'NOT_SERVING' ? 'not_serving' : 'failed'));
      });
    },
    close() { client.close(); },
  };
}
