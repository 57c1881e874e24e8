/**
 * The operator as the process the image runs (`adama operator`, compiled, a child process) against
 * the fake API server over HTTP: a standby that stays up, takeover after SIGKILL by another
 * identity, hand-back on SIGTERM, and an API-server restart the leader survives (or, when its
 * lease truly expired meanwhile, leaves with a logged reason and a non-zero exit).
 * In-process tests cannot see any of this: jest keeps the event loop alive for them.
 * Figures go to stderr for the closing note.
 */
import { CLUSTER_NS, OPERATOR_NS, TYPES, startOperatorHarness, type OperatorHarness } from '../support/operator-harness';
import { operatorProcesses, type OperatorProcess, type OperatorProcesses } from '../support/operator-process';
import { microTime, type LeaseSpec } from '../../operator/runtime/leader-election';

const { lease: LEASE, deployment: DEPLOY, cluster: AC } = TYPES;
const LEASE_NAME = 'adama-operator-leader';

describe('adama operator processes', () => {
  let h: OperatorHarness;
  let ops: OperatorProcesses;
  const lease = () => h.fake.get(LEASE, OPERATOR_NS, LEASE_NAME)?.spec as LeaseSpec | undefined;
  const holder = () => lease()?.holderIdentity;
  const proxies = () => (h.fake.get(DEPLOY, CLUSTER_NS, 'demo-proxy')?.spec as { replicas?: number } | undefined)?.replicas;
  const waitHolder = (id: string, timeoutMs: number) => h.fake.waitFor(() => holder() === id, { what: `${id} holds the lease`, timeoutMs });
  const leaseGets = () => h.fake.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/leases/${LEASE_NAME}`)).length;
  const figure = (what: string, ms: number) => process.stderr.write(`[operator-process] ${what}: ${ms} ms\n`);
  const setProxies = (n: number) => h.fake.patch(AC, CLUSTER_NS, 'demo', { spec: { proxies: { replicas: n } } }, { patchType: 'merge' });
  /** Enough for a takeover that is due after one lease duration, on a loaded 2-core machine. */
  const takeoverBudget = () => 4 * (ops.leaseDurationMs + ops.retryPeriodMs) + 10_000;

  let a: OperatorProcess;
  let b: OperatorProcess;

  beforeAll(async () => {
    h = await startOperatorHarness();
    ops = operatorProcesses(h.fake);
    a = await ops.start('op-a');
    await waitHolder('op-a', 20_000);
    b = await ops.start('op-b');
    await h.createCluster({ gossip: { enabled: false } });
    await h.fake.waitFor(() => proxies() === 2, { what: 'children applied by op-a', timeoutMs: 20_000 });
  }, 60_000);
  afterAll(async () => {
    await ops?.close();
    await h?.close();
  });

  test('one leads; the standby stays alive while it stands by, /readyz says so', async () => {
    // Several lease periods of campaigning, counted in the standby's and leader's Lease reads.
    const from = leaseGets();
    await h.fake.waitFor(() => leaseGets() - from >= 20, { what: 'twenty Lease reads', timeoutMs: 30_000 });
    expect([a.alive, b.alive]).toEqual([true, true]);
    expect(await a.http('/readyz')).toEqual({ status: 200, body: 'leading\n' });
    expect(await b.http('/readyz')).toEqual({ status: 200, body: 'standing by\n' });
    expect(await b.http('/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect(holder()).toBe('op-a');
  }, 40_000);

  test('SIGKILL of the leader: the standby, another identity, takes over and reconciles', async () => {
    const killed = Date.now();
    a.proc.kill('SIGKILL');
    await a.exited;
    await waitHolder('op-b', takeoverBudget());
    figure('takeover after SIGKILL of the leader (standby op-b)', Date.now() - killed);
    setProxies(3);
    await h.fake.waitFor(() => proxies() === 3, { what: 'op-b reconciles', timeoutMs: 20_000 });
    expect(b.alive).toBe(true);
  }, 60_000);

  test('a stale Lease of a pod that is gone is taken by a new process with another identity', async () => {
    // The state a replacement pod meets: its predecessor was SIGKILLed long ago and nobody deleted the Lease.
    b.proc.kill('SIGKILL');
    await b.exited;
    const stale = h.fake.get(LEASE, OPERATOR_NS, LEASE_NAME)!;
    h.fake.update({ ...stale, spec: { ...(stale.spec as LeaseSpec), holderIdentity: 'op-gone', renewTime: microTime(Date.now() - 96_000) } });
    const started = Date.now();
    const c = await ops.start('op-c');
    await waitHolder('op-c', takeoverBudget());
    figure('takeover of a stale Lease by a new identity (from process start)', Date.now() - started);
    expect(lease()?.leaseTransitions).toBeGreaterThan((stale.spec as LeaseSpec).leaseTransitions ?? 0);
    setProxies(2);
    await h.fake.waitFor(() => proxies() === 2, { what: 'op-c reconciles', timeoutMs: 20_000 });
    a = c;
    b = await ops.start('op-d');
  }, 60_000);

  test('SIGTERM hands the lease back; the standby takes over without waiting it out; exit 0', async () => {
    const from = leaseGets();
    await h.fake.waitFor(() => leaseGets() - from >= 4, { what: 'op-d campaigning', timeoutMs: 20_000 });
    const termed = Date.now();
    a.proc.kill('SIGTERM');
    expect(await a.exited).toEqual({ code: 0, signal: null });
    expect(a.logs.some((l) => l.event === 'leader.released')).toBe(true);
    await waitHolder('op-d', takeoverBudget());
    figure('takeover after SIGTERM of the leader (hand-back)', Date.now() - termed);
    setProxies(3);
    await h.fake.waitFor(() => proxies() === 3, { what: 'op-d reconciles', timeoutMs: 20_000 });
    a = b;
  }, 60_000);

  test('an API-server restart shorter than the renew deadline: the leader keeps the lease and resumes its watches', async () => {
    const c = await ops.start('op-e');
    b = c;
    const watchesBefore = h.fake.openWatches();
    expect(watchesBefore).toBeGreaterThanOrEqual(5);
    const down = Date.now();
    const outage = await h.fake.restart(ops.leaseDurationMs / 3);
    await h.fake.waitFor(() => h.fake.openWatches() === 0, { what: 'every watch dropped' });
    await h.fake.waitFor(() => h.fake.openWatches() >= watchesBefore, { what: 'watches reopened', timeoutMs: 30_000 });
    figure(`API-server restart (${ops.leaseDurationMs / 3} ms down): time from the server going down to every watch open again`, Date.now() - down);
    await outage.resume();
    setProxies(4);
    await h.fake.waitFor(() => proxies() === 4, { what: 'the leader reconciles after the restart', timeoutMs: 20_000 });
    figure('API-server restart: time from the server going down to a change reconciled', Date.now() - down);
    expect([a.alive, b.alive]).toEqual([true, true]);
    expect(holder()).toBe(a.identity);
    expect(a.logs.some((l) => l.event === 'operator.leadership_lost')).toBe(false);
    expect(a.logs.some((l) => l.event === 'informer.retry')).toBe(true);
  }, 60_000);

  test('an outage past the renew deadline: the leader logs leadership_lost with a reason and exits 1; the standby takes over', async () => {
    const outage = await h.fake.restart(ops.leaseDurationMs * 2);
    const lost = await a.waitForLog((l) => l.event === 'operator.leadership_lost', takeoverBudget());
    expect(lost.reason).toBe('renew_deadline_passed');
    expect(await a.exited).toEqual({ code: 1, signal: null });
    await outage.resume();
    await waitHolder(b.identity, takeoverBudget());
    expect(b.alive).toBe(true);
    setProxies(2);
    await h.fake.waitFor(() => proxies() === 2, { what: 'the new leader reconciles', timeoutMs: 20_000 });
  }, 60_000);
});
