/** @module doc — `adama doc archive|restore|inspect <space>/<key>` through the archiver's admin gRPC. */
import * as grpc from '@grpc/grpc-js';
import { serviceClient } from '../../grpc/load-proto';
import { parseFlags, type FlagSpec } from '../options';
import { internalChannel } from '../../grpc/internal-tls';
import { silentLogger } from '../../shared/log';
import { INTERNAL_TLS_FLAGS, internalTlsFlags, type Command } from './command';

const flags: FlagSpec = {
  archiver: { default: '127.0.0.1:7300', help: 'host:port of an archiver’s admin gRPC' },
  'timeout-ms': { default: '60000', help: 'deadline of the call' },
  ...INTERNAL_TLS_FLAGS,
};

const METHODS = { archive: 'ArchiveNow', restore: 'RestoreNow', inspect: 'Inspect' } as const;

export const docCommand: Command = {
  name: 'doc',
  summary: 'archive, restore or inspect one document now: `doc archive|restore|inspect <space>/<key>`',
  flags,
  async run(args) {
    const f = parseFlags(args, flags);
    const [verb, target] = f.positionals;
    if (verb !== 'archive' && verb !== 'restore' && verb !== 'inspect') throw new Error('usage: adama doc archive|restore|inspect <space>/<key>');
    const m = /^([^/]+)\/([^/]+)$/.exec(target ?? '');
    if (!m) throw new Error(`expected <space>/<key>, got ${target ?? '(nothing)'}`);
    const Client = serviceClient('archiver.proto', 'adama.archiver.v1.Archiver');
    const client = new Client(f.get('archiver')!, ...internalChannel(internalTlsFlags(f, silentLogger, 'client'), 'archiver')) as unknown as grpc.Client & Record<string, (req: unknown, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: Record<string, unknown>) => void) => void>;
    try {
      const reply = await new Promise<Record<string, unknown>>((resolve, reject) => {
        client[METHODS[verb]]!.call(client, { space: m[1], key: m[2] }, { deadline: Date.now() + f.int('timeout-ms', 1) }, (err, r) => (err ? reject(err) : resolve(r)));
      });
      const out = verb === 'inspect' ? JSON.parse(String(reply.json)) as unknown : reply;
      process.stdout.write(`${JSON.stringify(out, null, verb === 'inspect' ? 2 : 0)}\n`);
      return verb === 'inspect' || reply.archived === true || reply.restored === true ? 0 : 2;
    } catch (err) {
      process.stderr.write(`adama doc ${verb}: ${(err as grpc.ServiceError).details ?? String(err)}\n`);
      return 1;
    } finally {
      client.close();
    }
  },
};
