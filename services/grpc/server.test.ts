import * as grpc from '@grpc/grpc-js';
import { serviceClient } from './load-proto';
import { LIVENESS_SERVICE, startGrpcServer } from './server';

type Health = grpc.Client & { Check(req: { service: string }, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void): void };

describe('the standard health service', () => {
  it('answers the serving status for "" and SERVING for "liveness" while the process answers at all', async () => {
    const server = await startGrpcServer('127.0.0.1', 0, []);
    const Client = serviceClient('health.proto', 'grpc.health.v1.Health');
    const client = new Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure()) as unknown as Health;
    const check = (service: string) => new Promise<string | undefined>((resolve, reject) => client.Check({ service }, (err, res) => (err ? reject(err) : resolve(res?.status))));
    try {
      expect([await check(''), await check(LIVENESS_SERVICE)]).toEqual(['SERVING', 'SERVING']);
      // A draining host: out of routing and not ready, but not to be restarted.
      server.setHealth('NOT_SERVING');
      expect([await check(''), await check(LIVENESS_SERVICE)]).toEqual(['NOT_SERVING', 'SERVING']);
    } finally {
      client.close();
      await server.close();
    }
  });
});
