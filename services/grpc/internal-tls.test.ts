import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { parseFlags } from '../cli/options';
import { INTERNAL_TLS_FLAGS, internalTlsFlags, type TlsPolicy } from '../cli/commands/command';
import { silentLogger, type Logger } from '../shared/log';
import { HOST_POLICY } from './call-policy';
import { createCertificateAuthority, ensureDevPki, issueCertificate } from './dev-certs';
import { mayCall, rolesOf } from './internal-tls';

describe('rolesOf', () => {
  it('reads every role URI of a certificate and nothing else', () => {
    expect(rolesOf({ subjectaltname: 'DNS:localhost, URI:urn:adama:role:host, IP Address:127.0.0.1, URI:urn:adama:role:admin' })).toEqual(['host', 'admin']);
    expect(rolesOf({ subjectaltname: 'URI:urn:adama:role:root, URI:https://example.com' })).toEqual([]);
    expect(rolesOf(undefined)).toEqual([]);
  });

  it('finds the role in a certificate adama cert issues', () => {
    const ca = createCertificateAuthority();
    const cert = new X509Certificate(issueCertificate(ca, 'operator').certPem);
    expect(rolesOf({ subjectaltname: cert.subjectAltName! })).toEqual(['operator']);
    expect(cert.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
  });
});

describe('mayCall', () => {
  const drain = '/adama.host.v1.Host/Drain';
  it('follows the policy table, and refuses a method it does not list', () => {
    expect(mayCall(HOST_POLICY, drain, ['operator'], 'ipv4:10.0.0.5:4000')).toBe(true);
    expect(mayCall(HOST_POLICY, drain, ['proxy'], 'ipv4:127.0.0.1:4000')).toBe(false);
    expect(mayCall(HOST_POLICY, '/adama.host.v1.Host/Multiplex', ['proxy'], 'ipv4:10.0.0.5:4000')).toBe(true);
    expect(mayCall(HOST_POLICY, '/adama.host.v1.Host/Multiplex', ['host'], 'ipv4:10.0.0.5:4000')).toBe(false);
    expect(mayCall(HOST_POLICY, '/adama.host.v1.Host/Unknown', ['admin'], 'ipv4:127.0.0.1:1')).toBe(false);
  });

  it('lets a host certificate drain only from loopback (its own preStop), never another host over the network', () => {
    expect(mayCall(HOST_POLICY, drain, ['host'], 'ipv4:127.0.0.1:51000')).toBe(true);
    expect(mayCall(HOST_POLICY, drain, ['host'], 'ipv6:[::1]:51000')).toBe(true);
    expect(mayCall(HOST_POLICY, drain, ['host'], 'ipv4:10.0.0.7:51000')).toBe(false);
  });
});

describe('internalTlsFlags', () => {
  const dir = mkdtempSync(join(tmpdir(), 'adama-tls-flags-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const resolve = (args: string[], log: Logger = silentLogger, policy: TlsPolicy = 'serve') => internalTlsFlags(parseFlags(args, INTERNAL_TLS_FLAGS, {}), log, policy);

  it('turns on mTLS with all three files, and refuses a partial or contradictory set', () => {
    ensureDevPki(dir, ['host']);
    const files = ['--internal-tls-ca', join(dir, 'ca.pem'), '--internal-tls-cert', join(dir, 'host.pem'), '--internal-tls-key', join(dir, 'host-key.pem')];
    expect(resolve(files)).toMatchObject({ mode: 'mtls', certFile: join(dir, 'host.pem') });
    expect(() => resolve(files.slice(0, 4))).toThrow(/go together/);
    expect(() => resolve([...files, '--insecure-internal', 'true'])).toThrow(/contradicts/);
    expect(() => resolve(['--internal-tls-ca', join(dir, 'nope.pem'), ...files.slice(2)])).toThrow(/no file at/);
  });

  it('refuses to serve plaintext unless --insecure-internal true says so, and then warns', () => {
    const warned: string[] = [];
    const log = { ...silentLogger, warn: (_o: unknown, event: string) => { warned.push(event); } } as unknown as Logger;
    expect(() => resolve([], log)).toThrow(/needs certificates.*--insecure-internal true/);
    expect(resolve(['--insecure-internal', 'true'], log)).toEqual({ mode: 'insecure' });
    expect(warned).toEqual(['internal.insecure']);
    expect(() => resolve(['--insecure-internal', 'yes'])).toThrow(/true or false/);
  });

  it('lets a client (admin verbs, the operator) run without a certificate of its own, with the warning', () => {
    const warned: string[] = [];
    const log = { ...silentLogger, warn: (_o: unknown, event: string) => { warned.push(event); } } as unknown as Logger;
    expect(resolve([], log, 'client')).toEqual({ mode: 'insecure' });
    expect(warned).toEqual(['internal.insecure']);
  });
});
