/**
 * @module cert
 * `adama cert`: a development CA and one certificate per role for internal mTLS, in a directory
 * (`ca.pem`, `ca-key.pem`, `<role>.pem`, `<role>-key.pem`; keys mode 0600). An existing CA is kept
 * and roles that have a certificate are skipped, unless `--reissue true` (a rotation: same CA, new
 * certificates). Each process then takes `--internal-tls-ca <dir>/ca.pem --internal-tls-cert <dir>/<role>.pem
 * --internal-tls-key <dir>/<role>-key.pem`. Production certificates come from cert-manager or your CA.
 */
import { join } from 'node:path';
import { CA_FILE, certFile, ensureDevPki, keyFile } from '../../grpc/dev-certs';
import { INTERNAL_ROLES, type InternalRole } from '../../grpc/internal-tls';
import { parseFlags, type FlagSpec } from '../options';
import type { Command } from './command';

const flags: FlagSpec = {
  dir: { default: './.adama/certs', help: 'directory for the CA and the certificates' },
  roles: { default: INTERNAL_ROLES.join(','), help: 'comma list of roles to issue certificates for' },
  names: { help: 'comma list of extra DNS names or IPs in every certificate (for tools that check host names)' },
  reissue: { default: 'false', help: 'true: issue every listed role again from the same CA (rotation)' },
};

export const certCommand: Command = {
  name: 'cert',
  summary: 'write a development CA and per-role certificates for internal mTLS (`cert --dir d`)',
  flags,
  async run(args) {
    const f = parseFlags(args, flags);
    const dir = f.get('dir')!;
    const roles = f.get('roles')!.split(',').map((r) => r.trim()).filter((r) => r.length > 0);
    const unknown = roles.filter((r) => !(INTERNAL_ROLES as readonly string[]).includes(r));
    if (unknown.length > 0) throw new Error(`--roles: unknown role ${unknown.join(', ')} (roles: ${INTERNAL_ROLES.join(', ')})`);
    const reissue = f.get('reissue');
    if (reissue !== 'true' && reissue !== 'false') throw new Error(`--reissue must be true or false, got ${reissue}`);
    const names = (f.get('names') ?? '').split(',').map((n) => n.trim()).filter((n) => n.length > 0);
    ensureDevPki(dir, roles as InternalRole[], { names, reissue: reissue === 'true' });
    const out = Object.fromEntries(roles.map((r) => [r, { cert: join(dir, certFile(r as InternalRole)), key: join(dir, keyFile(r as InternalRole)) }]));
    process.stdout.write(`${JSON.stringify({ ca: join(dir, CA_FILE), certificates: out })}\n`);
    return 0;
  },
};
