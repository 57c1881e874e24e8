/**
 * @module watch
 * The local `GossipLocal.Watch` service: every open stream gets the full member list at once and
 * again after each change. Full lists rather than diffs: a consumer that reconnects needs no
 * history, and lists are small (members of one cluster).
 */
import type * as grpc from '@grpc/grpc-js';
import type { WatchedMember } from './member';
import type { GossipState } from './state';

export interface WatchHub {
  readonly service: grpc.UntypedServiceImplementation;
  publish(members: WatchedMember[]): void;
  close(): void;
}

/** Live members (alive) plus recent deletions (alive=false), so consumers can log why one went. */
export function watchedMembers(s: GossipState): WatchedMember[] {
  const live = s.chain.current.ids.map((id) => { const m = s.meta.get(id)!; return { id, address: m.address, role: m.role, weight: m.weight, alive: true }; });
  const gone: WatchedMember[] = [];
  for (const [id, t] of s.tombstones) if (t.meta) gone.push({ id, address: t.meta.address, role: t.meta.role, weight: t.meta.weight, alive: false });
  return [...live, ...gone];
}

/** Publish a state before the first Watch can arrive (the sidecar does, before `gossip.ready`). */
export function createWatchHub(): WatchHub {
  const calls = new Set<grpc.ServerWritableStream<object, { members: WatchedMember[] }>>();
  let last: WatchedMember[] = [];
  return {
    service: {
      Watch(call: grpc.ServerWritableStream<object, { members: WatchedMember[] }>) {
        calls.add(call);
        const drop = () => calls.delete(call);
        call.on('cancelled', drop);
        call.on('error', drop);
        call.write({ members: last });
      },
    },
    publish(members) {
      last = members;
      for (const call of calls) call.write({ members: last });
    },
    close() {
      for (const call of calls) call.end();
      calls.clear();
    },
  };
}
