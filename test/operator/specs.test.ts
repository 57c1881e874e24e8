import {
  buildArchiverDeployment, buildConfigMap, buildHostStatefulSet, buildLocatorDeployment, buildPodDisruptionBudgets, buildProxyDeployment, buildServices,
} from '../../operator/specs';
import type { Container, PodTemplate } from '../../operator/specs/k8s';
import { cluster } from './crd-schema';

const c = cluster();
const byName = (t: PodTemplate, name: string): Container => {
  const found = t.spec.containers.find((x) => x.name === name);
  if (!found) throw new Error(`no container ${name}`);
  return found;
};

describe('buildHostStatefulSet', () => {
  const sts = buildHostStatefulSet(c, 4);

  test('host pods spread across zones and nodes by default; the spec overrides or turns it off', () => {
    const hostSelector = { matchLabels: sts.spec.selector.matchLabels };
    expect(sts.spec.template.spec.topologySpreadConstraints).toEqual([
      { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: hostSelector },
      { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: hostSelector },
    ]);
    const own = [{ maxSkew: 2, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: hostSelector }];
    expect(buildHostStatefulSet(cluster({ hosts: { topologySpreadConstraints: own } }), 4).spec.template.spec.topologySpreadConstraints).toEqual(own);
    expect(buildHostStatefulSet(cluster({ hosts: { topologySpreadConstraints: [] } }), 4).spec.template.spec.topologySpreadConstraints).toBeUndefined();
  });
  const host = byName(sts.spec.template, 'host');

  it('takes replicas from the plan, not the spec', () => {
    expect(sts.spec.replicas).toBe(4);
    expect(c.spec.hosts.replicas).toBe(3);
  });

  it('leaves pod replacement to the operator (OnDelete) and has stable identity via the headless service', () => {
    expect(sts.spec.updateStrategy).toEqual({ type: 'OnDelete' });
    expect(sts.spec.serviceName).toBe('prod-host');
    expect(host.args).toEqual(expect.arrayContaining(['--advertise', '$(ADAMA_HOST_ID).prod-host.adama.svc:7100']));
  });

  it('is owned by the AdamaCluster and labelled app.kubernetes.io/*', () => {
    expect(sts.metadata.ownerReferences).toEqual([{ apiVersion: 'adama.io/v1alpha1', kind: 'AdamaCluster', name: 'prod', uid: 'uid-1', controller: true, blockOwnerDeletion: true }]);
    expect(sts.metadata.labels).toMatchObject({ 'app.kubernetes.io/name': 'adama', 'app.kubernetes.io/instance': 'prod', 'app.kubernetes.io/component': 'host', 'app.kubernetes.io/managed-by': 'adama-operator' });
    expect(sts.spec.template.metadata.labels).toMatchObject(sts.spec.selector.matchLabels);
  });

  it('runs the drain in preStop and gives it the whole drain timeout plus slack', () => {
    expect(host.lifecycle?.preStop.exec.command).toEqual(['node', '--no-node-snapshot', '/app/dist/services/cli/main.js', 'host', 'drain-self', '--port', '7100', '--timeout-ms', '300000', '--insecure-internal', 'true']);
    // SIGTERM after the hook drains with the same budget.
    expect(host.env).toContainEqual({ name: 'ADAMA_SHUTDOWN_GRACE_MS', value: '300000' });
    expect(sts.spec.template.spec.terminationGracePeriodSeconds).toBe(330);
    const longer = buildHostStatefulSet(cluster({ hosts: { drain: { timeoutSeconds: 900 } } }), 3);
    expect(longer.spec.template.spec.terminationGracePeriodSeconds).toBe(930);
  });

  it('is ready only while serving, but live whenever it answers: a drain (NOT_SERVING) must not get it restarted', () => {
    expect(host.readinessProbe).toMatchObject({ grpc: { port: 7100 } });
    expect(host.readinessProbe!.grpc!.service).toBeUndefined();
    expect(host.livenessProbe).toMatchObject({ grpc: { port: 7100, service: 'liveness' } });
  });

  it('is hardened: non-root, read-only root, no privilege escalation, no API token', () => {
    const pod = sts.spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.automountServiceAccountToken).toBe(false);
    for (const ct of pod.containers) {
      expect(ct.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
    }
  });

  it('reads connection strings only through secretKeyRef, and only those the host uses (no Redis)', () => {
    const withAll = buildHostStatefulSet(cluster({ redis: { secretRef: { name: 'r' } }, objectStore: { secretRef: { name: 's3', key: 'uri' } } }), 3);
    const env = byName(withAll.spec.template, 'host').env;
    expect(env.find((e) => e.name === 'ADAMA_DATABASE_URL')).toEqual({ name: 'ADAMA_DATABASE_URL', valueFrom: { secretKeyRef: { name: 'adama-db', key: 'url' } } });
    expect(env.find((e) => e.name === 'ADAMA_OBJECT_STORE')?.valueFrom?.secretKeyRef).toEqual({ name: 's3', key: 'uri' });
    expect(env.find((e) => e.name === 'ADAMA_REDIS_URL')).toBeUndefined();
    expect(env.filter((e) => /URL|STORE/.test(e.name)).every((e) => e.value === undefined)).toBe(true);
  });

  it('lets the tier env override ours', () => {
    const custom = buildHostStatefulSet(cluster({ hosts: { env: [{ name: 'ADAMA_DOC_QUEUE_DEPTH', value: '512' }] } }), 3);
    expect(byName(custom.spec.template, 'host').env).toContainEqual({ name: 'ADAMA_DOC_QUEUE_DEPTH', value: '512' });
  });

  it('carries a gossip sidecar pointed at by --gossip, or none when gossip is off', () => {
    expect(byName(sts.spec.template, 'gossip').args.slice(0, 1)).toEqual(['gossip']);
    expect(host.args).toEqual(expect.arrayContaining(['--gossip', '127.0.0.1:7946']));
    expect(sts.spec.template.metadata.labels['adama.io/gossip']).toBe('true');
    const off = buildHostStatefulSet(cluster({ gossip: { enabled: false } }), 3);
    expect(off.spec.template.spec.containers.map((x) => x.name)).toEqual(['host']);
    expect(byName(off.spec.template, 'host').args).not.toContain('--gossip');
  });

  it('changes the pod template when the ConfigMap data changes', () => {
    const a = buildHostStatefulSet(c, 3).spec.template.metadata.annotations['adama.io/config-digest'];
    const b = buildHostStatefulSet(cluster({ logLevel: 'debug' }), 3).spec.template.metadata.annotations['adama.io/config-digest'];
    expect(a).toBeDefined();
    expect(a).not.toBe(b);
  });
});

