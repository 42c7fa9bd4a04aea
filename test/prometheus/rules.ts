// The alerting rules, their promtool test files and runbooks, read as the tests need them:
// config/prometheus/rules.yaml is a PrometheusRule (the Prometheus Operator's object), so
// promtool gets its `spec` as a plain rule file; each alert has test/prometheus/<alert>.test.yaml
// (`rule_files: [rules.yaml]`, written beside the test files in a scratch directory) and a
// runbook at its runbook_url, a path from the repository root.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { Metrics } from '../../src/runtime/metrics.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const RULES_FILE = join(ROOT, 'config/prometheus/rules.yaml');
export const TESTS_DIR = fileURLToPath(new URL('.', import.meta.url));
/** The job label every series of the operator carries in the tests (what the ServiceMonitor's scrape adds). */
export const OPERATOR_JOB = 'authpolicy-operator';
/** Labels a Prometheus scrape adds to every series of a target. */
export const TARGET_LABELS = new Set(['job', 'instance', 'namespace', 'pod', 'service', 'endpoint', 'container']);

export interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface PrometheusRule {
  kind: string;
  spec: { groups: { name: string; rules: Rule[] }[] };
}

export function prometheusRule(): PrometheusRule {
  return parse(readFileSync(RULES_FILE, 'utf8')) as PrometheusRule;
}

export function alertRules(): Rule[] {
  return prometheusRule().spec.groups.flatMap((g) => g.rules.filter((r) => r.alert !== undefined));
}

/** The promtool test files, by file name (e.g. AuthPolicyNoLeader.test.yaml). */
export function testFiles(): string[] {
  return readdirSync(TESTS_DIR)
    .filter((f) => f.endsWith('.test.yaml'))
    .sort();
}

export interface InputSeries {
  file: string;
  metric: string;
  labels: Record<string, string>;
}

/** Every input series of every test file, its selector parsed (`name{a="b",…}`). */
export function inputSeries(): InputSeries[] {
  const out: InputSeries[] = [];
  for (const file of testFiles()) {
    const doc = parse(readFileSync(join(TESTS_DIR, file), 'utf8')) as { tests?: { input_series?: { series: string }[] }[] };
    for (const t of doc.tests ?? []) {
      for (const s of t.input_series ?? []) {
        const m = /^([a-zA-Z_:][\w:]*)\s*(?:\{(.*)\})?$/.exec(s.series.trim());
        if (!m?.[1]) throw new Error(`${file}: cannot read series ${s.series}`);
        const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)\s*=\s*"([^"]*)"/g)].map((x) => [x[1] ?? '', x[2] ?? '']));
        out.push({ file, metric: m[1], labels });
      }
    }
  }
  return out;
}

/**
 * The operator's own metric families and their label names, from the registry the operator serves
 * (src/runtime/metrics.ts): a renamed metric or label cannot leave a test feeding series that no
 * longer exist.
 */
export function operatorFamilies(): Map<string, { type: string; labels: Set<string> }> {
  const m = new Metrics({ processMetrics: false });
  const out = new Map<string, { type: string; labels: Set<string> }>();
  for (const metric of m.registry.getMetricsAsArray()) {
    const { name, type, labelNames } = metric as unknown as { name: string; type: string; labelNames?: readonly string[] };
    out.set(name, { type, labels: new Set(labelNames ?? []) });
  }
  return out;
}

/** A scratch directory holding rules.yaml (the PrometheusRule's spec) and a copy of every test file. */
export function promtoolWorkdir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'authpolicy-promtool-'));
  writeFileSync(join(dir, 'rules.yaml'), stringify(prometheusRule().spec));
  for (const f of testFiles()) copyFileSync(join(TESTS_DIR, f), join(dir, f));
  return dir;
}

export interface Family {
  name: string;
  type: string;
  labels: Set<string>;
}

/** Metric families of a Prometheus text exposition, with the label names their samples carry. */
export function families(text: string): Map<string, Family> {
  const out = new Map<string, Family>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type?.[1] && type[2]) {
      out.set(type[1], { name: type[1], type: type[2], labels: new Set() });
      continue;
    }
    if (!line || line.startsWith('#')) continue;
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})?\s/.exec(line);
    if (!sample?.[1]) continue;
    const family = out.get(sample[1]) ?? out.get(sample[1].replace(/_(?:bucket|sum|count|total|created)$/, ''));
    for (const l of (sample[2] ?? '').matchAll(/(\w+)="/g)) if (l[1] && l[1] !== 'le') family?.labels.add(l[1]);
  }
  return out;
}

let cached: string | undefined;
/** promtool's path: $AUTHPOLICY_PROMTOOL, or built by build-promtool.sh (minutes the first time, cached after). */
export function promtoolBinary(): string {
  if (cached) return cached;
  if (process.env.AUTHPOLICY_PROMTOOL) return (cached = process.env.AUTHPOLICY_PROMTOOL);
  const script = join(TESTS_DIR, 'build-promtool.sh');
  const out = execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const bin = out.trim().split('\n').pop();
  if (!bin || !existsSync(bin)) throw new Error(`${script} printed no binary path`);
  return (cached = bin);
}

/**
 * Checks the series the promtool tests feed as the operator's against a real /metrics scrape of
 * the operator: each of the `required` families must be exposed, and every test series of a
 * family the scrape has must carry exactly that family's labels (plus a scrape's target labels).
 * One line per problem; empty when the tests feed what the operator exports.
 */
export function testSeriesMismatches(scrape: string, required: readonly string[]): string[] {
  const exposed = families(scrape);
  const problems = required.filter((name) => !exposed.get(name)?.labels.size).map((name) => `${name} is not exposed (with labels) by the scrape`);
  for (const s of inputSeries().filter((x) => x.labels.job === OPERATOR_JOB)) {
    const family = exposed.get(s.metric);
    if (!family?.labels.size) continue;
    const fed = Object.keys(s.labels).filter((l) => !TARGET_LABELS.has(l) || family.labels.has(l));
    const missing = [...family.labels].filter((l) => !fed.includes(l));
    const extra = fed.filter((l) => !family.labels.has(l));
    if (missing.length || extra.length)
      problems.push(`${s.file}: ${s.metric} fed with labels ${fed.join(', ')}; the operator exports ${[...family.labels].join(', ')}`);
  }
  return problems;
}
