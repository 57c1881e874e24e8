/**
 * Deletion in the fake API server through client-node: finalizers and deletionTimestamp,
 * owner-reference garbage collection (Background, Foreground, Orphan, absent owners) and
 * namespace deletion.
 */
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type V1ConfigMap, type V1OwnerReference } from '@kubernetes/client-node';
import { FINALIZER, GROUP, PLURAL, VERSION, type AdamaCluster } from '../../operator/api/v1alpha1/types';
import { startFakeKube, type FakeKube, type StoreEvent } from '../support/fake-kube';
import { expectStatus } from '../support/fake-kube/client-errors';

const NS = 'adama';
let fake: FakeKube;
let core: CoreV1Api;
let custom: CustomObjectsApi;

beforeAll(async () => {
  fake = await startFakeKube();
  const kc = fake.kubeConfig(NS);
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
});
afterAll(async () => { await fake.close(); });

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const crd = { group: GROUP, version: VERSION, plural: PLURAL, namespace: NS };

async function createCluster(name: string, finalizers?: string[]): Promise<AdamaCluster> {
  return await custom.createNamespacedCustomObject({
    ...crd,
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'AdamaCluster', metadata: { name, ...(finalizers ? { finalizers } : {}) }, spec: { image: 'x:1', postgres: { secretRef: { name: 'db' } } } },
  }) as AdamaCluster;
}

const ownedBy = (owner: AdamaCluster, block = false): V1OwnerReference =>
  ({ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid!, controller: true, ...(block ? { blockOwnerDeletion: true } : {}) });

const child = (name: string, owners: V1OwnerReference[], finalizers?: string[]): V1ConfigMap =>
  ({ metadata: { name, ownerReferences: owners, ...(finalizers ? { finalizers } : {}) }, data: {} });

const gone = (kind: string, name: string, ns = NS) => fake.waitFor(() => fake.get(kind, ns, name) === undefined, { what: `${kind} ${name} deleted` });

describe('finalizers', () => {
  it('keeps a deleted object with a finalizer, marks it, and deletes it when the last finalizer goes', async () => {
    const c = await createCluster('fin', [FINALIZER]);
    const events: StoreEvent[] = [];
    const stop = fake.onChange((e) => { if (e.object.metadata.name === 'fin') events.push(e); });
    const deleted = await custom.deleteNamespacedCustomObject({ ...crd, name: 'fin' }) as AdamaCluster;
    expect(deleted.metadata.deletionTimestamp).toBeDefined();
    expect(deleted.metadata).toMatchObject({ deletionGracePeriodSeconds: 0, generation: (c.metadata.generation ?? 0) + 1, finalizers: [FINALIZER] });
    const still = await custom.getNamespacedCustomObject({ ...crd, name: 'fin' }) as AdamaCluster;
    expect(still.metadata.deletionTimestamp).toBe(deleted.metadata.deletionTimestamp);

    const added = await expectStatus(custom.patchNamespacedCustomObject({ ...crd, name: 'fin', body: { metadata: { finalizers: [FINALIZER, 'other/x'] } } }, merge));
    expect(added).toMatchObject({ code: 422, details: { causes: [expect.objectContaining({ field: 'metadata.finalizers', reason: 'FieldValueForbidden' })] } });

    await custom.patchNamespacedCustomObject({ ...crd, name: 'fin', body: { metadata: { finalizers: null } } }, merge);
    expect(fake.get({ apiVersion: `${GROUP}/${VERSION}`, kind: 'AdamaCluster' }, NS, 'fin')).toBeUndefined();
    stop();
    expect(events.map((e) => e.type)).toEqual(['MODIFIED', 'DELETED']);
    expect((await expectStatus(custom.getNamespacedCustomObject({ ...crd, name: 'fin' }))).code).toBe(404);
  });

  it('answers a second delete of a terminating object with the object, unchanged', async () => {
    await createCluster('twice', [FINALIZER]);
    const first = await custom.deleteNamespacedCustomObject({ ...crd, name: 'twice' }) as AdamaCluster;
    const second = await custom.deleteNamespacedCustomObject({ ...crd, name: 'twice' }) as AdamaCluster;
    expect(second.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
    fake.patch({ apiVersion: `${GROUP}/${VERSION}`, kind: 'AdamaCluster' }, NS, 'twice', { metadata: { finalizers: null } });
  });

  it('honours delete preconditions', async () => {
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'pre' } } });
    const wrong = await expectStatus(core.deleteNamespacedConfigMap({ namespace: NS, name: 'pre', body: { preconditions: { uid: 'not-it' } } }));
    expect(wrong.reason).toBe('Conflict');
  });
});

