/**
 * @module host — `adama host` (run one adama-host); `host drain|undrain|status <host-id>` find a
 * running host in the hosts table (undrain: also a host that left it by draining); `host
 * drain-self` (the pod's preStop hook) and `host status|undrain --target` call an address
 * directly, without the database.
 */
import { hostname } from 'node:os';
import { createLogger, silentLogger } from '../../shared/log';
import { openStorage } from '../../storage/open-storage';
import { drainSelf } from '../../adama-host/drain-self';
import { hostAdminClient } from '../../grpc/host-admin-client';
import { startHostProcess } from '../../adama-host/host-process';
import { parseFlags, type FlagSpec } from '../options';
import { runUntilSignal } from '../run-until-signal';
import { DATABASE_URL_FLAG, HEALTH_PORT_FLAG, healthPortFlag, INTERNAL_TLS_FLAGS, internalTlsFlags, METRICS_FLAGS, MIGRATE_FLAG, schemaFlag, telemetryFlags, type Command } from './command';
import type { InternalTls } from '../../grpc/internal-tls';

const flags: FlagSpec = {
  ...DATABASE_URL_FLAG,
  ...MIGRATE_FLAG,
  'host-id': { help: 'stable id of this host (default <hostname>-<port>)' },
  port: { default: '7100', help: 'gRPC port (0 picks a free one)' },
  bind: { default: '127.0.0.1', help: 'interface for gRPC' },
  advertise: { help: 'address other tiers use to reach this host (default bind:port)' },
  'lease-ms': { default: '4000', help: 'lease in the hosts table; a host silent this long is dead' },
  'timeout-ms': { default: '60000', help: '(drain, drain-self) how long to wait for the drain' },
  target: { help: '(drain-self, status, undrain) host:port to call directly, no hosts-table lookup (drain-self default 127.0.0.1:<port>)' },
  ...METRICS_FLAGS,
  'object-store': { help: 'restore archived documents from fs:<dir> or s3://bucket/prefix' },
  gossip: { help: 'host:port of the local gossip sidecar (primary membership)' },
  ...HEALTH_PORT_FLAG,
  ...INTERNAL_TLS_FLAGS,
};

export const hostCommand: Command = {
  name: 'host',
  summary: 'run one adama-host (gRPC); `host drain|undrain|status <id>` act on a running host, `host drain-self` / `host status|undrain --target <addr>` without the database',
  flags,
  async run(args) {
    const f = parseFlags(args, flags);
    const [verb, id] = f.positionals;
    const target = f.get('target');
    // The admin verbs present --internal-tls-cert: an operator or admin certificate, or (drain-self) the host's own.
    const adminTls = (): InternalTls => internalTlsFlags(f, silentLogger, 'client');
    if (verb === 'drain-self') return drainSelfAt(target ?? `127.0.0.1:${f.int('port', 1, 65535)}`, f.int('timeout-ms', 1, MAX_UINT32), adminTls());
    if ((verb === 'status' || verb === 'undrain') && target !== undefined) {
      if (id !== undefined) throw new Error(`usage: adama host ${verb} <host-id> | adama host ${verb} --target <host:port>`);
      return verb === 'status' ? statusAt(target, adminTls()) : undrainAt(target, adminTls());
    }
    if (verb === 'undrain') {
      if (!id) throw new Error('usage: adama host undrain <host-id> | --target <host:port>');
      return undrainById(id, f.get('database-url')!, adminTls());
    }
    if (verb === 'drain' || verb === 'status') {
      if (!id) throw new Error(`usage: adama host ${verb} <host-id>${verb === 'status' ? ' | --target <host:port>' : ''}`);
      return adminCall(verb, id, f.get('database-url')!, f.int('timeout-ms', 1, MAX_UINT32), adminTls());
    }
    if (verb !== undefined) throw new Error(`unknown host verb ${verb}`);
    const port = f.int('port', 0, 65535);
    const hostId = f.get('host-id') ?? `${hostname()}-${port}`;
    const log = createLogger('host').child({ host: hostId });
    const tls = internalTlsFlags(f, log, 'serve');
    const proc = await startHostProcess({
      hostId, databaseUrl: f.get('database-url')!, bindAddress: f.get('bind')!, port,
      advertise: f.get('advertise'), leaseMs: f.int('lease-ms', 500), log, telemetry: telemetryFlags(f),
      objectStore: f.get('object-store'), gossipAddress: f.get('gossip'), tls, schema: schemaFlag(f), healthPort: healthPortFlag(f),
    });
    log.info({ host: hostId, address: proc.address, port: proc.port }, 'host.listening');
    return runUntilSignal(() => proc.close(), log, 60_000);
  },
};

/** timeout_ms is a uint32 in proto/host.proto. */
const MAX_UINT32 = 0xffff_ffff;

/** Finds the host's address in the hosts table, then calls its admin RPC. */
async function adminCall(verb: 'drain' | 'status', hostId: string, databaseUrl: string, timeoutMs: number, tls: InternalTls): Promise<number> {
  const storage = await openStorage({ databaseUrl, poolSize: 1, log: silentLogger });
  const lease = (await storage.data.liveHosts()).find((h) => h.hostId === hostId);
  await storage.close();
  if (!lease) { process.stderr.write(`adama: no live host ${hostId} in the hosts table\n`); return 1; }
  const client = hostAdminClient(lease.address, tls);
  try {
    const reply = verb === 'status' ? await client.status() : await client.drain(timeoutMs, 5_000);
    process.stdout.write(`${JSON.stringify({ host: hostId, ...reply })}\n`);
    return 'drained' in reply && !reply.drained ? 1 : 0;
  } finally {
    client.close();
  }
}

/**
 * The preStop drain. Exit 0 when drained, 1 when documents remain after timeoutMs; a host that is
 * not listening has already stopped (its SIGTERM drain ran, or it crashed and its lease will
 * expire), so there is nothing left to drain and the hook must not report a failure.
 */
async function drainSelfAt(target: string, timeoutMs: number, tls: InternalTls): Promise<number> {
  const outcome = await drainSelf(target, timeoutMs, tls);
  if (!outcome.reachable) {
    process.stderr.write(`adama host drain-self: no host listening at ${target} (${outcome.reason}); already stopped, nothing to drain\n`);
    process.stdout.write(`${JSON.stringify({ target, reachable: false })}\n`);
    return 0;
  }
  process.stdout.write(`${JSON.stringify({ target, reachable: true, ...outcome.reply })}\n`);
  return outcome.reply.drained ? 0 : 1;
}

/** A drained host's lease has ended, but its row keeps the address it last registered. */
async function undrainById(hostId: string, databaseUrl: string, tls: InternalTls): Promise<number> {
  const storage = await openStorage({ databaseUrl, poolSize: 1, log: silentLogger });
  const address = await storage.data.hostAddress(hostId);
  await storage.close();
  if (address === null) { process.stderr.write(`adama: host ${hostId} has never registered; use --target <host:port>\n`); return 1; }
  return undrainAt(address, tls);
}

async function undrainAt(target: string, tls: InternalTls): Promise<number> {
  const client = hostAdminClient(target, tls);
  try {
    process.stdout.write(`${JSON.stringify({ target, ...await client.cancelDrain() })}\n`);
    return 0;
  } finally {
    client.close();
  }
}

async function statusAt(target: string, tls: InternalTls): Promise<number> {
  const client = hostAdminClient(target, tls);
  try {
    process.stdout.write(`${JSON.stringify({ target, ...await client.status() })}\n`);
    return 0;
  } finally {
    client.close();
  }
}
