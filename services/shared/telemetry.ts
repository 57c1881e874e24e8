/**
 * @module telemetry
 * Metrics and traces for every service. `METRICS` is the one table of instruments: it types
 * `AdamaMetrics`, builds the instruments and renders the table in `docs/telemetry.md` (a test
 * checks the document is current). Metrics are served in Prometheus text format on
 * `http://<metricsHost>:<metricsPort>/metrics`; traces go to an OTLP/HTTP collector only when
 * `otlpTracesUrl` is set. Nothing is registered as the process-wide meter or tracer provider, so
 * several services can run in one process (the dev cluster) with their own telemetry.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  context, createNoopMeter, diag, DiagLogLevel, INVALID_SPAN_CONTEXT, ProxyTracerProvider, SpanStatusCode, trace,
  type Attributes, type DiagLogger, type Meter, type Span, type Tracer,
} from '@opentelemetry/api';
import { withoutCredentials } from './urls';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { AdamaError, E, isAdamaError, type ErrorName } from './errors';
import type { Logger } from './log';

// ---- label values ---------------------------------------------------------------------------

/** Outcome of a client request: `rejected` = a final error (the client must change something), `retry` = a retryable one. */
export const REQUEST_RESULTS = ['ok', 'rejected', 'retry'] as const;
export type RequestResult = (typeof REQUEST_RESULTS)[number];
/** Outcome of one log append: `fenced` = another host owns the document now, `error` = storage failed or timed out. */
export const APPEND_RESULTS = ['ok', 'fenced', 'refused', 'error'] as const;
/** How the proxy chose a host: its cache, a fresh rendezvous hash, or a host's redirect. */
export const ROUTING_KINDS = ['cached', 'rendezvous', 'redirect', 'directory'] as const;
/** Why a document left memory: its own `unload(reason)`, or a `shed` after losing ownership or storage. */
export const SHED_REASONS = ['idle', 'drain', 'shutdown', 'fenced', 'storage_unavailable', 'deleted'] as const;
/**
 * Outcome of restoring an archived document: `missing` = ARCHIVE_MISSING, `corrupt` = ARCHIVE_CORRUPT,
 * `unavailable` = anything else (object store or database down, no store configured, ownership lost mid-restore).
 */
export const RESTORE_RESULTS = ['ok', 'missing', 'corrupt', 'unavailable'] as const;
export type RestoreResult = (typeof RESTORE_RESULTS)[number];
const ERROR_NAMES = Object.keys(E) as ErrorName[];

/** The result label of a restore that ended with `error` (none = ok). */
export function restoreResult(error?: unknown): RestoreResult {
  if (error === undefined) return 'ok';
  if (isAdamaError(error, E.ARCHIVE_MISSING)) return 'missing';
  if (isAdamaError(error, E.ARCHIVE_CORRUPT)) return 'corrupt';
  return 'unavailable';
}

/** The result label of a request that ended with `error` (none = ok), read from the error registry. */
export function requestResult(error?: { readonly retry: boolean }): RequestResult {
  if (error === undefined) return 'ok';
  return error.retry ? 'retry' : 'rejected';
}

// ---- the instrument table -------------------------------------------------------------------

type LabelValues = Readonly<Record<string, readonly string[]>>;
type Kind = 'counter' | 'histogram' | 'updown';
interface Spec<K extends Kind, L extends LabelValues> {
  readonly kind: K;
  /** Prometheus name; counters end in `_total`, the unit is in the name when it has one. */
  readonly name: string;
  /** UCUM unit (`ms`, `{request}`); shown as `# UNIT` by the exporter. */
  readonly unit: string;
  /** What it counts and who increments it; becomes the `# HELP` line and the docs row. */
  readonly help: string;
  readonly labels: L;
  readonly buckets?: readonly number[];
}

const counter = <const L extends LabelValues = {}>(name: string, unit: string, help: string, labels?: L): Spec<'counter', L> =>
  ({ kind: 'counter', name, unit, help, labels: labels ?? ({} as L) });
const histogram = (name: string, unit: string, help: string, buckets: readonly number[]): Spec<'histogram', {}> =>
  ({ kind: 'histogram', name, unit, help, labels: {}, buckets });
const updown = <const L extends LabelValues = {}>(name: string, unit: string, help: string, labels?: L): Spec<'updown', L> =>
  ({ kind: 'updown', name, unit, help, labels: labels ?? ({} as L) });

