/**
 * @module selectors
 * Label selectors (the string grammar of apimachinery's `labels.Parse`) and the field selectors the
 * real server supports for the resources we model. Pure functions; parse errors are 400s.
 */
import { errors } from './errors';
import { getPath, isObject } from './json';

type Op = 'exists' | '!exists' | '=' | '!=' | 'in' | 'notin' | 'gt' | 'lt';
export interface Requirement { key: string; op: Op; values: string[] }
export type LabelSelector = Requirement[];

const KEY = /^([a-z0-9A-Z]([a-z0-9A-Z.-]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([a-z0-9A-Z._-]{0,61}[a-z0-9A-Z])?$/;
const VALUE = /^([a-z0-9A-Z]([a-z0-9A-Z._-]{0,61}[a-z0-9A-Z])?)?$/;

/** Splits on commas that are not inside `( … )`. */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')') depth--;
    else if (s[i] === ',' && depth === 0) { parts.push(s.slice(start, i)); start = i + 1; }
  }
  parts.push(s.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

function requirement(raw: string): Requirement {
  const bad = (why: string) => errors.badRequest(`unable to parse requirement: ${why}: "${raw}"`);
  const checkKey = (k: string): string => { if (!KEY.test(k)) throw bad(`invalid label key "${k}"`); return k; };
  const checkValue = (v: string): string => { if (!VALUE.test(v)) throw bad(`invalid label value "${v}"`); return v; };
  let m = /^!\s*(\S+)$/.exec(raw);
  if (m) return { key: checkKey(m[1]!), op: '!exists', values: [] };
  m = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(raw);
  if (m) {
    const values = m[3]!.split(',').map((v) => checkValue(v.trim()));
    return { key: checkKey(m[1]!), op: m[2] as 'in' | 'notin', values };
  }
  m = /^([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(\S*)$/.exec(raw);
  if (m) {
    const op = m[2] === '!=' ? '!=' : m[2] === '>' ? 'gt' : m[2] === '<' ? 'lt' : '=';
    if ((op === 'gt' || op === 'lt') && !/^-?\d+$/.test(m[3]!)) throw bad('for \'gt\', \'lt\' operators, exactly one integer value is required');
    return { key: checkKey(m[1]!), op, values: [checkValue(m[3]!)] };
  }
  if (/^\S+$/.test(raw)) return { key: checkKey(raw), op: 'exists', values: [] };
  throw bad('unrecognised form');
}

export function parseLabelSelector(s: string | undefined): LabelSelector {
  return s ? splitTopLevel(s).map(requirement) : [];
}

export function matchesLabels(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return selector.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case 'exists': return has;
      case '!exists': return !has;
      case '=': return has && v === r.values[0];
      case '!=': return !has || v !== r.values[0];
      case 'in': return has && r.values.includes(v!);
      case 'notin': return !has || !r.values.includes(v!);
      case 'gt': return has && /^-?\d+$/.test(v!) && Number(v) > Number(r.values[0]);
      case 'lt': return has && /^-?\d+$/.test(v!) && Number(v) < Number(r.values[0]);
    }
    return false;
  });
}

/** A `metav1.LabelSelector` object (`matchLabels`, `matchExpressions`). */
export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

/** As `metav1.LabelSelectorAsSelector(sel).String()`: requirements sorted by key, values sorted. */
export function labelSelectorToString(sel: LabelSelectorObject | undefined): string {
  if (!sel) return '';
  const reqs: { key: string; text: string }[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) reqs.push({ key: k, text: `${k}=${v}` });
  for (const e of sel.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort().join(',');
    const text = e.operator === 'In' ? `${e.key} in (${values})` : e.operator === 'NotIn' ? `${e.key} notin (${values})` : e.operator === 'Exists' ? e.key : `!${e.key}`;
    reqs.push({ key: e.key, text });
  }
  return reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((r) => r.text).join(',');
}

export function matchesLabelSelectorObject(sel: LabelSelectorObject | undefined, labels: Record<string, string> | undefined): boolean {
  return matchesLabels(parseLabelSelector(labelSelectorToString(sel)), labels);
}

export interface FieldRequirement { field: string; equal: boolean; value: string }
export type FieldSelector = FieldRequirement[];

/** Field labels the real server accepts beyond `metadata.name` / `metadata.namespace`, per resource. */
const EXTRA_FIELDS: Record<string, string[]> = {
  pods: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  events: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'],
  secrets: ['type'],
  namespaces: ['status.phase'],
};

export function parseFieldSelector(s: string | undefined, resource: string): FieldSelector {
  if (!s) return [];
  const allowed = ['metadata.name', 'metadata.namespace', ...(EXTRA_FIELDS[resource] ?? [])];
  return s.split(',').map((p) => p.trim()).filter((p) => p.length > 0).map((raw) => {
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(raw);
    if (!m) throw errors.badRequest(`invalid selector: '${s}'; can't understand '${raw}'`);
    if (!allowed.includes(m[1]!)) throw errors.badRequest(`field label not supported: ${m[1]}`);
    return { field: m[1]!, equal: m[2] !== '!=', value: m[3]! };
  });
}

export function matchesFields(selector: FieldSelector, object: unknown): boolean {
  return selector.every((r) => {
    const raw = r.field === 'source' ? getPath(object, ['source', 'component']) : getPath(object, r.field.split('.'));
    const v = raw === undefined || raw === null || isObject(raw) ? '' : String(raw);
    return r.equal ? v === r.value : v !== r.value;
  });
}
