/**
 * @module internal-tls
 * mTLS between the tiers in the pods the operator runs (spec.internalTls, docs/security.md): each
 * container gets its role's Secret mounted read-only at /etc/adama/tls/<role> and the
 * `--internal-tls-*` flags pointing into it; `insecure` gives `--insecure-internal true` instead,
 * so the plaintext choice is explicit in every pod. In `certManager` mode the operator also
 * creates one cert-manager `Certificate` per role: the role in a URI SAN
 * (`urn:adama:role:<role>`, what services/grpc/internal-tls.ts authorizes by) and the DNS SAN
 * `adama.internal`, the name every internal client checks (it dials pod IPs and Service names
 * alike, so the certificate names the cluster's internal identity, not an address).
 * cert-manager renews them; the processes read the files again without a restart.
 */
import type { AdamaCluster, TlsRole } from '../api/v1alpha1/types';
import { ROLE_URI_PREFIX } from '../../services/grpc/internal-tls';
import { childMeta } from './common';
import type { ChildMeta, Volume, VolumeMount } from './k8s';

/** Where each role's Secret is mounted: /etc/adama/tls/<role>/{ca.crt,tls.crt,tls.key}. */
export const TLS_MOUNT_DIR = '/etc/adama/tls';

/** The server name internal clients verify (internalChannel's SNI override). */
export const INTERNAL_SERVER_NAME = 'adama.internal';

export const tlsEnabled = (c: AdamaCluster): boolean => c.spec.internalTls.mode !== 'insecure';

export const tlsSecretName = (c: AdamaCluster, role: TlsRole): string => c.spec.internalTls.secretNames?.[role] ?? `${c.metadata.name}-${role}-tls`;

const volumeName = (role: TlsRole): string => `tls-${role}`;

/** The flags a process of `role` runs with: its certificate files, or the explicit plaintext choice. */
export function tlsArgs(c: AdamaCluster, role: TlsRole): string[] {
  if (!tlsEnabled(c)) return ['--insecure-internal', 'true'];
  const dir = `${TLS_MOUNT_DIR}/${role}`;
  return ['--internal-tls-ca', `${dir}/ca.crt`, '--internal-tls-cert', `${dir}/tls.crt`, '--internal-tls-key', `${dir}/tls.key`];
}

/** The mount of `role`'s Secret in its container (none in insecure mode). */
export function tlsMounts(c: AdamaCluster, role: TlsRole): VolumeMount[] {
  return tlsEnabled(c) ? [{ name: volumeName(role), mountPath: `${TLS_MOUNT_DIR}/${role}`, readOnly: true }] : [];
}

/** The pod volumes of the Secrets its containers mount. */
export function tlsVolumes(c: AdamaCluster, roles: readonly TlsRole[]): Volume[] {
  if (!tlsEnabled(c)) return [];
  return roles.map((role) => ({ name: volumeName(role), secret: { secretName: tlsSecretName(c, role), defaultMode: 0o440 } }));
}

/** The roles whose pods this cluster runs (archiver and gossip only when enabled). */
export function tlsRolesOf(c: AdamaCluster): TlsRole[] {
  const roles: TlsRole[] = ['host', 'proxy', 'locator'];
  if (c.spec.archiver.enabled) roles.push('archiver');
  if (c.spec.gossip.enabled) roles.push('gossip');
  return roles;
}

/** A cert-manager Certificate (cert-manager.io/v1), as much of it as the operator writes. */
export interface Certificate {
  apiVersion: 'cert-manager.io/v1';
  kind: 'Certificate';
  metadata: ChildMeta;
  spec: {
    secretName: string;
    commonName: string;
    dnsNames: string[];
    uris: string[];
    usages: string[];
    duration: string;
    renewBefore: string;
    privateKey: { algorithm: 'ECDSA'; size: number; rotationPolicy: 'Always' };
    issuerRef: { name: string; kind: string; group: string };
  };
}

/** One Certificate per role in certManager mode; none otherwise. */
export function buildCertificates(c: AdamaCluster): Certificate[] {
  const t = c.spec.internalTls;
  const issuer = t.issuerRef;
  if (t.mode !== 'certManager' || !issuer) return [];
  return tlsRolesOf(c).map((role) => ({
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: childMeta(c, tlsSecretName(c, role), role),
    spec: {
      secretName: tlsSecretName(c, role),
      commonName: `${c.metadata.name}-${role}`,
      dnsNames: [INTERNAL_SERVER_NAME],
      uris: [`${ROLE_URI_PREFIX}${role}`],
      // Every role both serves and calls (hosts call the locator and sidecars, sidecars call each other).
      usages: ['server auth', 'client auth', 'digital signature', 'key encipherment'],
      duration: '2160h',
      renewBefore: '360h',
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
      issuerRef: { name: issuer.name, kind: issuer.kind, group: issuer.group },
    },
  }));
}
