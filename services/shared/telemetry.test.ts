import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { SpanStatusCode } from '@opentelemetry/api';
import {
  BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { AdamaError, E } from './errors';
import { silentLogger } from './log';
import {
  noopTelemetry, renderMetricsTable, requestResult, startTelemetry, telemetryOptionsFromEnv, withSpan, type Telemetry,
} from './telemetry';

const scrape = async (t: Telemetry) => {
  const res = await fetch(`http://127.0.0.1:${t.metricsPort}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
};

/** A port that was free a moment ago: nothing listens on it. */
async function listenThenClose(): Promise<AddressInfo> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return address;
}

describe('startTelemetry', () => {
  let t: Telemetry | undefined;
  afterEach(async () => { await t?.shutdown(); t = undefined; });

  it('serves the recorded series and values at /metrics on the port it bound for port 0', async () => {
    t = await startTelemetry({ service: 'adama-host', instance: 'host-1', metricsPort: 0, log: silentLogger });
    expect(t.metricsPort).toBeGreaterThan(0);
    t.metrics.appends.add(1, { result: 'ok' });
    t.metrics.appends.add(1, { result: 'ok' });
    t.metrics.appends.add(1, { result: 'fenced' });
    t.metrics.appendRecords.add(5);
    t.metrics.protocolErrors.add(1, { code: 'FRAME_TOO_LARGE' });
    t.metrics.appendDurationMs.record(12);
    t.metrics.documentsLoadedNow.add(2);
    t.metrics.documentsLoadedNow.add(-1);

    const text = await scrape(t);
    expect(text).toMatch(/^adama_appends_total\{result="ok"[^}]*\} 2$/m);
    expect(text).toMatch(/^adama_appends_total\{result="fenced"[^}]*\} 1$/m);
    expect(text).toMatch(/^adama_append_records_total 5$/m);
    expect(text).toMatch(/^adama_protocol_errors_total\{code="FRAME_TOO_LARGE"[^}]*\} 1$/m);
    expect(text).toMatch(/^adama_append_duration_ms_bucket\{le="20"[^}]*\} 1$/m);
    expect(text).toMatch(/^adama_append_duration_ms_sum 12$/m);
    expect(text).toMatch(/^adama_documents_loaded 1$/m);
    expect(text).toMatch(/^target_info\{[^}]*service_name="adama-host"[^}]*service_instance_id="host-1"/m);
    expect(text).toMatch(/^# HELP adama_appends_total Log appends attempted/m);
  });

  it('answers 404 for any path other than /metrics', async () => {
    t = await startTelemetry({ service: 'web-proxy', instance: 'p1', metricsPort: 0 });
    const res = await fetch(`http://127.0.0.1:${t.metricsPort}/other`);
    expect(res.status).toBe(404);
  });

  it('closes the port on shutdown, so a scrape afterwards fails', async () => {
    t = await startTelemetry({ service: 'web-proxy', instance: 'p1', metricsPort: 0 });
    await scrape(t);
    await t.shutdown();
    await expect(fetch(`http://127.0.0.1:${t.metricsPort}/metrics`)).rejects.toThrow();
    await t.shutdown(); // a second call is harmless
  });

  it('rejects when the port is taken, naming the address', async () => {
    t = await startTelemetry({ service: 'a', instance: 'a', metricsPort: 0 });
    await expect(startTelemetry({ service: 'b', instance: 'b', metricsPort: t.metricsPort })).rejects.toThrow(`127.0.0.1:${t.metricsPort}`);
  });

  it('serves no endpoint and records nothing when no metrics port is given', async () => {
    t = await startTelemetry({ service: 'locator', instance: 'l1' });
    expect(t.metricsPort).toBeUndefined();
    t.metrics.redirects.add(1);
  });

  it('batches nested spans as parent and child and flushes them on shutdown', async () => {
    const exported: ReadableSpan[] = [];
    const collector: SpanExporter = {
      export: (spans, done) => { exported.push(...spans); done({ code: 0 /* ExportResultCode.SUCCESS */ }); },
      shutdown: async () => {},
    };
    t = await startTelemetry({ service: 'adama-host', instance: 'h1', traceExporter: collector });
    const tracer = t.tracer;
    await withSpan(tracer, 'document.batch', { space: 'chat' }, () => withSpan(tracer, 'append', {}, async () => 1));
    expect(exported).toEqual([]); // still in the batch
    await t.shutdown();
    const outer = exported.find((s) => s.name === 'document.batch');
    const inner = exported.find((s) => s.name === 'append');
    expect(inner?.parentSpanContext?.spanId).toBe(outer?.spanContext().spanId);
    expect(outer?.resource.attributes).toMatchObject({ 'service.name': 'adama-host', 'service.instance.id': 'h1' });
  });

  it('records spans when an OTLP URL is given and shuts down even if the collector is unreachable', async () => {
    const { port } = await listenThenClose();
    t = await startTelemetry({ service: 'adama-host', instance: 'h1', otlpTracesUrl: `http://127.0.0.1:${port}/v1/traces`, log: silentLogger });
    await withSpan(t.tracer, 'recorded', {}, (span) => expect(span.isRecording()).toBe(true));
    await expect(t.shutdown()).resolves.toBeUndefined();
  });
});

