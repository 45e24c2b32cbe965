// What can be checked of the deployment files under infra/ without a Docker engine or a cluster:
// they parse; every environment variable they set is one the process's configuration schema reads,
// with a value it accepts; every probe, health check and scrape target points at a real route on
// the right port; `docker compose up --scale worker=3` has nothing in its way; shutdown grace periods
// cover the processes' own; every metric the Grafana dashboard queries is one the service exposes.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

import { describe, expect, it } from 'vitest';
import YAML from 'yaml';

import {
  expectEnvAccepted,
  filesUnder,
  healthCheckUrl,
  INFRA,
  MARGIN_S,
  type Obj,
  PROMTOOL,
  read,
  ROOT,
  schemaFor,
  WORKER_SHUTDOWN_GRACE_S,
  yaml,
} from './infra-files.ts';

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
      Object.entries((service.environment ?? {}) as Record<string, unknown>).map(([k, v]) => [
        k,
        v === null ? (passthrough[k] ?? '') : String(v as string | number | boolean),
      ]),
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
    const fixed = ((worker.ports ?? []) as Array<string | Obj>).filter((p) =>
      typeof p === 'string' ? p.includes(':') : p.published !== undefined,
    );
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
    expect(api.dns_sd_configs).toEqual([
      expect.objectContaining({ names: ['api'], type: 'A', port: Number(services.api!.environment.PORT) }),
    ]);
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

describe('package.json (root)', () => {
  const rootPackage = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Obj;

  // swagger-ui-dist depends on @scarf/scarf, whose install script reports the installation to its
  // vendor unless the root package turns it off; `npm ci`, in CI and in the image, must send nothing.
  it('turns off the install-time report of @scarf/scarf', () => {
    expect(rootPackage.scarfSettings).toEqual({ enabled: false });
  });
});