const MS_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000] as const;
/** Archiver lag: seconds to a day, in milliseconds. */
const LAG_BUCKETS = [1000, 10_000, 60_000, 300_000, 900_000, 3_600_000, 14_400_000, 86_400_000] as const;

/** Outcome of one reconcile of an AdamaCluster by the operator. */
export const RECONCILE_RESULTS = ['ok', 'error'] as const;
/** How a host drain ended: the host was removed, an attempt failed (it is retried), or a scale-up cancelled it. */
export const DRAIN_RESULTS = ['finished', 'failed', 'cancelled'] as const;
/** Host member states in AdamaCluster status (operator/api/v1alpha1/types.ts MEMBER_STATES). */
export const HOST_STATES = ['Serving', 'NotReady', 'Draining', 'Drained', 'Failed'] as const;

export const METRICS = {
  connects: counter('adama_connects_total', '{request}', 'Document connects (and creates) answered to a client by the web-proxy, by result.', { result: REQUEST_RESULTS }),
  sends: counter('adama_sends_total', '{request}', 'Channel sends answered by the web-proxy (on a socket, or POSTed to the HTTP API), by result.', { result: REQUEST_RESULTS }),
  appends: counter('adama_appends_total', '{append}', 'Log appends attempted by adama-host (one per group-commit batch), by result (refused: the database would not store a record, RECORD_UNSTORABLE).', { result: APPEND_RESULTS }),
  appendRecords: counter('adama_append_records_total', '{record}', 'Change records made durable by adama-host (counted when an append succeeds).'),
  routingDecisions: counter('adama_routing_decisions_total', '{decision}', 'Hosts chosen by the web-proxy for a document stream, by how the host was found.', { kind: ROUTING_KINDS }),
  redirects: counter('adama_redirects_total', '{redirect}', 'OWNED_ELSEWHERE answers the web-proxy followed to the owning host.'),
  failovers: counter('adama_failovers_total', '{stream}', 'Streams the web-proxy re-attached elsewhere after their host failed or went away.'),
  documentsLoaded: counter('adama_documents_loaded_total', '{document}', 'Documents adama-host loaded into memory (from snapshot and log, or created).'),
  documentsShed: counter('adama_documents_shed_total', '{document}', 'Documents that left adama-host memory, by reason; loaded_total minus shed_total is the loaded gauge.', { reason: SHED_REASONS }),
  protocolErrors: counter('adama_protocol_errors_total', '{error}', 'Failures sent to a client, by error name (see errors.md).', { code: ERROR_NAMES }),
  appendDurationMs: histogram('adama_append_duration_ms', 'ms', 'Time adama-host waited for one log append, whatever its result.', MS_BUCKETS),
  sendToAckMs: histogram('adama_send_to_ack_ms', 'ms', 'Time from a send frame arriving at the web-proxy to its ack leaving for the client.', MS_BUCKETS),
  groupCommitBatchSize: histogram('adama_group_commit_batch_size', '{request}', 'Requests adama-host applied together as one batch (at most maxBatch).', [1, 2, 4, 8, 16, 32, 64, 128, 256]),
  documentsRestored: counter('adama_documents_restored_total', '{document}', 'Archived documents restored to the hot tables (by adama-host on connect, or by the archiver\'s RestoreNow), by result.', { result: RESTORE_RESULTS }),
  documentRestoreMs: histogram('adama_document_restore_ms', 'ms', 'Time one restore of an archived document took (fetch, verify, write the snapshot), whatever its result.', MS_BUCKETS),
  archiverArchived: counter('adama_archiver_documents_archived_total', '{document}', 'Documents the archiver moved to the object store (counted at the commit point, after the trim).'),
  archiverSkipped: counter('adama_archiver_documents_skipped_total', '{document}', 'Documents the archiver claimed or was asked to archive but left hot (bound, touched since the claim, log short of the head).'),
  archiverFailures: counter('adama_archiver_failures_total', '{failure}', 'Archive or RestoreNow attempts that failed on infrastructure (database, object store, bad object); the document is left as it was.'),
  archiverBytesWritten: counter('adama_archiver_bytes_written_total', 'By', 'Bytes of archive objects the archiver uploaded for documents it archived.'),
  archiverGcDeleted: counter('adama_archiver_gc_deleted_total', '{object}', 'Unreferenced archive objects the archiver\'s garbage collection deleted.'),
  archiverGcFailures: counter('adama_archiver_gc_failures_total', '{object}', 'Garbage-collection deletes that failed (logged as archiver.gc_delete_failed with a code); the rest of the pass goes on and the document is retried after a per-document backoff.'),
  archiverLagMs: histogram('adama_archiver_lag_ms', 'ms', 'How long past the idle threshold each document the archiver claimed had waited (0 = claimed as soon as it became eligible).', LAG_BUCKETS),
  documentsLoadedNow: updown('adama_documents_loaded', '{document}', 'Documents in adama-host memory now (+1 on load, -1 when it leaves).'),
  streamsOpen: updown('adama_streams_open', '{stream}', 'Document streams open in the web-proxy now (+1 on attach, -1 on close).'),
  socketsOpen: updown('adama_sockets_open', '{socket}', 'Client WebSockets open in the web-proxy now (+1 on upgrade, -1 on close).'),
  operatorReconciles: counter('adama_operator_reconciles_total', '{reconcile}', 'Reconciles of an AdamaCluster the operator finished, by result (errors are retried with per-cluster backoff).', { result: RECONCILE_RESULTS }),
  operatorReconcileMs: histogram('adama_operator_reconcile_duration_ms', 'ms', 'Time one reconcile of an AdamaCluster took, host probes and API writes included.', MS_BUCKETS),
  operatorQueueDepth: updown('adama_operator_queue_depth', '{cluster}', 'AdamaClusters waiting in the operator\'s work queue now (not counting the ones being reconciled).'),
  operatorHosts: updown('adama_operator_hosts', '{host}', 'Host pods of every AdamaCluster the operator leads, by member state, as of each cluster\'s last reconcile.', { state: HOST_STATES }),
  operatorDrains: counter('adama_operator_drains_total', '{drain}', 'Host drains that ended, by result; a failed attempt is retried and may still finish.', { result: DRAIN_RESULTS }),
  operatorDrainMs: histogram('adama_operator_drain_duration_ms', 'ms', 'Time from the start of a host drain to the StatefulSet shrinking by that host.', LAG_BUCKETS),
  operatorLeader: updown('adama_operator_leader', '{operator}', 'Whether this operator process holds the leader Lease now (1) or waits (0).'),
  rateLimiterDegraded: updown('adama_rate_limiter_degraded', '{limiter}', 'Web-proxy rate limiters deciding on local per-process buckets because Redis is unreachable now (1 while degraded, 0 when shared limits apply).'),
} as const;

