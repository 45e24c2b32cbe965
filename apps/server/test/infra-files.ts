import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { apiEnv, commonEnv, serverEnv, workerEnv } from '@booking/config';
import { expect } from 'vitest';
import YAML from 'yaml';
import type { z } from 'zod';

// Loading and checking the deployment files under infra/, shared by the infra tests.

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const INFRA = join(ROOT, 'infra');
export const PROMTOOL = '/usr/bin/promtool';

/** How long a worker-role process lets jobs in progress finish on SIGTERM (startWorker's default;
 * SHUTDOWN_GRACE_MS, whose default this is). */
export const WORKER_SHUTDOWN_GRACE_S = 10;
/** What a grace period must leave on top of the process's own, for closing connections and exiting. */
export const MARGIN_S = 5;

// ---------------------------------------------------------------- loading

export function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

export const read = (path: string) => readFileSync(join(INFRA, path), 'utf8');
/** One YAML document; `<<` merge keys (the compose file's anchors) are applied. */
export const yaml = (path: string) => YAML.parse(read(path), { merge: true });

export type Obj = Record<string, any>;
export type EnvSchema = z.ZodObject<z.ZodRawShape>;

/** The configuration schema a process started with `command` reads. */
export function schemaFor(command: string[]): { role: string; schema: EnvSchema } {
  const script = command.join(' ');
  if (/\bnpm (run )?start:api\b/.test(script)) return { role: 'api', schema: apiEnv };
  if (/\bnpm (run )?start:worker\b/.test(script)) return { role: 'worker', schema: workerEnv };
  if (/\bnpm run migrate\b/.test(script)) return { role: 'migrate', schema: commonEnv };
  if (/\bnpm (run )?start$/.test(script)) return { role: 'server', schema: serverEnv };
  throw new Error(`no known role for command ${JSON.stringify(command)}`);
}

/** Checks that an environment only sets variables `schema` reads and that `schema` accepts it. */
export function expectEnvAccepted(where: string, schema: EnvSchema, env: Record<string, string>): void {
  const known = new Set(Object.keys(schema.shape));
  expect(
    Object.keys(env).filter((k) => !known.has(k)),
    `${where}: variables no schema of this role reads`,
  ).toEqual([]);
  const parsed = schema.safeParse(env);
  expect(parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`), `${where}: values`).toEqual([]);
}

/** `{ host, port, path }` of the URL a `fetch('http://...')` health check calls. */
export function healthCheckUrl(test: unknown): URL {
  const text = Array.isArray(test) ? test.join(' ') : String(test);
  const m = text.match(/https?:\/\/[^'"\s)]+/);
  if (!m) throw new Error(`no URL in health check ${text}`);
  return new URL(m[0]);
}

// ---------------------------------------------------------------- PromQL

export const PROMQL_KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
]);

/** Metric names a PromQL expression selects. */
export function promqlMetricNames(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names: string[] = [];
  for (const m of s.matchAll(/(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const rest = s.slice(m.index + m[0].length).trimStart();
    if (rest.startsWith('(')) continue; // a function
    if (PROMQL_KEYWORDS.has(m[0].toLowerCase())) continue;
    names.push(m[0]);
  }
  return names;
}

/** Every PromQL expression of a Grafana dashboard: panel targets and query variables. */
export function dashboardQueries(dashboard: Obj): string[] {
  const panels: Obj[] = [];
  const walk = (list: Obj[] | undefined) => {
    for (const p of list ?? []) {
      panels.push(p);
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  const exprs = panels.flatMap((p) => (p.targets ?? []).map((t: Obj) => String(t.expr)));
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = String(typeof v.query === 'string' ? v.query : v.query?.query);
    // label_values(metric, label) / label_values(selector, label): the first argument selects.
    const m = q.match(/^label_values\((.*),\s*[a-zA-Z_]\w*\)$/);
    exprs.push(m ? m[1]! : q);
  }
  return exprs;
}
