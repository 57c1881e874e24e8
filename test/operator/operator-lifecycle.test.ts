/**
 * The operator process against the fake API server, through client-node over HTTP: creation,
 * scaling through the scale subresource, refusals, pause, a drain that fails (the host does not
 * answer) and its cancellation, watch failures, and deletion. Host pods here are not running
 * adama (the fake's default kubelet); operator-drain.test.ts drains real hosts.
 */
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { RunningOperator } from '../../operator/operator';
import { CLUSTER_NS, TYPES, conditionOf, startOperatorHarness, type OperatorHarness } from '../support/operator-harness';


const { statefulSet: STS, deployment: DEPLOY, cluster: AC } = TYPES;

describe('operator lifecycle on the fake API server', () => {
  let h: OperatorHarness;
  let op: RunningOperator;
  const stsReplicas = () => (h.fake.get(STS, CLUSTER_NS, 'demo-host')?.spec as { replicas?: number } | undefined)?.replicas;
  const scaleTo = (replicas: number) => h.fake.patch(AC, CLUSTER_NS, 'demo', { spec: { hosts: { replicas } } }, { patchType: 'merge' });

  beforeAll(async () => {
    h = await startOperatorHarness();
    op = await h.startOperator('op-a');
    await h.createCluster({
      hosts: { replicas: 3, minReplicas: 2, drain: { timeoutSeconds: 10, retryBackoffSeconds: 1 } },
      gossip: { enabled: false },
    });
  }, 30_000);
  afterAll(async () => { await h?.close(); });

  test('creates every child with owner references and labels, and reports Ready at the observed generation', async () => {
    const c = await h.waitForCluster((x) => conditionOf(x, 'Ready') === 'True/AllTiersReady' && x, 'cluster Ready');
    expect(op.isLeader).toBe(true);
    expect(c.metadata.finalizers).toContain('adama.io/drain-hosts');
    expect(c.status!.observedGeneration).toBe(c.metadata.generation);
    expect(c.status!.hosts).toMatchObject({ desired: 3, current: 3, ready: 3, readyOf: '3/3', draining: 0 });
    expect(c.status!.members!.map((m) => `${m.name}:${m.state}`)).toEqual(['demo-host-0:Serving', 'demo-host-1:Serving', 'demo-host-2:Serving']);
    expect(conditionOf(c, 'Synced')).toBe('True/Applied');
    expect(conditionOf(c, 'Draining')).toBe('False/NoDrain');

    for (const [type, name] of [[STS, 'demo-host'], [DEPLOY, 'demo-proxy'], [DEPLOY, 'demo-locator'], ['v1/configmaps', 'demo-config'],
      ['v1/services', 'demo-host'], ['policy/v1/poddisruptionbudgets', 'demo-host']] as const) {
      const child = h.fake.get(type, CLUSTER_NS, name);
      expect(child?.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'AdamaCluster', name: 'demo', uid: c.metadata.uid, controller: true })]);
      expect(child?.metadata.labels).toMatchObject({ 'app.kubernetes.io/instance': 'demo', 'app.kubernetes.io/managed-by': 'adama-operator' });
    }
    // One replica: no locator budget (it would block node drains forever).
    expect(h.fake.get('policy/v1/poddisruptionbudgets', CLUSTER_NS, 'demo-locator')).toBeUndefined();
    // Two field managers share the StatefulSet: the count is the scale manager's alone.
    const managers = h.fake.managedFields(STS, CLUSTER_NS, 'demo-host').map((m) => m.manager).filter((m) => m.startsWith('adama-')).sort();
    expect(managers).toEqual(['adama-operator', 'adama-operator-scale']);
  });

  test('kubectl scale (the scale subresource) grows the StatefulSet in one step, with an Event', async () => {
    const custom = h.fake.kubeConfig(CLUSTER_NS).makeApiClient(CustomObjectsApi);
    await custom.patchNamespacedCustomObjectScale(
      { group: 'adama.io', version: 'v1alpha1', namespace: CLUSTER_NS, plural: 'adamaclusters', name: 'demo', body: { spec: { replicas: 5 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await h.fake.waitFor(() => stsReplicas() === 5, { what: 'StatefulSet at 5' });
    const c = await h.waitForCluster((x) => x.status?.hosts?.ready === 5 && conditionOf(x, 'Ready') === 'True/AllTiersReady' && x, 'five hosts ready');
    expect(c.status!.hosts!.readyOf).toBe('5/5');
    expect(h.events()).toContainEqual(expect.objectContaining({ type: 'Normal', reason: 'ScalingUp', message: 'hosts 3 → 5' }));
  });

  test('a scale-down below minReplicas is refused with a Warning and Degraded, and keeps the minimum', async () => {
    scaleTo(1);
    const c = await h.waitForCluster((x) => x.status?.conditions?.find((d) => d.type === 'Degraded' && d.message.includes('below spec.hosts.minReplicas 2')) && x, 'refusal');
    expect(c.status!.drain?.host).toBe('demo-host-4'); // it still drains down to the minimum, one host at a time
    expect(h.events()).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'ScaleDownRefused' }));
  });

  test('a drain whose host does not answer fails with a reason, never removes the host, and retries', async () => {
    const c = await h.waitForCluster((x) => x.status?.drain?.phase === 'Failed' && x, 'drain Failed');
    expect(c.status!.drain).toMatchObject({ host: 'demo-host-4', reason: 'DrainFailed' });
    expect(c.status!.members!.find((m) => m.name === 'demo-host-4')).toMatchObject({ state: 'Failed', reason: 'DrainFailed' });
    expect(conditionOf(c, 'Draining')).toBe('True/DrainFailed');
    expect(h.fake.get('v1/pods', CLUSTER_NS, 'demo-host-4')!.metadata.annotations!['adama.io/draining']).toBe(c.status!.drain!.startTime);
    expect(stsReplicas()).toBe(5);
    expect(h.events()).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'DrainFailed' }));
    await h.waitForCluster((x) => (x.status?.drain?.attempts ?? 0) >= 2 && x, 'second attempt after the backoff');
    expect(stsReplicas()).toBe(5);
    // The retry time lives in status.drain, not the message: identical failures are one Event.
    const failures = h.events().filter((e) => e.reason === 'DrainFailed');
    expect(failures).toHaveLength(1);
    expect(failures[0]!.message).not.toMatch(/retrying at/);
  });

  test('a scale-up during a drain cancels it and clears the annotation', async () => {
    scaleTo(5);
    const c = await h.waitForCluster((x) => !x.status?.drain && conditionOf(x, 'Draining') === 'False/NoDrain' && x, 'drain cancelled');
    expect(c.status!.members!.every((m) => m.state === 'Serving')).toBe(true);
    await h.fake.waitFor(() => h.fake.get('v1/pods', CLUSTER_NS, 'demo-host-4')?.metadata.annotations?.['adama.io/draining'] === undefined, { what: 'annotation removed' });
    expect(h.events()).toContainEqual(expect.objectContaining({ reason: 'DrainCancelled' }));
    expect(stsReplicas()).toBe(5);
  });

  test('paused: spec changes wait, status says so; unpausing applies them', async () => {
    h.fake.patch(AC, CLUSTER_NS, 'demo', { metadata: { annotations: { 'adama.io/paused': 'true' } } }, { patchType: 'merge' });
    await h.waitForCluster((x) => x.status?.paused === true && conditionOf(x, 'Progressing') === 'False/Paused', 'paused status');
    const generation = h.fake.patch(AC, CLUSTER_NS, 'demo', { spec: { proxies: { replicas: 4 } } }, { patchType: 'merge' }).metadata.generation;
    // A pass that saw the new generation (its conditions carry it) while paused must not touch the Deployment.
    const c = await h.waitForCluster((x) => x.status?.conditions?.some((d) => d.type === 'Synced' && d.reason === 'Paused' && d.observedGeneration === generation) && x,
      'a paused pass at the new generation');
    expect(c.status!.observedGeneration).toBeLessThan(generation!);
    expect((h.fake.get(DEPLOY, CLUSTER_NS, 'demo-proxy')!.spec as { replicas: number }).replicas).toBe(2);

    h.fake.patch(AC, CLUSTER_NS, 'demo', { metadata: { annotations: { 'adama.io/paused': null } } }, { patchType: 'merge' });
    await h.fake.waitFor(() => (h.fake.get(DEPLOY, CLUSTER_NS, 'demo-proxy')!.spec as { replicas: number }).replicas === 4, { what: 'proxies at 4' });
    await h.waitForCluster((x) => x.status?.observedGeneration === generation && x.status?.paused === false, 'observed generation caught up');
  });

  test('survives dropped and expired watches: later changes still reconcile', async () => {
    h.fake.dropWatches();
    h.fake.patch(AC, CLUSTER_NS, 'demo', { spec: { proxies: { replicas: 3 } } }, { patchType: 'merge' });
    await h.fake.waitFor(() => (h.fake.get(DEPLOY, CLUSTER_NS, 'demo-proxy')!.spec as { replicas: number }).replicas === 3, { what: 'proxies at 3 after a dropped watch' });
    h.fake.expireWatches();
    h.fake.patch(AC, CLUSTER_NS, 'demo', { spec: { proxies: { replicas: 2 } } }, { patchType: 'merge' });
    await h.fake.waitFor(() => (h.fake.get(DEPLOY, CLUSTER_NS, 'demo-proxy')!.spec as { replicas: number }).replicas === 2, { what: 'proxies at 2 after a 410' });
  });

  test('deleting with adama.io/skip-drain-on-delete releases the finalizer at once; children go with the owner', async () => {
    h.fake.patch(AC, CLUSTER_NS, 'demo', { metadata: { annotations: { 'adama.io/skip-drain-on-delete': 'true' } } }, { patchType: 'merge' });
    await h.client.delete({ ...AC, namespace: CLUSTER_NS, name: 'demo' });
    await h.fake.waitFor(() => h.fake.get(AC, CLUSTER_NS, 'demo') === undefined, { what: 'cluster gone' });
    await h.fake.waitFor(() => h.fake.get(STS, CLUSTER_NS, 'demo-host') === undefined && h.fake.get(DEPLOY, CLUSTER_NS, 'demo-proxy') === undefined, { what: 'children collected' });
    expect(h.events().find((e) => e.reason === 'FinalizerReleased')?.message).toBe('adama.io/skip-drain-on-delete is set: hosts were not drained; documents reload on their next owner');
  });
});
