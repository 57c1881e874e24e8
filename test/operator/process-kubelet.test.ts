/**
 * The process kubelet against the fake API server, with real `adama` processes as containers:
 * every container of a pod runs (init containers first, to completion; native sidecars before
 * the main containers), all of a pod's containers share one IP and one loopback (two sidecars
 * find each other on 127.0.0.1) while two pods with the same ports do not collide, cluster DNS
 * names resolve to pod IPs, env comes from Secrets/ConfigMaps/the downward API with `$(VAR)`
 * expanded, the pod is Ready only when every container is, exits are restarted per the restart
 * policy with the kubelet's back-off and counted in the status, a failed liveness probe restarts
 * the container, and deletion runs every preStop hook, SIGTERMs every container and SIGKILLs
 * what is left when the grace period is over.
 */
import { connect, createServer, type Server } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { ClientNodeKube } from '../../operator/kube/client-node-kube';
import { CLI_PATH } from '../../operator/specs/common';
import { startFakeKube, type FakeKube } from '../support/fake-kube';
import { freePort } from '../support/ports';
import { ProcessKubelet } from '../support/process-kubelet';

const NS = 'kt';
type Status = {
  phase?: string; podIP?: string;
  conditions?: { type: string; status: string }[];
  containerStatuses?: ContainerStatus[];
  initContainerStatuses?: ContainerStatus[];
};
type ContainerStatus = {
  name: string; ready: boolean; started: boolean; restartCount: number;
  state: { running?: { startedAt: string }; waiting?: { reason: string; message?: string }; terminated?: { exitCode: number; reason: string; signal?: number; startedAt: string; finishedAt: string } };
  lastState: { terminated?: { exitCode: number; reason: string; signal?: number } };
};

/** Short gossip intervals; every sidecar here is a real `adama gossip` process. */
// Plaintext on purpose: this file tests the kubelet, not the tiers' mTLS (test/integration/internal-mtls.test.ts does).
const GOSSIP = ['--insecure-internal', 'true', '--heartbeat-interval-ms', '100', '--gossip-interval-ms', '100', '--failure-timeout-ms', '2000', '--leave-grace-ms', '200'];
const grpcReady = (port: number) => ({ grpc: { port }, periodSeconds: 1, failureThreshold: 1 });

function gossip(name: string, port: number, extra: string[] = [], more: Record<string, unknown> = {}, id = `$(POD_NAME)-${name}`, role = 'proxy'): Record<string, unknown> {
  return {
    name, image: 'adama:test',
    args: ['gossip', '--id', id, '--role', role, '--member-address', `m-${name}`, '--port', String(port), '--bind', '0.0.0.0', ...GOSSIP, ...extra],
    env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
    ports: [{ name: 'gossip', containerPort: port }],
    readinessProbe: grpcReady(port),
    ...more,
  };
}

function pod(name: string, spec: Record<string, unknown>, labels: Record<string, string> = { app: 'kt' }): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS, labels }, spec: { terminationGracePeriodSeconds: 10, ...spec } };
}

