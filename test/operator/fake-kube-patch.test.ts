/**
 * The fake API server's write semantics through client-node: JSON/merge patches, server-side
 * apply with field ownership, the AdamaCluster CRD's defaults/validation/pruning, the status and
 * scale subresources and the generation rule.
 */
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubernetesObjectApi, PatchStrategy, setHeaderOptions, type KubernetesObject, type V1ConfigMap } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type AdamaCluster } from '../../operator/api/v1alpha1/types';
import {
  buildArchiverDeployment, buildConfigMap, buildHostStatefulSet, buildLocatorDeployment, buildPodDisruptionBudgets, buildProxyDeployment, buildServices,
} from '../../operator/specs';
import { startFakeKube, type FakeKube } from '../support/fake-kube';
import { expectStatus } from '../support/fake-kube/client-errors';

const NS = 'adama';
let fake: FakeKube;
let core: CoreV1Api;
let apps: AppsV1Api;
let custom: CustomObjectsApi;

beforeAll(async () => {
  fake = await startFakeKube();
  const kc = fake.kubeConfig(NS);
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
});
afterAll(async () => { await fake.close(); });

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const strategic = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
const applyPatch = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);

const cmApply = (name: string, data: Record<string, string>, labels?: Record<string, string>): V1ConfigMap =>
  ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...(labels ? { labels } : {}) }, data });

const applyCm = (body: V1ConfigMap, fieldManager: string, force?: boolean) =>
  core.patchNamespacedConfigMap({ namespace: NS, name: body.metadata!.name!, body, fieldManager, ...(force !== undefined ? { force } : {}) }, applyPatch);

const crd = { group: GROUP, version: VERSION, plural: PLURAL, namespace: NS };
const cluster = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: `${GROUP}/${VERSION}`, kind: 'AdamaCluster', metadata: { name },
  spec: { image: 'ghcr.io/example/adama:0.1.0', postgres: { secretRef: { name: 'adama-db' } }, ...spec },
});
const getCluster = async (name: string) => (await custom.getNamespacedCustomObject({ ...crd, name })) as AdamaCluster;

describe('JSON patch and merge patch', () => {
  it('applies RFC 6902 operations, `test` included, all or nothing', async () => {
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'jp' }, data: { a: '1', b: '2' } } });
    const patched = await core.patchNamespacedConfigMap({
      namespace: NS, name: 'jp',
      body: [{ op: 'test', path: '/data/a', value: '1' }, { op: 'replace', path: '/data/a', value: '10' }, { op: 'remove', path: '/data/b' }, { op: 'add', path: '/metadata/labels', value: { x: 'y' } }],
    });
    expect(patched.data).toEqual({ a: '10' });
    expect(patched.metadata?.labels).toEqual({ x: 'y' });
    const failed = await expectStatus(core.patchNamespacedConfigMap({ namespace: NS, name: 'jp', body: [{ op: 'replace', path: '/data/a', value: 'x' }, { op: 'test', path: '/data/a', value: 'nope' }] }));
    expect(failed.code).toBe(422);
    expect((await core.readNamespacedConfigMap({ namespace: NS, name: 'jp' })).data).toEqual({ a: '10' });
  });

  it('merges with RFC 7386: maps merge, null deletes', async () => {
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'mp', labels: { keep: 'y', drop: 'y' } }, data: { a: '1' } } });
    const patched = await core.patchNamespacedConfigMap({ namespace: NS, name: 'mp', body: { metadata: { labels: { drop: null, add: 'z' } }, data: { b: '2' } } }, merge);
    expect(patched.metadata?.labels).toEqual({ keep: 'y', add: 'z' });
    expect(patched.data).toEqual({ a: '1', b: '2' });
  });

  it('serves strategic merge patch as a merge patch: lists are replaced, not merged by key', async () => {
    const sts = await apps.createNamespacedStatefulSet({
      namespace: NS,
      body: { metadata: { name: 'smp' }, spec: { serviceName: 'smp', replicas: 0, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'one', image: 'x:1' }, { name: 'two', image: 'y:1' }] } } } },
    });
    expect(sts.spec?.template.spec?.containers).toHaveLength(2);
    const patched = await apps.patchNamespacedStatefulSet({ namespace: NS, name: 'smp', body: { spec: { template: { spec: { containers: [{ name: 'one', image: 'x:2' }] } } } } }, strategic);
    expect(patched.spec?.template.spec?.containers.map((c) => c.name)).toEqual(['one']);
  });

  it('treats a resourceVersion in the patch body as a precondition', async () => {
    const v1 = await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'cond' }, data: { a: '1' } } });
    await core.patchNamespacedConfigMap({ namespace: NS, name: 'cond', body: { data: { a: '2' } } }, merge);
    const stale = await expectStatus(core.patchNamespacedConfigMap({ namespace: NS, name: 'cond', body: { metadata: { resourceVersion: v1.metadata?.resourceVersion }, data: { a: '3' } } }, merge));
    expect(stale.reason).toBe('Conflict');
  });

  it('answers a patch of a missing object with 404', async () => {
    expect((await expectStatus(core.patchNamespacedConfigMap({ namespace: NS, name: 'ghost', body: { data: {} } }, merge))).code).toBe(404);
  });
});

