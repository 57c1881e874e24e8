/**
 * @module gossip-membership
 * Membership from the local gossip sidecar's Watch stream (primary), falling back to another
 * source (the hosts-table leases) while the sidecar is unreachable. Placeholder until the gossip
 * work lands: it serves the fallback unchanged.
 */
import type { Logger } from '../shared/log';
import type { Membership } from '../routing/membership';

export interface GossipMembershipOptions {
  /** host:port of the local sidecar's gRPC server. */
  address: string;
  log: Logger;
  /** Used until the sidecar answers, and whenever it stops answering. */
  fallback: Membership;
}

export function connectGossipMembership(o: GossipMembershipOptions): Membership & { ready: Promise<void> } {
  return Object.assign(o.fallback, { ready: Promise.resolve() });
}
