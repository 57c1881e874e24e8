/**
 * The fake's workload controllers and kubelet through client-node: StatefulSet pods and status,
 * readiness, scale-down order, OnDelete and RollingUpdate replacement, OrderedReady gating,
 * graceful pod deletion through the kubelet hook, Deployments, and cleanup on close.
 */
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type V1Pod, type V1StatefulSet } from '@kubernetes/client-node';
import { startFakeKube, templateRevision, type FakeKube, type KubeObject, type Kubelet } from '../support/fake-kube';

const NS = 'adama';
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** A promise with its resolver, for hooks a test must observe without polling. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

/** A kubelet that records calls; `onStop` lets a test look at the pod while the stop is in progress. */
function recordingKubelet(opts: { ready?: boolean; onStop?: (pod: KubeObject) => Promise<void> | void; failStart?: (pod: KubeObject) => boolean } = {}) {
  const started: string[] = [];
  const stopped: string[] = [];
  let ip = 100;
  const kubelet: Kubelet = {
    async start(pod) {
      started.push(pod.metadata.name ?? '');
      if (opts.failStart?.(pod)) throw new Error('image pull failed');
      return { podIP: `127.0.1.${ip++}`, ...(opts.ready !== undefined ? { ready: opts.ready } : {}) };
    },
    async stop(pod) {
      stopped.push(pod.metadata.name ?? '');
      await opts.onStop?.(pod);
    },
  };
  return { kubelet, started, stopped };
}

function statefulSet(name: string, replicas: number, extra: Partial<NonNullable<V1StatefulSet['spec']>> = {}): V1StatefulSet {
  return {
    metadata: { name },
    spec: {
      serviceName: `${name}-peers`, replicas, podManagementPolicy: 'Parallel', updateStrategy: { type: 'OnDelete' },
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, tier: 'host' }, annotations: { 'adama.io/config': 'abc' } },
        spec: { containers: [{ name: 'host', image: 'example/host:1', ports: [{ name: 'grpc', containerPort: 7100 }] }], terminationGracePeriodSeconds: 5 },
      },
      ...extra,
    },
  };
}

const pods = (fake: FakeKube, app: string): V1Pod[] =>
  fake.list('v1/pods', NS, { labelSelector: `app=${app}` }) as unknown as V1Pod[];
const names = (fake: FakeKube, app: string): string[] => pods(fake, app).map((p) => p.metadata?.name ?? '').sort();
const revisionOf = (p: V1Pod | undefined): string | undefined => p?.metadata?.labels?.['controller-revision-hash'];

async function withFake(opts: Parameters<typeof startFakeKube>[0], body: (fake: FakeKube, apps: AppsV1Api, core: CoreV1Api) => Promise<void>): Promise<void> {
  const fake = await startFakeKube(opts);
  try {
    const kc = fake.kubeConfig(NS);
    await body(fake, kc.makeApiClient(AppsV1Api), kc.makeApiClient(CoreV1Api));
    await fake.settled();
  } finally {
    await fake.close();
  }
}

