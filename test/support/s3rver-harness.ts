/**
 * @module s3rver-harness
 * Test-only: a real S3 API server (s3rver, in-process) on a loopback port 0 with a temp directory
 * and one bucket, plus an S3ObjectStore pointed at it. s3rver ships no types; the little we use is
 * declared here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3ObjectStore } from '../../services/archiver/s3-object-store';

interface S3rverInstance { run(): Promise<{ address: string; port: number }>; close(): Promise<void> }
type S3rverCtor = new (o: { address: string; port: number; silent: boolean; directory: string; configureBuckets: { name: string; configs: string[] }[] }) => S3rverInstance;

export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface RunningS3 { endpoint: string; bucket: string; store(prefix?: string): S3ObjectStore; close(): Promise<void> }

export async function startS3rver(bucket = 'adama-test'): Promise<RunningS3> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3rver = require('s3rver') as S3rverCtor;
  const directory = mkdtempSync(join(tmpdir(), 'adama-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: process.env.S3RVER_LOUD !== "1", directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const stores: S3ObjectStore[] = [];
  return {
    endpoint,
    bucket,
    store(prefix = '') {
      const s = new S3ObjectStore({ bucket, prefix, endpoint, forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
      stores.push(s);
      return s;
    },
    async close() {
      for (const s of stores) s.close();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
