import { type Stack, startStack } from '@booking/test-support/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The Swagger UI page that shows the OpenAPI document (openapi.test.ts tests the document itself).

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ workers: 0 });
});
afterAll(async () => {
  await stack.close();
});

describe('/docs', () => {
  it('serves a page that loads its scripts and styles from this service only', async () => {
    const res = await fetch(`${stack.baseUrl}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await res.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(3);
    for (const asset of assets) {
      expect(asset, 'a path on this service').toMatch(/^\/docs\//);
      const loaded = await fetch(`${stack.baseUrl}${asset}`);
      expect(loaded.status, asset).toBe(200);
      expect((await loaded.arrayBuffer()).byteLength, asset).toBeGreaterThan(0);
    }
  });

  it('does not serve the demo page of the Swagger UI package', async () => {
    for (const path of ['/docs/index.html', '/docs/swagger-initializer.js.map', '/docs/oauth2-redirect.html']) {
      expect((await fetch(`${stack.baseUrl}${path}`)).status, path).toBe(404);
    }
  });
});