describe('StatefulSet', () => {
  it('creates ordinal pods from the template, started by the kubelet, and reports status', async () => {
    const k = recordingKubelet();
    await withFake({ kubelet: k.kubelet }, async (fake, apps) => {
      const created = await apps.createNamespacedStatefulSet({ namespace: NS, body: statefulSet('web', 3) });
      await fake.settled();
      expect(names(fake, 'web')).toEqual(['web-0', 'web-1', 'web-2']);
      expect(k.started.sort()).toEqual(['web-0', 'web-1', 'web-2']);
      const p1 = pods(fake, 'web').find((p) => p.metadata?.name === 'web-1')!;
      const revision = templateRevision('web', created.spec?.template as never);
      expect(p1.metadata?.labels).toEqual({
        app: 'web', tier: 'host', 'controller-revision-hash': revision, 'statefulset.kubernetes.io/pod-name': 'web-1', 'apps.kubernetes.io/pod-index': '1',
      });
      expect(p1.metadata?.annotations).toEqual({ 'adama.io/config': 'abc' });
      expect(p1.metadata?.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: created.metadata?.uid, controller: true, blockOwnerDeletion: true }]);
      expect(p1.spec).toMatchObject({ hostname: 'web-1', subdomain: 'web-peers', nodeName: 'fake-node', containers: [expect.objectContaining({ image: 'example/host:1' })] });
      expect(p1.status).toMatchObject({ phase: 'Running', podIP: expect.stringMatching(/^127\.0\.1\.\d+$/), conditions: expect.arrayContaining([expect.objectContaining({ type: 'Ready', status: 'True' })]) });
      expect(new Set(pods(fake, 'web').map((p) => p.status?.podIP)).size).toBe(3);
      const sts = await apps.readNamespacedStatefulSet({ namespace: NS, name: 'web' });
      expect(sts.status).toEqual({
        observedGeneration: 1, replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3, availableReplicas: 3,
        currentRevision: revision, updateRevision: revision, collisionCount: 0,
      });
    });
  });

  it('follows pod readiness in readyReplicas', async () => {
    await withFake({}, async (fake, apps) => {
      await apps.createNamespacedStatefulSet({ namespace: NS, body: statefulSet('ready', 2) });
      await fake.settled();
      fake.setPodReady(NS, 'ready-1', false);
      await fake.settled();
      expect((await apps.readNamespacedStatefulSet({ namespace: NS, name: 'ready' })).status).toMatchObject({ readyReplicas: 1, availableReplicas: 1, replicas: 2 });
      fake.setPodReady(NS, 'ready-1', true);
      await fake.settled();
      expect((await apps.readNamespacedStatefulSet({ namespace: NS, name: 'ready' })).status?.readyReplicas).toBe(2);
    });
  });

  it('scales down highest ordinal first, stopping each pod while it still shows its deletionTimestamp', async () => {
    let fakeRef: FakeKube | undefined;
    const seenWhileStopping: (string | undefined)[] = [];
    const k = recordingKubelet({ onStop: (pod) => { seenWhileStopping.push(fakeRef?.get('v1/pods', NS, pod.metadata.name ?? '')?.metadata.deletionTimestamp); } });
    await withFake({ kubelet: k.kubelet }, async (fake, apps) => {
      fakeRef = fake;
      await apps.createNamespacedStatefulSet({ namespace: NS, body: statefulSet('down', 3, { podManagementPolicy: 'OrderedReady' }) });
      await fake.settled();
      await apps.patchNamespacedStatefulSetScale({ namespace: NS, name: 'down', body: { spec: { replicas: 1 } } }, merge);
      await fake.settled();
      expect(k.stopped).toEqual(['down-2', 'down-1']);
      expect(seenWhileStopping.every((t) => typeof t === 'string')).toBe(true);
      expect(names(fake, 'down')).toEqual(['down-0']);
      expect((await apps.readNamespacedStatefulSet({ namespace: NS, name: 'down' })).status).toMatchObject({ replicas: 1, readyReplicas: 1 });
    });
  });

  it('recreates a deleted pod under the same name with the current template (OnDelete)', async () => {
    await withFake({}, async (fake, apps, core) => {
      await apps.createNamespacedStatefulSet({ namespace: NS, body: statefulSet('od', 2) });
      await fake.settled();
      const oldUid = pods(fake, 'od').find((p) => p.metadata?.name === 'od-1')?.metadata?.uid;
      await apps.patchNamespacedStatefulSet({ namespace: NS, name: 'od', body: { spec: { template: { spec: { containers: [{ name: 'host', image: 'example/host:2' }] } } } } }, merge);
      await fake.settled();
      let sts = await apps.readNamespacedStatefulSet({ namespace: NS, name: 'od' });
      expect(sts.status?.updateRevision).not.toBe(sts.status?.currentRevision);
      expect(sts.status?.updatedReplicas).toBeUndefined(); // zero is omitted, as in apps/v1 JSON
      expect(sts.status?.observedGeneration).toBe(2);

      const deleting = await core.deleteNamespacedPod({ namespace: NS, name: 'od-1' });
      expect(deleting.metadata?.deletionTimestamp).toBeDefined();
      expect(deleting.metadata?.deletionGracePeriodSeconds).toBe(5);
      await fake.settled();
      const replaced = pods(fake, 'od').find((p) => p.metadata?.name === 'od-1');
      expect(replaced?.metadata?.uid).not.toBe(oldUid);
      expect(replaced?.spec?.containers[0]?.image).toBe('example/host:2');
      sts = await apps.readNamespacedStatefulSet({ namespace: NS, name: 'od' });
      expect(revisionOf(replaced)).toBe(sts.status?.updateRevision);
      expect(sts.status).toMatchObject({ updatedReplicas: 1, currentReplicas: 1, readyReplicas: 2 });
    });
  });

  it('creates pods one at a time under OrderedReady, each once its predecessor is ready', async () => {
    await withFake({ kubelet: recordingKubelet({ ready: false }).kubelet }, async (fake, apps) => {
      await apps.createNamespacedStatefulSet({ namespace: NS, body: statefulSet('ord', 3, { podManagementPolicy: 'OrderedReady' }) });
      await fake.settled();
      expect(names(fake, 'ord')).toEqual(['ord-0']);
      fake.setPodReady(NS, 'ord-0', true);
      await fake.settled();
      expect(names(fake, 'ord')).toEqual(['ord-0', 'ord-1']);
      expect((await apps.readNamespacedStatefulSet({ namespace: NS, name: 'ord' })).status).toMatchObject({ replicas: 2, readyReplicas: 1 });
    });
  });

  it('replaces outdated pods highest first under RollingUpdate until the current revision catches up', async () => {
    const k = recordingKubelet();
    await withFake({ kubelet: k.kubelet }, async (fake, apps) => {
      await apps.createNamespacedStatefulSet({ namespace: NS, body: statefulSet('roll', 3, { updateStrategy: { type: 'RollingUpdate' } }) });
      await fake.settled();
      await apps.patchNamespacedStatefulSet({ namespace: NS, name: 'roll', body: { spec: { template: { metadata: { annotations: { 'adama.io/config': 'def' } } } } } }, merge);
      await fake.settled();
      expect(k.stopped).toEqual(['roll-2', 'roll-1', 'roll-0']);
      const sts = await apps.readNamespacedStatefulSet({ namespace: NS, name: 'roll' });
      expect(sts.status?.currentRevision).toBe(sts.status?.updateRevision);
      expect(pods(fake, 'roll').every((p) => p.metadata?.annotations?.['adama.io/config'] === 'def')).toBe(true);
    });
  });

  it('deletes its pods through the garbage collector when the StatefulSet is deleted', async () => {
    const k = recordingKubelet();
    await withFake({ kubelet: k.kubelet }, async (fake, apps) => {
      await apps.createNamespacedStatefulSet({ namespace: NS, body: statefulSet('gc', 2) });
      await fake.settled();
      await apps.deleteNamespacedStatefulSet({ namespace: NS, name: 'gc' });
      await fake.settled();
      expect(names(fake, 'gc')).toEqual([]);
      expect(k.stopped.sort()).toEqual(['gc-0', 'gc-1']);
    });
  });
});

