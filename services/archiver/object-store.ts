/**
 * @module object-store
 * The object store boundary used by the archiver and by hosts restoring archived documents.
 * Implementations: filesystem (fs-object-store.ts; single process, PersistentVolume) and
 * S3-compatible (s3-object-store.ts). Every failure surfaces as OBJECT_STORE_UNAVAILABLE; a
 * missing object is `get → null`, not an error, so callers can say ARCHIVE_MISSING.
 */
export interface ObjectStore {
  /** Writes the whole object durably; keys are never reused by the archiver. */
  put(key: string, body: Buffer): Promise<void>;
  /** The object's bytes, or null when it does not exist. */
  get(key: string): Promise<Buffer | null>;
  /** Idempotent: deleting a missing object succeeds. */
  delete(key: string): Promise<void>;
  /** Every key starting with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
  /** For logs; never contains credentials. */
  describe(): string;
  /**
   * Removes leftovers of uploads that never finished and were last touched before `beforeMs`
   * (epoch ms), e.g. a filesystem store's temp file after a SIGKILL between write and rename.
   * Returns how many were removed. Absent where an upload is atomic (S3 PutObject).
   */
  collectIncomplete?(beforeMs: number): Promise<number>;
}
