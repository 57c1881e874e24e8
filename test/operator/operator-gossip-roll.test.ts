/**
 * A gossiping cluster run by the operator, for real: every host pod is `adama host` plus its
 * `adama gossip` sidecar (test/support/process-kubelet.ts runs every container as the operator
 * built it), and one proxy pod made from the operator's proxy Deployment template (the fake runs
 * no Deployment pods: this stands in for the ReplicaSet controller) is `adama proxy` plus its
 * sidecar. Sidecars find each other through the headless gossip Service's DNS name, hosts
 * advertise their per-pod DNS names, and the proxy routes only to hosts its sidecar's Watch
 * lists. A change of the host pod template rolls the hosts one at a time (drain, delete, new pod
 * under the same name and a new IP) while chat writers keep sending through the proxy; after the
 * roll every host is in the proxy's gossip view, a new document lands on each, and every
 * acknowledged message is in its room's log exactly once. Then a drained host whose container
 * restarts inside its pod, beside the sidecar that stayed, is routed again.
 */
import WebSocket from 'ws';
import type { KubeConfig } from '@kubernetes/client-node';
import { AdamaClient, type WebSocketFactory } from '../../client/index';
import { ClientNodeKube } from '../../operator/kube/client-node-kube';
import type { RunningOperator } from '../../operator/operator';
import { DEFAULT_SPACES_DIR } from '../../services/cli/dev-cluster';
import { deploySpacesFromDir } from '../../services/cli/spaces-dir';
import { hostAdminClient } from '../../services/grpc/host-admin-client';
import { expectEveryAckExactlyOnce, openChatWriters } from '../support/chat-load';
import { freshStorage } from '../support/databases';
import { CLUSTER_NS, TYPES, isPodReady, podFromDeployment, startOperatorHarness, type OperatorHarness } from '../support/operator-harness';
import { freePort } from '../support/ports';
import { ProcessKubelet } from '../support/process-kubelet';

type Storage = Awaited<ReturnType<typeof freshStorage>>;
const HOSTS = ['demo-host-0', 'demo-host-1', 'demo-host-2'];
const PROXY_POD = 'demo-proxy-manual';
const LOCATOR_POD = 'demo-locator-manual';
const ROOMS = 4;


