/**
 * @module internal-tls
 * Mutual TLS between the tiers, and who may call what. Every internal gRPC server asks for a
 * client certificate from the cluster's CA, and every client checks the server's: a plaintext
 * client or a certificate from another CA never gets past the handshake. A certificate names its
 * holder's **role** in a URI subject alternative name, `urn:adama:role:<role>` (cert-manager's
 * `uris`, `adama cert`); the server's interceptor (`authorizeByRole`) then lets a call through only
 * when a role the peer holds may call that method (INTERNAL_CALLER_FORBIDDEN otherwise), and a
 * client only talks to a server holding the role it meant to reach. Roles replace host names in
 * the check on purpose: pods move and their addresses with them; the role is what matters.
 *
 * Certificates are read from files and read again every `refreshMs` (grpc-js's file watcher), so
 * a rotation by cert-manager takes effect for new connections without a restart; connections
 * already open keep the certificate they were made with.
 *
 * `{ mode: 'insecure' }` (the explicit `--insecure-internal`) is plaintext and authorizes nothing.
 */
import * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { AdamaError, E } from '../shared/errors';
import type { Logger } from '../shared/log';
import { toServiceError } from './service-error';

export const INTERNAL_ROLES = ['proxy', 'host', 'locator', 'archiver', 'gossip', 'operator', 'admin'] as const;
export type InternalRole = (typeof INTERNAL_ROLES)[number];

export const ROLE_URI_PREFIX = 'urn:adama:role:';

export type InternalTls =
  | { mode: 'mtls'; caFile: string; certFile: string; keyFile: string; refreshMs: number }
  | { mode: 'insecure' };

export const INSECURE_INTERNAL: InternalTls = Object.freeze({ mode: 'insecure' });

/** How often certificate files are read again by default (cert-manager renews well before expiry). */
export const DEFAULT_TLS_REFRESH_MS = 60_000;

/** One watcher per set of files, shared by every server and channel of the process. */
const providers = new Map<string, grpc.experimental.FileWatcherCertificateProvider>();

function providerFor(tls: Extract<InternalTls, { mode: 'mtls' }>): grpc.experimental.FileWatcherCertificateProvider {
  const key = JSON.stringify([tls.caFile, tls.certFile, tls.keyFile, tls.refreshMs]);
  let p = providers.get(key);
  if (p === undefined) {
    p = new grpc.experimental.FileWatcherCertificateProvider({
      caCertificateFile: tls.caFile, certificateFile: tls.certFile, privateKeyFile: tls.keyFile, refreshIntervalMs: tls.refreshMs,
    });
    providers.set(key, p);
  }
  return p;
}

/** The roles a peer certificate names (none for a certificate without role URIs). */
export function rolesOf(cert: Pick<PeerCertificate, 'subjectaltname'> | undefined | null): InternalRole[] {
  const san = cert?.subjectaltname;
  if (typeof san !== 'string') return [];
  const roles: InternalRole[] = [];
  for (const part of san.split(/,\s*/)) {
    if (!part.startsWith(`URI:${ROLE_URI_PREFIX}`)) continue;
    const role = part.slice(4 + ROLE_URI_PREFIX.length);
    if ((INTERNAL_ROLES as readonly string[]).includes(role)) roles.push(role as InternalRole);
  }
  return roles;
}

/**
 * Reads the files of `tls` through its shared watcher and resolves once both the CA and the
 * identity are in, with a release to call once the server or channel using them holds its own
 * reference. Servers need this: until grpc-js's watcher has read the files, a server answers
 * handshakes with no certificate at all, and a proxy that connects in that moment would suspect
 * a host that is only starting. Rejects when a file cannot be read.
 */
export function loadCertificates(tls: Extract<InternalTls, { mode: 'mtls' }>, timeoutMs = 10_000): Promise<() => void> {
  const p = providerFor(tls);
  return new Promise((resolve, reject) => {
    let ca: boolean | undefined;
    let identity: boolean | undefined;
    const release = (): void => { p.removeCaCertificateListener(onCa); p.removeIdentityCertificateListener(onIdentity); };
    const timer = setTimeout(() => { release(); reject(new Error(`internal TLS: certificate files not read within ${timeoutMs} ms`)); }, timeoutMs);
    const settle = (): void => {
      if (ca === undefined || identity === undefined) return;
      clearTimeout(timer);
      if (ca && identity) { resolve(release); return; }
      release();
      reject(new Error(`internal TLS: cannot read ${ca ? '' : `--internal-tls-ca ${tls.caFile} `}${identity ? '' : `--internal-tls-cert ${tls.certFile} / --internal-tls-key ${tls.keyFile}`}`.trim()));
    };
    const onCa = (u: unknown): void => { ca = u !== null; settle(); };
    const onIdentity = (u: unknown): void => { identity = u !== null; settle(); };
    p.addCaCertificateListener(onCa);
    p.addIdentityCertificateListener(onIdentity);
  });
}

