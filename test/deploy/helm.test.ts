import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import { readFileSync, writeFileSync } from 'node:fs';
import { buildCrd } from '../../operator/api/v1alpha1/crd';
import { helmVersion, runHelm } from './helm';

const root = join(__dirname, '../..');
const chart = join(root, 'charts/adama');
const values = (name: string) => join(__dirname, 'helm-values', name);

interface K8sObject { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string>; labels?: Record<string, string> }; [k: string]: unknown }

function template(...valueFiles: string[]): K8sObject[] {
  const args = ['template', 'adama', chart, '--namespace', 'adama-system', ...valueFiles.flatMap((f) => ['-f', values(f)])];
  const r = runHelm(args);
  if (r.status !== 0) throw new Error(`helm ${args.join(' ')} failed:\n${r.stderr}`);
  return (loadAll(r.stdout) as (K8sObject | null)[]).filter((o): o is K8sObject => o !== null);
}

const kinds = (objs: K8sObject[]) => objs.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort();
const one = (objs: K8sObject[], kind: string, name?: string): K8sObject => {
  const found = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name ?? ''}, got ${found.length}`);
  return found[0]!;
};
type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
const rules = (o: K8sObject) => (o['rules'] as Rule[]);

describe('charts/adama with the real helm', () => {
  it('has a helm binary', () => expect(helmVersion()).toMatch(/^v3\./));

  it('passes helm lint with every values file', () => {
    for (const v of [[], ['namespaced.yaml'], ['monitoring-no-crds.yaml'], ['operator-tls.yaml']]) {
      const r = runHelm(['lint', chart, '--strict', ...v.flatMap((f) => ['-f', values(f)])]);
      expect({ status: r.status, out: r.stdout + r.stderr }).toMatchObject({ status: 0 });
    }
  });

  it('rejects values the schema forbids', () => {
    const r = runHelm(['template', 'adama', chart, '-f', values('invalid.yaml')]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/values don't meet the specifications of the schema|schema/i);
    expect(r.stderr).toMatch(/operater|pullPolicy/);
  });

  describe('default values', () => {
    const objs = template();

    it('renders the CRD (kept on uninstall), operator, service account and cluster-wide RBAC', () => {
      expect(kinds(objs)).toEqual([
        'ClusterRole//adama', 'ClusterRoleBinding//adama', 'CustomResourceDefinition//adamaclusters.adama.io',
        'Deployment/adama-system/adama', 'Role/adama-system/adama-leader-election', 'RoleBinding/adama-system/adama-leader-election',
        'Service/adama-system/adama-metrics', 'ServiceAccount/adama-system/adama',
      ]);
      expect(one(objs, 'CustomResourceDefinition').metadata.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });
    });

    it('runs a hardened operator from the one image', () => {
      const spec = one(objs, 'Deployment')['spec'] as { template: { spec: { securityContext: Record<string, unknown>; containers: { image: string; args: string[]; securityContext: Record<string, unknown> }[] } } };
      const pod = spec.template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.containers[0]).toMatchObject({ image: 'ghcr.io/example/adama:0.1.0', args: expect.arrayContaining(['operator']) });
      expect(pod.containers[0]?.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
    });

    it('grants least privilege: no Secrets, no wildcards, Leases only in its own namespace', () => {
      const cluster = rules(one(objs, 'ClusterRole'));
      const flat = cluster.flatMap((r) => [...r.resources, ...r.verbs, ...r.apiGroups]);
      expect(flat).not.toContain('*');
      expect(cluster.flatMap((r) => r.resources)).not.toContain('secrets');
      expect(cluster.flatMap((r) => r.resources)).not.toContain('leases');
      expect(cluster.find((r) => r.resources.includes('adamaclusters/status'))?.verbs).toEqual(['get', 'update', 'patch']);
      expect(cluster.find((r) => r.resources.includes('pods'))?.verbs).not.toContain('create');
      expect(rules(one(objs, 'Role', 'adama-leader-election'))).toEqual([{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }]);
    });

    it('the rendered CRD is exactly the one crd.ts builds, plus the keep annotation', () => {
      const crd = buildCrd();
      expect(one(objs, 'CustomResourceDefinition')).toEqual({ ...crd, metadata: { ...(crd['metadata'] as object), annotations: { 'helm.sh/resource-policy': 'keep' } } });
    });
  });

  describe('namespaced values', () => {
    const objs = template('namespaced.yaml');

    it('creates Roles in each watched namespace and no ClusterRole', () => {
      expect(objs.filter((o) => o.kind.startsWith('Cluster'))).toEqual([]);
      expect(objs.filter((o) => o.kind === 'Role' && o.metadata.name === 'adama').map((o) => o.metadata.namespace)).toEqual(['team-a', 'team-b']);
      const binding = objs.find((o) => o.kind === 'RoleBinding' && o.metadata.namespace === 'team-b')!;
      expect(binding['subjects']).toEqual([{ kind: 'ServiceAccount', name: 'adama', namespace: 'adama-system' }]);
    });

    it('tells the operator what to watch', () => {
      const spec = one(objs, 'Deployment')['spec'] as { replicas: number; template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } };
      expect(spec.replicas).toBe(2);
      expect(spec.template.spec.containers[0]?.env).toContainEqual({ name: 'ADAMA_WATCH_NAMESPACES', value: 'team-a,team-b' });
    });
  });

  describe('monitoring without CRDs', () => {
    const objs = template('monitoring-no-crds.yaml');

    it('skips the CRD and adds a ServiceMonitor on the metrics port', () => {
      expect(objs.some((o) => o.kind === 'CustomResourceDefinition')).toBe(false);
      const sm = one(objs, 'ServiceMonitor');
      expect(sm.metadata.labels).toMatchObject({ release: 'prometheus' });
      expect(sm['spec']).toMatchObject({ endpoints: [{ port: 'metrics', path: '/metrics', interval: '30s' }] });
    });

    it('uses the pinned image and pull secret', () => {
      const spec = one(objs, 'Deployment')['spec'] as { template: { spec: { imagePullSecrets: unknown; containers: { image: string }[] } } };
      expect(spec.template.spec.containers[0]?.image).toBe('registry.example.com/adama:1.2.3');
      expect(spec.template.spec.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    });
  });
});

describe('charts/adama: the operator\'s own certificate (internalTls)', () => {
  type Pod = { containers: { args: string[]; volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[] }[]; volumes: { name: string; secret?: { secretName: string } }[] };
  const podOf = (objs: K8sObject[]): Pod => (one(objs, 'Deployment')['spec'] as { template: { spec: Pod } }).template.spec;

  it('has no certificate by default: no TLS flags, no Secret mounted, no Certificate', () => {
    const objs = template();
    const pod = podOf(objs);
    expect(pod.containers[0]!.args.some((a) => a.startsWith('--internal-tls'))).toBe(false);
    expect(pod.volumes.some((v) => v.secret)).toBe(false);
    expect(objs.some((o) => o.kind === 'Certificate')).toBe(false);
  });

  it('with certManager, creates the operator\'s Certificate (role operator) and runs the operator with its files', () => {
    const objs = template('operator-tls.yaml');
    const cert = one(objs, 'Certificate');
    expect(cert['spec']).toMatchObject({ secretName: 'adama-operator-tls', uris: ['urn:adama:role:operator'], dnsNames: ['adama.internal'], issuerRef: { name: 'adama-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' } });
    const pod = podOf(objs);
    const args = pod.containers[0]!.args;
    const flag = (name: string) => args[args.indexOf(name) + 1];
    expect([flag('--internal-tls-ca'), flag('--internal-tls-cert'), flag('--internal-tls-key')]).toEqual(['/etc/adama/tls/operator/ca.crt', '/etc/adama/tls/operator/tls.crt', '/etc/adama/tls/operator/tls.key']);
    expect(pod.containers[0]!.volumeMounts).toContainEqual({ name: 'tls', mountPath: '/etc/adama/tls/operator', readOnly: true });
    expect(pod.volumes).toContainEqual(expect.objectContaining({ name: 'tls', secret: expect.objectContaining({ secretName: 'adama-operator-tls' }) }));
  });

  it('grants the operator the Certificates it creates for clusters in certManager mode', () => {
    const role = one(template(), 'ClusterRole');
    expect(rules(role)).toContainEqual({ apiGroups: ['cert-manager.io'], resources: ['certificates'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] });
  });
});

describe('deploy/operator.yaml (plain YAML for kubectl apply)', () => {
  // Rendered from the chart so the two never disagree; ADAMA_WRITE_DEPLOY=1 rewrites it.
  const HEADER = '# Generated: helm template adama charts/adama --namespace adama-system --set crds.create=false\n'
    + '# (regenerate: ADAMA_WRITE_DEPLOY=1 npx jest test/deploy/helm.test.ts). Apply deploy/crds/ first.\n'
    + '---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: adama-system\n';

  it('matches the chart', () => {
    const r = runHelm(['template', 'adama', chart, '--namespace', 'adama-system', '--set', 'crds.create=false']);
    expect(r.status).toBe(0);
    const expected = HEADER + r.stdout;
    const path = join(root, 'deploy/operator.yaml');
    if (process.env['ADAMA_WRITE_DEPLOY'] === '1') writeFileSync(path, expected);
    expect(readFileSync(path, 'utf8')).toBe(expected);
  });
});
