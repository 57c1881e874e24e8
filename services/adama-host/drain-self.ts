/**
 * @module drain-self
 * `adama host drain-self`, the host pod's preStop hook: drains the host at a known address over
 * gRPC. No database: a draining host has already left the hosts table, and the hook must not
 * depend on Postgres being reachable. A host that does not answer has already stopped.
 */
import * as grpc from '@grpc/grpc-js';
import { hostAdminClient } from '../grpc/host-admin-client';
import type { InternalTls } from '../grpc/internal-tls';
import type { DrainReply } from '../grpc/host-messages';

/** Slack on top of the drain's own timeout before the call gives up on the host (the pod's grace period has 30 s). */
const DRAIN_DEADLINE_SLACK_MS = 5_000;

export type DrainSelfOutcome =
  | { reachable: true; reply: DrainReply }
  /** Nothing listens (already stopped, or stopped mid-drain): nothing left to drain here. */
  | { reachable: false; reason: string };

/** Connection refused, or the server closed while we called. */
export const isUnreachable = (err: unknown): boolean => (err as Partial<grpc.ServiceError>)?.code === grpc.status.UNAVAILABLE;

/** Drains the host at `address`; an unreachable host is an outcome, any other failure throws. */
export async function drainSelf(address: string, timeoutMs: number, tls?: InternalTls): Promise<DrainSelfOutcome> {
  const client = hostAdminClient(address, tls);
  try {
    return { reachable: true, reply: await client.drain(timeoutMs, DRAIN_DEADLINE_SLACK_MS) };
  } catch (err) {
    if (isUnreachable(err)) return { reachable: false, reason: (err as grpc.ServiceError).details };
    throw err;
  } finally {
    client.close();
  }
}
