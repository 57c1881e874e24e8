/**
 * @module s3-object-store
 * `ObjectStore` on an S3-compatible API (AWS S3, MinIO, Ceph RGW, s3rver in tests) via
 * @aws-sdk/client-s3. Plain PUT/GET/DELETE/LIST only: the archive never needs conditional puts,
 * because every object key is new (archive-format.ts) and the database row is the commit point.
 *
 * Credentials come from the SDK's default chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY from
 * the environment or a mounted Secret, web identity, instance profile) unless passed in.
 */
import {
  DeleteObjectCommand, GetObjectCommand, ListObjectsCommand, NoSuchKey, PutObjectCommand, S3Client, S3ServiceException,
} from '@aws-sdk/client-s3';
import { E } from '../shared/errors';
import { neutralError } from './failure-detail';
import type { ObjectStore } from './object-store';

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix inside the bucket ('' or ending in '/'). */
  prefix?: string;
  /** e.g. http://minio:9000; absent means AWS. */
  endpoint?: string;
  region?: string;
  /** Path-style URLs (http://host/bucket/key); most self-hosted servers need it. */
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Per-request timeout; a hung store fails as OBJECT_STORE_UNAVAILABLE instead of stalling a connect. */
  requestTimeoutMs?: number;
}

export const S3_STORE_DEFAULTS = { region: 'us-east-1', forcePathStyle: true, requestTimeoutMs: 10_000 } as const;

export class S3ObjectStore implements ObjectStore {
  private readonly client: S3Client;
  private readonly prefix: string;

  constructor(private readonly o: S3StoreOptions) {
    this.prefix = o.prefix ?? '';
    this.client = new S3Client({
      region: o.region ?? S3_STORE_DEFAULTS.region,
      endpoint: o.endpoint,
      forcePathStyle: o.forcePathStyle ?? S3_STORE_DEFAULTS.forcePathStyle,
      credentials: o.credentials,
      // Newer SDKs add CRC checksums by default, which several S3-compatible servers reject.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { requestTimeout: o.requestTimeoutMs ?? S3_STORE_DEFAULTS.requestTimeoutMs },
    });
  }

  describe(): string { return `s3://${this.o.bucket}/${this.prefix}${this.o.endpoint ? ` at ${this.o.endpoint}` : ''}`; }

  async put(key: string, body: Buffer): Promise<void> {
    await this.call('put', key, () => this.client.send(new PutObjectCommand({ Bucket: this.o.bucket, Key: this.prefix + key, Body: body, ContentType: 'application/json' })));
  }

  async get(key: string): Promise<Buffer | null> {
    return this.call('get', key, async () => {
      try {
        const r = await this.client.send(new GetObjectCommand({ Bucket: this.o.bucket, Key: this.prefix + key }));
        return r.Body ? Buffer.from(await r.Body.transformToByteArray()) : Buffer.alloc(0);
      } catch (err) {
        if (err instanceof NoSuchKey || (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404)) return null;
        throw err;
      }
    });
  }

  async delete(key: string): Promise<void> {
    await this.call('delete', key, () => this.client.send(new DeleteObjectCommand({ Bucket: this.o.bucket, Key: this.prefix + key })));
  }

  async list(prefix: string): Promise<string[]> {
    return this.call('list', prefix, async () => {
      const out: string[] = [];
      // ListObjects (v1) paged by Marker = last key seen: every S3-compatible server implements it,
      // while V2 continuation tokens break on some (s3rver on OpenSSL 3 fails to mint them).
      let after: string | undefined;
      for (;;) {
        const r = await this.client.send(new ListObjectsCommand({ Bucket: this.o.bucket, Prefix: this.prefix + prefix, Marker: after }));
        const keys = (r.Contents ?? []).flatMap((c) => (c.Key === undefined ? [] : [c.Key]));
        for (const k of keys) out.push(k.slice(this.prefix.length));
        if (!r.IsTruncated || keys.length === 0) break;
        after = keys[keys.length - 1];
      }
      return out.sort();
    });
  }

  close(): void { this.client.destroy(); }

  private async call<T>(op: string, key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      // Bucket, key and endpoint go to the cause (logs), never to the message (clients), issue 18.14.
      throw neutralError(E.OBJECT_STORE_UNAVAILABLE, `the object store failed to ${op} an object`, `s3 ${op} ${this.o.bucket}/${this.prefix}${key}: ${(err as Error).name}: ${(err as Error).message}`, err);
    }
  }
}
