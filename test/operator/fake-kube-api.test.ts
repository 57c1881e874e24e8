/**
 * The fake API server through the real client-node: discovery, auth, CRUD with optimistic
 * concurrency, the Status error shapes, list selectors, injected faults and built-in admission.
 */
import {
  ApisApi, AppsV1Api, CoordinationV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi, type V1ConfigMap, type V1StatefulSet,
} from '@kubernetes/client-node';
import { startFakeKube, type FakeKube } from '../support/fake-kube';
import { expectStatus, statusOf } from '../support/fake-kube/client-errors';

const NS = 'adama';
let fake: FakeKube;
let core: CoreV1Api;
let apps: AppsV1Api;

beforeAll(async () => {
  fake = await startFakeKube();
  const kc = fake.kubeConfig(NS);
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
});
afterAll(async () => { await fake.close(); });

const cm = (name: string, labels: Record<string, string> = {}, data: Record<string, string> = { k: 'v' }): V1ConfigMap =>
  ({ metadata: { name, labels }, data });

function statefulSet(name: string, replicas = 1): V1StatefulSet {
  return {
    apiVersion: 'apps/v1', kind: 'StatefulSet',
    metadata: { name, namespace: NS },
    spec: {
      serviceName: name, replicas, selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image: 'example/app:1.0' }] } },
    },
  };
}

/** A request client-node cannot make (malformed bodies), with the right token. */
function raw(method: string, path: string, body: string, contentType = 'application/json'): Promise<Response> {
  return fetch(`${fake.url}${path}`, { method, ...(body ? { body } : {}), headers: { Authorization: `Bearer ${fake.token}`, 'Content-Type': contentType } });
}

describe('discovery', () => {
  it('lists each resource before its subresources, with kinds, verbs and scale in autoscaling/v1', async () => {
    const list = await apps.getAPIResources();
    const names = list.resources.map((r) => r.name);
    expect(names.indexOf('statefulsets')).toBeLessThan(names.indexOf('statefulsets/status'));
    expect(list.resources.find((r) => r.name === 'statefulsets')).toMatchObject({ kind: 'StatefulSet', singularName: 'statefulset', namespaced: true, verbs: expect.arrayContaining(['create', 'get', 'list', 'watch', 'patch', 'update', 'delete']) });
    expect(list.resources.find((r) => r.name === 'statefulsets/scale')).toMatchObject({ kind: 'Scale', group: 'autoscaling', version: 'v1', verbs: ['get', 'patch', 'update'] });
    const groups = await fake.kubeConfig().makeApiClient(ApisApi).getAPIVersions();
    expect(groups.groups.map((g) => g.name)).toEqual(expect.arrayContaining(['apps', 'policy', 'coordination.k8s.io', 'adama.io']));
  });

  it('serves the CRD as read from its object: plural, short names, scope, subresources', async () => {
    const res = await raw('GET', '/apis/adama.io/v1alpha1', '');
    const doc = await res.json() as { resources: { name: string; kind: string; namespaced: boolean; shortNames?: string[] }[] };
    expect(doc.resources.map((r) => r.name)).toEqual(['adamaclusters', 'adamaclusters/scale', 'adamaclusters/status']);
    expect(doc.resources[0]).toMatchObject({ kind: 'AdamaCluster', namespaced: true, shortNames: ['ac'] });
  });

  it('lets KubernetesObjectApi map kind to plural for core, apps and custom kinds', async () => {
    const objects = KubernetesObjectApi.makeApiClient(fake.kubeConfig(NS));
    await objects.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'via-object-api' }, data: { a: 'b' } } as V1ConfigMap);
    const read = await objects.read({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'via-object-api', namespace: NS } });
    expect(read.metadata?.namespace).toBe(NS);
    const lists = await objects.list('apps/v1', 'StatefulSet', NS);
    expect(lists.items).toEqual([]);
    expect(fake.requests.some((r) => r.path === '/api/v1')).toBe(true);
  });
});

describe('auth', () => {
  it('answers 401 Unauthorized without the bearer token', async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: fake.url, skipTLSVerify: true }], users: [{ name: 'u', token: 'wrong' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x',
    });
    const e = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: NS }).catch((x: unknown) => x);
    expect((e as { code?: number }).code).toBe(401);
    const res = await fetch(`${fake.url}/api/v1/namespaces/${NS}/pods`);
    expect(await res.json()).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Unauthorized', code: 401 });
  });
});

