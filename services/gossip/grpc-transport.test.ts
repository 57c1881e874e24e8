import { silentLogger } from '../shared/log';
import { createGrpcTransport } from './grpc-transport';

describe('gRPC gossip transport client cache', () => {
  it('closes clients of peers it no longer sends to, so churned addresses do not pile up', async () => {
    let now = 0;
    const t = createGrpcTransport({ address: () => '127.0.0.1:1', log: silentLogger, pushDeadlineMs: 50, clientIdleMs: 1_000, nowMs: () => now });
    const msg = { kind: 'open' as const, from: '127.0.0.1:1', fromId: 'me', setHash: 'h', deletions: [] };
    // 200 peers that come and go (a new address each, as pods get), nobody listening.
    for (let i = 0; i < 200; i++) t.send(`127.0.0.1:${20_000 + i}`, msg);
    expect(t.clientCount).toBe(200);
    now = 500;
    t.send('127.0.0.1:30001', msg);
    now = 1_200;
    t.send('127.0.0.1:30001', msg); // the sweep: everyone idle >= 1 s goes, the live peer stays
    expect(t.clientCount).toBe(1);
    await t.close();
    expect(t.clientCount).toBe(0);
  });
});
