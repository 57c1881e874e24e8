/**
 * Gossip sidecars exactly as the operator builds them (`--seeds <cluster>-gossip.<ns>.svc:<port>`,
 * the headless Service of every gossiping pod, publishing not-ready addresses), in pods the
 * process kubelet runs: the seed name answers every sidecar's own pod IP too. Here the answer
 * lists the asking pod first (one of the orders CoreDNS's `loadbalance` hands out, pinned), which
 * is the case that once cut every sidecar off: gRPC's pick_first connected the seed channel to the
 * sidecar itself, a member ignores messages from itself, and nobody else knew its new address.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { ClientNodeKube } from '../../operator/kube/client-node-kube';
import { buildConfigMap, buildServices } from '../../operator/specs';
import { GOSSIP_LABEL, labels } from '../../operator/specs/common';
import { buildGossipSidecar } from '../../operator/specs/gossip-sidecar';
import { startFakeKube, type FakeKube } from '../support/fake-kube';
import { freePort } from '../support/ports';
import { ProcessKubelet } from '../support/process-kubelet';
import { cluster } from './crd-schema';

const PODS = ['prod-proxy-a', 'prod-proxy-b', 'prod-proxy-c'];

describe('gossip sidecars seeded by the headless gossip Service find each other', () => {
  let fake: FakeKube;
  let kubelet: ProcessKubelet;

  beforeAll(async () => {
    let client: ClientNodeKube | undefined;
    kubelet = new ProcessKubelet({ client: () => client!, dnsOrder: 'querier-first' });
    fake = await startFakeKube({ kubelet });
    client = new ClientNodeKube(fake.kubeConfig('adama') as unknown as KubeConfig);
  });
  afterAll(async () => {
    await fake?.close();
    await kubelet?.close();
  }, 60_000);

  test('three proxy sidecars, each told its own address first, all meet', async () => {
    const c = cluster({ gossip: { enabled: true, port: await freePort() } });
    // Without their owner (no AdamaCluster here), or the garbage collector would take them.
    const unowned = <T extends { metadata: object }>(o: T): T => ({ ...o, metadata: { ...o.metadata, ownerReferences: [] } });
    fake.create(unowned(buildConfigMap(c)));
    fake.create(unowned(buildServices(c).find((s) => s.metadata.name === 'prod-gossip')!));
    const sidecar = buildGossipSidecar(c, 'proxy');
    for (const name of PODS) {
      fake.create({
        apiVersion: 'v1', kind: 'Pod',
        metadata: { name, namespace: 'adama', labels: { ...labels(c, 'proxy'), [GOSSIP_LABEL]: 'true' } },
        spec: { containers: [sidecar], terminationGracePeriodSeconds: 5 },
      });
    }
    const view = (pod: string): string[] => {
      const logs = kubelet.container(pod, 'gossip')?.process?.logs.filter((l) => l['event'] === 'gossip.members_changed') ?? [];
      return (logs[logs.length - 1]?.['members'] as string[] | undefined) ?? [];
    };
    const all = (l: Record<string, unknown>) => l['event'] === 'gossip.members_changed' && (l['members'] as string[]).length === PODS.length;
    await Promise.all(PODS.map((p) => kubelet.waitForLog(p, 'gossip', all, 20_000)))
      .catch((e: unknown) => { throw new Error(`${String(e)}; views: ${PODS.map((p) => `${p}: ${JSON.stringify(view(p))}`).join('; ')}`); });
    for (const p of PODS) expect(view(p)).toEqual(PODS);
  }, 60_000);
});
