/** Traces: loading a document and appending to its log produce spans (exported only when configured). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { DocumentHost } from '../../services/adama-host/document-host';
import { DEFAULT_SPACES_DIR } from '../../services/cli/dev-cluster';
import { createIsolatedSandbox } from '../../services/runtime/isolated-sandbox';
import { systemClock } from '../../services/shared/clock';
import { hostDefaults, resolveConfig } from '../../services/shared/config';
import { silentLogger } from '../../services/shared/log';
import { startTelemetry } from '../../services/shared/telemetry';
import { freshStorage } from '../support/databases';

/** Keeps every exported span, also after shutdown (InMemorySpanExporter clears itself on shutdown). */
class RecordingExporter implements SpanExporter {
  readonly spans: ReadableSpan[] = [];
  export(spans: ReadableSpan[], done: (r: { code: number }) => void): void { this.spans.push(...spans); done({ code: 0 }); }
  async shutdown(): Promise<void> {}
}

describe('traces', () => {
  it('records a span for a document load and for each append, with the document in its attributes', async () => {
    const storage = await freshStorage(2);
    await storage.data.deploySpace('counter', readFileSync(join(DEFAULT_SPACES_DIR, 'counter', 'index.js'), 'utf8'));
    const exporter = new RecordingExporter();
    const telemetry = await startTelemetry({ service: 'test', instance: 'traces', traceExporter: exporter });
    const host = (id: string) => new DocumentHost({ hostId: id, data: storage.data, sandboxFactory: createIsolatedSandbox, clock: systemClock, log: silentLogger, config: resolveConfig(hostDefaults, {}, {}), tracer: telemetry.tracer });
    const who = { agent: 't', authority: 'anonymous' };
    const first = host('h1');
    await first.createDocument({ space: 'counter', key: 'traced' }, who, {});
    await first.shutdown();
    const second = host('h2');
    const stream = await second.openStream({ space: 'counter', key: 'traced' }, who, { viewerState: {} }, { onDelta: () => undefined, onClosed: () => undefined });
    await stream.send('add', { by: 1 });
    await second.shutdown();
    await telemetry.shutdown();
    await storage.close();
    const spans = exporter.spans;
    const load = spans.find((s) => s.name === 'adama.document.load');
    const append = spans.find((s) => s.name === 'adama.append');
    expect(load?.attributes).toMatchObject({ 'adama.space': 'counter', 'adama.key': 'traced' });
    expect(append?.attributes).toMatchObject({ 'adama.space': 'counter', 'adama.key': 'traced', 'adama.records': 1, 'adama.epoch': 2 });
  });
});
