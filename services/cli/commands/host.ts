/** @module host — `adama host` (run one adama-host), `adama host drain|status <host-id>`. */
import { hostname } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { createLogger, silentLogger } from '../../shared/log';
import { openStorage } from '../../storage/open-storage';
import { serviceClient } from '../../grpc/load-proto';
import type { DrainReply, StatusReply } from '../../grpc/host-messages';
import { startHostProcess } from '../../adama-host/host-process';
import { parseFlags, type FlagSpec } from '../options';
import { runUntilSignal } from '../run-until-signal';
import { DATABASE_URL_FLAG, METRICS_FLAGS, telemetryFlags, type Command } from './command';

const flags: FlagSpec = {
  ...DATABASE_URL_FLAG,
  'host-id': { help: 'stable id of this host (default <hostname>-<port>)' },
  port: { default: '7100', help: 'gRPC port (0 picks a free one)' },
  bind: { default: '127.0.0.1', help: 'interface for gRPC' },
  advertise: { help: 'address other tiers use to reach this host (default bind:port)' },
  'lease-ms': { default: '4000', help: 'lease in the hosts table; a host silent this long is dead' },
  'timeout-ms': { default: '60000', help: '(drain) how long to wait for the drain' },
  ...METRICS_FLAGS,
  'object-store': { help: 'restore archived documents from fs:<dir> or s3://bucket/prefix' },
  gossip: { help: 'host:port of the local gossip sidecar (primary membership)' },
};

export const hostCommand: Command = {
  name: 'host',
  summary: 'run one adama-host (gRPC); `host drain <id>` / `host status <id>` act on a running host',
  flags,
  async run(args) {
    const f = parseFlags(args, flags);
    const [verb, target] = f.positionals;
    if (verb === 'drain' || verb === 'status') {
      if (!target) throw new Error(`usage: adama host ${verb} <host-id>`);
      return adminCall(verb, target, f.get('database-url')!, f.int('timeout-ms', 1));
    }
    if (verb !== undefined) throw new Error(`unknown host verb ${verb}`);
    const port = f.int('port', 0, 65535);
    const hostId = f.get('host-id') ?? `${hostname()}-${port}`;
    const log = createLogger('host').child({ host: hostId });
    const proc = await startHostProcess({
      hostId, databaseUrl: f.get('database-url')!, bindAddress: f.get('bind')!, port,
      advertise: f.get('advertise'), leaseMs: f.int('lease-ms', 500), log, telemetry: telemetryFlags(f),
      objectStore: f.get('object-store'), gossipAddress: f.get('gossip'),
    });
    log.info({ host: hostId, address: proc.address, port: proc.port }, 'host.listening');
    return runUntilSignal(() => proc.close(), log, 60_000);
  },
};

/** Finds the host's address in the hosts table, then calls its admin RPC. */
async function adminCall(verb: 'drain' | 'status', hostId: string, databaseUrl: string, timeoutMs: number): Promise<number> {
  const storage = await openStorage({ databaseUrl, poolSize: 1, log: silentLogger });
  const lease = (await storage.data.liveHosts()).find((h) => h.hostId === hostId);
  await storage.close();
  if (!lease) { process.stderr.write(`adama: no live host ${hostId} in the hosts table\n`); return 1; }
  const Client = serviceClient('host.proto', 'adama.host.v1.Host');
  const client = new Client(lease.address, grpc.credentials.createInsecure());
  const method = verb === 'drain' ? 'Drain' : 'Status';
  const reply = await new Promise<DrainReply | StatusReply>((resolve, reject) => {
    (client as unknown as Record<string, (req: unknown, opts: grpc.CallOptions, cb: (e: Error | null, r: DrainReply | StatusReply) => void) => void>)[method]!(
      verb === 'drain' ? { timeout_ms: timeoutMs } : {}, { deadline: Date.now() + timeoutMs + 5_000 }, (err, r) => (err ? reject(err) : resolve(r)));
  });
  client.close();
  process.stdout.write(`${JSON.stringify({ host: hostId, ...reply })}\n`);
  return verb === 'drain' && !(reply as DrainReply).drained ? 1 : 0;
}