type LabelsOf<L extends LabelValues> = { readonly [K in keyof L]: L[K][number] };
type LabelArgs<L extends LabelValues> = [keyof L] extends [never] ? [] : [labels: LabelsOf<L>];

/** A monotonic counter; labels are required exactly when the metric has them, with their listed values. */
export interface CounterOf<L extends LabelValues> { add(value: number, ...labels: LabelArgs<L>): void }
export interface HistogramOf { record(value: number): void }
/** A value that goes up and down (exported as a gauge); every +1 needs its -1. */
export interface UpDownOf<L extends LabelValues = {}> { add(delta: number, ...labels: LabelArgs<L>): void }

type InstrumentOf<S> =
  S extends Spec<'counter', infer L> ? CounterOf<L> : S extends Spec<'histogram', LabelValues> ? HistogramOf : S extends Spec<'updown', infer L> ? UpDownOf<L> : never;

/** Every instrument the services record, e.g. `metrics.appends.add(1, { result: 'ok' })`. */
export type AdamaMetrics = { readonly [K in keyof typeof METRICS]: InstrumentOf<(typeof METRICS)[K]> };

/** Builds the instruments on `meter` (a real one, or `createNoopMeter()`). */
export function createAdamaMetrics(meter: Meter): AdamaMetrics {
  const build = (s: Spec<Kind, LabelValues>): unknown => {
    const options = { description: s.help, unit: s.unit };
    switch (s.kind) {
      case 'counter': {
        const c = meter.createCounter(s.name, options);
        return { add: (value: number, labels?: Attributes) => c.add(value, labels) };
      }
      case 'histogram': {
        const h = meter.createHistogram(s.name, { ...options, advice: { explicitBucketBoundaries: [...(s.buckets ?? [])] } });
        return { record: (value: number) => h.record(value) };
      }
      case 'updown': {
        const u = meter.createUpDownCounter(s.name, options);
        return { add: (delta: number, labels?: Attributes) => u.add(delta, labels) };
      }
    }
  };
  return Object.freeze(Object.fromEntries(Object.entries(METRICS).map(([k, s]) => [k, build(s)]))) as AdamaMetrics;
}