describe('create, read, replace, delete', () => {
  it('stamps uid, creationTimestamp and a numeric resourceVersion from one global counter', async () => {
    const a = await core.createNamespacedConfigMap({ namespace: NS, body: cm('stamp-a') });
    const b = await core.createNamespacedConfigMap({ namespace: NS, body: cm('stamp-b') });
    expect(a.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(Number(b.metadata?.resourceVersion)).toBeGreaterThan(Number(a.metadata?.resourceVersion));
    expect(a.metadata?.generation).toBeUndefined();
  });

  it('names objects from generateName', async () => {
    const made = await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { generateName: 'gen-' }, data: {} } });
    expect(made.metadata?.name).toMatch(/^gen-[a-z0-9]{5}$/);
  });

  it('answers NotFound and AlreadyExists with Status bodies', async () => {
    const missing = await expectStatus(core.readNamespacedConfigMap({ namespace: NS, name: 'nope' }));
    expect(missing).toEqual({
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'NotFound', code: 404,
      message: 'configmaps "nope" not found', details: { name: 'nope', group: '', kind: 'configmaps' },
    });
    await core.createNamespacedConfigMap({ namespace: NS, body: cm('dup') });
    const dup = await expectStatus(core.createNamespacedConfigMap({ namespace: NS, body: cm('dup') }));
    expect(dup).toMatchObject({ reason: 'AlreadyExists', code: 409, message: 'configmaps "dup" already exists' });
  });

  it('refuses a replace with a stale resourceVersion (409 Conflict) and accepts one without', async () => {
    const v1 = await core.createNamespacedConfigMap({ namespace: NS, body: cm('occ') });
    const v2 = await core.replaceNamespacedConfigMap({ namespace: NS, name: 'occ', body: { ...v1, data: { k: 'second' } } });
    expect(Number(v2.metadata?.resourceVersion)).toBeGreaterThan(Number(v1.metadata?.resourceVersion));
    const stale = await expectStatus(core.replaceNamespacedConfigMap({ namespace: NS, name: 'occ', body: { ...v1, data: { k: 'lost update' } } }));
    expect(stale).toMatchObject({ reason: 'Conflict', code: 409, message: expect.stringContaining('the object has been modified') });
    const blind = await core.replaceNamespacedConfigMap({ namespace: NS, name: 'occ', body: { metadata: { name: 'occ' }, data: { k: 'third' } } });
    expect(blind.data).toEqual({ k: 'third' });
    expect(blind.metadata?.uid).toBe(v1.metadata?.uid);
  });

  it('does not bump resourceVersion for a replace that changes nothing', async () => {
    const v1 = await core.createNamespacedConfigMap({ namespace: NS, body: cm('noop') });
    const v2 = await core.replaceNamespacedConfigMap({ namespace: NS, name: 'noop', body: v1 });
    expect(v2.metadata?.resourceVersion).toBe(v1.metadata?.resourceVersion);
  });

  it('rejects a body whose name differs from the URL (400) and a create with a resourceVersion', async () => {
    await core.createNamespacedConfigMap({ namespace: NS, body: cm('named') });
    const wrong = await expectStatus(core.replaceNamespacedConfigMap({ namespace: NS, name: 'named', body: cm('other') }));
    expect(wrong).toMatchObject({ code: 400, reason: 'BadRequest' });
    const withRv = await expectStatus(core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'rv', resourceVersion: '5' } } }));
    expect(withRv.message).toContain('resourceVersion should not be set on objects to be created');
  });

  it('answers DELETE with a Success Status for config maps and with the object for pods', async () => {
    await core.createNamespacedConfigMap({ namespace: NS, body: cm('bye') });
    const status = await core.deleteNamespacedConfigMap({ namespace: NS, name: 'bye' });
    expect(status).toMatchObject({ status: 'Success', details: { name: 'bye', kind: 'configmaps' } });
    expect(fake.get('v1/configmaps', NS, 'bye')).toBeUndefined();
  });

  it('supports leases with optimistic concurrency, as leader election uses them', async () => {
    const coord = fake.kubeConfig(NS).makeApiClient(CoordinationV1Api);
    const lease = await coord.createNamespacedLease({ namespace: NS, body: { metadata: { name: 'leader' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } } });
    await coord.replaceNamespacedLease({ namespace: NS, name: 'leader', body: { ...lease, spec: { ...lease.spec, holderIdentity: 'b' } } });
    const lost = await expectStatus(coord.replaceNamespacedLease({ namespace: NS, name: 'leader', body: { ...lease, spec: { ...lease.spec, holderIdentity: 'c' } } }));
    expect(lost.reason).toBe('Conflict');
    expect((await coord.readNamespacedLease({ namespace: NS, name: 'leader' })).spec?.holderIdentity).toBe('b');
  });

  it('answers a malformed body with 400 and an unknown patch type with 415, never crashing', async () => {
    const bad = await raw('POST', `/api/v1/namespaces/${NS}/configmaps`, '{"metadata":');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ kind: 'Status', reason: 'BadRequest' });
    const notObject = await raw('POST', `/api/v1/namespaces/${NS}/configmaps`, '[1,2]');
    expect(notObject.status).toBe(400);
    const unknown = await raw('PATCH', `/api/v1/namespaces/${NS}/configmaps/named`, '{}', 'text/plain');
    expect(unknown.status).toBe(415);
    const wrongPath = await raw('GET', '/apis/apps/v1/namespaces/x/widgets', '');
    expect(wrongPath.status).toBe(404);
    expect((await core.listNamespacedConfigMap({ namespace: NS })).kind).toBe('ConfigMapList');
  });
});

