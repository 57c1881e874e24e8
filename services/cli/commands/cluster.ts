/**
 * @module cluster
 * `adama cluster`: rung 2 on one machine. Deploys the example spaces, then starts a locator,
 * N adama-hosts and M web-proxies as separate processes on loopback against one PostgreSQL, and
 * prints where to connect. Ctrl-C stops proxies first, then drains and stops hosts.
 *
 * As production should run: every process talks mTLS with its role's certificate (a development
 * CA in --certs-dir, made on first use by the same code as `adama cert`), and proxies hold no
 * database credentials (their membership fallback comes from the locator).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createLogger } from '../../shared/log';
import { openStorage } from '../../storage/open-storage';
import { DEFAULT_SPACES_DIR } from '../dev-cluster';
import { deploySpacesFromDir } from '../spaces-dir';
import { parseFlags, type FlagSpec } from '../options';
import { runUntilSignal } from '../run-until-signal';
import { spawnRole, type RoleProcess } from '../spawn-role';
import { DEFAULT_TLS_REFRESH_MS, type InternalRole } from '../../grpc/internal-tls';
import { devTlsFor, ensureDevPki } from '../../grpc/dev-certs';
import { DATABASE_URL_FLAG, type Command } from './command';

const flags: FlagSpec = {
  ...DATABASE_URL_FLAG,
  hosts: { default: '3', help: 'number of adama-host processes' },
  proxies: { default: '2', help: 'number of web-proxy processes' },
  'proxy-port': { default: '8081', help: 'port of the first proxy (the next ones follow)' },
  'host-port': { default: '7101', help: 'gRPC port of the first host' },
  'locator-port': { default: '7000', help: 'gRPC port of the locator' },
  'gossip-port': { default: '7300', help: 'gRPC port of the first gossip sidecar (one beside each host and proxy)' },
  gossip: { default: 'true', help: 'false: no sidecars, membership from the hosts table leases only' },
  'log-dir': { default: './.adama/cluster', help: 'where each process writes its log' },
  'spaces-dir': { help: 'folder of spaces to deploy (default examples/spaces)' },
  'certs-dir': { default: './.adama/certs', help: 'development CA and per-role certificates for internal mTLS (made on first use)' },
};

export const clusterCommand: Command = {
  name: 'cluster',
  summary: 'start a locator, hosts and proxies as separate processes on loopback (what `make cluster` runs)',
  flags,
  async run(args) {
    const f = parseFlags(args, flags);
    const log = createLogger('cluster');
    const db = ['--database-url', f.get('database-url')!];
    const logDir = resolve(f.get('log-dir')!);
    mkdirSync(logDir, { recursive: true });

    const storage = await openStorage({ databaseUrl: f.get('database-url')!, poolSize: 1, log });
    const spaces = await deploySpacesFromDir(storage.data, f.get('spaces-dir') ?? DEFAULT_SPACES_DIR);
    await storage.close();
    log.info({ spaces: spaces.map((s) => `${s.space}@${s.version}`) }, 'spaces.deployed');

    const certsDir = resolve(f.get('certs-dir')!);
    ensureDevPki(certsDir, ['locator', 'host', 'proxy', 'gossip', 'admin']);
    const tls = (role: InternalRole): string[] => {
      const t = devTlsFor(certsDir, role, DEFAULT_TLS_REFRESH_MS);
      return ['--internal-tls-ca', t.caFile, '--internal-tls-cert', t.certFile, '--internal-tls-key', t.keyFile];
    };
    const locatorPort = f.int('locator-port', 0, 65535);

    const children: RoleProcess[] = [];
    const start = async (name: string, roleArgs: string[], ready: string, withDb = true) => {
      const child = await spawnRole(name, withDb ? [...roleArgs, ...db] : roleArgs, ready, join(logDir, `${name}.log`));
      children.push(child);
      return child;
    };
    const hosts = f.int('hosts', 1, 64);
    const proxyCount = f.int('proxies', 1, 16);
    const hostPort = f.int('host-port', 1, 65535);
    const proxyPort = f.int('proxy-port', 1, 65535);
    const gossipPort = f.int('gossip-port', 1, 65535);
    const useGossip = f.get('gossip') !== 'false';
    /** The sidecar beside member n (hosts first, then proxies); every sidecar seeds from the first. */
    const sidecar = (n: number) => `127.0.0.1:${gossipPort + n}`;
    const gossipArgs = (n: number) => (useGossip ? ['--gossip', sidecar(n)] : []);
    const startSidecar = (name: string, n: number, role: 'host' | 'proxy', memberAddress: string) =>
      start(`gossip-${name}`, ['gossip', '--id', name, '--port', String(gossipPort + n), '--seeds', n === 0 ? '' : sidecar(0), '--role', role,
        '--member-address', memberAddress, ...(role === 'host' ? ['--health', memberAddress] : []), ...tls('gossip')], 'gossip.ready', false);
    try {
      const locator = await start('locator', ['locator', '--port', String(locatorPort), ...tls('locator')], 'locator.ready');
      if (useGossip) {
        await startSidecar('host-1', 0, 'host', `127.0.0.1:${hostPort}`);
        await Promise.all([
          ...Array.from({ length: hosts - 1 }, (_, i) => startSidecar(`host-${i + 2}`, i + 1, 'host', `127.0.0.1:${hostPort + i + 1}`)),
          ...Array.from({ length: proxyCount }, (_, i) => startSidecar(`proxy-${i + 1}`, hosts + i, 'proxy', `http://127.0.0.1:${proxyPort + i}/`)),
        ]);
      }
      await Promise.all(Array.from({ length: hosts }, (_, i) =>
        start(`host-${i + 1}`, ['host', '--host-id', `host-${i + 1}`, '--port', String(hostPort + i), '--metrics-port', '0', ...gossipArgs(i), ...tls('host')], 'host.ready')));
      const proxies = await Promise.all(Array.from({ length: proxyCount }, (_, i) =>
        start(`proxy-${i + 1}`, ['proxy', '--proxy-id', `proxy-${i + 1}`, '--port', String(proxyPort + i), '--metrics-port', '0', '--allow-anonymous', 'true',
          '--locator', `127.0.0.1:${String(locator.ready.port)}`, ...gossipArgs(hosts + i), ...tls('proxy')], 'proxy.ready', false)));
      process.stderr.write(`\n  Adama cluster is running (${children.length} processes, logs in ${logDir}).\n`);
      for (const p of proxies) process.stderr.write(`  Demo page: ${String(p.ready.url)}   WebSocket: ${String(p.ready.ws)}\n`);
      process.stderr.write(`  Drain a host live: node dist/services/cli/main.js host drain host-1 ${tls('admin').join(' ')}\n  Stop with Ctrl-C.\n\n`);
      const metrics = Object.fromEntries(children.filter((c) => c.ready.metricsPort).map((c) => [c.name, `http://127.0.0.1:${String(c.ready.metricsPort)}/metrics`]));
      log.info({ proxies: proxies.map((p) => p.ready.ws), processes: children.map((c) => c.name), metrics }, 'cluster.ready');
    } catch (err) {
      for (const c of children) c.proc.kill('SIGKILL');
      throw err;
    }
    return runUntilSignal(async () => {
      // Proxies first (clients reconnect elsewhere), then hosts (each drains and its sidecar
      // announces the departure), then the sidecars and the locator.
      for (const prefix of ['proxy-', 'host-', 'gossip-', 'locator']) {
        const group = children.filter((c) => c.name.startsWith(prefix));
        for (const c of group) c.proc.kill('SIGTERM');
        await Promise.all(group.map((c) => c.exited));
      }
    }, log, 90_000);
  },
};
