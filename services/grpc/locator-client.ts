/**
 * @module locator-client
 * The locator seen from a proxy: the hosts table's live leases over gRPC (`LiveHosts`), so a
 * proxy's membership fallback (routing/lease-membership.ts, which only needs `liveHosts`) works
 * without a database connection, and where a document is bound (`Lookup`), so a proxy that has
 * no placement for a document goes straight to its owner. Every call has a deadline; a failure
 * rejects, and the membership poller keeps its last known view, as it does when the database blips.
 */
import type * as grpc from '@grpc/grpc-js';
import { internalChannel, type InternalTls } from './internal-tls';
import { serviceClient } from './load-proto';
import type { DataService, HostLease } from '../storage/data-service';
import type { DocRef } from '../shared/doc-ref';

const ROUND_ROBIN = JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] });

export interface LocatorDirectory extends Pick<DataService, 'liveHosts'> {
  /** The host the directory has the document bound to; undefined when it is not bound (or does not exist). */
  ownerOf(ref: DocRef): Promise<string | undefined>;
  close(): void;
}

interface LiveHostMsg { host_id: string; address: string; lease_expires_at_ms: number }
type LiveHostsCall = (req: object, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, reply?: { hosts: LiveHostMsg[] }) => void) => void;
interface LookupReplyMsg { found: boolean; host: string; state: string }
type LookupCall = (req: { space: string; key: string }, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, reply?: LookupReplyMsg) => void) => void;

export function locatorDirectory(address: string, tls: InternalTls, deadlineMs = 2_000): LocatorDirectory {
  const Locator = serviceClient('locator.proto', 'adama.locator.v1.Locator');
  // A name with several addresses (a headless Service) is balanced over, not pinned to its first.
  const client = new Locator(address, ...internalChannel(tls, 'locator', { 'grpc.service_config': ROUND_ROBIN })) as unknown as grpc.Client & { LiveHosts: LiveHostsCall; Lookup: LookupCall };
  return {
    liveHosts: () => new Promise<HostLease[]>((resolve, reject) => {
      client.LiveHosts({}, { deadline: Date.now() + deadlineMs }, (err, reply) => {
        if (err) { reject(err); return; }
        resolve((reply?.hosts ?? []).map((h) => ({ hostId: h.host_id, address: h.address, leaseExpiresAtMs: h.lease_expires_at_ms })));
      });
    }),
    ownerOf: (ref) => new Promise<string | undefined>((resolve, reject) => {
      client.Lookup({ space: ref.space, key: ref.key }, { deadline: Date.now() + deadlineMs }, (err, reply) => {
        if (err) { reject(err); return; }
        resolve(reply?.found === true && reply.state === 'bound' && reply.host !== '' ? reply.host : undefined);
      });
    }),
    close: () => client.close(),
  };
}
