// What can be checked of the deployment files under infra/ without a Docker engine or a cluster:
// they parse; every environment variable they set is one the process's configuration schema reads,
// with a value it accepts; every probe, health check and scrape target points at a real route on
// the right port; `docker compose up --scale worker=3` has nothing in its way; shutdown grace periods
// cover the processes' own; every metric the Grafana dashboard queries is one the service exposes.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { apiEnv, commonEnv, serverEnv, workerEnv } from '@booking/config';
import { MetricsRegistry, serveMetrics } from '@booking/observability';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import type { z } from 'zod';

import { awaitDecision, createEvent, submit } from './http.ts';
import { type Stack, startStack } from './stack.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const INFRA = join(ROOT, 'infra');
const PROMTOOL = '/usr/bin/promtool';

/** How long a worker-role process lets jobs in progress finish on SIGTERM (startWorker's default;
 * apps/worker/src/main.ts does not pass SHUTDOWN_GRACE_MS, which only `npm start` reads). */
const WORKER_SHUTDOWN_GRACE_S = 10;
/** What a grace period must leave on top of the process's own, for closing connections and exiting. */
const MARGIN_S = 5;

// ---------------------------------------------------------------- loading

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

const read = (path: string) => readFileSync(join(INFRA, path), 'utf8');
/** One YAML document; `<<` merge keys (the compose file's anchors) are applied. */
const yaml = (path: string) => YAML.parse(read(path), { merge: true });

type Obj = Record<string, any>;
type EnvSchema = z.ZodObject<z.ZodRawShape>;

/** The configuration schema a process started with `command` reads. */
function schemaFor(command: string[]): { role: string; schema: EnvSchema } {
  const script = command.join(' ');
  if (/\bnpm (run )?start:api\b/.test(script)) return { role: 'api', schema: apiEnv as unknown as EnvSchema };
  if (/\bnpm (run )?start:worker\b/.test(script)) return { role: 'worker', schema: workerEnv as unknown as EnvSchema };
  if (/\bnpm run migrate\b/.test(script)) return { role: 'migrate', schema: commonEnv as unknown as EnvSchema };
  if (/\bnpm (run )?start$/.test(script)) return { role: 'server', schema: serverEnv as unknown as EnvSchema };
  throw new Error(`no known role for command ${JSON.stringify(command)}`);
}

