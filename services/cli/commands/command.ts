/** @module command — the shape of one `adama` subcommand. */
import type { FlagSpec, ParsedFlags } from '../options';
import type { TelemetryOptions } from '../../shared/telemetry';

export interface Command {
  name: string;
  summary: string;
  flags: FlagSpec;
  /** Resolves with the process exit code. */
  run(args: string[]): Promise<number>;
}

export const DATABASE_URL_FLAG = { 'database-url': { help: 'PostgreSQL connection string shared by every tier', default: 'postgres://postgres@127.0.0.1:5432/postgres' } };

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
