/**
 * @module operator-harness
 * The operator under test, for real: `startOperator` with a client-node `ClientNodeKube` talking
 * HTTP to the in-process fake API server (test/support/fake-kube), fast timings, and helpers to
 * create an AdamaCluster and await what the API server holds. Several operators (a restart, a
 * standby) can run against one fake.
 */
import { KubeConfig } from '@kubernetes/client-node';
import type { AdamaCluster, AdamaClusterSpec } from '../../operator/api/v1alpha1/types';
import { KINDS } from '../../operator/controller/cluster-cache';
import { ClientNodeKube } from '../../operator/kube/client-node-kube';
import type { KubeObject } from '../../operator/kube/kube-client';
import { startOperator, type OperatorOptions, type RunningOperator } from '../../operator/operator';
import { silentLogger } from '../../services/shared/log';
import { startFakeKube, type FakeKube, type FakeKubeOptions } from './fake-kube';

/** The kinds scenario tests read from the fake, as `fake.get` takes them. */
export const TYPES = { ...KINDS, lease: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' } } as const;

export const CLUSTER_NS = 'adama';
export const OPERATOR_NS = 'adama-system';

/** Timings a test can wait out: informers notice a dead watch in 3 s, a lease expires in 2 s. */
export const FAST: Partial<OperatorOptions> = {
  resyncMs: 30_000,
  drainPollMs: 150,
  informers: { watchTimeoutSeconds: 20, staleAfterMs: 3_000, retryMs: 100, maxRetryMs: 1_000 },
  leader: { leaseDurationMs: 2_000, renewDeadlineMs: 1_400, retryPeriodMs: 250 },
  backoff: { baseMs: 100, maxMs: 2_000 },
};

export interface OperatorHarness {
  fake: FakeKube;
  /** What tests use to act as a user would (kubectl): the same client-node stack. */
  client: ClientNodeKube;
  startOperator(identity: string, extra?: Partial<OperatorOptions>): Promise<RunningOperator>;
  createCluster(spec: Partial<Record<keyof AdamaClusterSpec, unknown>>, name?: string): Promise<AdamaCluster>;
  cluster(name?: string): AdamaCluster | undefined;
  /** Resolves with the first truthy `probe(cluster)` as the API server changes. */
  waitForCluster<T>(probe: (c: AdamaCluster) => T | undefined | null | false, what: string, timeoutMs?: number, name?: string): Promise<T>;
  events(name?: string): { reason: string; type: string; message: string }[];
  close(): Promise<void>;
}

export async function startOperatorHarness(options: FakeKubeOptions = {}): Promise<OperatorHarness> {
  const fake = await startFakeKube(options);
  const operators: RunningOperator[] = [];
  const client = new ClientNodeKube(fake.kubeConfig(CLUSTER_NS) as unknown as KubeConfig, 'kubectl');
  const cluster = (name = 'demo') => fake.get(TYPES.cluster, CLUSTER_NS, name) as unknown as AdamaCluster | undefined;
  return {
    fake,
    client,
    async startOperator(identity, extra = {}) {
      const op = await startOperator({
        client: new ClientNodeKube(fake.kubeConfig(OPERATOR_NS) as unknown as KubeConfig),
        identity, leaseNamespace: OPERATOR_NS, watchNamespaces: [], log: silentLogger, metricsPort: 0,
        ...FAST, ...extra,
      });
      operators.push(op);
      return op;
    },
    async createCluster(spec, name = 'demo') {
      const created = await client.create({
        apiVersion: 'adama.io/v1alpha1', kind: 'AdamaCluster', metadata: { name, namespace: CLUSTER_NS },
        spec: { image: 'adama:test', postgres: { secretRef: { name: 'adama-db' } }, ...spec },
      } as KubeObject);
      return created as unknown as AdamaCluster;
    },
    cluster,
    waitForCluster(probe, what, timeoutMs = 20_000, name = 'demo') {
      return fake.waitFor(() => { const c = cluster(name); return c ? probe(c) : undefined; }, { timeoutMs, what });
    },
    events(name = 'demo') {
      return fake.list('v1/events', CLUSTER_NS)
        .filter((e) => (e as unknown as { involvedObject: { name: string } }).involvedObject.name === name)
        .map((e) => e as unknown as { reason: string; type: string; message: string });
    },
    async close() {
      await Promise.all(operators.map((o) => o.close()));
      await fake.close();
    },
  };
}

/** The condition `type` of a cluster as "Status/Reason". */
export const conditionOf = (c: AdamaCluster, type: string): string | undefined => {
  const found = c.status?.conditions?.find((x) => x.type === type);
  return found ? `${found.status}/${found.reason}` : undefined;
};

/** Whether a pod's Ready condition is True. */
export const isPodReady = (p: { [field: string]: unknown } | undefined): boolean =>
  ((p?.['status'] as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/**
 * Creates pod `podName` from the template of the operator's Deployment `deploymentName`, once it
 * exists, as its ReplicaSet would (the fake API server runs no ReplicaSet controller).
 */
export async function podFromDeployment(h: Pick<OperatorHarness, 'fake'>, deploymentName: string, podName: string): Promise<void> {
  const deployment = await h.fake.waitFor(() => h.fake.get(TYPES.deployment, CLUSTER_NS, deploymentName), { what: `${deploymentName} Deployment` });
  const template = (deployment['spec'] as { template: { metadata: KubeObject['metadata']; spec: unknown } }).template;
  h.fake.create({ apiVersion: 'v1', kind: 'Pod', metadata: { ...template.metadata, name: podName, namespace: CLUSTER_NS }, spec: template.spec });
}