describe('the process kubelet runs pods as real processes', () => {
  let fake: FakeKube;
  let kubelet: ProcessKubelet;

  const status = (name: string): Status => (fake.get('v1/pods', NS, name)?.['status'] ?? {}) as Status;
  const cs = (name: string, container: string): ContainerStatus | undefined =>
    [...(status(name).containerStatuses ?? []), ...(status(name).initContainerStatuses ?? [])].find((c) => c.name === container);
  const podReady = (name: string) => status(name).conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  const until = <T>(probe: () => T | undefined | null | false, what: string, timeoutMs = 30_000) => fake.waitFor(probe, { what, timeoutMs });
  const deletePod = async (name: string, gracePeriodSeconds?: number) => {
    const uid = fake.get('v1/pods', NS, name)?.metadata.uid;
    fake.delete('v1/pods', NS, name, gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds });
    await until(() => fake.get('v1/pods', NS, name)?.metadata.uid !== uid || undefined, `${name} gone`, 60_000);
  };
  /** A gossip container's log line saying its member set has `n` members. */
  const sees = (n: number) => (l: Record<string, unknown>) => l['event'] === 'gossip.members_changed' && (l['members'] as string[]).length === n;
  /** Members a gossip container logged last: what its Watch would show. */
  const membersSeen = (podName: string, container: string): string[] => {
    const logs = (kubelet.container(podName, container)?.process?.logs ?? []).filter((l) => l['event'] === 'gossip.members_changed');
    return (logs[logs.length - 1]?.['members'] as string[] | undefined) ?? [];
  };

  beforeAll(async () => {
    let client: ClientNodeKube | undefined;
    kubelet = new ProcessKubelet({ client: () => client!, logUnexpectedExits: false, dnsOrder: 'stable' });
    fake = await startFakeKube({ kubelet });
    client = new ClientNodeKube(fake.kubeConfig(NS) as unknown as KubeConfig);
  });
  afterAll(async () => {
    await fake?.close();
    await kubelet?.close();
  }, 60_000);

  test('every container runs (init first, to completion) in one network namespace; two pods with the same ports do not collide', async () => {
    const [a, b] = [await freePort(), await freePort()];
    fake.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'kt-secret', namespace: NS }, stringData: { who: 'a' } });
    fake.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kt-config', namespace: NS }, data: { ADAMA_LOG_LEVEL: 'info', ROLE_NAME: 'proxy' } });
    const spec = () => ({
      initContainers: [{ name: 'init', image: 'adama:test', args: ['help'] }],
      containers: [
        // a seeds b on the pod's own loopback and b seeds a: they can only meet through 127.0.0.1.
        // Its id is `$(POD_NAME)-$(WHO)` (the downward API and a Secret), its role a ConfigMap's ROLE_NAME.
        gossip('a', a, ['--advertise', `127.0.0.1:${a}`, '--seeds', `127.0.0.1:${b}`], {
          env: [
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'WHO', valueFrom: { secretKeyRef: { name: 'kt-secret', key: 'who' } } },
          ],
          envFrom: [{ configMapRef: { name: 'kt-config' } }],
        }, '$(POD_NAME)-$(WHO)', '$(ROLE_NAME)'),
        gossip('b', b, ['--advertise', `localhost:${b}`, '--seeds', `localhost:${a}`]),
      ],
    });
    for (const name of ['ns-1', 'ns-2']) fake.create(pod(name, spec()));
    for (const name of ['ns-1', 'ns-2']) await until(() => podReady(name), `${name} Ready`);
    for (const name of ['ns-1', 'ns-2']) {
      for (const c of ['a', 'b']) await kubelet.waitForLog(name, c, sees(2));
      // Each pod's 127.0.0.1 is its own: the two pods' sidecars never met.
      expect(membersSeen(name, 'a')).toEqual([`${name}-a`, `${name}-b`]);
      const s = status(name);
      expect(s.phase).toBe('Running');
      expect(s.containerStatuses!.map((c) => [c.name, c.ready, c.restartCount])).toEqual([['a', true, 0], ['b', true, 0]]);
      const init = cs(name, 'init')!;
      expect(init.state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
      // The init container finished before either main container started.
      expect(Date.parse(init.state.terminated!.finishedAt)).toBeLessThanOrEqual(Date.parse(cs(name, 'a')!.state.running!.startedAt));
    }
    const ip1 = status('ns-1').podIP!;
    expect(ip1).not.toBe(status('ns-2').podIP);
    expect(kubelet.ip('ns-1')).toBe(ip1);
    // --bind 0.0.0.0 bound the pod's IP, not the machine's every address.
    await expect(tcpOpens(ip1, a)).resolves.toBe(true);
    await expect(tcpOpens('127.0.0.1', a)).resolves.toBe(false);
    // `$(VAR)` in args, env from a Secret, a ConfigMap (envFrom) and the downward API.
    expect(kubelet.container('ns-1', 'a')!.process!.logs.find((l) => l['event'] === 'gossip.ready')).toMatchObject({ id: 'ns-1-a', role: 'proxy', address: `127.0.0.1:${a}` });
    for (const name of ['ns-1', 'ns-2']) await deletePod(name);
  }, 90_000);

  test('the pod is Ready only when every container is: readiness follows each container\'s probe both ways', async () => {
    const [a, gate] = [await freePort(), await freePort()];
    fake.create(pod('ready-1', {
      containers: [
        gossip('a', a),
        // Ready only while something answers on `gate` at the pod's IP (the test opens and closes it).
        gossip('b', await freePort(), [], { readinessProbe: { tcpSocket: { port: gate }, periodSeconds: 1, failureThreshold: 2 } }),
      ],
    }));
    await until(() => cs('ready-1', 'a')?.ready, 'a ready');
    expect(cs('ready-1', 'b')).toMatchObject({ ready: false, started: true });
    expect(podReady('ready-1')).toBe(false);
    expect(status('ready-1').conditions!.find((c) => c.type === 'ContainersReady')!.status).toBe('False');
    const server = await listenOn(status('ready-1').podIP!, gate);
    await until(() => podReady('ready-1'), 'Ready once b passes its probe');
    await new Promise<void>((r) => server.close(() => r()));
    await until(() => !podReady('ready-1') && cs('ready-1', 'b')!.ready === false, 'not Ready after b fails twice');
    expect(cs('ready-1', 'a')!.ready).toBe(true);
    await deletePod('ready-1');
  }, 60_000);

  test('an exiting container is restarted with the kubelet\'s back-off (at once, then 10 s, 20 s), counted in its status; the others go on', async () => {
    const a = await freePort();
    // `adama gossip` without --id exits 1 at once.
    fake.create(pod('crash-1', { containers: [gossip('steady', a), { name: 'crashy', image: 'adama:test', args: ['gossip'] }] }));
    await until(() => cs('crash-1', 'crashy')?.state.waiting?.reason === 'CrashLoopBackOff', 'crashy in CrashLoopBackOff');
    const first = cs('crash-1', 'crashy')!;
    // The first exit was restarted at once; the second waits 10 s.
    expect(first.restartCount).toBe(1);
    expect(first.state.waiting!.message).toMatch(/^back-off 10s restarting failed container=crashy pod=crash-1$/);
    expect(first.lastState.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
    expect(first.ready).toBe(false);
    await until(() => cs('crash-1', 'steady')?.ready, 'steady ready');
    expect(podReady('crash-1')).toBe(false);
    await until(() => cs('crash-1', 'crashy')!.restartCount === 2 && cs('crash-1', 'crashy')!.state.waiting, 'second restart, backing off again', 40_000);
    expect(cs('crash-1', 'crashy')!.state.waiting!.message).toMatch(/^back-off 20s /);
    expect(kubelet.container('crash-1', 'crashy')!.runs).toHaveLength(3);
    // A restart is of one container, not of the pod.
    expect(kubelet.container('crash-1', 'steady')!.runs).toHaveLength(1);
    expect(cs('crash-1', 'steady')!.restartCount).toBe(0);
    // A container killed by a signal: 128 + 9, restarted at once (its first exit).
    const before = kubelet.container('crash-1', 'steady')!.process!.proc.pid;
    kubelet.container('crash-1', 'steady')!.signal('SIGKILL');
    await until(() => cs('crash-1', 'steady')!.restartCount === 1 && cs('crash-1', 'steady')!.ready, 'steady back and ready');
    expect(cs('crash-1', 'steady')!.lastState.terminated).toMatchObject({ exitCode: 137, signal: 9, reason: 'Error' });
    expect(kubelet.container('crash-1', 'steady')!.process!.proc.pid).not.toBe(before);
    expect(status('crash-1').phase).toBe('Running');
    await deletePod('crash-1');
  }, 90_000);

  test('restartPolicy Never fails the pod on an error exit; OnFailure lets a clean exit succeed', async () => {
    fake.create(pod('never-1', { restartPolicy: 'Never', containers: [{ name: 'x', image: 'adama:test', args: ['gossip'] }] }));
    fake.create(pod('once-1', { restartPolicy: 'OnFailure', containers: [{ name: 'x', image: 'adama:test', args: ['help'] }] }));
    await until(() => status('never-1').phase === 'Failed' && status('once-1').phase === 'Succeeded', 'terminal phases');
    expect(cs('never-1', 'x')).toMatchObject({ restartCount: 0, ready: false, state: { terminated: { exitCode: 1, reason: 'Error' } } });
    expect(cs('once-1', 'x')).toMatchObject({ restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } });
    await deletePod('never-1');
    await deletePod('once-1');
  }, 60_000);

  test('a failed liveness probe restarts the container (SIGTERM, its exit, a new process)', async () => {
    const gate = await freePort();
    fake.create(pod('live-1', { containers: [gossip('a', await freePort(), [], { livenessProbe: { tcpSocket: { port: gate }, initialDelaySeconds: 1, periodSeconds: 1, failureThreshold: 2 } })] }));
    // Alive while something answers on `gate` at the pod's IP; the test stops answering once the sidecar is up.
    await until(() => status('live-1').podIP, 'live-1 has an IP');
    const server = await listenOn(status('live-1').podIP!, gate);
    await until(() => cs('live-1', 'a')?.ready, 'a ready');
    await kubelet.waitForLog('live-1', 'a', (l) => l['event'] === 'gossip.ready');
    await new Promise<void>((r) => server.close(() => r()));
    await until(() => (cs('live-1', 'a')?.restartCount ?? 0) >= 1, 'restarted by its liveness probe');
    expect(kubelet.unexpectedExits.find((e) => e.pod === 'live-1')!.detail).toMatch(/^liveness probe failed: tcp .*:\d+: connect ECONNREFUSED/);
    // SIGTERM: the sidecar left gracefully (exit 0) before it was replaced.
    expect(cs('live-1', 'a')!.lastState.terminated).toMatchObject({ exitCode: 0 });
    expect(kubelet.container('live-1', 'a')!.runs[0]!.logs.some((l) => l['event'] === 'gossip.leaving')).toBe(true);
    await deletePod('live-1');
  }, 60_000);

  test('a native sidecar (init container with restartPolicy Always) starts after the init containers and before the main ones, and stops after them', async () => {
    const [s, m] = [await freePort(), await freePort()];
    fake.create(pod('side-1', {
      initContainers: [
        { name: 'prep', image: 'adama:test', args: ['help'] },
        { ...gossip('s', s, ['--advertise', `127.0.0.1:${s}`]), restartPolicy: 'Always', startupProbe: { tcpSocket: { port: s }, periodSeconds: 1, failureThreshold: 30 } },
      ],
      containers: [gossip('m', m, ['--advertise', `127.0.0.1:${m}`, '--seeds', `127.0.0.1:${s}`])],
    }));
    await until(() => podReady('side-1'), 'side-1 Ready');
    await kubelet.waitForLog('side-1', 'm', sees(2));
    const prep = cs('side-1', 'prep')!.state.terminated!;
    const sidecar = cs('side-1', 's')!;
    expect(sidecar).toMatchObject({ ready: true, started: true, restartCount: 0 });
    expect(Date.parse(sidecar.state.running!.startedAt)).toBeGreaterThanOrEqual(Date.parse(prep.finishedAt));
    expect(Date.parse(cs('side-1', 'm')!.state.running!.startedAt)).toBeGreaterThanOrEqual(Date.parse(sidecar.state.running!.startedAt));
    const [sRun, mRun] = [kubelet.container('side-1', 's')!.process!, kubelet.container('side-1', 'm')!.process!];
    await deletePod('side-1');
    const [sExit, mExit] = [await sRun.exited, await mRun.exited];
    expect(sExit.at.getTime()).toBeGreaterThanOrEqual(mExit.at.getTime());
  }, 60_000);

  test('deletion runs every container\'s preStop hook, SIGTERMs every container and SIGKILLs the one still running when the grace period ends', async () => {
    const hook = { exec: { command: ['node', '--no-node-snapshot', CLI_PATH, 'help'] } };
    fake.create(pod('grace-1', {
      // Room for the quick one to exit on SIGTERM on a busy machine; the stubborn one outlasts any of it.
      terminationGracePeriodSeconds: 8,
      containers: [
        gossip('quick', await freePort(), [], { lifecycle: { preStop: hook } }),
        // Keeps gossiping its departure for a minute after SIGTERM: only SIGKILL ends it in time.
        gossip('stubborn', await freePort(), ['--leave-grace-ms', '60000'], { lifecycle: { preStop: hook } }),
      ],
    }));
    await until(() => podReady('grace-1'), 'grace-1 Ready');
    const [quick, stubborn] = [kubelet.container('grace-1', 'quick')!.process!, kubelet.container('grace-1', 'stubborn')!.process!];
    await deletePod('grace-1');
    expect(kubelet.preStops.filter((p) => p.pod === 'grace-1').map((p) => [p.container, p.code]).sort()).toEqual([['quick', 0], ['stubborn', 0]]);
    expect(await quick.exited).toMatchObject({ code: 0, signal: null });
    expect(await stubborn.exited).toMatchObject({ code: null, signal: 'SIGKILL' });
    // Both were asked to stop first.
    for (const p of [quick, stubborn]) expect(p.logs.some((l) => l['event'] === 'gossip.leaving')).toBe(true);
  }, 60_000);

  test('a missing Secret leaves the container waiting (CreateContainerConfigError) until the Secret exists', async () => {
    fake.create(pod('cfg-1', { containers: [gossip('a', await freePort(), [], { env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, { name: 'X', valueFrom: { secretKeyRef: { name: 'late', key: 'x' } } }] })] }));
    await until(() => cs('cfg-1', 'a')?.state.waiting?.reason === 'CreateContainerConfigError', 'waiting on the Secret');
    expect(cs('cfg-1', 'a')!.state.waiting!.message).toBe('secret "late" not found');
    expect(status('cfg-1').phase).toBe('Pending');
    fake.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'late', namespace: NS }, stringData: { x: '1' } });
    await until(() => podReady('cfg-1'), 'cfg-1 Ready once the Secret exists');
    await deletePod('cfg-1');
  }, 60_000);

  test('cluster DNS: per-pod hostnames of a headless Service resolve to pod IPs inside pods (two sidecars meet by name)', async () => {
    const port = await freePort();
    fake.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'peers', namespace: NS }, spec: { clusterIP: 'None', publishNotReadyAddresses: true, selector: { app: 'dns' }, ports: [{ name: 'gossip', port }] } });
    const named = (self: string, other: string) => pod(self, {
      hostname: self, subdomain: 'peers',
      containers: [gossip('g', port, ['--advertise', `$(POD_NAME).peers.${NS}.svc:${port}`, '--seeds', `${other}.peers.${NS}.svc:${port}`], {}, '$(POD_NAME)')],
    }, { app: 'dns' });
    fake.create(named('dns-a', 'dns-b'));
    fake.create(named('dns-b', 'dns-a'));
    for (const p of ['dns-a', 'dns-b']) await kubelet.waitForLog(p, 'g', sees(2));
    expect(membersSeen('dns-a', 'g')).toEqual(['dns-a', 'dns-b']);
    await deletePod('dns-a');
    await deletePod('dns-b');
  }, 60_000);
});

/** A TCP listener at host:port (standing in for something a probe checks). */
function listenOn(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer((c) => c.destroy());
    s.once('error', reject);
    s.listen(port, host, () => resolve(s));
  });
}

/** Whether a TCP connection to host:port opens (from the test process, i.e. the node). */
function tcpOpens(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}
