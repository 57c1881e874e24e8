/** The archive scenarios against a real S3 API (s3rver on loopback), plus the S3 store's own edges. */
import { AdamaError, E } from '../shared/errors';
import { runArchiveScenarios } from '../../test/support/archive-scenarios';
import { errorDetail } from './failure-detail';
import { parseS3Spec } from './open-object-store';
import { S3ObjectStore } from './s3-object-store';
import { startS3rver, type RunningS3 } from '../../test/support/s3rver-harness';

let s3: RunningS3 | undefined;
beforeAll(async () => { s3 = await startS3rver(); });
afterAll(async () => { await s3?.close(); });

runArchiveScenarios('an S3 API (s3rver)', async () => s3!.store('cluster-a/'));

describe('S3ObjectStore', () => {
  it('lists across pages and strips its prefix; a missing key is null', async () => {
    const store = s3!.store('paging/');
    const keys = Array.from({ length: 1005 }, (_, i) => `archive/s/k/${String(i).padStart(4, '0')}.json`);
    for (let i = 0; i < keys.length; i += 100) await Promise.all(keys.slice(i, i + 100).map((k) => store.put(k, Buffer.from(k))));
    expect(await store.list('archive/')).toEqual(keys);
    expect(await store.get('archive/s/k/nope.json')).toBeNull();
    expect((await store.get(keys[7]!))!.toString()).toBe(keys[7]);
    await store.delete(keys[7]!);
    await store.delete(keys[7]!);
    expect(await store.get(keys[7]!)).toBeNull();
  });

  it('reports an unreachable endpoint as OBJECT_STORE_UNAVAILABLE, naming bucket, key and endpoint only in the cause (issue 18.14)', async () => {
    const dead = new S3ObjectStore({ bucket: 'secret-bucket', endpoint: 'http://127.0.0.1:1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, requestTimeoutMs: 2_000 });
    const err = await dead.get('archive/s/k/1-2-abc.json').then(() => undefined, (e: unknown) => e as AdamaError);
    expect(err).toMatchObject({ entry: E.OBJECT_STORE_UNAVAILABLE });
    for (const secret of ['secret-bucket', 'archive/s/k', '127.0.0.1', 'ECONNREFUSED']) expect(err!.message).not.toContain(secret);
    expect(errorDetail(err)).toMatch(/secret-bucket\/archive\/s\/k\/1-2-abc\.json/);
    await expect(dead.put('k', Buffer.from('x'))).rejects.toBeInstanceOf(AdamaError);
    dead.close();
  });

  it('parses s3:// specs, taking credentials only from the environment', () => {
    expect(parseS3Spec('s3://bucket/some/prefix?endpoint=http://minio:9000&region=eu-west-1&path-style=false', { AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' }))
      .toEqual({ bucket: 'bucket', prefix: 'some/prefix/', endpoint: 'http://minio:9000', region: 'eu-west-1', forcePathStyle: false, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    expect(parseS3Spec('s3://bucket', {})).toEqual({ bucket: 'bucket', prefix: '' });
    expect(() => parseS3Spec('s3://u:p@bucket/x', {})).toThrow(/credentials/);
  });
});
