/**
 * @module jwks-file
 * Trusted public keys from a JWKS file, for key rotation without a restart: the file is re-read
 * when it changes (checked every `checkIntervalMs`) and when a token names a kid we do not know,
 * at most once per `checkIntervalMs`, so a flood of tokens with made-up kids costs one stat() per
 * interval. A file that fails to parse is logged and the keys already loaded stay in force.
 */
import { readFile, stat } from 'node:fs/promises';
import type { Logger } from '../../shared/log';
import { jose, type JSONWebKeySet, type JWTVerifyGetKey } from './jose';

export interface JwksFileOptions {
  path: string;
  log: Logger;
  /** Smallest interval between two looks at the file (ms). */
  checkIntervalMs?: number;
  nowMs?: () => number;
}

export class JwksFile {
  private keys: JWTVerifyGetKey;
  private kids: string[];
  private version = '';
  private lastCheckMs: number;
  private readonly timer: NodeJS.Timeout;

  private constructor(private readonly o: JwksFileOptions, jwks: JSONWebKeySet, version: string) {
    this.keys = jose.createLocalJWKSet(jwks);
    this.kids = jwks.keys.map((k) => k.kid ?? '?');
    this.version = version;
    this.lastCheckMs = this.now();
    this.timer = setInterval(() => void this.reloadIfChanged(), this.interval).unref();
  }

  /** Reads the file once; throws (at startup) if it is missing or not a JWKS. */
  static async open(o: JwksFileOptions): Promise<JwksFile> {
    const { jwks, version } = await readJwks(o.path);
    o.log.info({ path: o.path, kids: jwks.keys.map((k) => k.kid ?? '?') }, 'jwks.loaded');
    return new JwksFile(o, jwks, version);
  }

  get keyIds(): readonly string[] { return this.kids; }

  /** A jose key resolver; on an unknown kid it looks at the file once more before giving up. */
  readonly resolve: JWTVerifyGetKey = async (header, token) => {
    try {
      return await this.keys(header, token);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw err;
      if (!(await this.reloadIfChanged())) throw err;
      return this.keys(header, token);
    }
  };

  close(): void { clearInterval(this.timer); }

  /** Re-reads the file if it changed and the interval has passed; true when new keys were loaded. */
  async reloadIfChanged(): Promise<boolean> {
    const nowMs = this.now();
    if (nowMs - this.lastCheckMs < this.interval) return false;
    this.lastCheckMs = nowMs;
    try {
      const s = await stat(this.o.path);
      if (`${s.mtimeMs}:${s.size}` === this.version) return false;
      const { jwks, version } = await readJwks(this.o.path);
      this.keys = jose.createLocalJWKSet(jwks);
      this.kids = jwks.keys.map((k) => k.kid ?? '?');
      this.version = version;
      this.o.log.info({ path: this.o.path, kids: this.kids }, 'jwks.reloaded');
      return true;
    } catch (err) {
      this.o.log.warn({ path: this.o.path, err: (err as Error).message }, 'jwks.reload_failed');
      return false;
    }
  }

  private get interval(): number { return this.o.checkIntervalMs ?? 2_000; }
  private now(): number { return this.o.nowMs?.() ?? Date.now(); }
}

async function readJwks(path: string): Promise<{ jwks: JSONWebKeySet; version: string }> {
  const s = await stat(path);
  const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<JSONWebKeySet>;
  if (!parsed || !Array.isArray(parsed.keys)) throw new Error(`${path} is not a JWKS (no "keys" array)`);
  // Private members must never be trusted from a public key file: fail loudly rather than use them.
  if (parsed.keys.some((k) => 'd' in k)) throw new Error(`${path} holds a private key; a JWKS for verification must hold public keys only`);
  return { jwks: { keys: parsed.keys }, version: `${s.mtimeMs}:${s.size}` };
}