/** The metric table of docs/telemetry.md; the drift test compares the committed file with this output. */
export function renderMetricsTable(): string {
  const kindName: Record<Kind, string> = { counter: 'counter', histogram: 'histogram', updown: 'gauge (up-down)' };
  const labelText = (l: LabelValues) =>
    Object.entries(l).map(([k, v]) => `\`${k}\`: ${v === ERROR_NAMES ? 'error name' : v.map((x) => `\`${x}\``).join(', ')}`).join('; ') || '-';
  const rows = Object.values(METRICS).map((s: Spec<Kind, LabelValues>) =>
    `| \`${s.name}\` | ${kindName[s.kind]} | \`${s.unit}\` | ${labelText(s.labels)} | ${s.help} |`);
  return ['| Name | Type | Unit | Labels | Meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}

// ---- tracing helper -------------------------------------------------------------------------

/**
 * Runs `fn` in an active span named `name`. A throw is recorded on the span (exception event,
 * status ERROR, `adama.error` = registry name for an AdamaError) and rethrown; success leaves the
 * status unset, as OpenTelemetry recommends. The span always ends.
 */
export function withSpan<T>(tracer: Tracer, name: string, attrs: Attributes, fn: (span: Span) => Promise<T> | T): Promise<T> {
  // Tracing off (the default): no span, no context switch, no extra async frame per request.
  if (noopTracers.has(tracer)) {
    try { return Promise.resolve(fn(NOOP_SPAN)); } catch (err) { return Promise.reject(err); }
  }
  return tracer.startActiveSpan(name, { attributes: attrs }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err instanceof Error ? err : String(err));
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      if (err instanceof AdamaError) span.setAttribute('adama.error', err.entry.name);
      throw err;
    } finally {
      span.end();
    }
  });
}

// ---- start and stop -------------------------------------------------------------------------

export interface TelemetryOptions {
  /** service.name, e.g. `web-proxy`. */
  service: string;
  /** service.instance.id, e.g. the host id or pod name. */
  instance: string;
  /** Port of the Prometheus endpoint; 0 picks a free one; undefined serves no endpoint (instruments still work). */
  metricsPort?: number;
  /** Address the endpoint binds to; default 127.0.0.1 (use 0.0.0.0 in a pod so Prometheus can scrape it). */
  metricsHost?: string;
  /** OTLP/HTTP traces endpoint, e.g. `http://collector:4318/v1/traces`; undefined = tracing off. */
  otlpTracesUrl?: string;
  /** Where spans go instead of OTLP (a test's collector, or ConsoleSpanExporter when debugging); turns tracing on. */
  traceExporter?: SpanExporter;
  /** Receives `telemetry.started` and OpenTelemetry's own warnings (process-wide once set). */
  log?: Logger;
  /** More GET paths on the metrics endpoint, e.g. the operator's `/healthz` and `/readyz`. */
  routes?: Readonly<Record<string, () => { status: number; body: string }>>;
}

export interface Telemetry {
  readonly metrics: AdamaMetrics;
  readonly tracer: Tracer;
  /** The port actually bound (when 0 was asked), or undefined with no endpoint. */
  readonly metricsPort: number | undefined;
  /** Closes the endpoint, flushes pending spans and stops the providers. Safe to call twice. */
  shutdown(): Promise<void>;
}

/** Reads ADAMA_METRICS_PORT, ADAMA_METRICS_HOST and ADAMA_OTLP_TRACES_URL; throws on a bad port or URL. */
export function telemetryOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): Pick<TelemetryOptions, 'metricsPort' | 'metricsHost' | 'otlpTracesUrl'> {
  const out: Pick<TelemetryOptions, 'metricsPort' | 'metricsHost' | 'otlpTracesUrl'> = {};
  if (env.ADAMA_METRICS_PORT) {
    const port = Number(env.ADAMA_METRICS_PORT);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`ADAMA_METRICS_PORT must be an integer 0-65535, got ${env.ADAMA_METRICS_PORT}`);
    out.metricsPort = port;
  }
  if (env.ADAMA_METRICS_HOST) out.metricsHost = env.ADAMA_METRICS_HOST;
  if (env.ADAMA_OTLP_TRACES_URL) {
    if (!URL.canParse(env.ADAMA_OTLP_TRACES_URL)) throw new Error('ADAMA_OTLP_TRACES_URL is not a URL');
    out.otlpTracesUrl = env.ADAMA_OTLP_TRACES_URL;
  }
  return out;
}

/** Time one OTLP export (retries included) may take; bounds the last flush of a shutdown when the collector is down. */
export const OTLP_EXPORT_TIMEOUT_MS = 3_000;