describe('server-side apply', () => {
  it('requires fieldManager (422)', async () => {
    const missing = await expectStatus(core.patchNamespacedConfigMap({ namespace: NS, name: 'ssa-nomanager', body: cmApply('ssa-nomanager', {}) }, applyPatch));
    expect(missing).toMatchObject({ code: 422, reason: 'Invalid' });
  });

  it('creates when missing and removes what the manager stops applying, but not what others set', async () => {
    const created = await applyCm(cmApply('ssa-owned', { a: '1', b: '2' }, { l: 'x' }), 'op');
    expect(created.data).toEqual({ a: '1', b: '2' });
    await core.patchNamespacedConfigMap({ namespace: NS, name: 'ssa-owned', body: { data: { byHand: 'y' } } }, merge);
    const next = await applyCm(cmApply('ssa-owned', { a: '1' }), 'op');
    expect(next.data).toEqual({ a: '1', byHand: 'y' });
    expect(next.metadata?.labels).toBeUndefined();
    expect(fake.managedFields('v1/configmaps', NS, 'ssa-owned')).toEqual(expect.arrayContaining([
      expect.objectContaining({ manager: 'op', operation: 'Apply', fields: [['data', 'a']] }),
      expect.objectContaining({ manager: 'node-fetch', operation: 'Update', fields: [['data', 'byHand']] }),
    ]));
  });

  it('answers 409 Conflict when another manager owns a field it would change, unless forced', async () => {
    await applyCm(cmApply('ssa-conflict', { k: 'one' }), 'alice');
    const conflict = await expectStatus(applyCm(cmApply('ssa-conflict', { k: 'two' }), 'bob'));
    expect(conflict).toMatchObject({ code: 409, reason: 'Conflict', message: 'Apply failed with 1 conflict: conflict with "alice" using v1: .data.k' });
    expect(conflict.details?.causes).toEqual([expect.objectContaining({ type: 'FieldManagerConflict', field: '.data.k' })]);
    const forced = await applyCm(cmApply('ssa-conflict', { k: 'two' }), 'bob', true);
    expect(forced.data).toEqual({ k: 'two' });
    // alice lost the field: now she conflicts with bob.
    expect((await expectStatus(applyCm(cmApply('ssa-conflict', { k: 'one' }), 'alice'))).message).toContain('conflict with "bob"');
  });

  it('shares a field applied with the same value, and keeps it when one owner lets go', async () => {
    await applyCm(cmApply('ssa-shared', { k: 'v', only: 'alice' }), 'alice');
    await applyCm(cmApply('ssa-shared', { k: 'v' }), 'bob');
    const released = await applyCm(cmApply('ssa-shared', { only: 'alice' }), 'alice');
    expect(released.data).toEqual({ k: 'v', only: 'alice' });
  });

  it('conflicts with a field another client changed by update (an Update manager)', async () => {
    await applyCm(cmApply('ssa-update', { k: 'applied' }), 'op');
    await core.patchNamespacedConfigMap({ namespace: NS, name: 'ssa-update', fieldManager: 'kubectl-edit', body: { data: { k: 'edited' } } }, merge);
    const conflict = await expectStatus(applyCm(cmApply('ssa-update', { k: 'applied' }), 'op'));
    expect(conflict.message).toContain('conflict with "kubectl-edit"');
  });

  it('applies to a custom resource and its status separately, refilling defaults of removed fields', async () => {
    await custom.patchNamespacedCustomObject({ ...crd, name: 'ssa-ac', body: cluster('ssa-ac', { hosts: { replicas: 5 } }), fieldManager: 'op' }, applyPatch);
    expect((await getCluster('ssa-ac')).spec.hosts.replicas).toBe(5);
    await custom.patchNamespacedCustomObject({ ...crd, name: 'ssa-ac', body: cluster('ssa-ac'), fieldManager: 'op' }, applyPatch);
    expect((await getCluster('ssa-ac')).spec.hosts.replicas).toBe(3);
    const status = { apiVersion: `${GROUP}/${VERSION}`, kind: 'AdamaCluster', metadata: { name: 'ssa-ac' }, spec: { image: 'ignored' }, status: { observedGeneration: 1, paused: false } };
    const after = await custom.patchNamespacedCustomObjectStatus({ ...crd, name: 'ssa-ac', body: status, fieldManager: 'op' }, applyPatch) as AdamaCluster;
    expect(after.status).toMatchObject({ observedGeneration: 1, paused: false });
    expect(after.spec.image).toBe('ghcr.io/example/adama:0.1.0');
  });
});

