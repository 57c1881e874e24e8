import { seedAddresses, splitHostPort, type Lookup } from './seeds';

/** Lets the test settle the sidecar's background resolution. */
const flush = () => new Promise((r) => setImmediate(r));

describe('seed addresses', () => {
  it('resolves a name to every address but our own (a headless Service lists the asking pod too)', async () => {
    const lookup: Lookup = async (host) => (host === 'peers.ns.svc' ? ['10.0.0.5', '10.0.0.6', '10.0.0.7'] : []);
    const seeds = seedAddresses({ seeds: ['peers.ns.svc:7300'], self: () => '10.0.0.5:7300', minIntervalMs: 0, lookup });
    await flush();
    expect(seeds.current()).toEqual(['10.0.0.6:7300', '10.0.0.7:7300']);
  });

  it('keeps IP seeds as written, and a name\'s last addresses when a later lookup fails', async () => {
    let fail = false;
    const errors: string[] = [];
    const lookup: Lookup = async () => { if (fail) throw new Error('SERVFAIL'); return ['10.0.0.9']; };
    const seeds = seedAddresses({ seeds: ['10.0.0.1:7300', 'peers:7300', '[fd00::1]:7300'], self: () => 'x', minIntervalMs: 0, lookup, onError: (s) => errors.push(s) });
    await flush();
    fail = true;
    seeds.refresh();
    await flush();
    expect(seeds.current()).toEqual(['10.0.0.1:7300', '10.0.0.9:7300', '[fd00::1]:7300']);
    expect(errors).toEqual(['peers:7300']);
  });

  it('asks again at most once per interval', async () => {
    let asked = 0;
    let t = 0;
    const seeds = seedAddresses({ seeds: ['peers:1'], self: () => '', minIntervalMs: 200, nowMs: () => t, lookup: async () => { asked++; return ['10.0.0.2']; } });
    await flush();
    seeds.refresh();
    await flush();
    expect(asked).toBe(1);
    t = 200;
    seeds.refresh();
    await flush();
    expect(asked).toBe(2);
  });

  it('splits host:port and [v6]:port', () => {
    expect(splitHostPort('a.b:1')).toEqual({ host: 'a.b', port: '1' });
    expect(splitHostPort('[::1]:7300')).toEqual({ host: '::1', port: '7300' });
    expect(splitHostPort('nope')).toBeUndefined();
  });
});
