/**
 * Writes the rendered CRD files. Run from the repository root after a build:
 *   npx tsc -p tsconfig.json && node dist/operator/scripts/write-crd.js
 */
import { writeFileSync } from 'node:fs';
import { CHART_CRD_PATH, PLAIN_CRD_PATH, renderChartCrd, renderPlainCrd } from '../api/v1alpha1/render-crd';

writeFileSync(PLAIN_CRD_PATH, renderPlainCrd());
writeFileSync(CHART_CRD_PATH, renderChartCrd());
process.stdout.write(`wrote ${PLAIN_CRD_PATH} and ${CHART_CRD_PATH}\n`);