describe('Deployments', () => {
  it('proxies get Redis when the spec has it; the locator and archiver do not', () => {
    const withRedis = cluster({ redis: { secretRef: { name: 'r' } }, objectStore: { secretRef: { name: 's3' } }, archiver: { enabled: true } });
    const envNames = (t: PodTemplate, name: string) => byName(t, name).env.map((e) => e.name);
    // Proxies ask the locator for live hosts: no database credentials reach them.
    expect(envNames(buildProxyDeployment(withRedis).spec.template, 'proxy')).toEqual(['ADAMA_PROXY_ID', 'ADAMA_REDIS_URL']);
    expect(byName(buildProxyDeployment(withRedis).spec.template, 'proxy').args).toEqual(expect.arrayContaining(['--locator', 'prod-locator:7000']));
    // Without a locator they read the hosts table.
    const noLocator = cluster({ locator: { replicas: 0 } });
    expect(envNames(buildProxyDeployment(noLocator).spec.template, 'proxy')).toContain('ADAMA_DATABASE_URL');
    expect(byName(buildProxyDeployment(noLocator).spec.template, 'proxy').args).not.toContain('--locator');
    expect(envNames(buildLocatorDeployment(withRedis).spec.template, 'locator')).toEqual(['ADAMA_DATABASE_URL']);
    expect(envNames(buildArchiverDeployment(withRedis)!.spec.template, 'archiver')).toEqual(['ADAMA_WORKER_ID', 'ADAMA_DATABASE_URL', 'ADAMA_OBJECT_STORE']);
  });

  it('proxies get the gossip sidecar, a /healthz probe and the tier image override', () => {
    const d = buildProxyDeployment(cluster({ proxies: { replicas: 5, image: 'proxy:2' } }));
    expect(d.spec.replicas).toBe(5);
    expect(d.spec.template.spec.containers.map((x) => x.name)).toEqual(['proxy', 'gossip']);
    expect(byName(d.spec.template, 'proxy')).toMatchObject({ image: 'proxy:2', readinessProbe: { httpGet: { path: '/healthz', port: 'http' } } });
    expect(d.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
  });

  it('the locator has no sidecar and a gRPC probe', () => {
    const d = buildLocatorDeployment(c);
    expect(d.spec.template.spec.containers.map((x) => x.name)).toEqual(['locator']);
    expect(byName(d.spec.template, 'locator').readinessProbe?.grpc).toEqual({ port: 7000 });
  });

  it('the archiver exists only when enabled', () => {
    expect(buildArchiverDeployment(c)).toBeUndefined();
    expect(buildArchiverDeployment(cluster({ archiver: { enabled: true } }))?.metadata.name).toBe('prod-archiver');
  });
});

describe('buildServices', () => {
  const services = buildServices(c);
  const svc = (name: string) => services.find((s) => s.metadata.name === name);

  it('publishes not-ready gossip peers through a headless service selecting every gossiping pod', () => {
    expect(svc('prod-gossip')?.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true, selector: { 'app.kubernetes.io/instance': 'prod', 'adama.io/gossip': 'true' } });
    expect(svc('prod-gossip')?.spec.selector['app.kubernetes.io/component']).toBeUndefined();
  });

  it('has a headless host service, a proxy service of the chosen type and a locator service', () => {
    expect(svc('prod-host')?.spec.clusterIP).toBe('None');
    expect(buildServices(cluster({ proxies: { serviceType: 'LoadBalancer' } })).find((s) => s.metadata.name === 'prod-proxy')?.spec.type).toBe('LoadBalancer');
    expect(svc('prod-locator')?.spec.ports).toEqual([{ name: 'grpc', port: 7000, targetPort: 'grpc', protocol: 'TCP' }]);
  });

  it('drops the gossip service when gossip is off', () => {
    expect(buildServices(cluster({ gossip: { enabled: false } })).map((s) => s.metadata.name)).not.toContain('prod-gossip');
  });
});

describe('buildPodDisruptionBudgets', () => {
  it('allows one pod down per tier and has none for a tier at one replica', () => {
    const pdbs = buildPodDisruptionBudgets(c);
    expect(pdbs.map((p) => p.metadata.name)).toEqual(['prod-host', 'prod-proxy']);
    expect(pdbs[0]?.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': 'adama', 'app.kubernetes.io/instance': 'prod', 'app.kubernetes.io/component': 'host' } } });
    expect(buildPodDisruptionBudgets(cluster({ hosts: { replicas: 1 } })).map((p) => p.metadata.name)).toEqual(['prod-proxy']);
    expect(buildPodDisruptionBudgets(cluster({ podDisruptionBudgets: { enabled: false } }))).toEqual([]);
  });
});

describe('buildConfigMap', () => {
  it('holds only what every container reads: no secrets, no tier-specific settings', () => {
    expect(buildConfigMap(c).data).toEqual({ ADAMA_LOG_LEVEL: 'info' });
  });
});
