/**
 * @module object-store
 * The object store boundary used by the archiver and by hosts restoring archived documents.
 * Implementations: filesystem (single process, PersistentVolume) and S3-compatible.
 * Placeholder until the archiver work lands.
 */
export interface ObjectStore {
  put(key: string, body: Buffer): Promise<void>;
  /** The object's bytes, or null when it does not exist. */
  get(key: string): Promise<Buffer | null>;
  delete(key: string): Promise<void>;
  list(prefix: string): Promise<string[]>;
  describe(): string;
}

/** Opens a store from a spec such as `fs:/var/lib/adama/objects` or `s3://bucket/prefix`. */
export async function openObjectStore(spec: string): Promise<ObjectStore> {
  throw new Error(`object store ${spec}: not implemented yet`);
}
