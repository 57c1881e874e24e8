/**
 * @module restore
 * Fetching and verifying an archived document for the host's restore path (DocumentHost.load) and
 * the archiver's RestoreNow. A missing object is ARCHIVE_MISSING and a bad one ARCHIVE_CORRUPT:
 * the caller never continues with an empty document.
 */
import { AdamaError, E } from '../shared/errors';
import type { DocRef } from '../shared/doc-ref';
import { decodeArchive, type ArchivedDocument } from './archive-format';
import type { ObjectStore } from './object-store';

export async function fetchArchive(store: ObjectStore | undefined, objectKey: string, ref: DocRef, headSeq: number): Promise<{ doc: ArchivedDocument; bytes: number }> {
  if (!store) throw new AdamaError(E.OBJECT_STORE_UNAVAILABLE, `${ref.space}/${ref.key} is archived at ${objectKey} but this process has no object store configured`);
  const body = await store.get(objectKey);
  if (body === null) throw new AdamaError(E.ARCHIVE_MISSING, `${ref.space}/${ref.key}: archive ${objectKey} is missing from ${store.describe()}`);
  return { doc: decodeArchive(body, objectKey, ref, headSeq), bytes: body.length };
}
