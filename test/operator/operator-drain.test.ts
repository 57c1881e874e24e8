/**
 * Safe scale-down for real: the operator (client-node → fake API server) drives host pods that
 * are real `adama host` processes (test/support/process-kubelet.ts runs each pod's containers
 * exactly as the operator built them; gossip is off here, so a host pod has one) on a real
 * database. A host is removed only after it owns no `directory` rows; an operator that dies
 * mid-drain is replaced and the drain completes; deleting the AdamaCluster drains every host
 * through the finalizer; every document survives.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { AdamaCluster, DrainStatus } from '../../operator/api/v1alpha1/types';
import { ClientNodeKube } from '../../operator/kube/client-node-kube';
import { hostAdminClient } from '../../services/grpc/host-admin-client';
import type { RunningOperator } from '../../operator/operator';
import { DEFAULT_SPACES_DIR } from '../../services/cli/dev-cluster';
import { deploySpacesFromDir } from '../../services/cli/spaces-dir';
import { silentLogger } from '../../services/shared/log';
import { HostConnection } from '../../services/web-proxy/host-connection';
import { freshStorage } from '../support/databases';
import { ViewWatcher } from '../support/host-rpc';
import { CLUSTER_NS, TYPES, isPodReady, startOperatorHarness, type OperatorHarness } from '../support/operator-harness';
import { expectStatus } from '../support/fake-kube';
import { freePort } from '../support/ports';
import type { ContainerSpec } from '../support/kubelet/pod-spec';
import { runProbe } from '../support/kubelet/probe';
import { ProcessKubelet } from '../support/process-kubelet';

const who = { agent: 'tester', authority: 'anonymous' };
type Storage = Awaited<ReturnType<typeof freshStorage>>;

const { statefulSet: STS, cluster: AC } = TYPES;

describe('operator drains real hosts before removing them', () => {
  let storage: Storage;
  let h: OperatorHarness;
  let kubelet: ProcessKubelet;
  let port: number;
  let op: RunningOperator;
  const connections: HostConnection[] = [];

  const stsReplicas = () => (h.fake.get(STS, CLUSTER_NS, 'demo-host')?.spec as { replicas?: number } | undefined)?.replicas;
  const scaleTo = (replicas: number) => h.fake.patch(AC, CLUSTER_NS, 'demo', { spec: { hosts: { replicas } } }, { patchType: 'merge' });
  const connect = (pod: string) => {
    const c = new HostConnection({ hostId: pod, address: kubelet.address(pod, port)!, log: silentLogger, maxBatch: 64, maxQueued: 1000, onDead: () => undefined });
    connections.push(c);
    return c;
  };
  /** Creates counters on one host, each at `start`; returns their keys. */
  const createOn = async (pod: string, prefix: string, n: number) => {
    const conn = connect(pod);
    const keys = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
    for (const [i, key] of keys.entries()) await conn.createDocument({ space: 'counter', key }, who, { start: 100 + i });
    return keys;
  };
  /** Opens each document on `pod` and checks the value it was created with. */
  const expectAlive = async (pod: string, keys: readonly string[]) => {
    const conn = connect(pod);
    for (const [i, key] of keys.entries()) {
      const viewer = new ViewWatcher();
      await conn.openStream({ space: 'counter', key }, who, { viewerState: {} }, viewer);
      await viewer.until((v) => (v as { value: number }).value === 100 + i);
    }
  };
  /** Every status.drain the API server held, in order (to check what the operator saw before shrinking). */
  const drains: (DrainStatus | undefined)[] = [];

  beforeAll(async () => {
    storage = await freshStorage();
    await deploySpacesFromDir(storage.data, DEFAULT_SPACES_DIR);
    port = await freePort();
    let client: ClientNodeKube | undefined;
    kubelet = new ProcessKubelet({ client: () => client!, env: { ADAMA_LEASE_MS: '1500' } });
    h = await startOperatorHarness({ kubelet });
    client = new ClientNodeKube(h.fake.kubeConfig(CLUSTER_NS) as KubeConfig);
    h.fake.onChange(() => {
      const d = h.cluster()?.status?.drain;
      if (JSON.stringify(d) !== JSON.stringify(drains[drains.length - 1])) drains.push(d);
    });
    await h.client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'adama-db', namespace: CLUSTER_NS }, data: { url: Buffer.from(storage.connectionString).toString('base64') } });
    op = await h.startOperator('op-a');
    await h.createCluster({
      hosts: { replicas: 3, minReplicas: 1, port, drain: { timeoutSeconds: 30, retryBackoffSeconds: 1 } },
      proxies: { replicas: 1 }, gossip: { enabled: false }, metrics: { enabled: false },
    });
    await h.waitForCluster((c) => c.status?.hosts?.ready === 3, 'three real hosts ready', 60_000);
  }, 90_000);

  afterAll(async () => {
    for (const c of connections) c.close();
    await h?.close();
    await kubelet?.close();
    await storage?.close();
  }, 60_000);

  test('scale 3 → 2: the highest host drains to zero directory rows before the StatefulSet shrinks; its documents live on', async () => {
    const keys = await createOn('demo-host-2', 'a', 5);
    expect(await storage.data.countByHost('demo-host-2')).toBe(5);
    const rowsAtShrink = new Promise<number>((resolve) => {
      const off = h.fake.onChange(() => {
        if (stsReplicas() === 2) { off(); void storage.data.countByHost('demo-host-2').then(resolve); }
      });
    });
    scaleTo(2);
    expect(await rowsAtShrink).toBe(0);
    // The drain went through its phases, and the operator saw zero documents before shrinking.
    const seen = drains.filter((d): d is DrainStatus => d?.host === 'demo-host-2');
    expect(seen[0]!.phase).toBe('Requested');
    expect(seen.map((d) => d.phase)).toContain('Done');
    expect(seen.find((d) => d.phase === 'Done')!.documentsRemaining).toBe(0);
    const c = await h.waitForCluster((x) => !x.status?.drain && x.status?.hosts?.current === 2 && x, 'drain finished', 30_000);
    expect(c.status!.members!.map((m) => m.name)).toEqual(['demo-host-0', 'demo-host-1']);
    expect(h.events().map((e) => e.reason)).toEqual(expect.arrayContaining(['DrainStarted', 'HostRemoved', 'DrainFinished']));
    await h.fake.waitFor(() => h.fake.get('v1/pods', CLUSTER_NS, 'demo-host-2') === undefined, { what: 'pod removed' });
    // The pod's own preStop drain found nothing left to do.
    expect(kubelet.preStops.find((p) => p.pod === 'demo-host-2')?.code).toBe(0);
    await expectAlive('demo-host-0', keys);
  }, 60_000);

  test('a cancelled drain resumes the same host through CancelDrain: its pod is not recreated', async () => {
    const pod = () => h.fake.get('v1/pods', CLUSTER_NS, 'demo-host-1');
    const uid = pod()!.metadata.uid;
    const admin = hostAdminClient(kubelet.address('demo-host-1', port)!);
    try {
      await admin.drain(0, 5_000);
      expect((await admin.status(5_000)).draining).toBe(true);
      // The pod's own probes, as the kubelet runs them: not ready while draining, but alive (no restart mid-drain).
      const container = (pod()!['spec'] as { containers: ContainerSpec[] }).containers.find((c) => c.name === 'host')!;
      const target = { podIP: kubelet.ip('demo-host-1')!, container, exec: async () => ({ code: null, stdout: '', stderr: 'unused' }) };
      expect((await runProbe(container.readinessProbe!, target)).ok).toBe(false);
      expect(await runProbe(container.livenessProbe!, target)).toMatchObject({ ok: true });
      // A drain annotation the operator did not start (left over by hand, or an old operator's): cancelled.
      h.fake.patch('v1/pods', CLUSTER_NS, 'demo-host-1', { metadata: { annotations: { 'adama.io/draining': new Date().toISOString() } } }, { patchType: 'merge' });
      await h.fake.waitFor(() => h.events().find((e) => e.reason === 'DrainCancelled'), { what: 'drain cancelled', timeoutMs: 20_000 });
      // The annotation reads as a drain in flight (the operator resumes drains from it) that the host count no longer wants.
      expect(h.events().find((e) => e.reason === 'DrainCancelled')!.message).toMatch(/^drain of demo-host-1 cancelled: .*; it serves again$/);
      expect(pod()!.metadata.uid).toBe(uid);
      expect(pod()!.metadata.annotations?.['adama.io/draining']).toBeUndefined();
      expect((await admin.status(5_000)).draining).toBe(false);
    } finally {
      admin.close();
    }
  }, 60_000);

  test('a template change rolls the hosts one at a time, highest first, each drained before its pod is replaced', async () => {
    const keys = await createOn('demo-host-1', 'r', 3);
    const startedBefore = kubelet.started.length;
    const hostPods = () => h.fake.list('v1/pods', CLUSTER_NS).filter((p) => p.metadata.name?.startsWith('demo-host-'));
    let maxDown = 0;
    const off = h.fake.onChange(() => {
      const down = 2 - hostPods().filter((p) => !p.metadata.deletionTimestamp && isPodReady(p)).length;
      maxDown = Math.max(maxDown, down);
    });
    h.fake.patch(AC, CLUSTER_NS, 'demo', { spec: { hosts: { env: [{ name: 'ROLL_MARK', value: '1' }] } } }, { patchType: 'merge' });
    await h.fake.waitFor(() => {
      const rev = (h.fake.get(STS, CLUSTER_NS, 'demo-host')?.status as { updateRevision?: string } | undefined)?.updateRevision;
      const pods = hostPods();
      const rolled = pods.length === 2 && pods.every((p) => p.metadata.labels?.['controller-revision-hash'] === rev && isPodReady(p));
      return rolled && kubelet.started.length === startedBefore + 2 && !h.cluster()?.status?.drain;
    }, { what: 'both hosts on the new template', timeoutMs: 60_000 });
    off();
    expect(kubelet.started.slice(startedBefore)).toEqual(['demo-host-1', 'demo-host-0']);
    expect(maxDown).toBe(1);
    expect(h.events().filter((e) => e.reason === 'HostRecycled')).toHaveLength(2);
    expect(kubelet.preStops.filter((p) => p.pod !== 'demo-host-2').map((p) => p.code)).toEqual([0, 0]);
    await expectAlive('demo-host-0', keys);
  }, 90_000);

  test('an eviction (kubectl drain) of a host pod drains the host in its preStop before the pod goes; the budget refuses a second', async () => {
    const keys = await createOn('demo-host-0', 'e', 3);
    expect(await storage.data.countByHost('demo-host-0')).toBeGreaterThanOrEqual(3);
    const core = h.fake.kubeConfig(CLUSTER_NS).makeApiClient(CoreV1Api);
    const evict = (name: string) => core.createNamespacedPodEviction({ name, namespace: CLUSTER_NS, body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: CLUSTER_NS } } });
    const uid = h.fake.get('v1/pods', CLUSTER_NS, 'demo-host-0')!.metadata.uid;
    const preStopsBefore = kubelet.preStops.length;
    // The rows the host still owns when its process is told to stop (SIGTERM follows the preStop).
    const rowsAtStop = new Promise<number>((resolve) => {
      const off = h.fake.onChange(() => {
        if (kubelet.preStops.length > preStopsBefore) { off(); void storage.data.countByHost('demo-host-0').then(resolve); }
      });
    });
    await evict('demo-host-0');
    // One host down already: the hosts' budget (maxUnavailable 1) refuses the other.
    expect((await expectStatus(evict('demo-host-1'))).code).toBe(429);
    expect(await rowsAtStop).toBe(0);
    expect(kubelet.preStops[preStopsBefore]).toMatchObject({ pod: 'demo-host-0', code: 0 });
    // The hook reached the host and drained it (not "nothing listening, already stopped").
    expect(JSON.parse(kubelet.preStops[preStopsBefore]!.stdout)).toMatchObject({ reachable: true, drained: true });
    await h.waitForCluster((x) => {
      const p = h.fake.get('v1/pods', CLUSTER_NS, 'demo-host-0');
      return p && p.metadata.uid !== uid && x.status?.hosts?.ready === 2;
    }, 'evicted host back in a new pod', 60_000);
    await expectAlive('demo-host-1', keys);
  }, 90_000);

  test('an operator that dies mid-drain is replaced; the new leader resumes the drain from status and finishes it', async () => {
    const keys = await createOn('demo-host-1', 'b', 4);
    scaleTo(1);
    await h.waitForCluster((x) => x.status?.drain?.host === 'demo-host-1' && x, 'drain of host 1 started');
    await op.abandon(); // no lease hand-back: the successor waits for the lease to expire
    op = await h.startOperator('op-b');
    const c = await h.waitForCluster((x) => !x.status?.drain && x.status?.hosts?.current === 1 && x, 'drain finished by op-b', 45_000);
    expect(op.isLeader).toBe(true);
    expect(c.status!.members!.map((m) => m.name)).toEqual(['demo-host-0']);
    expect(await storage.data.countByHost('demo-host-1')).toBe(0);
    await expectAlive('demo-host-0', keys);
  }, 60_000);

  test('deleting the AdamaCluster drains the last host through the finalizer; the documents stay in the database', async () => {
    expect(await storage.data.countByHost('demo-host-0')).toBeGreaterThan(0);
    await h.client.delete({ ...AC, namespace: CLUSTER_NS, name: 'demo' });
    const deleting = await h.waitForCluster((x: AdamaCluster) => (x.metadata.deletionTimestamp ? x : undefined), 'deletion pending');
    expect(deleting.metadata.finalizers).toContain('adama.io/drain-hosts');
    await h.fake.waitFor(() => h.fake.get(AC, CLUSTER_NS, 'demo') === undefined, { what: 'cluster deleted after the drain', timeoutMs: 45_000 });
    expect(await storage.data.countByHost('demo-host-0')).toBe(0);
    const doc = await storage.data.load({ space: 'counter', key: 'a-0' });
    expect(doc.snapshot !== null || doc.records.length > 0).toBe(true);
  }, 60_000);
});
