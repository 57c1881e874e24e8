/**
 * @module archiver-service
 * The archiver's admin gRPC handlers (proto/archiver.proto): decode, call the Archiver, reply once.
 */
import type * as grpc from '@grpc/grpc-js';
import { unaryHandler } from '../grpc/service-error';
import { assertName } from '../shared/names';
import type { DocRef } from '../shared/doc-ref';
import type { Archiver } from './archiver';

interface DocRequest { space: string; key: string }
type Unary<Res> = (call: grpc.ServerUnaryCall<DocRequest, Res>, cb: grpc.sendUnaryData<Res>) => void;

export interface ArchiveReply { archived: boolean; object_key: string; bytes: number; head_seq: number; reason: string }
export interface RestoreReply { restored: boolean; head_seq: number; reason: string }
export interface InspectReply { json: string }

export function createArchiverService(archiver: Archiver): { ArchiveNow: Unary<ArchiveReply>; RestoreNow: Unary<RestoreReply>; Inspect: Unary<InspectReply> } {
  return {
    ArchiveNow: handle(async (ref) => {
      const o = await archiver.archiveNow(ref);
      return o.kind === 'archived'
        ? { archived: true, object_key: o.objectKey, bytes: o.bytes, head_seq: o.headSeq, reason: '' }
        : { archived: false, object_key: '', bytes: 0, head_seq: 0, reason: o.reason };
    }),
    RestoreNow: handle(async (ref) => {
      const r = await archiver.restoreNow(ref);
      return { restored: r.restored, head_seq: r.headSeq, reason: r.reason ?? '' };
    }),
    Inspect: handle(async (ref) => ({ json: JSON.stringify({ ...(await archiver.inspect(ref)), counters: archiver.counters }) })),
  };
}

function handle<Res>(fn: (ref: DocRef) => Promise<Res>): Unary<Res> {
  return unaryHandler((req: DocRequest) => {
    assertName('space', req.space);
    assertName('key', req.key);
    return fn({ space: req.space, key: req.key });
  });
}
