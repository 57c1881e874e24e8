/** Pure benchmark code: argument parsing (--only, --out, BENCH_ONLY) and the ratio rows of the peer tables. */
import { ALL_WORKLOADS, parseBenchArgs } from '../../bench/args';
import { attachRatios, type Row } from '../../bench/peer/peer-report';

describe('parseBenchArgs', () => {
  it('runs every workload by default, peer workloads in run order', () => {
    const a = parseBenchArgs([], {});
    expect([...a.only]).toEqual([...ALL_WORKLOADS]);
    expect(a.peer).toEqual(['chat', 'pair', 'viewers', 'cards']);
    expect(a.out).toBeUndefined();
  });

  it('selects workloads with --only (separate or inline value) and BENCH_ONLY', () => {
    expect([...parseBenchArgs(['--only', 'viewers,chat'], {}).only]).toEqual(['viewers', 'chat']);
    expect(parseBenchArgs(['--only=viewers,chat'], {}).peer).toEqual(['chat', 'viewers']);
    expect([...parseBenchArgs([], { BENCH_ONLY: 'split' }).only]).toEqual(['split']);
    expect(parseBenchArgs([], { BENCH_ONLY: 'split' }).peer).toEqual([]);
    expect(parseBenchArgs(['--only', 'chat'], { BENCH_ONLY: 'split' }).peer).toEqual(['chat']);
    expect(parseBenchArgs(['--out', '/tmp/x.json'], {}).out).toBe('/tmp/x.json');
  });

  it('refuses unknown workloads, unknown flags and a missing value', () => {
    expect(() => parseBenchArgs(['--only', 'chat,nope'], {})).toThrow(/unknown workload nope/);
    expect(() => parseBenchArgs(['--fast'], {})).toThrow(/unknown argument --fast/);
    expect(() => parseBenchArgs(['--only'], {})).toThrow(/--only needs a value/);
  });
});

describe('attachRatios', () => {
  const figures = [{ key: 'p50' }, { key: 'rate' }].map((f) => ({ ...f, label: f.key }));
  it('divides each of our figures by the peer and the baseline row with the same match key', () => {
    const rows: Row[] = [
      { name: 'relay, N=0', role: 'baseline', values: { p50: 1, rate: 100 }, notes: '' },
      { name: 'relay, N=9', role: 'baseline', values: { p50: 2, rate: 50 }, notes: '' },
      { name: 'peer, N=0', role: 'peer', values: { p50: 4, rate: 80 }, notes: '' },
      { name: 'peer, N=9', role: 'peer', values: { p50: 5, rate: 40 }, notes: '' },
      { name: 'ours, N=9', role: 'ours', values: { p50: 10, rate: 20 }, notes: '' },
    ];
    attachRatios(rows, figures, { matchPeerBy: (n) => n.replace(/^.*, /, '') });
    expect(rows[4]!.ratios).toEqual({ p50: { vsPeer: 2, vsBaseline: 5 }, rate: { vsPeer: 0.5, vsBaseline: 0.4 } });
    expect(rows[2]!.ratios).toEqual({ p50: { vsPeer: 1, vsBaseline: 4 }, rate: { vsPeer: 1, vsBaseline: 0.8 } });
    expect(rows[0]!.ratios).toBeUndefined();
  });

  it('gives NaN where there is no peer or baseline, and skips figures a row lacks', () => {
    const rows: Row[] = [{ name: 'ours', role: 'ours', values: { p50: 3 }, notes: '' }];
    attachRatios(rows, figures);
    expect(rows[0]!.ratios).toEqual({ p50: { vsPeer: Number.NaN, vsBaseline: Number.NaN } });
  });
});
