/**
 * One development PKI per test process (services/grpc/dev-certs.ts), so every `adama` role a test
 * spawns talks mTLS to the others, as production should: `spawnAdama`/`runAdama` give each role
 * its own certificate through ADAMA_INTERNAL_TLS_* (unless a test chose otherwise), and in-process
 * test clients take `testTls(role)`. Processes a test kubelet starts from the operator's pod specs
 * get none: the operator does not mount certificates yet.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devTlsFor, ensureDevPki, tlsEnvOf } from '../../services/grpc/dev-certs';
import { INTERNAL_ROLES, type InternalRole, type InternalTls } from '../../services/grpc/internal-tls';

/** Short, so a test that rotates files sees the change quickly. */
const TEST_REFRESH_MS = 500;
let dir: string | undefined;

export function testPkiDir(): string {
  if (dir === undefined) {
    const made = mkdtempSync(join(tmpdir(), 'adama-test-pki-'));
    ensureDevPki(made, INTERNAL_ROLES);
    process.once('exit', () => rmSync(made, { recursive: true, force: true }));
    dir = made;
  }
  return dir;
}

export function testTls(role: InternalRole): InternalTls {
  return devTlsFor(testPkiDir(), role, TEST_REFRESH_MS);
}

/** The role whose certificate `adama <args>` presents, or undefined for commands that make no internal calls. */
export function roleOfCommand(args: readonly string[]): InternalRole | undefined {
  const [command, verb] = args;
  switch (command) {
    case 'host': return verb === undefined || verb.startsWith('-') || verb === 'drain-self' ? 'host' : 'admin';
    case 'proxy': return 'proxy';
    case 'gossip': return verb === 'simulate' ? undefined : 'gossip';
    case 'locator': return 'locator';
    case 'archiver': return 'archiver';
    case 'doc': return 'admin';
    default: return undefined;
  }
}

/** ADAMA_INTERNAL_TLS_* for `adama <args>`, unless the test already chose (flags or env). */
export function internalTlsEnv(args: readonly string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const role = roleOfCommand(args);
  const chosen = args.some((a) => a.startsWith('--internal-tls-') || a === '--insecure-internal')
    || Object.keys(env).some((k) => k.startsWith('ADAMA_INTERNAL_TLS_') || k === 'ADAMA_INSECURE_INTERNAL');
  if (role === undefined || chosen) return {};
  return tlsEnvOf(devTlsFor(testPkiDir(), role, TEST_REFRESH_MS));
}
