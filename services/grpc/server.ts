/**
 * @module server
 * Starts a gRPC server on loopback (or a given interface) with our services and the standard
 * grpc.health.v1 service, so probes and load balancers can ask `Check` without knowing our API.
 * The overall status (service "") is what `setHealth` says: NOT_SERVING while a host drains or
 * stops, so readiness and the gossip sidecar take it out of routing. The service "liveness" is
 * SERVING whenever the process answers at all: a liveness probe must not restart a host for
 * draining (a drain may take minutes; a restart mid-drain would throw the drain away).
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../shared/log';
import { authorizeByRole, INSECURE_INTERNAL, loadCertificates, serverCredentials, type InternalTls, type MethodPolicy } from './internal-tls';
import { serviceClient } from './load-proto';

export type HealthStatus = 'SERVING' | 'NOT_SERVING';

/** The grpc.health.v1 service name a liveness probe asks: alive, whatever the serving status. */
export const LIVENESS_SERVICE = 'liveness';

export interface RunningGrpcServer {
  port: number;
  /** The plaintext health-only port, when ServerSecurity.healthPort asked for one. */
  healthPort?: number;
  setHealth(status: HealthStatus): void;
  /** Stops accepting calls, waits up to graceMs for calls to finish, then forces the rest closed. */
  close(graceMs?: number): Promise<void>;
}

/**
 * mTLS and who may call what (internal-tls.ts); plaintext and unchecked when absent or insecure.
 * `healthPort`: also serve grpc.health.v1 alone, plaintext, on this port (0: any free one), for
 * probes that cannot present a client certificate (the kubelet's gRPC probe speaks no TLS). It
 * says SERVING or NOT_SERVING and nothing else, so it needs no authorization.
 */
export interface ServerSecurity { tls: InternalTls; policy: MethodPolicy; log: Logger; healthPort?: number }

export async function startGrpcServer(
  bindAddress: string,
  port: number,
  services: { file: string; service: string; impl: grpc.UntypedServiceImplementation }[],
  security?: ServerSecurity,
): Promise<RunningGrpcServer> {
  const tls = security?.tls ?? INSECURE_INTERNAL;
  // Without TLS there is no peer role to check: --insecure-internal trusts the network instead.
  const interceptors = tls.mode === 'mtls' && security ? [authorizeByRole(security.policy, security.log)] : [];
  const server = new grpc.Server({ 'grpc.keepalive_permit_without_calls': 1, 'grpc.http2.min_ping_interval_without_data_ms': 1_000, 'grpc.keepalive_time_ms': 2_000, 'grpc.keepalive_timeout_ms': 2_000, interceptors });
  for (const s of services) server.addService(serviceClient(s.file, s.service).service, s.impl);
  let health: HealthStatus = 'SERVING';
  const healthService = serviceClient('health.proto', 'grpc.health.v1.Health').service;
  const healthImpl = {
    Check(call: grpc.ServerUnaryCall<{ service?: string }, unknown>, cb: grpc.sendUnaryData<{ status: HealthStatus }>) {
      cb(null, { status: call.request?.service === LIVENESS_SERVICE ? 'SERVING' : health });
    },
  };
  server.addService(healthService, healthImpl);
  const healthOnly = security?.healthPort === undefined ? undefined : new grpc.Server();
  healthOnly?.addService(healthService, healthImpl);
  // Certificates read before the port opens: a server without them would fail its first handshakes.
  const release = tls.mode === 'mtls' ? await loadCertificates(tls) : () => undefined;
  let bound: number;
  try {
    bound = await bind(server, `${bindAddress}:${port}`, serverCredentials(tls));
  } finally {
    release();
  }
  let healthPort: number | undefined;
  if (healthOnly) {
    try {
      healthPort = await bind(healthOnly, `${bindAddress}:${security!.healthPort!}`, grpc.ServerCredentials.createInsecure());
    } catch (err) {
      server.forceShutdown();
      throw err;
    }
  }
  return {
    port: bound,
    ...(healthPort !== undefined ? { healthPort } : {}),
    setHealth(status) { health = status; },
    async close(graceMs = 5_000) {
      healthOnly?.forceShutdown();
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => { server.forceShutdown(); resolve(); }, graceMs);
        force.unref();
        server.tryShutdown(() => { clearTimeout(force); resolve(); });
      });
    },
  };
}

function bind(server: grpc.Server, address: string, credentials: grpc.ServerCredentials): Promise<number> {
  return new Promise<number>((resolve, reject) => server.bindAsync(address, credentials, (err, p) => (err ? reject(err) : resolve(p))));
}
