/**
 * @module archive-format
 * The archived object: its key, its bytes and their verification. Pure; no I/O.
 *
 * Key: `archive/<space>/<key>/<headSeq>-<createdMs>-<claimToken>.json`. The head seq says which
 * state it holds; the creation time lets the garbage collector leave young objects alone (one may
 * be between its upload and its directory update); the claim token (random, one per claim, one
 * upload per claim) makes every upload a new, immutable object, so a retried or concurrent archive
 * never overwrites anything and no conditional put is needed, and tells the collector which claim
 * to revoke before deleting it. The directory row's `archive_ref` is what makes one of them real.
 *
 * Body: `{"format":"adama-archive/1","sha256":"<hex>","doc":{…}}` where sha256 is over
 * `JSON.stringify(doc)`. Readable with any JSON tool; verified on every restore.
 */
import { createHash } from 'node:crypto';
import { AdamaError, E } from '../shared/errors';
import { isJsonObject, type Json } from '../shared/json';
import type { DocRef } from '../shared/doc-ref';

export const ARCHIVE_FORMAT = 'adama-archive/1';
export const ARCHIVE_PREFIX = 'archive/';

/** What an archive holds: the encoded state at `headSeq` and the dedupe meta a snapshot would carry. */
export interface ArchivedDocument extends DocRef {
  headSeq: number;
  /** The epoch the document was unbound at when it was cut, for forensics. */
  epoch: number;
  archivedAtMs: number;
  /** Encoded state (protocol/delta.ts), exactly what a snapshot stores. */
  state: Json;
  meta: Json;
}

/** `claimToken`: the token of the claim that uploaded it (for keys written before tokens: a random part no claim holds). */
export interface ParsedArchiveKey extends DocRef { headSeq: number; createdMs: number; claimToken: string }

export function archiveKey(ref: DocRef, headSeq: number, createdMs: number, claimToken: string): string {
  return `${ARCHIVE_PREFIX}${ref.space}/${ref.key}/${headSeq}-${createdMs}-${claimToken}.json`;
}

const KEY = /^archive\/([^/]+)\/([^/]+)\/(\d+)-(\d+)-([0-9a-z]+)\.json$/;

/** Null for anything that is not one of our archive keys (the collector leaves those alone). */
export function parseArchiveKey(key: string): ParsedArchiveKey | null {
  const m = KEY.exec(key);
  if (!m) return null;
  return { space: m[1]!, key: m[2]!, headSeq: Number(m[3]), createdMs: Number(m[4]), claimToken: m[5]! };
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function encodeArchive(doc: ArchivedDocument): Buffer {
  const text = JSON.stringify(doc);
  return Buffer.from(`{"format":${JSON.stringify(ARCHIVE_FORMAT)},"sha256":"${sha256Hex(text)}","doc":${text}}`);
}

/**
 * Parses and verifies an archived object against what the directory says it must be: the right
 * document at exactly `headSeq`, with a matching checksum. Anything else is ARCHIVE_CORRUPT; a
 * restore never continues from an object it cannot vouch for.
 */
export function decodeArchive(body: Buffer, objectKey: string, ref: DocRef, headSeq: number): ArchivedDocument {
  // The object key goes to the cause (logs), never to the message (clients), issue 18.14.
  const corrupt = (why: string): AdamaError => new AdamaError(E.ARCHIVE_CORRUPT, `${ref.space}/${ref.key}: its archived copy ${why}`, { cause: new Error(`archive ${objectKey} ${why}`) });
  let parsed: unknown;
  try { parsed = JSON.parse(body.toString('utf8')); } catch { throw corrupt('is not JSON'); }
  if (!isJsonObject(parsed) || parsed.format !== ARCHIVE_FORMAT) throw corrupt('has an unknown format');
  const doc = parsed.doc;
  if (!isJsonObject(doc) || typeof parsed.sha256 !== 'string') throw corrupt('lacks its document or checksum');
  if (sha256Hex(JSON.stringify(doc)) !== parsed.sha256) throw corrupt('fails its sha256 checksum');
  if (doc.space !== ref.space || doc.key !== ref.key) throw corrupt(`holds ${String(doc.space)}/${String(doc.key)}`);
  if (doc.headSeq !== headSeq) throw corrupt(`is at seq ${String(doc.headSeq)} but the directory head is ${headSeq}`);
  if (typeof doc.epoch !== 'number' || typeof doc.archivedAtMs !== 'number' || !('state' in doc) || !('meta' in doc)) throw corrupt('is incomplete');
  return { space: ref.space, key: ref.key, headSeq, epoch: doc.epoch, archivedAtMs: doc.archivedAtMs, state: doc.state ?? null, meta: doc.meta ?? null };
}
