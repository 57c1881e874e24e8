/**
 * The schema migration step of a rollout (issue 11.3): the operator runs `adama migrate` as a Job
 * per image before the tiers that read the database are created or changed, and starts them with
 * `--migrate false`. The fake kubelet here holds each migration pod until the test says how it
 * ends, so the test sees the cluster while a migration runs and after one fails. (The process
 * kubelet runs the Job for real in operator-gossip-roll.test.ts.)
 */
import type { Kubelet, PodRuntimeReport } from '../support/fake-kube';
import { CLUSTER_NS, TYPES, conditionOf, startOperatorHarness, type OperatorHarness } from '../support/operator-harness';

const JOB = { apiVersion: 'batch/v1', kind: 'Job' } as const;

interface HeldPod { name: string; end(exitCode: number): void }

/** Ready at once, except migration pods: Running until `end(exitCode)`. */
function holdingKubelet(): { kubelet: Kubelet; next(): Promise<HeldPod> } {
  let ip = 2;
  const held: HeldPod[] = [];
  const waiters: ((p: HeldPod) => void)[] = [];
  const kubelet: Kubelet = {
    async start(pod, report) {
      const podIP = `127.0.9.${ip++}`;
      if (!pod.metadata.name.includes('-migrate-')) return { podIP, ready: true };
      const now = new Date().toISOString();
      const status = (state: PodRuntimeReport['containerStatuses'][number]): PodRuntimeReport['containerStatuses'] => [{ name: 'migrate', ready: false, started: true, restartCount: 0, state }];
      report({ phase: 'Running', podIP, initialized: true, containerStatuses: status({ running: { startedAt: now } }), initContainerStatuses: [] });
      const h: HeldPod = {
        name: pod.metadata.name,
        end: (exitCode) => report({ phase: exitCode === 0 ? 'Succeeded' : 'Failed', podIP, initialized: true, containerStatuses: status({ terminated: { exitCode, startedAt: now, finishedAt: new Date().toISOString() } }), initContainerStatuses: [] }),
      };
      const w = waiters.shift();
      if (w) w(h); else held.push(h);
      return {};
    },
    async stop() { /* nothing runs */ },
  };
  return { kubelet, next: () => new Promise((resolve) => { const h = held.shift(); if (h) resolve(h); else waiters.push(resolve); }) };
}

const containerOf = (o: Record<string, unknown> | undefined): { image: string; args: string[] } | undefined =>
  (o?.['spec'] as { template: { spec: { containers: { image: string; args: string[] }[] } } } | undefined)?.template.spec.containers[0];

