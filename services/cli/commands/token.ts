/**
 * @module token
 * `adama token`: mint a signed token for local use, from a private key file or the dev key of an
 * `adama dev` data directory. `adama token keygen` writes a key pair: a JWKS for proxies
 * (`--jwks-file`; an existing file keeps its keys, which is how a rotation starts) and the
 * private key (mode 0600) for minting. Production tokens come from your identity provider.
 */
import { join } from 'node:path';
import { DEV_AUDIENCE, DEV_ISSUER, DEV_PRIVATE_KEY_FILE, generateKeyPair, isTokenAlgorithm, mintToken, readPrivateKey, writeKeyPair } from '../../web-proxy/edge/dev-keys';
import { parseFlags, type FlagSpec } from '../options';
import type { Command } from './command';

const flags: FlagSpec = {
  sub: { help: 'subject: becomes who.agent (mint)' },
  iss: { help: `issuer (default ${DEV_ISSUER} with the dev key)` },
  aud: { help: `audience (default ${DEV_AUDIENCE} with the dev key)` },
  ttl: { default: '3600', help: 'lifetime in seconds (mint)' },
  alg: { help: 'ES256 or RS256 (mint: default the key\'s alg; keygen: default ES256)' },
  key: { help: 'private JWK file to sign with (default: <data-dir>/dev-signing-key.json)' },
  'data-dir': { default: './.adama', help: 'data directory of adama dev, whose dev key signs by default' },
  kid: { help: '(keygen) key id (default <alg>-<random>)' },
  'jwks-out': { help: '(keygen) JWKS file to write or extend' },
  'key-out': { help: '(keygen) private key file to write' },
};

export const tokenCommand: Command = {
  name: 'token',
  summary: 'mint a signed token (`token --sub alice`), or write a key pair (`token keygen --jwks-out f --key-out k`)',
  flags,
  async run(args) {
    const f = parseFlags(args, flags);
    const [verb] = f.positionals;
    const alg = f.get('alg');
    if (alg !== undefined && !isTokenAlgorithm(alg)) throw new Error(`--alg must be ES256 or RS256, got ${alg}`);
    if (verb === 'keygen') {
      const jwksOut = f.get('jwks-out');
      const keyOut = f.get('key-out');
      if (!jwksOut || !keyOut) throw new Error('usage: adama token keygen --jwks-out <jwks.json> --key-out <private.json> [--alg ES256|RS256] [--kid id]');
      const pair = await generateKeyPair(alg ?? 'ES256', f.get('kid'));
      await writeKeyPair(pair, jwksOut, keyOut);
      process.stdout.write(`${JSON.stringify({ kid: pair.kid, alg: pair.alg, jwks: jwksOut, key: keyOut })}\n`);
      return 0;
    }
    if (verb !== undefined) throw new Error(`unknown token verb ${verb}`);
    const sub = f.get('sub');
    if (!sub) throw new Error('usage: adama token --sub <name> [--ttl s] [--iss i] [--aud a] [--key private.json | --data-dir dir]');
    const explicitKey = f.get('key');
    const keyPath = explicitKey ?? join(f.get('data-dir')!, DEV_PRIVATE_KEY_FILE);
    const privateJwk = await readPrivateKey(keyPath).catch((err: unknown) => {
      throw new Error(`cannot read signing key ${keyPath} (${(err as Error).message}); run adama dev once, or pass --key`);
    });
    const token = await mintToken(privateJwk, {
      sub, ttlSec: f.int('ttl', 1, 366 * 24 * 3600), ...(alg ? { alg } : {}),
      iss: f.get('iss') ?? (explicitKey ? undefined : DEV_ISSUER),
      aud: f.get('aud') ?? (explicitKey ? undefined : DEV_AUDIENCE),
    });
    process.stdout.write(`${token}\n`);
    return 0;
  },
};
