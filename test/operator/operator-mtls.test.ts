/**
 * An operator-built cluster over mTLS, for real (issue 11): `spec.internalTls.mode: secrets` with
 * one Secret per role from a development CA (the layout cert-manager writes: ca.crt, tls.crt,
 * tls.key). The process kubelet mounts them (test/support/kubelet/mounts.ts) and runs every
 * container as the operator built it. Hosts and the locator pass their kubelet gRPC probes on the
 * plaintext health port; sidecars gossip over mTLS; the proxy reaches the locator and hosts over
 * mTLS and serves clients; the operator reads every host's Status with its own certificate; a
 * scale-down drains a host through the operator's Drain RPC (operator certificate) and its
 * preStop `drain-self` (the host's own), under chat load, and no acknowledged write is lost. No
 * process runs plaintext: none logs `internal.insecure`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { KubeConfig } from '@kubernetes/client-node';
import { AdamaClient, type WebSocketFactory } from '../../client/index';
import { ClientNodeKube } from '../../operator/kube/client-node-kube';
import type { RunningOperator } from '../../operator/operator';
import { DEFAULT_SPACES_DIR } from '../../services/cli/dev-cluster';
import { deploySpacesFromDir } from '../../services/cli/spaces-dir';
import { devTlsFor, ensureDevPki } from '../../services/grpc/dev-certs';
import type { InternalRole } from '../../services/grpc/internal-tls';
import { expectEveryAckExactlyOnce, openChatWriters } from '../support/chat-load';
import { freshStorage } from '../support/databases';
import { CLUSTER_NS, TYPES, isPodReady, podFromDeployment, startOperatorHarness, type OperatorHarness } from '../support/operator-harness';
import { freePort } from '../support/ports';
import { ProcessKubelet } from '../support/process-kubelet';

type Storage = Awaited<ReturnType<typeof freshStorage>>;
const HOSTS = ['demo-host-0', 'demo-host-1'];
const PROXY_POD = 'demo-proxy-manual';
const LOCATOR_POD = 'demo-locator-manual';
const ROOMS = 3;
const ROLES: InternalRole[] = ['host', 'proxy', 'locator', 'gossip'];


describe('an operator-built cluster over mTLS (secrets mode) through the process kubelet', () => {
  const pki = mkdtempSync(join(tmpdir(), 'adama-op-mtls-'));
  let storage: Storage;
  let h: OperatorHarness;
  let kubelet: ProcessKubelet;
  let op: RunningOperator;
  let ports: { host: number; gossip: number; proxy: number; locator: number; health: number };
  const clients: AdamaClient[] = [];

  const pod = (name: string) => h.fake.get('v1/pods', CLUSTER_NS, name);
  const client = (name: string) => {
    const c = new AdamaClient({ url: `ws://${kubelet.ip(PROXY_POD)!}:${ports.proxy}/ws`, identity: `anonymous:${name}`, WebSocket: WebSocket as unknown as WebSocketFactory, maxSendAttempts: 30 });
    clients.push(c);
    return c;
  };
  const cluster = { client, get storage() { return storage; } };
  /** Every container's log events, by pod/container. */
  const logsOf = (podName: string, container: string) => kubelet.container(podName, container)?.runs.flatMap((r) => r.logs) ?? [];

  beforeAll(async () => {
    storage = await freshStorage();
    await deploySpacesFromDir(storage.data, DEFAULT_SPACES_DIR);
    ensureDevPki(pki, [...ROLES, 'operator']);
    ports = { host: await freePort(), gossip: await freePort(), proxy: await freePort(), locator: await freePort(), health: await freePort() };
    let kube: ClientNodeKube | undefined;
    kubelet = new ProcessKubelet({ client: () => kube!, env: { ADAMA_LEASE_MS: '1500' } });
    h = await startOperatorHarness({ kubelet });
    kube = new ClientNodeKube(h.fake.kubeConfig(CLUSTER_NS) as KubeConfig);
    const b64 = (file: string) => readFileSync(file).toString('base64');
    await h.client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'adama-db', namespace: CLUSTER_NS }, data: { url: Buffer.from(storage.connectionString).toString('base64') } });
    for (const role of ROLES) {
      const t = devTlsFor(pki, role, 60_000);
      await h.client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `demo-${role}-tls`, namespace: CLUSTER_NS }, data: { 'ca.crt': b64(t.caFile), 'tls.crt': b64(t.certFile), 'tls.key': b64(t.keyFile) } });
    }
    op = await h.startOperator('op-a', { internalTls: devTlsFor(pki, 'operator', 60_000) });
    await h.createCluster({
      hosts: { replicas: HOSTS.length, minReplicas: 1, port: ports.host, drain: { timeoutSeconds: 30, retryBackoffSeconds: 1 } },
      proxies: { replicas: 1, port: ports.proxy, env: [{ name: 'ADAMA_ALLOW_ANONYMOUS', value: 'true' }] },
      locator: { port: ports.locator },
      gossip: { enabled: true, port: ports.gossip }, metrics: { enabled: false },
      internalTls: { mode: 'secrets', healthPort: ports.health },
    });
    // The locator and proxy pods from the templates the operator wrote (the fake runs no ReplicaSets).
    await podFromDeployment(h, 'demo-locator', LOCATOR_POD);
    await podFromDeployment(h, 'demo-proxy', PROXY_POD);
    await h.waitForCluster((c) => c.status?.hosts?.ready === HOSTS.length, 'host pods Ready (probes on the health port)', 90_000);
    await h.fake.waitFor(() => isPodReady(pod(PROXY_POD)) && isPodReady(pod(LOCATOR_POD)), { what: 'proxy and locator pods Ready', timeoutMs: 60_000 });
  }, 180_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await op?.close();
    await h?.close();
    await kubelet?.close();
    await storage?.close();
    rmSync(pki, { recursive: true, force: true });
  }, 120_000);

  test('every container presents its role\'s mounted certificate and none runs plaintext; the operator reads every host\'s Status over mTLS', async () => {
    for (const [podName, containers] of [...HOSTS.map((x) => [x, ['host', 'gossip']] as const), [PROXY_POD, ['proxy', 'gossip']] as const, [LOCATOR_POD, ['locator']] as const]) {
      for (const container of containers) {
        expect({ podName, container, insecure: logsOf(podName, container).some((l) => l['event'] === 'internal.insecure') }).toEqual({ podName, container, insecure: false });
      }
    }
    // Status comes from each host's admin RPC, which admits the operator's certificate only.
    await h.waitForCluster((c) => (c.status?.members ?? []).filter((m) => m.state === 'Serving' && m.documentsRemaining !== undefined).length === HOSTS.length, 'every member Serving with a document count', 30_000);
  }, 60_000);

  test('clients are served through the proxy; a scale-down drains a host under load (operator Drain and preStop over mTLS); no acknowledged write lost', async () => {
    const writers = await openChatWriters(cluster, ROOMS, 1);
    let stop = false;
    const sending = Promise.all(writers.map(async (w) => {
      for (let i = 0; !stop || i < 3; i++) {
        const text = `${w.name}#${i}`;
        await w.doc.send('say', { text });
        w.acked.push(text);
      }
    }));
    sending.catch(() => undefined);
    await h.fake.waitFor(() => writers.every((w) => w.acked.length >= 3), { what: 'writers acked through the proxy', timeoutMs: 30_000 });
    h.fake.patch(TYPES.cluster, CLUSTER_NS, 'demo', { spec: { hosts: { replicas: 1 } } }, { patchType: 'merge' });
    await h.waitForCluster((c) => c.status?.hosts?.current === 1 && !c.status.drain, 'scaled down to one host, drain done', 120_000);
    expect(h.events().some((e) => e.reason === 'DrainFailed')).toBe(false);
    stop = true;
    await sending;
    // The removed host's preStop drain ran with its own certificate and found nothing left to move.
    const preStops = kubelet.preStops.filter((r) => r.pod === 'demo-host-1' && r.container === 'host');
    expect(preStops.map((r) => r.code)).toEqual([0]);
    await expectEveryAckExactlyOnce(cluster, writers, ROOMS, 'demo-host-1');
  }, 180_000);
});
