/**
 * Leader election between two operator processes' worth of state (one fake API server): one
 * leads, one stands by; a leader whose Lease is taken stops writing before anyone else writes;
 * the endpoints tell which is which.
 */
import { CLUSTER_NS, TYPES, OPERATOR_NS, startOperatorHarness, type OperatorHarness } from '../support/operator-harness';
import type { RunningOperator } from '../../operator/operator';


const { lease: LEASE, deployment: DEPLOY, cluster: AC } = TYPES;

describe('operator leader election', () => {
  let h: OperatorHarness;
  let a: RunningOperator;
  let b: RunningOperator;
  let aLost!: Promise<void>;
  const holder = () => (h.fake.get(LEASE, OPERATOR_NS, 'adama-operator-leader')?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;
  const proxies = () => (h.fake.get(DEPLOY, CLUSTER_NS, 'demo-proxy')?.spec as { replicas?: number } | undefined)?.replicas;
  const get = async (op: RunningOperator, path: string) => {
    const res = await fetch(`http://127.0.0.1:${op.metricsPort}${path}`);
    return { status: res.status, body: await res.text() };
  };

  beforeAll(async () => {
    h = await startOperatorHarness();
    let markLost!: () => void;
    aLost = new Promise((resolve) => { markLost = resolve; });
    a = await h.startOperator('op-a', { onLostLeadership: () => markLost() });
    await h.fake.waitFor(() => holder() === 'op-a', { what: 'op-a leads' });
    b = await h.startOperator('op-b');
    await h.createCluster({ gossip: { enabled: false } });
    await h.fake.waitFor(() => proxies() === 2, { what: 'children applied' });
  }, 30_000);
  afterAll(async () => { await h?.close(); });

  test('one leads, the other stands by; /healthz, /readyz and /metrics say so', async () => {
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);
    expect(await get(a, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect(await get(a, '/readyz')).toEqual({ status: 200, body: 'leading\n' });
    expect(await get(b, '/readyz')).toEqual({ status: 200, body: 'standing by\n' });
    const metrics = (await get(a, '/metrics')).body;
    expect(metrics).toMatch(/adama_operator_leader(\{[^}]*\})? 1/);
    expect(metrics).toMatch(/adama_operator_reconciles_total\{[^}]*result="ok"[^}]*\} [1-9]/);
    expect((await get(b, '/metrics')).body).not.toMatch(/adama_operator_reconciles_total\{/);
  });

  test('a leader whose lease is taken stops writing; changes wait until a new leader acquires it', async () => {
    const order: string[] = [];
    let lastHolder = holder();
    let lastProxies = proxies();
    h.fake.onChange(() => {
      if (holder() !== lastHolder) { lastHolder = holder(); order.push(`lease:${lastHolder}`); }
      if (proxies() !== lastProxies) { lastProxies = proxies(); order.push(`proxies:${lastProxies}`); }
    });
    // Someone else writes the Lease (a partitioned leader's successor would): op-a must step down.
    h.fake.patch(LEASE, OPERATOR_NS, 'adama-operator-leader', { spec: { holderIdentity: 'intruder' } }, { patchType: 'merge' });
    await aLost;
    expect(a.isLeader).toBe(false);
    h.fake.patch(AC, CLUSTER_NS, 'demo', { spec: { proxies: { replicas: 3 } } }, { patchType: 'merge' });
    await h.fake.waitFor(() => proxies() === 3, { what: 'change applied by the next leader', timeoutMs: 15_000 });
    const taken = order.indexOf('lease:intruder');
    const reacquired = order.findIndex((e, i) => i > taken && /^lease:op-[ab]$/.test(e));
    expect(taken).toBeGreaterThanOrEqual(0);
    expect(reacquired).toBeGreaterThan(taken);
    expect(order.indexOf('proxies:3')).toBeGreaterThan(reacquired);
    expect([a.isLeader, b.isLeader].filter(Boolean)).toHaveLength(1);
  });

  test('a leader that stops hands the lease back, so the standby takes over without waiting it out', async () => {
    const [leader, standby] = a.isLeader ? [a, b] : [b, a];
    const standbyName = standby === a ? 'op-a' : 'op-b';
    await leader.close();
    expect(holder()).toBe('');
    await h.fake.waitFor(() => holder() === standbyName, { what: 'standby leads' });
    h.fake.patch(AC, CLUSTER_NS, 'demo', { spec: { proxies: { replicas: 2 } } }, { patchType: 'merge' });
    await h.fake.waitFor(() => proxies() === 2, { what: 'standby reconciles' });
  });
});
