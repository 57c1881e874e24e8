/**
 * Redis killed mid-test: a proxy process keeps serving on local buckets while its own private
 * redis-server (a child on a free port, never the machine's shared Redis) is down, says so in
 * `adama_rate_limiter_degraded` and a `ratelimit.degraded` log line, and enforces the shared
 * bucket in Redis again once Redis is back on the same port.
 */
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { E } from '../../services/shared/errors';
import { RawSocket } from '../support/raw-socket';
import {
  eventually, redisServerAvailable, REDIS_SERVER, scrapeMetric, startEdgeProcesses, startRedisServer, type EdgeProcesses,
} from '../support/edge-processes';
import { freePort } from '../support/ports';
import { describeWhen } from '../support/prerequisite';

const describeIfRedis = describeWhen(redisServerAvailable(), `a ${REDIS_SERVER} binary on PATH (apt-get install redis-server)`);

describeIfRedis('a proxy whose Redis dies and comes back', () => {
  let ep: EdgeProcesses;
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let port: number;
  const prefix = `outage-${randomBytes(3).toString('hex')}:`;
  const bucketKey = `${prefix}message:p:anonymous:outage`;
  beforeAll(async () => {
    port = await freePort();
    redis = await startRedisServer(port);
    ep = await startEdgeProcesses({
      proxies: 1,
      proxyArgs: ['--redis-url', redis.url, '--redis-key-prefix', prefix, '--allow-anonymous', 'true'],
      // A slow refill, so that a bucket emptied in Redis stays empty for the next send.
      proxyEnv: { ADAMA_MESSAGES_PER_PRINCIPAL_PER_SEC: '1', ADAMA_MESSAGES_PER_PRINCIPAL_BURST: '20' },
    });
  }, 90_000);
  afterAll(async () => { await ep?.close(); await redis?.kill(); });

  it('keeps serving on local buckets, shows the degradation, and recovers shared limits', async () => {
    const proxy = ep.proxies[0]!;
    const metricsPort = Number(proxy.ready.metricsPort);
    const degraded = async () => (await scrapeMetric(metricsPort, 'adama_rate_limiter_degraded')) ?? 0;
    const s = await RawSocket.open(String(proxy.ready.ws));
    let id = 1;
    const call = async (frame: Record<string, unknown>) => { const n = id++; s.send({ id: n, ...frame }); return s.reply(n); };
    await call({ method: 'auth', identity: 'anonymous:outage' });
    await call({ method: 'document/create', space: 'counter', key: 'outage', arg: {} });
    s.send({ id: 1000, method: 'connection/create', space: 'counter', key: 'outage' });
    await s.next((f) => f.deliver === 1000);
    const send = () => call({ method: 'connection/send', connection: 1000, channel: 'add', message: { by: 1 } });

    expect(await send()).toMatchObject({ done: true });
    expect(await degraded()).toBe(0);
    const direct = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    expect(await direct.exists(bucketKey)).toBe(1);
    direct.disconnect();

    await redis.kill();
    for (let i = 0; i < 5; i++) expect(await send()).toMatchObject({ done: true });
    await eventually(async () => (await degraded()) === 1, 10_000, 'degraded metric = 1');
    expect(proxy.logs.some((l) => l.event === 'ratelimit.degraded')).toBe(true);
    const health = await (await fetch(`${String(proxy.ready.url)}healthz`)).json() as { rateLimiterDegraded: boolean };
    expect(health.rateLimiterDegraded).toBe(true);

    redis = await startRedisServer(port);
    await eventually(async () => (await degraded()) === 0, 15_000, 'degraded metric back to 0');
    expect(proxy.logs.some((l) => l.event === 'ratelimit.recovered')).toBe(true);
    // Shared limits again: empty the principal's bucket in Redis and the proxy must refuse.
    const back = new Redis(redis.url);
    const [sec, usec] = await back.time();
    await back.hset(bucketKey, 'tokens', '0', 'at', String(Number(sec) * 1000 + Math.floor(Number(usec) / 1000)));
    const refused = await send();
    back.disconnect();
    expect(refused).toMatchObject({ code: E.RATE_LIMITED.code, retry: true, retryAfterMs: expect.any(Number) });
    s.close();
  }, 90_000);
});