describe('the AdamaCluster CRD', () => {
  it('applies the structural schema defaults and starts generation at 1', async () => {
    const created = await custom.createNamespacedCustomObject({ ...crd, body: cluster('defaults') }) as AdamaCluster;
    expect(created.metadata.generation).toBe(1);
    expect(created.spec).toMatchObject({
      imagePullPolicy: 'IfNotPresent', logLevel: 'info',
      hosts: { replicas: 3, minReplicas: 1, port: 7100, drain: { timeoutSeconds: 300, retryBackoffSeconds: 30 } },
      proxies: { replicas: 2, serviceType: 'ClusterIP' }, gossip: { enabled: true, port: 7946 },
      postgres: { secretRef: { name: 'adama-db', key: 'url' } },
    });
  });

  it('rejects an invalid object with 422 and one cause per field', async () => {
    const invalid = await expectStatus(custom.createNamespacedCustomObject({ ...crd, body: { ...cluster('bad', { hosts: { replicas: -1 }, logLevel: 'loud' }), spec: { hosts: { replicas: -1 }, logLevel: 'loud', postgres: { secretRef: { name: 'x' } } } } }));
    expect(invalid).toMatchObject({ code: 422, reason: 'Invalid', details: { name: 'bad', group: GROUP, kind: 'AdamaCluster' } });
    expect(invalid.message).toMatch(/^AdamaCluster\.adama\.io "bad" is invalid: \[/);
    expect(invalid.details?.causes).toEqual(expect.arrayContaining([
      { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.image' },
      expect.objectContaining({ reason: 'FieldValueInvalid', field: 'spec.hosts.replicas', message: 'Invalid value: -1: spec.hosts.replicas in body should be greater than or equal to 0' }),
      expect.objectContaining({ reason: 'FieldValueNotSupported', field: 'spec.logLevel' }),
    ]));
  });

  it('prunes fields the schema does not declare', async () => {
    const created = await custom.createNamespacedCustomObject({ ...crd, body: cluster('pruned', { bogus: true, hosts: { replicas: 1, extra: 'x' } }) }) as { spec: Record<string, unknown> };
    expect(created.spec['bogus']).toBeUndefined();
    expect(created.spec['hosts']).not.toHaveProperty('extra');
  });

  it('defaults objects already stored when they are read', async () => {
    fake.insertRaw({ ...cluster('legacy'), metadata: { name: 'legacy', namespace: NS } });
    expect((await getCluster('legacy')).spec.hosts.drain.timeoutSeconds).toBe(300);
  });
});

describe('status subresource and generation', () => {
  it('ignores status on the main endpoint and bumps generation only for spec changes', async () => {
    const c = await custom.createNamespacedCustomObject({ ...crd, body: cluster('gen') }) as AdamaCluster;
    const labelled = await custom.replaceNamespacedCustomObject({ ...crd, name: 'gen', body: { ...c, metadata: { ...c.metadata, labels: { a: 'b' } }, status: { paused: true } } }) as AdamaCluster;
    expect(labelled.metadata.generation).toBe(1);
    expect(labelled.status).toBeUndefined();
    const respec = await custom.patchNamespacedCustomObject({ ...crd, name: 'gen', body: { spec: { logLevel: 'debug' } } }, merge) as AdamaCluster;
    expect(respec.metadata.generation).toBe(2);
  });

  it('writes only status through /status, validated against the schema', async () => {
    const c = await custom.createNamespacedCustomObject({ ...crd, body: cluster('st') }) as AdamaCluster;
    const body = { ...c, spec: { ...c.spec, logLevel: 'debug' }, status: { observedGeneration: 1, hosts: { desired: 3, current: 2, selector: 'app=x' } } };
    const written = await custom.replaceNamespacedCustomObjectStatus({ ...crd, name: 'st', body }) as AdamaCluster;
    expect(written.status?.hosts).toMatchObject({ current: 2 });
    expect(written.spec.logLevel).toBe('info');
    expect(written.metadata.generation).toBe(1);
    const bad = { ...written, status: { conditions: [{ type: 'Ready', status: 'True', reason: 'not camel', lastTransitionTime: '2026-01-01T00:00:00Z' }] } };
    const invalid = await expectStatus(custom.replaceNamespacedCustomObjectStatus({ ...crd, name: 'st', body: bad }));
    expect(invalid.details?.causes?.[0]?.field).toBe('status.conditions[0].reason');
  });
});

describe('scale subresource', () => {
  it('maps the CRD scale paths: spec.hosts.replicas, status.hosts.current, status.hosts.selector', async () => {
    await custom.createNamespacedCustomObject({ ...crd, body: cluster('sc') });
    await custom.patchNamespacedCustomObjectStatus({ ...crd, name: 'sc', body: { status: { hosts: { current: 3, selector: 'app.kubernetes.io/instance=sc' } } } }, merge);
    const scale = await custom.getNamespacedCustomObjectScale({ ...crd, name: 'sc' }) as { spec: { replicas: number }; status: { replicas: number; selector: string }; kind: string };
    expect(scale).toMatchObject({ kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 3 }, status: { replicas: 3, selector: 'app.kubernetes.io/instance=sc' } });
  });

  it('writes spec replicas through scale, bumping generation, with resourceVersion preconditions', async () => {
    const before = await getCluster('sc');
    const scale = await custom.getNamespacedCustomObjectScale({ ...crd, name: 'sc' }) as { metadata: { resourceVersion: string } };
    await custom.replaceNamespacedCustomObjectScale({ ...crd, name: 'sc', body: { ...scale, spec: { replicas: 5 } } });
    const after = await getCluster('sc');
    expect(after.spec.hosts.replicas).toBe(5);
    expect(after.metadata.generation).toBe((before.metadata.generation ?? 0) + 1);
    const stale = await expectStatus(custom.replaceNamespacedCustomObjectScale({ ...crd, name: 'sc', body: { ...scale, spec: { replicas: 6 } } }));
    expect(stale.reason).toBe('Conflict');
    const negative = await expectStatus(custom.replaceNamespacedCustomObjectScale({ ...crd, name: 'sc', body: { spec: { replicas: -1 } } }));
    expect(negative.code).toBe(422);
  });

  it('scales a StatefulSet with a merge patch on /scale and reports its selector', async () => {
    await apps.createNamespacedStatefulSet({ namespace: NS, body: { metadata: { name: 'web' }, spec: { serviceName: 'web', replicas: 0, selector: { matchLabels: { app: 'web', tier: 'x' } }, template: { metadata: { labels: { app: 'web', tier: 'x' } }, spec: { containers: [{ name: 'c', image: 'x:1' }] } } } } });
    const scaled = await apps.patchNamespacedStatefulSetScale({ namespace: NS, name: 'web', body: { spec: { replicas: 0 } } }, merge);
    expect(scaled.status?.selector).toBe('app=web,tier=x');
    const sts = await apps.readNamespacedStatefulSet({ namespace: NS, name: 'web' });
    expect(sts.spec?.replicas).toBe(0);
  });
});

describe('the operator\'s children', () => {
  it('accepts every child the spec builders produce by server-side apply, and a re-apply changes nothing', async () => {
    await custom.createNamespacedCustomObject({ ...crd, body: cluster('kids', { archiver: { enabled: true } }) });
    const c = await getCluster('kids');
    const children = [
      buildConfigMap(c), buildHostStatefulSet(c, 3), buildProxyDeployment(c), buildLocatorDeployment(c), buildArchiverDeployment(c)!,
      ...buildServices(c), ...buildPodDisruptionBudgets(c),
    ] as unknown as KubernetesObject[];
    const objects = KubernetesObjectApi.makeApiClient(fake.kubeConfig(NS));
    const applyAll = async () => {
      for (const child of children) await objects.patch(child, undefined, undefined, 'adama-operator', true, PatchStrategy.ServerSideApply);
    };
    await applyAll();
    await fake.settled();
    const versions = () => children.map((k) => `${k.kind}/${k.metadata!.name}@${fake.get({ apiVersion: k.apiVersion!, kind: k.kind! }, NS, k.metadata!.name!)?.metadata.resourceVersion}`);
    const before = versions();
    await applyAll();
    await fake.settled();
    expect(versions()).toEqual(before);
    expect(fake.list('v1/pods', NS, { labelSelector: 'app.kubernetes.io/instance=kids' })).toHaveLength(3);
  });
});
