// The Kubernetes manifests under infra/k8s, checked without a cluster.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';
import YAML from 'yaml';

import { expectEnvAccepted, INFRA, MARGIN_S, type Obj, read, schemaFor, WORKER_SHUTDOWN_GRACE_S, yaml } from './infra-files.ts';

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

  it("terminationGracePeriodSeconds covers each role's shutdown", () => {
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
