/**
 * @module health-probe
 * Asks the local host's standard grpc.health.v1 `Check` with a deadline. A hung host (SIGSTOP,
 * stuck event loop) times out, a dead one refuses: either way the sidecar stops heartbeating.
 */
import * as grpc from '@grpc/grpc-js';
import { serviceClient } from '../grpc/load-proto';

export interface HealthProbe { check(timeoutMs: number): Promise<boolean>; close(): void }

export function createHealthProbe(address: string): HealthProbe {
  const Health = serviceClient('health.proto', 'grpc.health.v1.Health');
  const client = new Health(address, grpc.credentials.createInsecure(), { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 500 }) as unknown as grpc.Client & {
    Check(req: { service: string }, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void): void;
  };
  return {
    check(timeoutMs) {
      return new Promise<boolean>((resolve) => {
        client.Check({ service: '' }, { deadline: Date.now() + timeoutMs }, (err, res) => resolve(!err && res?.status === 'SERVING'));
      });
    },
    close() { client.close(); },
  };
}
