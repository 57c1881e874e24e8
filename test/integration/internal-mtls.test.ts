/**
 * Internal mTLS with real processes (issue 11): an `adama host` and an `adama proxy` started with
 * certificates from `adama cert`'s CA serve an SDK client end to end; a plaintext client and a
 * certificate from another CA never get past the handshake; a proxy certificate calling Drain is
 * refused with INTERNAL_CALLER_FORBIDDEN and the refusal is logged; an admin certificate may call
 * Status. Rotating the host's certificate files mid-run keeps the open stream, and a new
 * connection is served with the new certificate.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import WebSocket from 'ws';
import { AdamaClient, type WebSocketFactory } from '../../client';
import { DEFAULT_SPACES_DIR } from '../../services/cli/dev-cluster';
import { deploySpacesFromDir } from '../../services/cli/spaces-dir';
import { devTlsFor, ensureDevPki, issueCertificate, writeRoleCertificate, type CertificateAuthority } from '../../services/grpc/dev-certs';
import { hostAdminClient } from '../../services/grpc/host-admin-client';
import { INSECURE_INTERNAL, type InternalRole } from '../../services/grpc/internal-tls';
import { serviceClient } from '../../services/grpc/load-proto';
import { entryOfServiceError } from '../../services/grpc/service-error';
import { E } from '../../services/shared/errors';
import type { Json } from '../../services/shared/json';
import { spawnAdama, type Child } from '../support/child';
import { freshStorage } from '../support/databases';
import { eventually } from '../support/edge-processes';
import { waitFor } from '../support/cluster';

type ChatView = { messages: { text: string }[] };
const REFRESH_MS = 200;

describe('internal mTLS between real processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'adama-pki-'));
  const otherDir = mkdtempSync(join(tmpdir(), 'adama-other-pki-'));
  let ca: CertificateAuthority;
  let storage: Awaited<ReturnType<typeof freshStorage>>;
  let host: Child;
  let proxy: Child;
  let hostAddress: string;
  let client: AdamaClient;
  const tlsArgs = (role: InternalRole): string[] => {
    const t = devTlsFor(dir, role, REFRESH_MS);
    return ['--internal-tls-ca', t.caFile, '--internal-tls-cert', t.certFile, '--internal-tls-key', t.keyFile, '--internal-tls-refresh-ms', String(REFRESH_MS)];
  };

  beforeAll(async () => {
    ca = ensureDevPki(dir, ['host', 'proxy', 'admin']);
    ensureDevPki(otherDir, ['admin']);
    storage = await freshStorage(4);
    await deploySpacesFromDir(storage.data, DEFAULT_SPACES_DIR);
    const db = ['--database-url', storage.connectionString];
    host = await spawnAdama(['host', '--host-id', 'mtls-host', '--port', '0', '--health-port', '0', ...db, ...tlsArgs('host')], 'host.ready', { ADAMA_LOG_LEVEL: 'info' });
    hostAddress = String(host.ready.address);
    proxy = await spawnAdama(['proxy', '--port', '0', '--membership-poll-ms', '200', '--allow-anonymous', 'true', ...db, ...tlsArgs('proxy')], 'proxy.ready', { ADAMA_LOG_LEVEL: 'info' });
    client = new AdamaClient({ url: String(proxy.ready.ws), identity: 'anonymous:mtls', WebSocket: WebSocket as unknown as WebSocketFactory });
  }, 60_000);

  afterAll(async () => {
    client?.close();
    for (const c of [proxy, host]) if (c && c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    await Promise.all([proxy, host].filter(Boolean).map((c) => c.exited));
    await storage?.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(otherDir, { recursive: true, force: true });
  });

  const views = waitFor<Json>(20_000);
  let stream: ReturnType<AdamaClient['connect']>;

  it('serves a client through a proxy whose certificate holds the proxy role, and says it is not plaintext', async () => {
    expect(host.logs.some((l) => l.event === 'internal.insecure')).toBe(false);
    await client.createDocument('chat', 'mtls-1', {});
    stream = client.connect('chat', 'mtls-1', { onView: (v) => views.push(v) });
    await stream.send('say', { text: 'over mtls' });
    await views.until((v) => (v as ChatView).messages.some((m) => m.text === 'over mtls'));
  });

  it('refuses a plaintext client at the handshake', async () => {
    const plain = hostAdminClient(hostAddress, INSECURE_INTERNAL);
    try {
      await expect(plain.status(3_000)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    } finally {
      plain.close();
    }
  });

  it('answers a plaintext health check on --health-port (the kubelet probe speaks no TLS) and serves nothing else there', async () => {
    const healthPort = Number(host.ready.healthPort);
    expect(healthPort).toBeGreaterThan(0);
    const Health = serviceClient('health.proto', 'grpc.health.v1.Health');
    const health = new Health(`127.0.0.1:${healthPort}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & { Check(req: object, cb: (e: unknown, r: unknown) => void): void };
    try {
      await expect(new Promise((resolve, reject) => health.Check({ service: '' }, (e, r) => (e ? reject(e) : resolve(r))))).resolves.toMatchObject({ status: 'SERVING' });
    } finally {
      health.close();
    }
    // The Host service is not on that port: a plaintext admin call there finds nothing to call.
    const plain = hostAdminClient(`127.0.0.1:${healthPort}`, INSECURE_INTERNAL);
    try {
      await expect(plain.status(3_000)).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
    } finally {
      plain.close();
    }
  });

  it('refuses a certificate from another CA at the handshake', async () => {
    const foreign = hostAdminClient(hostAddress, devTlsFor(otherDir, 'admin', REFRESH_MS));
    try {
      await expect(foreign.status(3_000)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    } finally {
      foreign.close();
    }
  });

  it('refuses Drain from a proxy certificate with INTERNAL_CALLER_FORBIDDEN, and logs it', async () => {
    const asProxy = hostAdminClient(hostAddress, devTlsFor(dir, 'proxy', REFRESH_MS));
    try {
      const err = await asProxy.drain(1_000, 5_000).then(() => undefined, (e: unknown) => e);
      expect(err).toMatchObject({ code: grpc.status.PERMISSION_DENIED });
      expect(entryOfServiceError(err)).toBe(E.INTERNAL_CALLER_FORBIDDEN);
    } finally {
      asProxy.close();
    }
    await host.waitForLog((l) => l.event === 'grpc.caller_forbidden' && l.method === '/adama.host.v1.Host/Drain', 5_000);
    // Nothing was drained: the stream still serves.
    await stream.send('say', { text: 'still here' });
    await views.until((v) => (v as ChatView).messages.some((m) => m.text === 'still here'));
  });

  it('lets an admin certificate call Status', async () => {
    const admin = hostAdminClient(hostAddress, devTlsFor(dir, 'admin', REFRESH_MS));
    try {
      expect(await admin.status(5_000)).toMatchObject({ host_id: 'mtls-host' });
    } finally {
      admin.close();
    }
  });

  it('keeps open streams across a certificate rotation and serves new connections with the new certificate', async () => {
    const next = issueCertificate(ca, 'host');
    const serialOf = (pem: string): string => new X509Certificate(pem).serialNumber.toUpperCase();
    writeRoleCertificate(dir, 'host', next);
    // A fresh connection each time (no pooled channel): which certificate does the server present now?
    const Health = serviceClient('health.proto', 'grpc.health.v1.Health');
    const presented = async (): Promise<string | undefined> => {
      let seen: string | undefined;
      const t = devTlsFor(dir, 'admin', REFRESH_MS);
      const creds = grpc.credentials.createSsl(readFileSync(t.caFile), readFileSync(t.keyFile), readFileSync(t.certFile), {
        checkServerIdentity: (_h: string, cert: PeerCertificate) => { seen = cert.serialNumber.toUpperCase(); return undefined; },
      });
      const c = new Health(hostAddress, creds, { 'grpc.ssl_target_name_override': 'adama.internal' }) as unknown as grpc.Client & { Check(r: object, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void): void };
      try {
        await new Promise<void>((resolve, reject) => c.Check({ service: '' }, { deadline: Date.now() + 3_000 }, (e) => (e ? reject(e) : resolve())));
      } finally {
        c.close();
      }
      return seen;
    };
    await eventually(async () => (await presented()) === serialOf(next.certPem), 10_000, 'the host presents the rotated certificate');
    await stream.send('say', { text: 'after rotation' });
    await views.until((v) => (v as ChatView).messages.some((m) => m.text === 'after rotation'));
  });
});

describe('gossip over mTLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'adama-gossip-pki-'));
  const sidecars: Child[] = [];
  const fast = ['--heartbeat-interval-ms', '100', '--gossip-interval-ms', '100', '--failure-timeout-ms', '2000'];
  const tlsArgs = (role: InternalRole): string[] => {
    const t = devTlsFor(dir, role, REFRESH_MS);
    return ['--internal-tls-ca', t.caFile, '--internal-tls-cert', t.certFile, '--internal-tls-key', t.keyFile];
  };
  const start = async (id: string, seeds: string[], role: InternalRole): Promise<Child> => {
    const c = await spawnAdama(['gossip', '--id', id, '--role', 'proxy', '--member-address', id, '--port', '0', '--seeds', seeds.join(','), ...fast, ...tlsArgs(role)], 'gossip.ready', { ADAMA_LOG_LEVEL: 'info' });
    sidecars.push(c);
    return c;
  };
  afterAll(async () => {
    for (const c of sidecars) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    await Promise.all(sidecars.map((c) => c.exited));
    rmSync(dir, { recursive: true, force: true });
  });

  it('forms membership between sidecars with gossip certificates and refuses a peer whose certificate is not a sidecar\'s', async () => {
    ensureDevPki(dir, ['gossip', 'proxy']);
    const a = await start('g-a', [], 'gossip');
    const at = (c: Child): string => `127.0.0.1:${String(c.ready.port)}`;
    const b = await start('g-b', [at(a)], 'gossip');
    // A proxy's certificate in a sidecar: every Push it makes to a is refused.
    const intruder = await start('g-intruder', [at(a)], 'proxy');
    const membersOf = (l: Record<string, unknown>): string[] => (Array.isArray(l.members) ? (l.members as string[]) : []);
    await a.waitForLog((l) => l.event === 'gossip.members_changed' && membersOf(l).includes('g-b'), 15_000);
    await a.waitForLog((l) => l.event === 'grpc.caller_forbidden' && l.method === '/adama.gossip.v1.GossipPeer/Push', 15_000);
    const last = [...a.logs].reverse().find((l) => l.event === 'gossip.members_changed')!;
    expect(membersOf(last)).toContain('g-b');
    expect(membersOf(last)).not.toContain('g-intruder');
    expect(b.logs.filter((l) => l.event === 'gossip.members_changed').every((l) => !membersOf(l).includes('g-intruder'))).toBe(true);
    expect(intruder.proc.exitCode).toBeNull();
  });
});