describe('garbage collection', () => {
  it('deletes dependents in the background once the owner is gone; dependents with finalizers are only marked', async () => {
    const owner = await createCluster('owner', [FINALIZER]);
    await core.createNamespacedConfigMap({ namespace: NS, body: child('dep-plain', [ownedBy(owner)]) });
    await core.createNamespacedConfigMap({ namespace: NS, body: child('dep-final', [ownedBy(owner)], ['example.com/keep']) });
    await custom.deleteNamespacedCustomObject({ ...crd, name: 'owner' });
    await fake.settled();
    // The owner still exists (its finalizer): Background GC waits for it to be gone.
    expect(fake.get('v1/configmaps', NS, 'dep-plain')).toBeDefined();
    await custom.patchNamespacedCustomObject({ ...crd, name: 'owner', body: { metadata: { finalizers: [] } } }, merge);
    await gone('v1/configmaps', 'dep-plain');
    await fake.settled();
    expect(fake.get('v1/configmaps', NS, 'dep-final')?.metadata.deletionTimestamp).toBeDefined();
  });

  it('removes a dangling reference while another owner remains', async () => {
    const a = await createCluster('owner-a');
    const b = await createCluster('owner-b');
    await core.createNamespacedConfigMap({ namespace: NS, body: child('two-owners', [ownedBy(a), { ...ownedBy(b), controller: false }]) });
    await custom.deleteNamespacedCustomObject({ ...crd, name: 'owner-a' });
    await fake.settled();
    expect(fake.get('v1/configmaps', NS, 'two-owners')?.metadata.ownerReferences?.map((r) => r.name)).toEqual(['owner-b']);
  });

  it('collects an object whose owner does not exist', async () => {
    await core.createNamespacedConfigMap({ namespace: NS, body: child('orphaned-at-birth', [{ apiVersion: `${GROUP}/${VERSION}`, kind: 'AdamaCluster', name: 'nobody', uid: 'no-such-uid' }]) });
    await gone('v1/configmaps', 'orphaned-at-birth');
  });

  it('orphans dependents with propagationPolicy=Orphan', async () => {
    const owner = await createCluster('orphan-owner');
    await core.createNamespacedConfigMap({ namespace: NS, body: child('orphan-dep', [ownedBy(owner)]) });
    await custom.deleteNamespacedCustomObject({ ...crd, name: 'orphan-owner', propagationPolicy: 'Orphan' });
    await fake.settled();
    const dep = fake.get('v1/configmaps', NS, 'orphan-dep');
    expect(dep).toBeDefined();
    expect(dep?.metadata.ownerReferences).toBeUndefined();
  });

  it('keeps a Foreground-deleted owner until its blocking dependents are gone', async () => {
    const owner = await createCluster('fg-owner');
    await core.createNamespacedConfigMap({ namespace: NS, body: child('fg-dep', [ownedBy(owner, true)], ['example.com/hold']) });
    const deleting = await custom.deleteNamespacedCustomObject({ ...crd, name: 'fg-owner', propagationPolicy: 'Foreground' }) as AdamaCluster;
    expect(deleting.metadata.finalizers).toContain('foregroundDeletion');
    await fake.settled();
    expect(fake.get('v1/configmaps', NS, 'fg-dep')?.metadata.deletionTimestamp).toBeDefined();
    expect(fake.get({ apiVersion: `${GROUP}/${VERSION}`, kind: 'AdamaCluster' }, NS, 'fg-owner')).toBeDefined();
    await core.patchNamespacedConfigMap({ namespace: NS, name: 'fg-dep', body: { metadata: { finalizers: null } } }, merge);
    await gone(`${GROUP}/${VERSION}/${PLURAL}`, 'fg-owner');
  });
});

describe('namespaces', () => {
  it('deletes the content of a deleted namespace, then the namespace', async () => {
    await core.createNamespacedConfigMap({ namespace: 'doomed', body: { metadata: { name: 'plain' } } });
    await core.createNamespacedConfigMap({ namespace: 'doomed', body: { metadata: { name: 'held', finalizers: ['example.com/hold'] } } });
    const ns = await core.deleteNamespace({ name: 'doomed' });
    expect(ns).toMatchObject({ status: { phase: 'Terminating' } });
    await gone('v1/configmaps', 'plain', 'doomed');
    const refused = await expectStatus(core.createNamespacedConfigMap({ namespace: 'doomed', body: { metadata: { name: 'late' } } }));
    expect(refused).toMatchObject({ code: 403, reason: 'Forbidden' });
    expect(fake.get('v1/configmaps', 'doomed', 'held')?.metadata.deletionTimestamp).toBeDefined();
    await core.patchNamespacedConfigMap({ namespace: 'doomed', name: 'held', body: { metadata: { finalizers: null } } }, merge);
    await gone('v1/namespaces', 'doomed', '');
    expect(fake.list('v1/configmaps', 'doomed')).toEqual([]);
  });
});
