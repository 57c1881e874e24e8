/**
 * @module dev-certs
 * A development CA and one certificate per role for internal mTLS (internal-tls.ts), as
 * `adama cert` writes them and `adama dev` uses them. Production certificates come from
 * cert-manager or the platform's own CA; these are for laptops and tests.
 *
 * Keys are RSA-2048 made by Node's crypto (native, fast); node-forge only builds and signs the
 * X.509 structures, which Node cannot do itself. Each certificate carries the role URI
 * (`urn:adama:role:<role>`) that authorization reads, plus `localhost`/127.0.0.1 and any extra
 * names given, for tools that still check host names.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';
import { ROLE_URI_PREFIX, type InternalRole } from './internal-tls';

export interface CertificateAuthority { certPem: string; keyPem: string }

export const CA_FILE = 'ca.pem';
export const CA_KEY_FILE = 'ca-key.pem';
export const certFile = (role: InternalRole): string => `${role}.pem`;
export const keyFile = (role: InternalRole): string => `${role}-key.pem`;

function rsaKeyPem(): string {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
}

function newCertificate(publicKey: forge.pki.PublicKey, validDays: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // Positive (leading byte < 0x80) and random, as RFC 5280 asks of serial numbers.
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + validDays * 86_400_000);
  return cert;
}

export function createCertificateAuthority(name = 'adama development CA', validDays = 3650): CertificateAuthority {
  const keyPem = rsaKeyPem();
  const key = forge.pki.privateKeyFromPem(keyPem);
  const cert = newCertificate(forge.pki.setRsaPublicKey(key.n, key.e), validDays);
  const subject = [{ name: 'commonName', value: name }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(key, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

/** A certificate for `role` signed by `ca`: client and server use, the role URI, localhost and `names`. */
export function issueCertificate(ca: CertificateAuthority, role: InternalRole, o: { names?: readonly string[]; validDays?: number; commonName?: string } = {}): { certPem: string; keyPem: string } {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const keyPem = rsaKeyPem();
  const key = forge.pki.privateKeyFromPem(keyPem);
  const cert = newCertificate(forge.pki.setRsaPublicKey(key.n, key.e), o.validDays ?? 365);
  cert.setSubject([{ name: 'commonName', value: o.commonName ?? `adama-${role}` }, { name: 'organizationalUnitName', value: role }]);
  cert.setIssuer(caCert.subject.attributes);
  const ipLike = /^[0-9.]+$|:/;
  const altNames = [
    { type: 6, value: `${ROLE_URI_PREFIX}${role}` },
    { type: 2, value: 'localhost' },
    { type: 7, ip: '127.0.0.1' },
    ...(o.names ?? []).map((n) => (ipLike.test(n) ? { type: 7, ip: n } : { type: 2, value: n })),
  ];
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    { name: 'subjectAltName', altNames },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

function writePrivate(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** Writes `cert`/`key` of `role` into `dir` (replacing what is there: a rotation). */
export function writeRoleCertificate(dir: string, role: InternalRole, pair: { certPem: string; keyPem: string }): void {
  // Each file replaced by a rename, so a reader never sees half a file.
  writePrivate(join(dir, `${keyFile(role)}.next`), pair.keyPem);
  writeFileSync(join(dir, `${certFile(role)}.next`), pair.certPem);
  renameSync(join(dir, `${keyFile(role)}.next`), join(dir, keyFile(role)));
  renameSync(join(dir, `${certFile(role)}.next`), join(dir, certFile(role)));
}

/**
 * The CA of `dir` (created on first use) and a certificate for every role in `roles` that has
 * none yet (or every one with `reissue`). Returns the CA, for issuing more. Synchronous: it runs
 * once, before a process or a test serves anything (about 0.2 s per key).
 */
export function ensureDevPki(dir: string, roles: readonly InternalRole[], o: { names?: readonly string[]; reissue?: boolean } = {}): CertificateAuthority {
  mkdirSync(dir, { recursive: true });
  let ca: CertificateAuthority;
  if (existsSync(join(dir, CA_FILE)) && existsSync(join(dir, CA_KEY_FILE))) {
    ca = { certPem: readFileSync(join(dir, CA_FILE), 'utf8'), keyPem: readFileSync(join(dir, CA_KEY_FILE), 'utf8') };
  } else {
    ca = createCertificateAuthority();
    writePrivate(join(dir, CA_KEY_FILE), ca.keyPem);
    writeFileSync(join(dir, CA_FILE), ca.certPem);
  }
  for (const role of roles) {
    if (!o.reissue && existsSync(join(dir, certFile(role))) && existsSync(join(dir, keyFile(role)))) continue;
    writeRoleCertificate(dir, role, issueCertificate(ca, role, { names: o.names }));
  }
  return ca;
}

/** The ADAMA_INTERNAL_TLS_* variables that give a child process these files (what its --internal-tls-* flags read). */
export function tlsEnvOf(t: { caFile: string; certFile: string; keyFile: string; refreshMs: number }): Record<string, string> {
  return { ADAMA_INTERNAL_TLS_CA: t.caFile, ADAMA_INTERNAL_TLS_CERT: t.certFile, ADAMA_INTERNAL_TLS_KEY: t.keyFile, ADAMA_INTERNAL_TLS_REFRESH_MS: String(t.refreshMs) };
}

/** The InternalTls of `role` for a directory written by ensureDevPki. */
export function devTlsFor(dir: string, role: InternalRole, refreshMs: number): { mode: 'mtls'; caFile: string; certFile: string; keyFile: string; refreshMs: number } {
  return { mode: 'mtls', caFile: join(dir, CA_FILE), certFile: join(dir, certFile(role)), keyFile: join(dir, keyFile(role)), refreshMs };
}
