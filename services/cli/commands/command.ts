/** @module command — the shape of one `adama` subcommand. */
import type { FlagSpec, ParsedFlags } from '../options';
import { existsSync } from 'node:fs';
import type { TelemetryOptions } from '../../shared/telemetry';
import type { Logger } from '../../shared/log';
import { DEFAULT_TLS_REFRESH_MS, INSECURE_INTERNAL, type InternalTls } from '../../grpc/internal-tls';

export interface Command {
  name: string;
  summary: string;
  flags: FlagSpec;
  /** Resolves with the process exit code. */
  run(args: string[]): Promise<number>;
}

export const DATABASE_URL_FLAG = { 'database-url': { help: 'PostgreSQL connection string shared by every tier', default: 'postgres://postgres@127.0.0.1:5432/postgres' } };

/** Whether a role applies pending migrations at start, or (a rollout that ran `adama migrate` first) only checks. */
export const MIGRATE_FLAG = { migrate: { default: 'true', help: 'true: apply pending database migrations at start; false: only check, and refuse a database that lacks one (SCHEMA_NOT_CURRENT) after `adama migrate` ran once' } };

export function schemaFlag(f: ParsedFlags): 'migrate' | 'check' {
  const v = f.get('migrate');
  if (v !== 'true' && v !== 'false') throw new Error(`--migrate must be true or false, got ${v}`);
  return v === 'true' ? 'migrate' : 'check';
}

export const METRICS_FLAGS = {
  'metrics-port': { help: 'Prometheus /metrics port (0 picks a free one; unset: no endpoint)' },
  'metrics-host': { default: '127.0.0.1', help: 'interface of the /metrics endpoint' },
  'otlp-traces-url': { help: 'OTLP/HTTP traces endpoint, e.g. http://collector:4318/v1/traces (unset: tracing off)' },
};

export function telemetryFlags(f: ParsedFlags): Pick<TelemetryOptions, 'metricsPort' | 'metricsHost' | 'otlpTracesUrl'> {
  const out: Pick<TelemetryOptions, 'metricsPort' | 'metricsHost' | 'otlpTracesUrl'> = { metricsHost: f.get('metrics-host') };
  if (f.get('metrics-port') !== undefined) out.metricsPort = f.int('metrics-port', 0, 65535);
  const traces = f.get('otlp-traces-url');
  if (traces !== undefined) {
    if (!URL.canParse(traces)) throw new Error(`--otlp-traces-url is not a URL: ${traces}`);
    out.otlpTracesUrl = traces;
  }
  return out;
}

/** A plaintext gRPC port serving grpc.health.v1 alone, for probes that speak no TLS (services/grpc/server.ts). */
export const HEALTH_PORT_FLAG = {
  'health-port': { help: 'also serve the gRPC health service alone, plaintext, on this port (for kubelet gRPC probes, which cannot present a client certificate); off when absent' },
};

/** The --health-port flag's port, if given. */
export function healthPortFlag(f: ParsedFlags): number | undefined {
  return f.get('health-port') === undefined ? undefined : f.int('health-port', 0, 65535);
}

/** mTLS between the tiers (services/grpc/internal-tls.ts): this process's certificate and the cluster's CA. */
export const INTERNAL_TLS_FLAGS = {
  'internal-tls-ca': { help: 'CA bundle (PEM) of internal certificates; with --internal-tls-cert and --internal-tls-key turns on mTLS between tiers' },
  'internal-tls-cert': { help: "this process's certificate (PEM) naming its role (urn:adama:role:<role>)" },
  'internal-tls-key': { help: 'private key (PEM) of --internal-tls-cert' },
  'internal-tls-refresh-ms': { default: String(DEFAULT_TLS_REFRESH_MS), help: 'how often the certificate files are read again, so a rotation needs no restart' },
  'insecure-internal': { default: 'false', help: 'true: plaintext internal gRPC with no caller authorization (logged as a warning at start); a serving tier refuses to start without certificates unless this is true' },
};

/**
 * Whether a command may run plaintext without being told: `serve` (a tier that serves internal
 * gRPC: host, proxy, locator, archiver, gossip) refuses to start without certificates unless
 * --insecure-internal true says plaintext is intended; `client` (admin verbs, the operator) only
 * connects, and without a certificate of its own it can reach plaintext tiers alone anyway.
 */
export type TlsPolicy = 'serve' | 'client';

/**
 * The InternalTls the flags ask for. Certificates need all three files. Plaintext must be asked
 * for with --insecure-internal true by a serving tier (`policy` 'serve'), and is logged as a
 * warning (event `internal.insecure`) at every start so that nobody runs it without knowing.
 */
export function internalTlsFlags(f: ParsedFlags, log: Logger, policy: TlsPolicy): InternalTls {
  const files = { caFile: f.get('internal-tls-ca'), certFile: f.get('internal-tls-cert'), keyFile: f.get('internal-tls-key') };
  const given = Object.values(files).filter((v) => v !== undefined && v !== '').length;
  const insecure = f.get('insecure-internal');
  if (insecure !== 'true' && insecure !== 'false') throw new Error(`--insecure-internal must be true or false, got ${insecure}`);
  if (given > 0) {
    if (given < 3) throw new Error('--internal-tls-ca, --internal-tls-cert and --internal-tls-key go together: give all three (or none, with --insecure-internal true)');
    if (insecure === 'true') throw new Error('--insecure-internal true contradicts --internal-tls-ca/--internal-tls-cert/--internal-tls-key: choose one');
    for (const [flag, path] of [['internal-tls-ca', files.caFile], ['internal-tls-cert', files.certFile], ['internal-tls-key', files.keyFile]] as const) {
      if (!existsSync(path!)) throw new Error(`--${flag}: no file at ${path}`);
    }
    return { mode: 'mtls', caFile: files.caFile!, certFile: files.certFile!, keyFile: files.keyFile!, refreshMs: f.int('internal-tls-refresh-ms', 100) };
  }
  if (policy === 'serve' && insecure !== 'true') {
    throw new Error('internal gRPC needs certificates: give --internal-tls-ca, --internal-tls-cert and --internal-tls-key (adama cert makes them), or --insecure-internal true to run it plaintext and unauthorized');
  }
  log.warn({
    explicit: insecure === 'true',
    hint: insecure === 'true' ? 'internal gRPC is plaintext and unauthorized, as --insecure-internal true asks'
      : 'internal gRPC is plaintext and unauthorized: give --internal-tls-ca, --internal-tls-cert and --internal-tls-key (adama cert makes them), or --insecure-internal true to say this is intended',
  }, 'internal.insecure');
  return INSECURE_INTERNAL;
}