describe('noopTelemetry', () => {
  it('takes every instrument call and a span without a port or exporter', async () => {
    const t = noopTelemetry();
    expect(t.metricsPort).toBeUndefined();
    t.metrics.connects.add(1, { result: 'ok' });
    t.metrics.routingDecisions.add(1, { kind: 'rendezvous' });
    t.metrics.documentsShed.add(1, { reason: 'idle' });
    t.metrics.sendToAckMs.record(3);
    t.metrics.socketsOpen.add(1);
    await expect(withSpan(t.tracer, 'noop', {}, () => 'done')).resolves.toBe('done');
    await t.shutdown();
  });

  it('types labels: required where a metric has them, limited to the listed values', () => {
    const { metrics } = noopTelemetry();
    // @ts-expect-error appends needs its result label
    metrics.appends.add(1);
    // @ts-expect-error a result outside ok|fenced|error
    metrics.appends.add(1, { result: 'maybe' });
    // @ts-expect-error code is an error name from the registry
    metrics.protocolErrors.add(1, { code: 'NOT_AN_ERROR' });
    // @ts-expect-error redirects has no labels
    metrics.redirects.add(1, { kind: 'cached' });
    metrics.redirects.add(1);
  });
});

describe('withSpan', () => {
  const setup = () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    return { exporter, tracer: provider.getTracer('test') };
  };

  it('returns the result, sets the attributes and leaves the status unset on success', async () => {
    const { exporter, tracer } = setup();
    await expect(withSpan(tracer, 'ok', { space: 'chat' }, () => 7)).resolves.toBe(7);
    const [span] = exporter.getFinishedSpans();
    expect(span?.attributes).toEqual({ space: 'chat' });
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('records the exception, sets status ERROR with the registry name and rethrows', async () => {
    const { exporter, tracer } = setup();
    const boom = new AdamaError(E.APPEND_FENCED, 'lost chat/1');
    await expect(withSpan(tracer, 'append', {}, async () => { throw boom; })).rejects.toBe(boom);
    const [span] = exporter.getFinishedSpans();
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'lost chat/1' });
    expect(span?.attributes['adama.error']).toBe('APPEND_FENCED');
    expect(span?.events.map((e) => e.name)).toEqual(['exception']);
  });
});

describe('requestResult', () => {
  it('maps no error to ok, a retryable error to retry and a final one to rejected', () => {
    expect(requestResult()).toBe('ok');
    expect(requestResult(E.DOC_QUEUE_FULL)).toBe('retry');
    expect(requestResult(E.CONNECT_DENIED)).toBe('rejected');
  });
});

describe('telemetryOptionsFromEnv', () => {
  it('reads the port, host and traces URL, leaving unset ones out', () => {
    expect(telemetryOptionsFromEnv({})).toEqual({});
    expect(telemetryOptionsFromEnv({ ADAMA_METRICS_PORT: '9464', ADAMA_METRICS_HOST: '0.0.0.0', ADAMA_OTLP_TRACES_URL: 'http://c:4318/v1/traces' }))
      .toEqual({ metricsPort: 9464, metricsHost: '0.0.0.0', otlpTracesUrl: 'http://c:4318/v1/traces' });
  });

  it('rejects a bad port or URL, naming the variable', () => {
    expect(() => telemetryOptionsFromEnv({ ADAMA_METRICS_PORT: 'lots' })).toThrow(/ADAMA_METRICS_PORT/);
    expect(() => telemetryOptionsFromEnv({ ADAMA_OTLP_TRACES_URL: 'not a url' })).toThrow(/ADAMA_OTLP_TRACES_URL/);
  });
});

describe('docs/telemetry.md', () => {
  it('carries the current metric table', () => {
    const doc = fs.readFileSync(path.join(__dirname, '../../docs/telemetry.md'), 'utf8');
    expect(doc).toContain(renderMetricsTable());
  });
});
