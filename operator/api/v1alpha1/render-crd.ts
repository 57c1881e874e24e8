/**
 * @module render-crd
 * Renders the CRD to the two YAML files we ship: plain (deploy/, for `kubectl apply`) and the Helm
 * copy (behind `crds.create`, kept on `helm uninstall` so deleting the chart never deletes data).
 */
import { dump } from 'js-yaml';
import { buildCrd, GENERATED_HEADER } from './crd';

export const PLAIN_CRD_PATH = 'deploy/crds/adamaclusters.adama.io.yaml';
export const CHART_CRD_PATH = 'charts/adama/templates/crds/adamaclusters.adama.io.yaml';

const toYaml = (o: unknown): string => dump(o, { noRefs: true, lineWidth: -1, quotingType: '"' });

export function renderPlainCrd(): string {
  return GENERATED_HEADER + toYaml(buildCrd());
}

export function renderChartCrd(): string {
  const crd = buildCrd();
  const metadata = crd['metadata'] as Record<string, unknown>;
  const withKeep = { ...crd, metadata: { ...metadata, annotations: { 'helm.sh/resource-policy': 'keep' } } };
  return `${GENERATED_HEADER}{{- if .Values.crds.create }}\n${toYaml(withKeep)}{{- end }}\n`;
}