export function serverCredentials(tls: InternalTls): grpc.ServerCredentials {
  if (tls.mode === 'insecure') return grpc.ServerCredentials.createInsecure();
  const p = providerFor(tls);
  return grpc.experimental.createCertificateProviderServerCredentials(p, p, true);
}

/**
 * The name a TLS client sends as SNI. Servers are checked by role, not by name, and Node refuses
 * an IP address as SNI (DEP0123), so every internal channel names this instead of its target.
 */
const INTERNAL_SERVER_NAME = 'adama.internal';

/** Credentials and options for a channel to a server that must hold `serverRole`: `new Client(address, ...internalChannel(...))`. */
export function internalChannel(tls: InternalTls, serverRole: InternalRole, options: grpc.ChannelOptions = {}): [grpc.ChannelCredentials, grpc.ChannelOptions] {
  return [channelCredentials(tls, serverRole), tls.mode === 'mtls' ? { ...options, 'grpc.ssl_target_name_override': INTERNAL_SERVER_NAME } : options];
}

function channelCredentials(tls: InternalTls, serverRole: InternalRole): grpc.ChannelCredentials {
  if (tls.mode === 'insecure') return grpc.credentials.createInsecure();
  const p = providerFor(tls);
  return grpc.experimental.createCertificateProviderChannelCredentials(p, p, {
    checkServerIdentity: (_host, cert) =>
      rolesOf(cert).includes(serverRole) ? undefined : new Error(`the server's certificate does not hold the role ${serverRole} (roles: ${rolesOf(cert).join(', ') || 'none'})`),
  });
}

/**
 * Who may call each method: full gRPC method path -> roles. A role may be limited to callers on
 * this machine's loopback (`{ role, loopbackOnly: true }`): a host's preStop hook drains its own
 * host with the host's certificate, which must not let one host drain another.
 */
export type MethodPolicy = Readonly<Record<string, readonly (InternalRole | { role: InternalRole; loopbackOnly: true })[]>>;

function isLoopbackPeer(peer: string): boolean {
  return /^(ipv4:)?127\./.test(peer) || /^(ipv6:)?\[?::1\]?/.test(peer) || peer.startsWith('unix:');
}

/** Whether a peer with `roles` calling from `peer` may call `path` under `policy` (unlisted methods: nobody). */
export function mayCall(policy: MethodPolicy, path: string, roles: readonly InternalRole[], peer: string): boolean {
  const allowed = policy[path];
  if (allowed === undefined) return false;
  return allowed.some((a) => (typeof a === 'string' ? roles.includes(a) : roles.includes(a.role) && isLoopbackPeer(peer)));
}

/** The server interceptor that enforces `policy` from the peer certificate; refusals are logged. */
export function authorizeByRole(policy: MethodPolicy, log: Logger): grpc.ServerInterceptor {
  return (method, call) => new grpc.ServerInterceptingCall(call, {
    start: (next) => next({
      onReceiveMetadata: (metadata, proceed) => {
        const roles = rolesOf(call.getAuthContext()?.sslPeerCertificate);
        const peer = call.getPeer();
        if (mayCall(policy, method.path, roles, peer)) { proceed(metadata); return; }
        const err = new AdamaError(E.INTERNAL_CALLER_FORBIDDEN, `${method.path} may not be called by ${roles.length > 0 ? `role ${roles.join('/')}` : 'a certificate without a role'}`);
        log.warn({ method: method.path, roles, peer, code: E.INTERNAL_CALLER_FORBIDDEN.code }, 'grpc.caller_forbidden');
        const status = toServiceError(err);
        call.sendStatus({ code: status.code ?? grpc.status.PERMISSION_DENIED, details: status.details ?? err.message, metadata: new grpc.Metadata() });
      },
    }),
  });
}
