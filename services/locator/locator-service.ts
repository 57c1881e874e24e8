/**
 * @module locator-service
 * gRPC handlers over the `directory` table (proto/locator.proto). Every answer comes from the
 * database; nothing is cached, because the database decides ownership.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../shared/log';
import type { DataService } from '../storage/data-service';
import { unaryHandler } from '../grpc/service-error';

interface RefMsg { space: string; key: string }

export function createLocatorService(data: DataService, log?: Logger): grpc.UntypedServiceImplementation {
  const unary = <Req, Res>(fn: (req: Req) => Promise<Res>) => unaryHandler(fn, log);
  return {
    FindBind: unary(async (req: { ref: RefMsg; host: string; dead_hosts: string[] }) => {
      const r = await data.findBind(req.ref, req.host, req.dead_hosts ?? []);
      switch (r.kind) {
        case 'bound': return { outcome: 'bound', epoch: r.epoch, head_seq: r.headSeq, owner: req.host };
        case 'owned': return { outcome: 'owned', epoch: 0, head_seq: 0, owner: r.host };
        case 'not_found': return { outcome: 'not_found', epoch: 0, head_seq: 0, owner: '' };
      }
    }),
    Lookup: unary(async (req: RefMsg) => {
      const row = await data.lookup(req);
      return row ? { found: true, host: row.host ?? '', epoch: row.epoch, head_seq: row.headSeq, state: row.state } : { found: false, host: '', epoch: 0, head_seq: 0, state: '' };
    }),
    Release: unary(async (req: { ref: RefMsg; host: string; epoch: number }) => ({ released: await data.release(req.ref, req.host, req.epoch) })),
    ListByHost: unary(async (req: { host: string }) => ({ documents: await data.listByHost(req.host) })),
    LiveHosts: unary(async () => ({ hosts: (await data.liveHosts()).map((h) => ({ host_id: h.hostId, address: h.address, lease_expires_at_ms: h.leaseExpiresAtMs })) })),
  };
}
