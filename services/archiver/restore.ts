/**
 * @module restore
 * Fetching and verifying an archived document for the host's restore path (DocumentHost.load) and
 * the archiver's RestoreNow. A missing object is ARCHIVE_MISSING and a bad one ARCHIVE_CORRUPT:
 * the caller never continues with an empty document.
 */
import { E } from '../shared/errors';
import type { DocRef } from '../shared/doc-ref';
import { decodeArchive, type ArchivedDocument } from './archive-format';
import { neutralError } from './failure-detail';
import type { ObjectStore } from './object-store';

export async function fetchArchive(store: ObjectStore | undefined, objectKey: string, ref: DocRef, headSeq: number): Promise<{ doc: ArchivedDocument; bytes: number }> {
  const doc = `${ref.space}/${ref.key}`;
  if (!store) throw neutralError(E.OBJECT_STORE_UNAVAILABLE, `${doc} is archived and this server cannot reach an object store`, `${doc} is archived at ${objectKey} but this process has no object store configured`);
  const body = await store.get(objectKey);
  if (body === null) throw neutralError(E.ARCHIVE_MISSING, `${doc}: its archived copy is missing`, `${doc}: archive ${objectKey} is missing from ${store.describe()}`);
  return { doc: decodeArchive(body, objectKey, ref, headSeq), bytes: body.length };
}