describe('list', () => {
  beforeAll(async () => {
    await core.createNamespacedConfigMap({ namespace: 'sel-a', body: cm('one', { tier: 'web', env: 'prod' }) });
    await core.createNamespacedConfigMap({ namespace: 'sel-a', body: cm('two', { tier: 'db', env: 'prod' }) });
    await core.createNamespacedConfigMap({ namespace: 'sel-b', body: cm('three', { tier: 'web' }) });
  });
  const names = (l: { items: { metadata?: { name?: string } }[] }) => l.items.map((i) => i.metadata?.name).sort();
  const select = async (labelSelector: string) => names(await core.listConfigMapForAllNamespaces({ labelSelector }));

  it('filters by every label selector form', async () => {
    expect(await select('tier=web')).toEqual(['one', 'three']);
    expect(await select('tier==web,env=prod')).toEqual(['one']);
    expect(await select('tier!=web,tier')).toEqual(['two']);
    expect(await select('env')).toEqual(['one', 'two']);
    expect(await select('!env,tier')).toEqual(['three']);
    expect(await select('tier in (db, web),env')).toEqual(['one', 'two']);
    expect(await select('tier notin (web),tier')).toEqual(['two']);
  });

  it('answers a malformed selector with 400', async () => {
    const bad = await expectStatus(core.listConfigMapForAllNamespaces({ labelSelector: 'tier in (web' }));
    expect(bad.code).toBe(400);
  });

  it('filters by namespace and by metadata.name / metadata.namespace field selectors', async () => {
    expect(names(await core.listNamespacedConfigMap({ namespace: 'sel-a' }))).toEqual(['one', 'two']);
    expect(names(await core.listConfigMapForAllNamespaces({ fieldSelector: 'metadata.name=three' }))).toEqual(['three']);
    expect(names(await core.listConfigMapForAllNamespaces({ fieldSelector: 'metadata.namespace=sel-a,metadata.name!=one' }))).toEqual(['two']);
  });

  it('reports the current global resourceVersion on the list', async () => {
    const before = await core.createNamespacedConfigMap({ namespace: 'sel-b', body: cm('latest') });
    const list = await core.listNamespacedConfigMap({ namespace: 'sel-a' });
    expect(Number(list.metadata?.resourceVersion)).toBeGreaterThanOrEqual(Number(before.metadata?.resourceVersion));
  });
});

describe('faults', () => {
  afterEach(() => fake.clearFaults());

  it('fails the next matching request with 429 and Retry-After, then recovers', async () => {
    fake.fault({ method: 'GET', path: /\/configmaps\/retry-me$/, status: 429, retryAfterSeconds: 7 });
    await core.createNamespacedConfigMap({ namespace: NS, body: cm('retry-me') });
    const err = await core.readNamespacedConfigMap({ namespace: NS, name: 'retry-me' }).catch((e: unknown) => e);
    expect(statusOf(err)).toMatchObject({ reason: 'TooManyRequests', code: 429, details: { retryAfterSeconds: 7 } });
    expect((err as { headers: Record<string, string> }).headers['retry-after']).toBe('7');
    expect((await core.readNamespacedConfigMap({ namespace: NS, name: 'retry-me' })).metadata?.name).toBe('retry-me');
  });

  it('counts `times` and matches method and exact path', async () => {
    const path = `/api/v1/namespaces/${NS}/configmaps`;
    fake.fault({ method: 'POST', path, status: 500, times: 2 });
    expect((await expectStatus(core.createNamespacedConfigMap({ namespace: NS, body: cm('f1') }))).reason).toBe('InternalError');
    expect((await core.listNamespacedConfigMap({ namespace: NS })).kind).toBe('ConfigMapList');
    expect((await expectStatus(core.createNamespacedConfigMap({ namespace: NS, body: cm('f1') }))).code).toBe(500);
    expect((await core.createNamespacedConfigMap({ namespace: NS, body: cm('f1') })).metadata?.name).toBe('f1');
  });

  it('injects 409 and 503 as Conflict and ServiceUnavailable', async () => {
    fake.fault({ status: 409 });
    expect((await expectStatus(core.listNamespacedConfigMap({ namespace: NS }))).reason).toBe('Conflict');
    fake.fault({ status: 503 });
    expect((await expectStatus(core.listNamespacedConfigMap({ namespace: NS }))).reason).toBe('ServiceUnavailable');
  });
});

