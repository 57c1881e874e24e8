/**
 * @module fs-object-store
 * `ObjectStore` on a directory: the single-process default and a PersistentVolume. A put writes a
 * temporary file, fsyncs it and renames it into place, so a reader (or a crash) never sees half an
 * object. Key segments map to subdirectories; a segment starting with '.' and every '%' are
 * percent-escaped so no key can name '..' or escape the root.
 */
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { AdamaError, E } from '../shared/errors';
import { neutralError } from './failure-detail';
import type { ObjectStore } from './object-store';

/** Marks a put's temp file: `<object path>.tmp-<random>`; list skips them, collectIncomplete removes old ones. */
const TMP_MARK = '.tmp-';

export class FsObjectStore implements ObjectStore {
  constructor(private readonly root: string) {}

  describe(): string { return `fs:${this.root}`; }

  async put(key: string, body: Buffer): Promise<void> {
    const path = this.pathOf(key);
    const tmp = `${path}${TMP_MARK}${randomBytes(4).toString('hex')}`;
    await guard('put', key, async () => {
      await mkdir(dirname(path), { recursive: true });
      const fh = await open(tmp, 'w');
      try { await fh.writeFile(body); await fh.sync(); } finally { await fh.close(); }
      await rename(tmp, path);
    }).catch(async (err: unknown) => { await rm(tmp, { force: true }).catch(() => undefined); throw err; });
  }

  async get(key: string): Promise<Buffer | null> {
    return guard('get', key, async () => {
      try { return await readFile(this.pathOf(key)); } catch (err) { if (isMissing(err)) return null; throw err; }
    });
  }

  async delete(key: string): Promise<void> {
    await guard('delete', key, () => rm(this.pathOf(key), { force: true }));
  }

  async list(prefix: string): Promise<string[]> {
    return guard('list', prefix, async () => {
      const out: string[] = [];
      await this.walk(this.root, '', out);
      return out.filter((k) => k.startsWith(prefix)).sort();
    });
  }

  /**
   * Deletes temp files of puts that never reached their rename (a SIGKILL between write and
   * rename) last modified before `beforeMs`. A put still writing keeps touching its file; one
   * older than the grace could not be committed anyway, and if its rename wins the race the rm
   * finds nothing.
   */
  async collectIncomplete(beforeMs: number): Promise<number> {
    return guard('collect incomplete', '', async () => {
      const tmps: string[] = [];
      await this.walk(this.root, '', [], tmps);
      let removed = 0;
      for (const path of tmps) {
        const st = await stat(path).catch((err: unknown) => { if (isMissing(err)) return null; throw err; });
        if (st === null || st.mtimeMs >= beforeMs) continue;
        await rm(path, { force: true });
        removed += 1;
      }
      return removed;
    });
  }

  private async walk(dir: string, keyPrefix: string, out: string[], tmps?: string[]): Promise<void> {
    let entries;
    try { entries = await readdir(dir, { withFileTypes: true }); } catch (err) { if (isMissing(err)) return; throw err; }
    for (const e of entries) {
      const key = keyPrefix + decodeURIComponent(e.name);
      if (e.isDirectory()) await this.walk(join(dir, e.name), `${key}/`, out, tmps);
      else if (!e.isFile()) continue;
      else if (!e.name.includes(TMP_MARK)) out.push(key);
      else tmps?.push(join(dir, e.name));
    }
  }

  private pathOf(key: string): string {
    const segments = key.split('/');
    if (key === '' || segments.some((s) => s === '')) throw new AdamaError(E.INTERNAL, `object key ${JSON.stringify(key)} has an empty segment`);
    return join(this.root, ...segments.map(escapeSegment));
  }
}

function escapeSegment(s: string): string {
  return s.replace(/%/g, '%25').replace(/^\./, '%2E');
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Filesystem failures are the store being unavailable (full disk, unmounted volume), retryable. */
async function guard<T>(op: string, key: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AdamaError) throw err;
    // The path goes to the cause (logs), never to the message (clients), issue 18.14.
    throw neutralError(E.OBJECT_STORE_UNAVAILABLE, `the object store failed to ${op} an object`, `fs object store ${op} ${key}: ${(err as Error).message}`, err);
  }
}