/** Same shape, nothing recorded or exported: for tests and code paths that do not care. */
export function noopTelemetry(): Telemetry {
  // It records nothing and holds no state, so every caller can share one.
  noop ??= { metrics: createAdamaMetrics(createNoopMeter()), tracer: noopTracer(), metricsPort: undefined, shutdown: async () => {} };
  return noop;
}
let noop: Telemetry | undefined;

export async function startTelemetry(o: TelemetryOptions): Promise<Telemetry> {
  if (o.log) diag.setLogger(diagToPino(o.log), { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  const resource = defaultResource().merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: o.service, 'service.instance.id': o.instance }));

  let meterProvider: MeterProvider | undefined;
  let server: http.Server | undefined;
  if (o.metricsPort !== undefined) {
    // The exporter's own server reads port 0 as "default 9464", so it never starts; ours serves its handler.
    const exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
    server = await serveMetrics(exporter, o.metricsHost ?? '127.0.0.1', o.metricsPort, o.routes ?? {});
    meterProvider = new MeterProvider({ resource, readers: [exporter] });
  }
  const spanExporter = o.traceExporter ?? (o.otlpTracesUrl === undefined ? undefined : new OTLPTraceExporter({ url: o.otlpTracesUrl, timeoutMillis: OTLP_EXPORT_TIMEOUT_MS }));
  const tracerProvider = spanExporter ? startTracing(resource, spanExporter) : undefined;

  const metricsPort = server ? (server.address() as AddressInfo).port : undefined;
  o.log?.info({ metricsPort, traces: o.traceExporter ? 'custom' : o.otlpTracesUrl === undefined ? 'off' : withoutCredentials(o.otlpTracesUrl) }, 'telemetry.started');

  // Each step runs even if one before it failed; a collector that is down must not fail a shutdown.
  const steps: Array<[string, () => Promise<void>]> = [
    ['metrics.endpoint', async () => { if (server) await closeServer(server); }],
    ['metrics', async () => { await meterProvider?.shutdown(); }],
    ['traces', async () => { await tracerProvider?.shutdown(); }],
  ];
  let stopping: Promise<void> | undefined;
  const shutdown = () => (stopping ??= (async () => {
    for (const [step, run] of steps) {
      try {
        await run();
      } catch (err) {
        o.log?.warn({ step, err: String(err) }, 'telemetry.shutdown_failed');
      }
    }
  })());
  return {
    metrics: createAdamaMetrics(meterProvider ? meterProvider.getMeter('adama') : createNoopMeter()),
    tracer: tracerProvider ? tracerProvider.getTracer(o.service) : noopTracer(),
    metricsPort,
    shutdown,
  };
}

// A tracer that no later global registration can turn on; withSpan skips the span machinery for it.
const noopTracers = new WeakSet<Tracer>();
const noopTracer = (): Tracer => {
  const tracer = new ProxyTracerProvider().getTracer('adama');
  noopTracers.add(tracer);
  return tracer;
};
/** What withSpan hands its function when tracing is off: records nothing. */
const NOOP_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

// Parent/child spans across awaits need a context manager; it is process-wide by nature, so once.
let contextManagerInstalled = false;

function startTracing(resource: Resource, exporter: SpanExporter): BasicTracerProvider {
  if (!contextManagerInstalled) {
    contextManagerInstalled = context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  }
  return new BasicTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter)] });
}

function serveMetrics(exporter: PrometheusExporter, host: string, port: number, routes: NonNullable<TelemetryOptions['routes']>): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    if (req.method === 'GET' && path === '/metrics') return exporter.getMetricsRequestHandler(req, res);
    const route = req.method === 'GET' ? routes[path] : undefined;
    if (route) {
      const { status, body } = route();
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(body);
      return;
    }
    res.statusCode = 404;
    res.end('not found; metrics are at /metrics\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`metrics endpoint could not listen on ${host}:${port}`, { cause: err })));
    // unref: a metrics endpoint alone must not keep the process alive.
    server.listen({ host, port }, () => resolve(server.unref()));
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function diagToPino(log: Logger): DiagLogger {
  const ignore = () => {};
  return {
    error: (message, ...args) => log.error({ otel: message, detail: args.map(String) }, 'otel.error'),
    warn: (message, ...args) => log.warn({ otel: message, detail: args.map(String) }, 'otel.warn'),
    info: ignore, debug: ignore, verbose: ignore,
  };
}