/** Checks that an environment only sets variables `schema` reads and that `schema` accepts it. */
function expectEnvAccepted(where: string, schema: EnvSchema, env: Record<string, string>): void {
  const known = new Set(Object.keys(schema.shape));
  expect(Object.keys(env).filter((k) => !known.has(k)), `${where}: variables no schema of this role reads`).toEqual([]);
  const parsed = schema.safeParse(env);
  expect(parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`), `${where}: values`).toEqual([]);
}

/** `{ host, port, path }` of the URL a `fetch('http://...')` health check calls. */
function healthCheckUrl(test: unknown): URL {
  const text = Array.isArray(test) ? test.join(' ') : String(test);
  const m = text.match(/https?:\/\/[^'"\s)]+/);
  if (!m) throw new Error(`no URL in health check ${text}`);
  return new URL(m[0]);
}

// ---------------------------------------------------------------- PromQL

const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);

/** Metric names a PromQL expression selects. */
function promqlMetricNames(expr: string): string[] {
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
function dashboardQueries(dashboard: Obj): string[] {
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

// ---------------------------------------------------------------- the tests

describe('infra/: every file parses', () => {
  const files = filesUnder(INFRA).filter((f) => /\.(ya?ml|json)$/.test(f));

  it('has the expected files', () => {
    const names = files.map((f) => relative(INFRA, f)).sort();
    expect(names).toEqual(
      expect.arrayContaining([
        'docker-compose.yml',
        'prometheus/prometheus.yml',
        'grafana/provisioning/datasources/prometheus.yml',
        'grafana/provisioning/dashboards/booking.yml',
        'grafana/dashboards/booking-service.json',
        'k8s/kustomization.yaml',
      ]),
    );
  });

  it.each(files.map((f) => [relative(INFRA, f)]))('%s', (name) => {
    const text = read(name);
    if (name.endsWith('.json')) {
      expect(() => JSON.parse(text)).not.toThrow();
      return;
    }
    const docs = YAML.parseAllDocuments(text, { merge: true });
    expect(docs.length).toBeGreaterThan(0);
    for (const d of docs) {
      expect(d.errors.map((e) => e.message)).toEqual([]);
      expect(d.warnings.map((e) => e.message)).toEqual([]);
      expect(d.toJS()).toBeTypeOf('object');
    }
  });
});

describe('infra/docker-compose.yml', () => {
  const compose = yaml('docker-compose.yml') as Obj;
  const services = compose.services as Record<string, Obj>;
  const appServices = Object.entries(services).filter(([, s]) => s.build?.dockerfile === 'infra/Dockerfile');
  /** A service's environment as the process sees it; `VAR:` (null) is passed through from the shell. */
  const envOf = (service: Obj, passthrough: Record<string, string> = {}): Record<string, string> =>
    Object.fromEntries(
      Object.entries((service.environment ?? {}) as Record<string, unknown>).map(([k, v]) => [k, v === null ? (passthrough[k] ?? '') : String(v)]),
    );
  const fromShell = { ADMIN_API_KEY: 'a-key-from-the-operators-shell-0123456789' };

  it('runs migrate, api and worker from the service image', () => {
    expect(appServices.map(([name]) => name).sort()).toEqual(['api', 'migrate', 'worker']);
  });

  it.each(appServices.map(([name]) => [name]))('%s: sets only variables its role reads, with valid values', (name) => {
    const service = services[name]!;
    const { schema } = schemaFor(service.command);
    expectEnvAccepted(`compose ${name}`, schema, envOf(service, fromShell));
  });

  it('api: health check, published port and PORT agree', () => {
    const api = services.api!;
    const env = envOf(api, fromShell);
    const url = healthCheckUrl(api.healthcheck.test);
    expect(url.pathname).toBe('/healthz');
    expect(Number(url.port)).toBe(Number(env.PORT));
    const published = (api.ports as string[]).map((p) => Number(String(p).split(':').at(-1)));
    expect(published).toContain(Number(env.PORT));
  });

  it('worker: health check on METRICS_PORT', () => {
    const worker = services.worker!;
    const url = healthCheckUrl(worker.healthcheck.test);
    expect(url.pathname).toBe('/healthz');
    expect(Number(url.port)).toBe(Number(envOf(worker).METRICS_PORT));
  });

  it('can scale the worker (`up --scale worker=3`): no fixed container name, host port or hostname', () => {
    const worker = services.worker!;
    expect(worker.container_name).toBeUndefined();
    expect(worker.hostname).toBeUndefined();
    // A container port alone ("9464") would be fine; a host port ("9464:9464") clashes between replicas.
    const fixed = ((worker.ports ?? []) as Array<string | Obj>).filter((p) => (typeof p === 'string' ? p.includes(':') : p.published !== undefined));
    expect(fixed).toEqual([]);
    // Nothing refers to one worker container by name.
    for (const [name, s] of Object.entries(services)) {
      if (name !== 'worker') expect(Object.keys(s.depends_on ?? {}), `${name} depends_on`).not.toContain('worker');
    }
  });

  it('gives each app service a stop grace period longer than its own shutdown', () => {
    const seconds = (v: string) => Number(/^(\d+)s$/.exec(v)?.[1]);
    for (const [name, s] of appServices) {
      const grace = seconds(s.stop_grace_period);
      const own = name === 'api' ? Number(envOf(s).SHUTDOWN_GRACE_MS) / 1000 : name === 'worker' ? WORKER_SHUTDOWN_GRACE_S : 0;
      expect(grace, `${name} stop_grace_period`).toBeGreaterThanOrEqual(own + MARGIN_S);
    }
  });

  it('mounts the Prometheus config and the Grafana provisioning where they are read', () => {
    const prom = services.prometheus!;
    const configFlag = (prom.command as string[]).find((a) => a.startsWith('--config.file='))!;
    const configPath = configFlag.split('=')[1];
    expect(prom.volumes).toContain(`./prometheus/prometheus.yml:${configPath}:ro`);
    const grafana = services.grafana!;
    expect(grafana.volumes).toContain('./grafana/provisioning:/etc/grafana/provisioning:ro');
    const provider = yaml('grafana/provisioning/dashboards/booking.yml').providers[0];
    expect(grafana.volumes).toContain(`./grafana/dashboards:${provider.options.path}:ro`);
    expect(grafana.env_file).toBeUndefined();
    // Every relative host path exists.
    for (const s of [prom, grafana]) {
      for (const v of s.volumes as string[]) {
        const host = v.split(':')[0]!;
        if (host.startsWith('.')) expect(existsSync(join(INFRA, host)), host).toBe(true);
      }
    }
  });
});

describe('infra/prometheus/prometheus.yml', () => {
  const compose = yaml('docker-compose.yml') as Obj;
  const services = compose.services as Record<string, Obj>;
  const config = yaml('prometheus/prometheus.yml') as Obj;
  const job = (name: string) => (config.scrape_configs as Obj[]).find((j) => j.job_name === name)!;

  it('scrapes the API on PORT and every worker replica on METRICS_PORT, at /metrics', () => {
    const api = job('booking-api');
    const worker = job('booking-worker');
    for (const j of [api, worker]) expect(j.metrics_path ?? '/metrics').toBe('/metrics');
    // DNS service discovery: on the compose network a service name resolves to every replica.
    expect(api.dns_sd_configs).toEqual([expect.objectContaining({ names: ['api'], type: 'A', port: Number(services.api!.environment.PORT) })]);
    expect(worker.dns_sd_configs).toEqual([
      expect.objectContaining({ names: ['worker'], type: 'A', port: Number(services.worker!.environment.METRICS_PORT) }),
    ]);
  });

  it('is the datasource Grafana is provisioned with', () => {
    const ds = yaml('grafana/provisioning/datasources/prometheus.yml').datasources as Obj[];
    expect(ds).toHaveLength(1);
    const url = new URL(ds[0]!.url);
    expect(services[url.hostname], `compose service ${url.hostname}`).toBeDefined();
    expect(services.prometheus!.ports.map((p: string) => p.split(':').at(-1))).toContain(url.port);
    const interval = (v: string) => Number(/^(\d+)s$/.exec(v)?.[1]);
    expect(interval(ds[0]!.jsonData.timeInterval)).toBe(interval(config.global.scrape_interval));
  });

  it.skipIf(!existsSync(PROMTOOL))('passes promtool check config', () => {
    const result = spawnSync(PROMTOOL, ['check', 'config', join(INFRA, 'prometheus/prometheus.yml')], { encoding: 'utf8' });
    expect(result.stdout + result.stderr).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });
});

describe('infra/k8s', () => {
  const dir = join(INFRA, 'k8s');
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
  const kustomization = yaml('k8s/kustomization.yaml') as Obj;
  const docs: Obj[] = files
    .filter((f) => f !== 'kustomization.yaml')
    .flatMap((f) => YAML.parseAllDocuments(read(`k8s/${f}`)).map((d) => d.toJS() as Obj))
    .filter(Boolean);
  const find = (kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata?.name === name);
  const all = (kind: string) => docs.filter((d) => d.kind === kind);

  const configMaps = new Map(all('ConfigMap').map((d) => [d.metadata.name as string, (d.data ?? {}) as Record<string, string>]));
  const secrets = new Map(all('Secret').map((d) => [d.metadata.name as string, (d.stringData ?? {}) as Record<string, string>]));

  /** The environment a container gets: envFrom ConfigMaps/Secrets, then env (values and refs). */
  function containerEnv(c: Obj): Record<string, string> {
    const env: Record<string, string> = {};
    for (const from of c.envFrom ?? []) {
      const source = from.configMapRef ? configMaps.get(from.configMapRef.name) : secrets.get(from.secretRef?.name);
      expect(source, `envFrom ${JSON.stringify(from)}`).toBeDefined();
      Object.assign(env, source);
    }
    for (const e of c.env ?? []) {
      if (e.value !== undefined) env[e.name] = String(e.value);
      else if (e.valueFrom?.secretKeyRef) {
        const v = secrets.get(e.valueFrom.secretKeyRef.name)?.[e.valueFrom.secretKeyRef.key];
        expect(v, `secret ${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`).toBeDefined();
        env[e.name] = v!;
      } else if (e.valueFrom?.configMapKeyRef) {
        const v = configMaps.get(e.valueFrom.configMapKeyRef.name)?.[e.valueFrom.configMapKeyRef.key];
        expect(v, `configmap ${e.valueFrom.configMapKeyRef.name}/${e.valueFrom.configMapKeyRef.key}`).toBeDefined();
        env[e.name] = v!;
      } else throw new Error(`unsupported env entry ${JSON.stringify(e)}`);
    }
    return env;
  }

  /** A probe's or Service's port as a number (named ports resolved against the container). */
  const portNumber = (c: Obj, port: number | string) =>
    typeof port === 'number' ? port : (c.ports as Obj[]).find((p) => p.name === port)?.containerPort;

  const workloads = [...all('Deployment'), ...all('Job')];
  const containers = workloads.flatMap((w) => (w.spec.template.spec.containers as Obj[]).map((c) => ({ workload: w, c })));
  const apiDeploy = find('Deployment', 'booking-api')!;
  const workerDeploy = find('Deployment', 'booking-worker')!;
  const apiContainer = apiDeploy.spec.template.spec.containers[0] as Obj;
  const workerContainer = workerDeploy.spec.template.spec.containers[0] as Obj;

  it('lists every manifest in kustomization.yaml', () => {
    expect([...kustomization.resources].sort()).toEqual(files.filter((f) => f !== 'kustomization.yaml').sort());
    const images = new Set((kustomization.images as Obj[]).map((i) => i.name));
    for (const { c } of containers) expect(images.has(c.image), `image ${c.image}`).toBe(true);
  });

  it('has the api Deployment, Service and HPA, the worker Deployment (3) and PDB, the migrate Job, ConfigMaps and a Secret', () => {
    expect(apiDeploy).toBeDefined();
    expect(find('Service', 'booking-api')).toBeDefined();
    expect(find('HorizontalPodAutoscaler', 'booking-api')).toBeDefined();
    expect(workerDeploy.spec.replicas).toBe(3);
    expect(find('PodDisruptionBudget', 'booking-worker')).toBeDefined();
    expect(find('Job', 'booking-migrate')).toBeDefined();
    expect(configMaps.size).toBeGreaterThan(0);
    expect(secrets.size).toBeGreaterThan(0);
  });

  it.each(containers.map(({ workload, c }) => [`${workload.kind}/${workload.metadata.name}`, c]))(
    '%s: sets only variables its role reads, with valid values',
    (where, c) => {
      const { schema } = schemaFor(c.command);
      expectEnvAccepted(`k8s ${where}`, schema, containerEnv(c));
    },
  );

  it('selectors match the pod labels', () => {
    for (const d of all('Deployment')) {
      const labels = d.spec.template.metadata.labels;
      expect(labels, d.metadata.name).toEqual(expect.objectContaining(d.spec.selector.matchLabels));
    }
    const svc = find('Service', 'booking-api')!;
    expect(apiDeploy.spec.template.metadata.labels).toEqual(expect.objectContaining(svc.spec.selector));
    const pdb = find('PodDisruptionBudget', 'booking-worker')!;
    expect(workerDeploy.spec.template.metadata.labels).toEqual(expect.objectContaining(pdb.spec.selector.matchLabels));
    // The PDB must not select the API's pods too.
    expect(apiDeploy.spec.template.metadata.labels).not.toEqual(expect.objectContaining(pdb.spec.selector.matchLabels));
  });

  it('api: probes /readyz and /healthz, the Service and the scrape annotation on PORT', () => {
    const port = Number(containerEnv(apiContainer).PORT);
    expect(apiContainer.readinessProbe.httpGet.path).toBe('/readyz');
    expect(apiContainer.livenessProbe.httpGet.path).toBe('/healthz');
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe'] as const) {
      if (!apiContainer[probe]) continue;
      expect(['/readyz', '/healthz']).toContain(apiContainer[probe].httpGet.path);
      expect(portNumber(apiContainer, apiContainer[probe].httpGet.port), probe).toBe(port);
    }
    const svc = find('Service', 'booking-api')!;
    for (const p of svc.spec.ports as Obj[]) expect(portNumber(apiContainer, p.targetPort)).toBe(port);
    const annotations = apiDeploy.spec.template.metadata.annotations ?? {};
    expect(Number(annotations['prometheus.io/port'])).toBe(port);
    expect(annotations['prometheus.io/path']).toBe('/metrics');
  });

  it('worker: probes /healthz and the scrape annotation on METRICS_PORT', () => {
    const port = Number(containerEnv(workerContainer).METRICS_PORT);
    expect(workerContainer.livenessProbe).toBeDefined();
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe'] as const) {
      if (!workerContainer[probe]) continue;
      expect(workerContainer[probe].httpGet.path, probe).toBe('/healthz');
      expect(portNumber(workerContainer, workerContainer[probe].httpGet.port), probe).toBe(port);
    }
    const annotations = workerDeploy.spec.template.metadata.annotations ?? {};
    expect(Number(annotations['prometheus.io/port'])).toBe(port);
    expect(annotations['prometheus.io/path']).toBe('/metrics');
  });

  it('HPA scales the api Deployment on a resource its pods request', () => {
    const hpa = find('HorizontalPodAutoscaler', 'booking-api')!;
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'booking-api' });
    expect(hpa.spec.minReplicas).toBeLessThanOrEqual(hpa.spec.maxReplicas);
    for (const m of hpa.spec.metrics as Obj[]) {
      if (m.type === 'Resource') expect(apiContainer.resources.requests[m.resource.name], m.resource.name).toBeDefined();
    }
  });

  it('terminationGracePeriodSeconds covers each role\'s shutdown', () => {
    const preStop = (c: Obj) => Number(c.lifecycle?.preStop?.exec?.command?.at(-1) ?? 0);
    const apiGrace = Number(containerEnv(apiContainer).SHUTDOWN_GRACE_MS) / 1000;
    expect(apiDeploy.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(preStop(apiContainer) + apiGrace + MARGIN_S);
    // The worker role does not read SHUTDOWN_GRACE_MS (its grace is fixed), so it must not be set there.
    expect(containerEnv(workerContainer).SHUTDOWN_GRACE_MS).toBeUndefined();
    expect(workerDeploy.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(
      preStop(workerContainer) + WORKER_SHUTDOWN_GRACE_S + MARGIN_S,
    );
  });

  it('the migrate Job runs `npm run migrate` once', () => {
    const job = find('Job', 'booking-migrate')!;
    const c = job.spec.template.spec.containers[0] as Obj;
    expect(schemaFor(c.command).role).toBe('migrate');
    expect(['OnFailure', 'Never']).toContain(job.spec.template.spec.restartPolicy);
  });
});

describe('against the running service', () => {
  let stack: Stack;
  let exposed: Set<string>;
  let worker: Awaited<ReturnType<typeof serveMetrics>>;

  beforeAll(async () => {
    stack = await startStack();
    const event = await createEvent(stack.baseUrl, { capacity: 1 });
    const first = await submit(stack.baseUrl, event.id, 'infra-1', 1);
    expect((await awaitDecision(stack.baseUrl, first.body.requestId)).status).toBe('confirmed');
    expect((await submit(stack.baseUrl, event.id, 'infra-2', 1)).status).toBe(409);
    const text = await fetch(`${stack.baseUrl}/metrics`).then((r) => r.text());
    exposed = new Set<string>();
    for (const line of text.split('\n')) {
      const type = /^# TYPE (\S+) (\S+)/.exec(line);
      if (type) {
        exposed.add(type[1]!);
        if (type[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exposed.add(type[1]! + s);
        if (type[2] === 'summary') for (const s of ['_sum', '_count']) exposed.add(type[1]! + s);
      } else if (line && !line.startsWith('#')) {
        exposed.add(/^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0]);
      }
    }
    // The worker role's metrics server, as apps/worker/src/main.ts starts it (METRICS_PORT).
    worker = await serveMetrics(new MetricsRegistry(), 0, '127.0.0.1');
  });
  afterAll(async () => {
    await worker?.close();
    await stack?.close();
  });

  it('answers the probe paths the manifests and the compose file use', async () => {
    expect((await fetch(`${stack.baseUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${stack.baseUrl}/readyz`)).status).toBe(200);
    expect((await fetch(`${stack.baseUrl}/metrics`)).status).toBe(200);
    const base = `http://127.0.0.1:${worker.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
    // A path the worker does not serve is a 404: the checks above are meaningful.
    expect((await fetch(`${base}/readyz`)).status).toBe(404);
  });

  it('exposes every metric the Grafana dashboard queries', () => {
    const dashboard = JSON.parse(read('grafana/dashboards/booking-service.json')) as Obj;
    const queried = new Set(dashboardQueries(dashboard).flatMap(promqlMetricNames));
    // `up` is recorded by Prometheus for each target, not exposed by the service.
    queried.delete('up');
    expect(queried.size).toBeGreaterThan(10);
    expect([...queried].filter((m) => !exposed.has(m)), 'queried but not exposed').toEqual([]);
    // It shows what it is meant to show.
    expect([...queried]).toEqual(
      expect.arrayContaining([
        'booking_attempts_total',
        'admission_rejected_total',
        'booking_success_total',
        'booking_conflicts_total',
        'booking_decision_latency_seconds_bucket',
        'booking_queue_depth',
        'booking_seats_available',
        'db_connection_pool_size',
        'db_connection_pool_overflow',
        'redis_circuit_breaker_open',
      ]),
    );
  });

  it('dashboard panels use the provisioned datasource', () => {
    const dashboard = JSON.parse(read('grafana/dashboards/booking-service.json')) as Obj;
    const uid = (yaml('grafana/provisioning/datasources/prometheus.yml').datasources as Obj[])[0]!.uid;
    const refs = JSON.stringify(dashboard).match(/"uid":"[^"]*"/g) ?? [];
    const used = new Set(refs.map((r) => r.slice(7, -1)).filter((u) => u !== dashboard.uid));
    expect([...used]).toEqual([uid]);
  });
});

describe('promqlMetricNames', () => {
  it('finds selectors, not functions, labels, ranges or keywords', () => {
    expect(promqlMetricNames('histogram_quantile(0.99, sum by (le) (rate(a_bucket{x=~"$event"}[$__rate_interval])))')).toEqual(['a_bucket']);
    expect(promqlMetricNames('sum(rate(a_sum[5m])) / sum(rate(a_count[5m])) or vector(0)')).toEqual(['a_sum', 'a_count']);
    expect(promqlMetricNames('max by (event_id) (q{event_id=~"$event"}) > bool 0')).toEqual(['q']);
  });
});
