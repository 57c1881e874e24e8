/**
 * spec.internalTls in the pods the operator builds (issue 11.4): with `secrets` or `certManager`
 * every container of every pod presents its own role's certificate from its own Secret, mounted
 * read-only; hosts and the locator serve their health plaintext on the health port and the
 * kubelet's gRPC probes ask that port (they speak no TLS); the preStop drain presents the host's
 * certificate. `certManager` adds one Certificate per role, naming the role the way
 * services/grpc/internal-tls.ts authorizes it. `insecure` says so explicitly in every container.
 */
import { desiredChildren } from '../../operator/controller/children';
import { specProblems } from '../../operator/controller/validate-spec';
import { buildArchiverDeployment, buildCertificates, buildHostStatefulSet, buildLocatorDeployment, buildProxyDeployment } from '../../operator/specs';
import { INTERNAL_SERVER_NAME, TLS_MOUNT_DIR } from '../../operator/specs/internal-tls';
import type { Container, PodTemplate } from '../../operator/specs/k8s';
import type { AdamaCluster, TlsRole } from '../../operator/api/v1alpha1/types';
import { ROLE_URI_PREFIX } from '../../services/grpc/internal-tls';
import { COMMANDS } from '../../services/cli/commands/registry';
import { parseFlags } from '../../services/cli/options';
import { cluster } from './crd-schema';

const on = { archiver: { enabled: true }, objectStore: { secretRef: { name: 's3' } } };
const certManager = cluster({ ...on, internalTls: { mode: 'certManager', issuerRef: { name: 'adama-ca', kind: 'ClusterIssuer' } } });
const secrets = cluster({ ...on, internalTls: { mode: 'secrets', secretNames: { host: 'my-host-cert' }, healthPort: 7300 } });
const insecure = cluster(on);

/** Each pod of the cluster with the role of each of its containers. */
function podsOf(c: AdamaCluster): { pod: string; template: PodTemplate; roles: Map<Container, TlsRole> }[] {
  const roleOf = (ct: Container): TlsRole => (ct.name === 'gossip' ? 'gossip' : (ct.name as TlsRole));
  return [buildHostStatefulSet(c, 3).spec.template, buildProxyDeployment(c).spec.template, buildLocatorDeployment(c).spec.template, buildArchiverDeployment(c)!.spec.template]
    .map((template) => ({ pod: template.spec.containers[0]!.name, template, roles: new Map(template.spec.containers.map((ct) => [ct, roleOf(ct)])) }));
}

const flagsOf = (ct: Container) => parseFlags(ct.args.slice(1), COMMANDS.find((x) => x.name === ct.args[0])!.flags, {});

describe.each([['secrets', secrets], ['certManager', certManager]] as const)('internalTls %s', (_, c) => {
  it.each(podsOf(c).map((p) => [p.pod, p] as const))('%s pod: every container presents its own role\'s certificate from its own Secret', (_pod, p) => {
    for (const [ct, role] of p.roles) {
      const f = flagsOf(ct);
      const dir = `${TLS_MOUNT_DIR}/${role}`;
      expect({ container: ct.name, ca: f.get('internal-tls-ca'), cert: f.get('internal-tls-cert'), key: f.get('internal-tls-key'), insecure: f.get('insecure-internal') })
        .toEqual({ container: ct.name, ca: `${dir}/ca.crt`, cert: `${dir}/tls.crt`, key: `${dir}/tls.key`, insecure: 'false' });
      const mount = ct.volumeMounts.find((m) => m.mountPath === dir);
      expect(mount?.readOnly).toBe(true);
      const volume = p.template.spec.volumes.find((v) => v.name === mount!.name);
      const secretName = role === 'host' && c === secrets ? 'my-host-cert' : `prod-${role}-tls`;
      expect(volume).toEqual({ name: mount!.name, secret: { secretName, defaultMode: 0o440 } });
    }
  });

  it('hosts and the locator serve health plaintext on the health port, and their gRPC probes ask it', () => {
    const port = c.spec.internalTls.healthPort;
    const host = buildHostStatefulSet(c, 3).spec.template.spec.containers.find((x) => x.name === 'host')!;
    const locator = buildLocatorDeployment(c).spec.template.spec.containers[0]!;
    for (const ct of [host, locator]) {
      expect(flagsOf(ct).int('health-port')).toBe(port);
      expect(ct.readinessProbe?.grpc?.port).toBe(port);
      expect(ct.livenessProbe?.grpc?.port).toBe(port);
    }
    expect(host.livenessProbe?.grpc?.service).toBe('liveness');
  });

  it('the preStop drain presents the host\'s certificate', () => {
    const host = buildHostStatefulSet(c, 3).spec.template.spec.containers.find((x) => x.name === 'host')!;
    const cmd = host.lifecycle!.preStop.exec.command;
    expect(cmd.slice(cmd.indexOf('--internal-tls-cert'), cmd.indexOf('--internal-tls-cert') + 2)).toEqual(['--internal-tls-cert', `${TLS_MOUNT_DIR}/host/tls.crt`]);
  });
});

describe('internalTls certManager', () => {
  it('creates one Certificate per role, naming the role in a URI SAN and the internal server name, into the Secret the pods mount', () => {
    const certs = buildCertificates(certManager);
    expect(certs.map((x) => x.metadata.name).sort()).toEqual(['prod-archiver-tls', 'prod-gossip-tls', 'prod-host-tls', 'prod-locator-tls', 'prod-proxy-tls']);
    for (const cert of certs) {
      const role = cert.metadata.name.replace(/^prod-/, '').replace(/-tls$/, '');
      expect(cert.spec).toMatchObject({
        secretName: cert.metadata.name, uris: [`${ROLE_URI_PREFIX}${role}`], dnsNames: [INTERNAL_SERVER_NAME],
        issuerRef: { name: 'adama-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' },
      });
      expect(cert.spec.usages).toEqual(expect.arrayContaining(['server auth', 'client auth']));
      expect(cert.metadata.ownerReferences[0]).toMatchObject({ kind: 'AdamaCluster', name: 'prod' });
    }
  });

  it('applies the Certificates before the workloads that mount their Secrets', () => {
    const kinds = desiredChildren(certManager).apply.map((o) => o.kind);
    expect(kinds.lastIndexOf('Certificate')).toBeLessThan(kinds.indexOf('StatefulSet'));
    expect(desiredChildren(secrets).apply.some((o) => o.kind === 'Certificate')).toBe(false);
  });

  it('is refused without an issuer, and a health port clashing with another port is refused', () => {
    expect(specProblems(cluster({ internalTls: { mode: 'certManager' } }))).toEqual(['spec.internalTls.mode certManager needs spec.internalTls.issuerRef']);
    expect(specProblems(cluster({ internalTls: { mode: 'secrets', healthPort: 7100 } }))).toEqual(['spec.hosts.port and spec.internalTls.healthPort are both 7100']);
    expect(specProblems(cluster({ internalTls: { mode: 'insecure', healthPort: 7100 } }))).toEqual([]);
  });
});

describe('internalTls insecure (the default)', () => {
  it.each(podsOf(insecure).map((p) => [p.pod, p] as const))('%s pod: every container says --insecure-internal true and mounts no certificate', (_pod, p) => {
    for (const ct of p.roles.keys()) {
      expect(flagsOf(ct).get('insecure-internal')).toBe('true');
      expect(ct.volumeMounts.some((m) => m.mountPath.startsWith(TLS_MOUNT_DIR))).toBe(false);
    }
    expect(p.template.spec.volumes.some((v) => 'secret' in v)).toBe(false);
    expect(buildCertificates(insecure)).toEqual([]);
  });
});
