/**
 * What a steady operator does and does not write (issue 17.4, 17.5, 17.7): a deleted child comes
 * back on its watch event, not a resync later; a reconcile that changes nothing writes no status
 * (the server returns custom resources with sorted keys, so the comparison must be structural);
 * the StatefulSet is created at the desired count; Events carry no timestamps that defeat
 * de-duplication.
 */
import type { RunningOperator } from '../../operator/operator';
import { runAdama } from '../support/child';
import { CLUSTER_NS, TYPES, conditionOf, startOperatorHarness, type OperatorHarness } from '../support/operator-harness';

const { statefulSet: STS, deployment: DEPLOY, cluster: AC } = TYPES;
const PDB = 'policy/v1/poddisruptionbudgets';

describe('a steady operator', () => {
  let h: OperatorHarness;
  let op: RunningOperator;
  /** Successful reconciles so far, from the operator's own /metrics. */
  const reconciles = async (): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${op.metricsPort}/metrics`)).text();
    return [...text.matchAll(/^adama_operator_reconciles_total\{[^}]*result="ok"[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  };
  /** Resolves once the operator finished `n` more reconciles (polls its metrics; nothing else tells). */
  const reconciled = async (from: number, n = 1): Promise<void> => {
    for (let i = 0; i < 400; i++) {
      if (await reconciles() >= from + n) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no ${n} reconcile(s) after ${from}`);
  };
  const statusPatches = () => h.fake.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith('/adamaclusters/demo/status')).length;

  beforeAll(async () => {
    h = await startOperatorHarness();
    op = await h.startOperator('op-a');
    await h.createCluster({ hosts: { replicas: 4, minReplicas: 2 }, proxies: { replicas: 2 }, gossip: { enabled: false } });
    await h.waitForCluster((x) => conditionOf(x, 'Ready') === 'True/AllTiersReady' && x, 'cluster Ready');
  }, 30_000);
  afterAll(async () => { await h?.close(); });

  test('the host StatefulSet is created at the desired count: no ScalingUp from the default of 1', () => {
    expect((h.fake.get(STS, CLUSTER_NS, 'demo-host')?.spec as { replicas: number }).replicas).toBe(4);
    expect(h.events().filter((e) => e.reason === 'ScalingUp')).toEqual([]);
  });

  test('every write of the operator is recorded under its field manager, none under the HTTP library\'s name', () => {
    const managers = (type: Parameters<typeof h.fake.managedFields>[0], name: string) => h.fake.managedFields(type, CLUSTER_NS, name).map((m) => `${m.manager}/${m.operation}${m.subresource ? `/${m.subresource}` : ''}`).sort();
    // kubectl created it; the operator added the finalizer (a patch) and wrote the status.
    expect(managers(AC, 'demo')).toEqual(['adama-operator/Update', 'adama-operator/Update/status', 'kubectl/Update']);
    expect(managers(STS, 'demo-host')).toEqual(['adama-operator-scale/Apply', 'adama-operator/Apply', 'kube-controller-manager/Update/status']);
  });

  test('a reconcile that changes nothing PATCHes no status', async () => {
    const before = statusPatches();
    for (let i = 0; i < 3; i++) {
      const from = await reconciles();
      h.fake.patch(AC, CLUSTER_NS, 'demo', { metadata: { annotations: { 'test/poke': String(i) } } }, { patchType: 'merge' });
      await reconciled(from);
    }
    expect(statusPatches()).toBe(before);
  });

  test('a deleted PodDisruptionBudget or Deployment is re-created on its watch event, not at the next resync', async () => {
    // The harness resyncs every 30 s: these waits end long before that.
    h.fake.delete(PDB, CLUSTER_NS, 'demo-host');
    await h.fake.waitFor(() => h.fake.get(PDB, CLUSTER_NS, 'demo-host'), { what: 'PDB re-created', timeoutMs: 10_000 });
    h.fake.delete(DEPLOY, CLUSTER_NS, 'demo-locator');
    await h.fake.waitFor(() => h.fake.get(DEPLOY, CLUSTER_NS, 'demo-locator'), { what: 'Deployment re-created', timeoutMs: 10_000 });
  });

  test('the CRD refuses minReplicas 0, which the operator could never honour', async () => {
    await expect(h.createCluster({ hosts: { replicas: 1, minReplicas: 0 } }, 'zero')).rejects.toMatchObject({ code: 422 });
  });

  test('adama operator --help prints its flags and exits 0', async () => {
    const r = await runAdama(['operator', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--lease-duration-ms');
  });

  test('churning clusters leaves no per-cluster state behind in the reconciler', async () => {
    const baseline = op.trackedClusters;
    for (let i = 0; i < 5; i++) {
      const name = `churn-${i}`;
      await h.createCluster({ hosts: { replicas: 1 }, gossip: { enabled: false } }, name);
      await h.waitForCluster((x) => x.status?.observedGeneration === x.metadata.generation && x, `${name} reconciled`, 20_000, name);
      h.fake.patch(AC, CLUSTER_NS, name, { metadata: { annotations: { 'adama.io/skip-drain-on-delete': 'true' } } }, { patchType: 'merge' });
      await h.client.delete({ ...AC, namespace: CLUSTER_NS, name });
      await h.fake.waitFor(() => h.fake.get(AC, CLUSTER_NS, name) === undefined, { what: `${name} gone` });
    }
    for (let i = 0; i < 200 && op.trackedClusters !== baseline; i++) await new Promise((r) => setTimeout(r, 50));
    expect(op.trackedClusters).toBe(baseline);
    // The host gauge counts only what is left: demo's four hosts (no stale entries of the churned clusters).
    const text = await (await fetch(`http://127.0.0.1:${op.metricsPort}/metrics`)).text();
    const hosts = [...text.matchAll(/^adama_operator_hosts\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    expect(hosts).toBe(4);
  }, 60_000);
});
