/**
 * @module open-object-store
 * Opens an `ObjectStore` (object-store.ts) from a spec string; kept apart from the interface so
 * the implementations can import the interface without a cycle.
 */
import { FsObjectStore } from './fs-object-store';
import type { ObjectStore } from './object-store';
import type { S3StoreOptions } from './s3-object-store';

/**
 * Opens a store from a spec:
 * - `fs:/var/lib/adama/objects` (or a bare absolute path) — a directory, created on first put;
 * - `s3://bucket/prefix?endpoint=http://minio:9000&region=us-east-1&path-style=true` — S3 or a
 *   compatible server; endpoint and region may also come from ADAMA_S3_ENDPOINT / AWS_REGION,
 *   credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (the SDK's default chain).
 */
export async function openObjectStore(spec: string, env: NodeJS.ProcessEnv = process.env): Promise<ObjectStore> {
  if (spec.startsWith('fs:')) return new FsObjectStore(spec.slice(3));
  if (spec.startsWith('/')) return new FsObjectStore(spec);
  if (spec.startsWith('s3://')) {
    // Loaded only here: the AWS SDK is large, and most processes never use S3.
    const { S3ObjectStore } = await import('./s3-object-store');
    return new S3ObjectStore(parseS3Spec(spec, env));
  }
  throw new Error(`object store spec must be fs:<dir> or s3://bucket/prefix, got ${spec}`);
}

export function parseS3Spec(spec: string, env: NodeJS.ProcessEnv = process.env): S3StoreOptions {
  const u = new URL(spec);
  if (u.username !== '' || u.password !== '') throw new Error('put S3 credentials in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, not in the spec');
  const path = decodeURIComponent(u.pathname.replace(/^\//, ''));
  const prefix = path === '' || path.endsWith('/') ? path : `${path}/`;
  const endpoint = u.searchParams.get('endpoint') ?? env.ADAMA_S3_ENDPOINT;
  const region = u.searchParams.get('region') ?? env.AWS_REGION;
  const pathStyle = u.searchParams.get('path-style');
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  return {
    bucket: u.hostname,
    prefix,
    ...(endpoint ? { endpoint } : {}),
    ...(region ? { region } : {}),
    ...(pathStyle !== null ? { forcePathStyle: pathStyle !== 'false' } : {}),
    ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {}),
  };
}
