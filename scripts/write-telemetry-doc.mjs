// Rewrites the metric table of docs/telemetry.md from the registry (services/shared/telemetry.ts),
// between its header row and the `<!-- end of metrics table -->` marker; services/shared/telemetry.test.ts
// fails when the two disagree. Run after `npm run build`: `npm run docs:telemetry`.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { renderMetricsTable } = createRequire(import.meta.url)(join(root, 'dist/services/shared/telemetry.js'));
const path = join(root, 'docs/telemetry.md');
const doc = readFileSync(path, 'utf8');
const start = doc.indexOf('| Name | Type | Unit | Labels | Meaning |');
const end = doc.indexOf('\n<!-- end of metrics table -->', start);
if (start < 0 || end < 0) throw new Error('docs/telemetry.md: the metric table or its end marker is missing');
writeFileSync(path, doc.slice(0, start) + renderMetricsTable() + doc.slice(end));