describe('pods and the kubelet', () => {
  it('keeps a deleted pod terminating until the kubelet has stopped it', async () => {
    const stopping = deferred<KubeObject>();
    const release = deferred();
    await withFake({ kubelet: recordingKubelet({ onStop: async (pod) => { stopping.resolve(pod); await release.promise; } }).kubelet }, async (fake, apps, core) => {
      await apps.createNamespacedStatefulSet({ namespace: NS, body: statefulSet('hold', 1) });
      await fake.settled();
      await core.deleteNamespacedPod({ namespace: NS, name: 'hold-0' });
      const pod = await stopping.promise;
      expect(pod.metadata.deletionTimestamp).toBeDefined();
      const live = fake.get('v1/pods', NS, 'hold-0') as unknown as V1Pod;
      expect(live.metadata?.deletionTimestamp).toBeDefined();
      expect(live.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
      release.resolve();
      await fake.waitFor(() => fake.get('v1/pods', NS, 'hold-0')?.metadata.uid !== live.metadata?.uid);
    });
  });

  it('marks a pod Failed when the kubelet cannot start it', async () => {
    await withFake({ kubelet: recordingKubelet({ failStart: () => true }).kubelet }, async (fake, apps) => {
      await apps.createNamespacedStatefulSet({ namespace: NS, body: statefulSet('broken', 1) });
      await fake.settled();
      expect(pods(fake, 'broken')[0]?.status).toMatchObject({ phase: 'Failed', reason: 'StartError', message: 'image pull failed' });
    });
  });

  it('stops every started pod on close', async () => {
    const k = recordingKubelet();
    const fake = await startFakeKube({ kubelet: k.kubelet });
    await fake.kubeConfig(NS).makeApiClient(AppsV1Api).createNamespacedStatefulSet({ namespace: NS, body: statefulSet('bye', 2) });
    await fake.settled();
    await fake.close();
    expect(k.stopped.sort()).toEqual(['bye-0', 'bye-1']);
  });
});

describe('Deployment', () => {
  const deployment = (name: string, replicas: number) => ({
    metadata: { name },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'proxy', image: 'example/proxy:1' }] } } },
  });

  it('reports spec.replicas ready and available, or none while held not ready', async () => {
    await withFake({}, async (fake, apps) => {
      await apps.createNamespacedDeployment({ namespace: NS, body: deployment('proxy', 2) });
      await fake.settled();
      let d = await apps.readNamespacedDeployment({ namespace: NS, name: 'proxy' });
      expect(d.status).toMatchObject({ observedGeneration: 1, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 });
      expect(d.spec?.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
      fake.setDeploymentReady(NS, 'proxy', false);
      await apps.patchNamespacedDeploymentScale({ namespace: NS, name: 'proxy', body: { spec: { replicas: 3 } } }, merge);
      await fake.settled();
      d = await apps.readNamespacedDeployment({ namespace: NS, name: 'proxy' });
      expect(d.status?.readyReplicas).toBeUndefined();
      expect(d.status).toMatchObject({ observedGeneration: 2, replicas: 3, unavailableReplicas: 3 });
      expect(d.status?.conditions?.find((c) => c.type === 'Available')).toMatchObject({ status: 'False', reason: 'MinimumReplicasUnavailable' });
      expect(fake.list('v1/pods', NS)).toEqual([]);
    });
  });
});