describe('built-in admission', () => {
  it('defaults a StatefulSet as the real server does and starts generation at 1', async () => {
    const sts = await apps.createNamespacedStatefulSet({ namespace: NS, body: statefulSet('defaults', 0) });
    expect(sts.metadata?.generation).toBe(1);
    expect(sts.spec).toMatchObject({ podManagementPolicy: 'OrderedReady', revisionHistoryLimit: 10, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } } });
    expect(sts.spec?.template.spec).toMatchObject({ restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', terminationGracePeriodSeconds: 30 });
    expect(sts.spec?.template.spec?.containers[0]).toMatchObject({ imagePullPolicy: 'IfNotPresent', terminationMessagePath: '/dev/termination-log' });
  });

  it('allocates a cluster IP for services, keeps it across a replace, leaves headless services without one', async () => {
    const svc = await core.createNamespacedService({ namespace: NS, body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] } } });
    expect(svc.spec?.clusterIP).toMatch(/^10\.96\./);
    expect(svc.spec?.ports?.[0]).toMatchObject({ protocol: 'TCP', targetPort: 80 });
    const again = await core.replaceNamespacedService({ namespace: NS, name: 'web', body: { metadata: { name: 'web' }, spec: { selector: { app: 'web2' }, ports: [{ name: 'http', port: 80 }] } } });
    expect(again.spec?.clusterIP).toBe(svc.spec?.clusterIP);
    const headless = await core.createNamespacedService({ namespace: NS, body: { metadata: { name: 'peers' }, spec: { clusterIP: 'None', selector: { app: 'web' }, ports: [{ port: 7100 }] } } });
    expect(headless.spec?.clusterIP).toBe('None');
  });

  it('rejects a workload whose selector does not match its template, with field causes', async () => {
    const body = statefulSet('mismatch');
    body.spec!.template.metadata = { labels: { app: 'other' } };
    const invalid = await expectStatus(apps.createNamespacedStatefulSet({ namespace: NS, body }));
    expect(invalid).toMatchObject({ code: 422, reason: 'Invalid', details: { name: 'mismatch', group: 'apps', kind: 'StatefulSet' } });
    expect(invalid.details?.causes).toContainEqual(expect.objectContaining({ field: 'spec.template.metadata.labels', reason: 'FieldValueInvalid' }));
  });

  it('refuses changes to the immutable parts of a StatefulSet spec', async () => {
    await apps.createNamespacedStatefulSet({ namespace: NS, body: statefulSet('frozen', 0) });
    await fake.settled(); // the controller's status write moved resourceVersion on
    const sts = await apps.readNamespacedStatefulSet({ namespace: NS, name: 'frozen' });
    const moved = await expectStatus(apps.replaceNamespacedStatefulSet({ namespace: NS, name: 'frozen', body: { ...sts, spec: { ...sts.spec!, serviceName: 'elsewhere' } } }));
    expect(moved.details?.causes?.[0]).toMatchObject({ field: 'spec', reason: 'FieldValueForbidden' });
    const scaled = await apps.replaceNamespacedStatefulSet({ namespace: NS, name: 'frozen', body: { ...sts, spec: { ...sts.spec!, replicas: 0, minReadySeconds: 5 } } });
    expect(scaled.metadata?.generation).toBe(2);
  });

  it('rejects a volume mount naming no volume and a container without an image', async () => {
    const body = statefulSet('broken');
    body.spec!.template.spec!.containers = [{ name: 'main', image: '', volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }] }];
    const invalid = await expectStatus(apps.createNamespacedStatefulSet({ namespace: NS, body }));
    expect(invalid.details?.causes?.map((c) => c.field)).toEqual(expect.arrayContaining(['spec.template.spec.containers[0].image', 'spec.template.spec.containers[0].volumeMounts[0].name']));
  });

  it('encodes Secret stringData into data', async () => {
    const s = await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'db' }, stringData: { url: 'postgres://x' } } });
    expect(s.data).toEqual({ url: Buffer.from('postgres://x').toString('base64') });
    expect(s.type).toBe('Opaque');
  });
});