describe('a gossiping cluster through the process kubelet: rolling restart of the hosts under load', () => {
  let storage: Storage;
  let h: OperatorHarness;
  let kubelet: ProcessKubelet;
  let op: RunningOperator;
  let ports: { host: number; gossip: number; proxy: number; locator: number };
  const clients: AdamaClient[] = [];
  let keys = 0;

  const pod = (name: string) => h.fake.get('v1/pods', CLUSTER_NS, name);
  const proxyUrl = () => `http://${kubelet.ip(PROXY_POD)!}:${ports.proxy}`;
  const client = (name: string) => {
    const c = new AdamaClient({ url: `ws://${kubelet.ip(PROXY_POD)!}:${ports.proxy}/ws`, identity: `anonymous:${name}`, WebSocket: WebSocket as unknown as WebSocketFactory, maxSendAttempts: 30 });
    clients.push(c);
    return c;
  };
  const cluster = { client, get storage() { return storage; } };
  const proxyHealth = async () => (await (await fetch(`${proxyUrl()}/healthz`)).json()) as { hosts: number };
  /** The member set the proxy's sidecar logged last (what its Watch gives the proxy). */
  const proxyGossipView = (): string[] => {
    const logs = kubelet.container(PROXY_POD, 'gossip')?.process?.logs.filter((l) => l['event'] === 'gossip.members_changed') ?? [];
    return ((logs[logs.length - 1]?.['members'] as string[] | undefined) ?? []).filter((m) => m.startsWith('demo-host-'));
  };
  /** Every sidecar's last member set, to say who is cut off when a wait fails. */
  const sidecarViews = (): string => [...HOSTS, PROXY_POD].map((p) => {
    const logs = kubelet.container(p, 'gossip')?.process?.logs.filter((l) => l['event'] === 'gossip.members_changed') ?? [];
    return `${p}: ${JSON.stringify(logs[logs.length - 1]?.['members'] ?? [])}`;
  }).join('; ');
  /** Resolves once the proxy routes to exactly `hosts` (its /healthz count, fed by gossip), polling its HTTP endpoint. */
  const untilProxyRoutes = async (hosts: readonly string[], timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const view = proxyGossipView();
      if ((await proxyHealth()).hosts === hosts.length && hosts.every((x) => view.includes(x))) return;
      if (Date.now() > deadline) {
        throw new Error(`proxy routes to ${JSON.stringify(view)} (healthz ${(await proxyHealth()).hosts}), not ${JSON.stringify(hosts)}, after ${timeoutMs} ms; sidecars see ${sidecarViews()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  /** ms from `sinceMs` to the proxy sidecar's first `member_joined` of `host` after it, for the figures. */
  const joinedAfter = (host: string, sinceMs: number): string => {
    const joined = (kubelet.container(PROXY_POD, 'gossip')?.process?.logs ?? [])
      .filter((l) => l['event'] === 'gossip.member_joined' && l['peer'] === host).map((l) => Date.parse(String(l['time']))).find((t) => t >= sinceMs);
    return joined === undefined ? 'never' : `${joined - sinceMs} ms`;
  };
  /** Creates documents through the proxy until rendezvous places one on `host`: the host is routable and serving. */
  const createOn = async (host: string): Promise<string> => {
    const c = client(`creator-${keys}`);
    for (let tries = 0; tries < 60; tries++) {
      const key = `placed-${keys++}`;
      await c.createDocument('chat', key, {});
      if ((await storage.data.lookup({ space: 'chat', key }))?.host === host) return key;
    }
    throw new Error(`no document landed on ${host} in 60 tries`);
  };

  beforeAll(async () => {
    storage = await freshStorage();
    await deploySpacesFromDir(storage.data, DEFAULT_SPACES_DIR);
    ports = { host: await freePort(), gossip: await freePort(), proxy: await freePort(), locator: await freePort() };
    let kube: ClientNodeKube | undefined;
    kubelet = new ProcessKubelet({ client: () => kube!, env: { ADAMA_LEASE_MS: '1500' } });
    h = await startOperatorHarness({ kubelet });
    kube = new ClientNodeKube(h.fake.kubeConfig(CLUSTER_NS) as KubeConfig);
    await h.client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'adama-db', namespace: CLUSTER_NS }, data: { url: Buffer.from(storage.connectionString).toString('base64') } });
    op = await h.startOperator('op-a');
    await h.createCluster({
      hosts: { replicas: HOSTS.length, minReplicas: 1, port: ports.host, drain: { timeoutSeconds: 30, retryBackoffSeconds: 1 } },
      proxies: { replicas: 1, port: ports.proxy, env: [{ name: 'ADAMA_ALLOW_ANONYMOUS', value: 'true' }] },
      locator: { port: ports.locator },
      gossip: { enabled: true, port: ports.gossip }, metrics: { enabled: false },
    });
    // The locator and proxy pods, from the templates the operator wrote (what a ReplicaSet would
    // create): the proxy takes its membership fallback from the locator, with no database.
    await podFromDeployment(h, 'demo-locator', LOCATOR_POD);
    await podFromDeployment(h, 'demo-proxy', PROXY_POD);
    await h.waitForCluster((c) => c.status?.hosts?.ready === HOSTS.length, 'three host pods Ready', 90_000);
    await h.fake.waitFor(() => isPodReady(pod(PROXY_POD)), { what: 'proxy pod Ready', timeoutMs: 60_000 });
    await untilProxyRoutes(HOSTS, 30_000);
  }, 180_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await op?.close();
    await h?.close();
    await kubelet?.close();
    await storage?.close();
  }, 120_000);

  test('every pod runs its sidecar; hosts and the proxy gossip with each other; the proxy routes to every host it learned from gossip', async () => {
    for (const name of [...HOSTS, PROXY_POD]) {
      const statuses = (pod(name)!['status'] as { containerStatuses: { name: string; ready: boolean }[] }).containerStatuses;
      expect(statuses.map((s) => [s.name, s.ready])).toEqual([[name === PROXY_POD ? 'proxy' : 'host', true], ['gossip', true]]);
    }
    // Every host's sidecar sees every host and the proxy: they met through the gossip Service's name.
    const everyone = [...HOSTS, PROXY_POD].sort();
    for (const host of HOSTS) {
      await kubelet.waitForLog(host, 'gossip', (l) => l['event'] === 'gossip.members_changed' && JSON.stringify(l['members']) === JSON.stringify(everyone), 30_000);
    }
    // The proxy's membership is its sidecar's Watch, not the hosts table.
    expect(kubelet.container(PROXY_POD, 'proxy')!.process!.logs.some((l) => l['event'] === 'membership.gossip_connected')).toBe(true);
    for (const host of HOSTS) await createOn(host);
  }, 120_000);

  test('a template change rolls the hosts one at a time under chat load: every host routable and serving after, no acknowledged write lost', async () => {
    const writers = await openChatWriters(cluster, ROOMS, 1);
    let stopAt: number[] | undefined;
    const sending = Promise.all(writers.map(async (w, n) => {
      for (let i = 0; stopAt === undefined || w.acked.length < stopAt[n]!; i++) {
        const text = `${w.name}#${i}`;
        await w.doc.send('say', { text });
        w.acked.push(text);
      }
    }));
    sending.catch(() => undefined);
    const startedBefore = kubelet.started.length;
    // One at a time: never more than one host pod down (terminating or not Ready) during the roll.
    let maxDown = 0;
    const off = h.fake.onChange(() => {
      const up = HOSTS.filter((x) => { const p = pod(x); return p && !p.metadata.deletionTimestamp && isPodReady(p); }).length;
      maxDown = Math.max(maxDown, HOSTS.length - up);
    });
    const uids = new Map(HOSTS.map((x) => [x, pod(x)!.metadata.uid]));
    const rollStart = Date.now();
    try {
      // An upgrade of the host image: a new pod template, so every host pod is replaced.
      h.fake.patch(TYPES.cluster, CLUSTER_NS, 'demo', { spec: { hosts: { image: 'adama:test-2' } } }, { patchType: 'merge' });
      await h.fake.waitFor(() => {
        const rev = (h.fake.get(TYPES.statefulSet, CLUSTER_NS, 'demo-host')?.['status'] as { updateRevision?: string } | undefined)?.updateRevision;
        const rolled = HOSTS.every((x) => { const p = pod(x); return p && p.metadata.uid !== uids.get(x) && p.metadata.labels?.['controller-revision-hash'] === rev && isPodReady(p); });
        return rolled && !h.cluster()?.status?.drain;
      }, { what: 'every host on the new template and Ready', timeoutMs: 240_000 });
    } finally {
      off();
      // Each writer sends three more after the roll, then stops.
      stopAt = writers.map((w) => w.acked.length + 3);
    }
    const rollMs = Date.now() - rollStart;
    // The new image's schema migration ran (a Job, `adama migrate` for real) before any host was replaced.
    const started = kubelet.started.slice(startedBefore);
    expect(started[0]).toMatch(/^demo-migrate-[0-9a-f]{10}-[a-z0-9]{5}$/);
    expect(started.slice(1)).toEqual(['demo-host-2', 'demo-host-1', 'demo-host-0']);
    expect(h.cluster()?.status?.conditions?.find((c) => c.type === 'Migrated')).toMatchObject({ status: 'True', reason: 'MigrationSucceeded' });
    expect(maxDown).toBe(1);
    expect(h.events().filter((e) => e.reason === 'HostRecycled')).toHaveLength(HOSTS.length);
    await untilProxyRoutes(HOSTS, 30_000);
    const routedMs = Date.now() - rollStart;
    await sending;
    for (const host of HOSTS) await createOn(host);
    const acked = writers.reduce((n, w) => n + w.acked.length, 0);
    // From each new host process's start to the proxy's sidecar seeing it join (both wall clock on this machine; figures only).
    const figures = HOSTS.map((x) => `${x}: host process start -> in the proxy's gossip view ${joinedAfter(x, kubelet.container(x, 'host')!.runs[0]!.startedAt.getTime())}`);
    process.stderr.write(`host roll: ${rollMs} ms until every host pod was replaced and Ready, ${routedMs} ms until the proxy routed to all; ${acked} sends acked; ${figures.join('; ')}\n`);
    await expectEveryAckExactlyOnce(cluster, writers, ROOMS, '');
  }, 300_000);

  test('a drained host whose container restarts in the same pod (the sidecar stays) is routed again', async () => {
    const host = 'demo-host-1';
    const admin = hostAdminClient(kubelet.address(host, ports.host)!);
    try {
      expect(await admin.drain(30_000)).toMatchObject({ drained: true });
    } finally {
      admin.close();
    }
    // The host said NOT_SERVING: its sidecar announced the departure and the proxy stopped routing there.
    await untilProxyRoutes(HOSTS.filter((x) => x !== host), 30_000);
    const sidecar = kubelet.container(host, 'gossip')!.process!;
    const restartedAt = Date.now();
    kubelet.container(host, 'host')!.signal('SIGTERM');
    await h.fake.waitFor(() => {
      const s = (pod(host)!['status'] as { containerStatuses: { name: string; restartCount: number }[] }).containerStatuses;
      return s.find((c) => c.name === 'host')!.restartCount === 1 && isPodReady(pod(host));
    }, { what: 'host container restarted in its pod, pod Ready again', timeoutMs: 60_000 });
    await untilProxyRoutes(HOSTS, 30_000);
    process.stderr.write(`host container restart beside its sidecar: SIGTERM -> in the proxy's gossip view ${joinedAfter(host, restartedAt)}\n`);
    await createOn(host);
    // The same sidecar process all along: it rejoined for the new host process.
    expect(kubelet.container(host, 'gossip')!.process).toBe(sidecar);
    expect(kubelet.container(host, 'gossip')!.restartCount).toBe(0);
  }, 120_000);
});
