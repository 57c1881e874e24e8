/**
 * @module gossip-membership
 * Membership from the local gossip sidecar's `Watch` stream (primary), falling back to another
 * source (the hosts-table leases) before the sidecar's first message and whenever the stream
 * breaks, reconnecting with capped exponential backoff. Publishes live members with role `host`
 * through a StaticMembership, which notifies only on real changes (membership.contract.ts).
 */
import * as grpc from '@grpc/grpc-js';
import { serviceClient } from '../grpc/load-proto';
import type { Logger } from '../shared/log';
import { internalChannel, INSECURE_INTERNAL, type InternalTls } from '../grpc/internal-tls';
import type { Membership } from '../routing/membership';
import { StaticMembership } from '../routing/lease-membership';
import type { RoutingHost } from '../routing/rendezvous';
import type { WatchedMember } from './member';
import { once } from '../shared/once';
import { backoffMs } from '../shared/backoff';

export interface GossipMembershipOptions {
  /** host:port of the local sidecar's gRPC server. */
  address: string;
  log: Logger;
  /** Used until the sidecar answers, and whenever it stops answering. */
  fallback: Membership;
  /** mTLS for internal gRPC (internal-tls.ts); plaintext when absent. */
  tls?: InternalTls;
  /** `ready` resolves at the first Watch message or after this long on the fallback, ms (default 2000). */
  readyTimeoutMs?: number;
  /** Reconnect backoff bounds, ms (default 100 → 2000). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Called after each Watch message has been applied (tests, metrics). */
  onWatchMessage?: (members: readonly WatchedMember[]) => void;
}

/** The routing view of a Watch message: alive hosts only (proxies gossip too, but are not routed to). */
export function hostsFromWatch(members: readonly WatchedMember[]): RoutingHost[] {
  return members.filter((m) => m.alive && m.role === 'host').map((m) => ({ id: m.id, address: m.address, weight: Number.isFinite(m.weight) && m.weight > 0 ? m.weight : 0 }));
}

export function connectGossipMembership(o: GossipMembershipOptions): Membership & { ready: Promise<void> } {
  const view = new StaticMembership(o.fallback.current(), o.log);
  const Local = serviceClient('gossip.proto', 'adama.gossip.v1.GossipLocal');
  const client = new Local(o.address, ...internalChannel(o.tls ?? INSECURE_INTERNAL, 'gossip')) as unknown as grpc.Client & { Watch(req: object): grpc.ClientReadableStream<{ members: WatchedMember[] }> };
  let onGossip = false;
  let closed = false;
  let call: grpc.ClientReadableStream<{ members: WatchedMember[] }> | undefined;
  let retry: NodeJS.Timeout | undefined;
  let failures = 0;
  let resolveReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => { resolveReady = resolve; });
  const readyTimer = setTimeout(() => resolveReady(), o.readyTimeoutMs ?? 2_000);
  readyTimer.unref();

  const unsubscribeFallback = o.fallback.onChange((hosts) => { if (!onGossip) view.set(hosts); });

  const connect = (): void => {
    if (closed) return;
    const c = client.Watch({});
    call = c;
    let ended = false;
    c.on('data', (reply: { members: WatchedMember[] }) => {
      if (closed || call !== c) return;
      const members = reply.members ?? [];
      if (!onGossip) o.log.info({ address: o.address }, 'membership.gossip_connected');
      onGossip = true;
      failures = 0;
      view.set(hostsFromWatch(members));
      resolveReady();
      o.onWatchMessage?.(members);
    });
    const lost = (err?: Error): void => {
      if (ended || closed || call !== c) return;
      ended = true;
      if (onGossip) o.log.warn({ address: o.address, err: err?.message }, 'membership.gossip_lost');
      onGossip = false;
      view.set(o.fallback.current());
      retry = setTimeout(connect, backoffMs(failures++, o.minBackoffMs ?? 100, o.maxBackoffMs ?? 2_000));
      retry.unref();
    };
    c.on('error', lost);
    c.on('end', () => lost());
  };
  connect();

  return {
    ready,
    current: () => view.current(),
    onChange: (listener) => view.onChange(listener),
    close: once(async () => {
      closed = true;
      clearTimeout(readyTimer);
      if (retry) clearTimeout(retry);
      unsubscribeFallback();
      call?.cancel();
      client.close();
      resolveReady();
      await view.close();
    }),
  };
}