describe('schema migrations run as a Job before the tiers that read the database', () => {
  let h: OperatorHarness;
  let pods: ReturnType<typeof holdingKubelet>;
  beforeAll(async () => {
    pods = holdingKubelet();
    h = await startOperatorHarness({ kubelet: pods.kubelet });
    await h.startOperator('op-a');
  });
  afterAll(async () => { await h?.close(); });

  const jobs = () => h.fake.list('batch/v1/jobs', CLUSTER_NS).map((j) => j.metadata.name);

  test('a new cluster: the Job runs first; hosts and locator are created only once it succeeded, with --migrate false', async () => {
    await h.createCluster({ hosts: { replicas: 2, minReplicas: 1 }, gossip: { enabled: false } });
    const first = await pods.next();
    expect(first.name).toMatch(/^demo-migrate-[0-9a-f]{10}-[a-z0-9]{5}$/);
    await h.waitForCluster((c) => conditionOf(c, 'Migrated') === 'False/MigrationRunning' && c, 'Migrated False/MigrationRunning');
    expect(conditionOf(h.cluster()!, 'Progressing')).toBe('True/MigrationRunning');
    expect(conditionOf(h.cluster()!, 'Synced')).toBe('False/MigrationRunning');
    // What does not read the database is there already; what does waits.
    expect(h.fake.get(TYPES.deployment, CLUSTER_NS, 'demo-proxy')).toBeDefined();
    expect(h.fake.get(TYPES.statefulSet, CLUSTER_NS, 'demo-host')).toBeUndefined();
    expect(h.fake.get(TYPES.deployment, CLUSTER_NS, 'demo-locator')).toBeUndefined();
    const job = h.fake.get(JOB, CLUSTER_NS, jobs()[0]!)!;
    expect(job['spec']).toMatchObject({ backoffLimit: 3, template: { spec: { restartPolicy: 'Never', containers: [{ args: ['migrate'], image: 'adama:test' }] } } });

    first.end(0);
    await h.waitForCluster((c) => conditionOf(c, 'Migrated') === 'True/MigrationSucceeded' && c, 'Migrated True');
    const hostSet = await h.fake.waitFor(() => h.fake.get(TYPES.statefulSet, CLUSTER_NS, 'demo-host'), { what: 'host StatefulSet' });
    expect(containerOf(hostSet)?.args).toEqual(expect.arrayContaining(['--migrate', 'false']));
    expect(containerOf(h.fake.get(TYPES.deployment, CLUSTER_NS, 'demo-locator'))?.args).toEqual(expect.arrayContaining(['--migrate', 'false']));
    expect((hostSet['spec'] as { replicas: number }).replicas).toBe(2);
    expect(h.events().filter((e) => e.reason === 'MigrationStarted')).toHaveLength(1);
    expect(h.events().filter((e) => e.reason === 'MigrationSucceeded')).toHaveLength(1);
  });

  test('an upgrade whose migration fails leaves every tier on its version, says so, and goes on once the Job is deleted and succeeds', async () => {
    const before = jobs();
    h.fake.patch(TYPES.cluster, CLUSTER_NS, 'demo', { spec: { image: 'adama:test-2' } }, { patchType: 'merge' });
    // backoffLimit 3: the fourth failed pod fails the Job.
    for (let attempt = 0; attempt < 4; attempt++) (await pods.next()).end(1);
    await h.waitForCluster((c) => conditionOf(c, 'Migrated') === 'False/MigrationFailed' && c, 'Migrated False/MigrationFailed');
    const c = h.cluster()!;
    expect(conditionOf(c, 'Degraded')).toBe('True/MigrationFailed');
    expect(conditionOf(c, 'Progressing')).toBe('False/MigrationFailed');
    expect(c.status?.conditions?.find((x) => x.type === 'Migrated')?.message).toMatch(/BackoffLimitExceeded/);
    expect(h.events().some((e) => e.reason === 'MigrationFailed' && e.type === 'Warning')).toBe(true);
    // Nothing that reads the database moved to the new image.
    expect(containerOf(h.fake.get(TYPES.statefulSet, CLUSTER_NS, 'demo-host'))?.image).toBe('adama:test');
    expect(containerOf(h.fake.get(TYPES.deployment, CLUSTER_NS, 'demo-locator'))?.image).toBe('adama:test');
    const failed = jobs().find((n) => !before.includes(n))!;

    // The operator (after the fix) retries when the failed Job is deleted; a poke makes it look now.
    h.fake.delete(JOB, CLUSTER_NS, failed);
    h.fake.patch(TYPES.cluster, CLUSTER_NS, 'demo', { metadata: { annotations: { 'test/poke': 'retry' } } }, { patchType: 'merge' });
    (await pods.next()).end(0);
    await h.waitForCluster((x) => conditionOf(x, 'Migrated') === 'True/MigrationSucceeded' && x, 'Migrated True after the retry');
    await h.fake.waitFor(() => containerOf(h.fake.get(TYPES.statefulSet, CLUSTER_NS, 'demo-host'))?.image === 'adama:test-2', { what: 'hosts on the new image' });
    expect(containerOf(h.fake.get(TYPES.deployment, CLUSTER_NS, 'demo-locator'))?.image).toBe('adama:test-2');
    // The Job of the old image is cleaned up; the new one stays as the record of the migration.
    await h.fake.waitFor(() => jobs().length === 1 && jobs()[0] === failed, { what: 'only the new image\'s Job left' });
  });

  test('a Job deleted after it succeeded (a replaced database) is run again at the next resync', async () => {
    const other = holdingKubelet();
    const h2 = await startOperatorHarness({ kubelet: other.kubelet });
    try {
      await h2.startOperator('op-r', { resyncMs: 1_000 });
      await h2.createCluster({ hosts: { replicas: 1, minReplicas: 1 }, gossip: { enabled: false } });
      const first = await other.next();
      first.end(0);
      await h2.waitForCluster((c) => conditionOf(c, 'Migrated') === 'True/MigrationSucceeded' && c, 'Migrated True');
      const [name] = h2.fake.list('batch/v1/jobs', CLUSTER_NS).map((j) => j.metadata.name);
      h2.fake.delete(JOB, CLUSTER_NS, name!, { propagationPolicy: 'Background' });
      const again = await other.next(); // the resync found it gone and created it again
      expect(again.name.startsWith(`${name!}-`)).toBe(true);
      again.end(0);
      await h2.fake.waitFor(() => h2.fake.list('batch/v1/jobs', CLUSTER_NS).length === 1, { what: 'the Job created again' });
    } finally {
      await h2.close();
    }
  });
});
