/**
 * @module host-admin-client
 * The host's unary admin RPCs (Status, Drain, CancelDrain) for callers outside the data path: the CLI, the
 * operator and tests. Every call carries a deadline; a client is reused per address.
 */
import * as grpc from '@grpc/grpc-js';
import type { CancelDrainReply, DrainReply, StatusReply } from './host-messages';
import { internalChannel, INSECURE_INTERNAL, type InternalTls } from './internal-tls';
import { serviceClient } from './load-proto';

type Unary = (req: unknown, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, reply: unknown) => void) => void;

export interface HostAdminClient {
  status(deadlineMs?: number): Promise<StatusReply>;
  /** Starts the drain and waits for it up to `timeoutMs` (it goes on in the background after that). */
  drain(timeoutMs: number, deadlineSlackMs?: number): Promise<DrainReply>;
  /** Ends a drain: the host serves again once its unloads finish. */
  cancelDrain(deadlineMs?: number): Promise<CancelDrainReply>;
  close(): void;
}

let Host: grpc.ServiceClientConstructor | undefined;

/** `tls`: the caller's certificate (operator, admin, or a host draining itself over loopback). */
export function hostAdminClient(address: string, tls: InternalTls = INSECURE_INTERNAL): HostAdminClient {
  Host ??= serviceClient('host.proto', 'adama.host.v1.Host');
  const client = new Host(address, ...internalChannel(tls, 'host')) as unknown as Record<string, Unary> & grpc.Client;
  const call = <T>(method: string, req: unknown, deadlineMs: number) => new Promise<T>((resolve, reject) => {
    client[method]!.call(client, req, { deadline: Date.now() + deadlineMs }, (err, reply) => (err ? reject(err) : resolve(reply as T)));
  });
  return {
    status: (deadlineMs = 20_000) => call<StatusReply>('Status', {}, deadlineMs),
    drain: (timeoutMs, deadlineSlackMs = 20_000) => call<DrainReply>('Drain', { timeout_ms: timeoutMs }, timeoutMs + deadlineSlackMs),
    cancelDrain: (deadlineMs = 60_000) => call<CancelDrainReply>('CancelDrain', {}, deadlineMs),
    close: () => client.close(),
  };
}
