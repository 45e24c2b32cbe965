import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { createEvent, submit } from '@booking/test-support';
import { ADMIN_KEY, type Stack, startStack } from '@booking/test-support/stack';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// A real headless browser: Debian's chromium package, driven by playwright-core (which downloads no
// browser of its own). .ci/run installs the package.
const CHROMIUM = '/usr/bin/chromium';
const MISSING = `browser tests need Debian's chromium at ${CHROMIUM}: run \`apt-get update && apt-get install -y chromium\``;
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SCREENSHOTS = { docs: '/tmp/booking-docs.png', queues: '/tmp/booking-admin-queues.png' };

let stack: Stack;
let userDataDir: string | undefined;
let context: BrowserContext | undefined;

beforeAll(async () => {
  // No worker: the booking request stays waiting in its queue, where the dashboard shows it.
  stack = await startStack({ workers: 0 });
  if (!existsSync(CHROMIUM)) return; // each test fails with MISSING
  userDataDir = await mkdtemp(path.join(tmpdir(), 'booking-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
    // Sent only when the server asks for them (a 401 with a Basic challenge), as a person would log in.
    httpCredentials: { username: 'admin', password: ADMIN_KEY },
  });
}, 60_000);

afterAll(async () => {
  await context?.close();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
  await stack?.close();
});

interface Visit {
  page: Page;
  /** Every URL the page requested. */
  requested: string[];
  /** Requests that got no answer: `url errorText`. */
  failed: string[];
  /** Console errors and uncaught exceptions. */
  errors: string[];
}

async function open(pathname: string): Promise<Visit & { status: number | undefined }> {
  if (!context) throw new Error(MISSING);
  const page = await context.newPage();
  const requested: string[] = [];
  const failed: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => requested.push(r.url()));
  page.on('requestfailed', (r) => failed.push(`${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  const response = await page.goto(`${stack.baseUrl}${pathname}`, { waitUntil: 'load', timeout: 30_000 });
  return { page, requested, failed, errors, status: response?.status() };
}

function fromElsewhere(requested: string[]): string[] {
  return requested.filter((url) => !url.startsWith(`${stack.baseUrl}/`) && !url.startsWith('data:'));
}

describe('in a headless browser', () => {
  it(`finds Debian's chromium at ${CHROMIUM}`, () => {
    expect(existsSync(CHROMIUM), MISSING).toBe(true);
  });

  it('shows the API documentation at /docs with the booking operations listed', async () => {
    const { page, requested, errors, status } = await open('/docs');
    expect(status).toBe(200);
    const submit = page.locator('.opblock-summary-path[data-path="/v1/events/{eventId}/bookings"]');
    await submit.waitFor({ state: 'visible', timeout: 20_000 });
    // Swagger UI puts zero-width spaces into long paths so they can wrap.
    expect((await submit.innerText()).replaceAll('\u200b', '')).toBe('/v1/events/{eventId}/bookings');
    // Every documented operation: the list routes, confirm and withdraw of the contract's second version included.
    expect(await page.locator('.opblock').count()).toBe(16);
    await expect(page.getByText('Booking service API').first().isVisible()).resolves.toBe(true);
    await page.screenshot({ path: SCREENSHOTS.docs });
    expect(fromElsewhere(requested)).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("runs a request from the docs page ('Try it out' on GET /readyz) and shows the answer", async () => {
    const { page, errors } = await open('/docs#/Operations/getReadiness');
    const operation = page.locator('#operations-Operations-getReadiness');
    await operation.waitFor({ state: 'visible', timeout: 20_000 });
    await operation.locator('.try-out__btn').click();
    await operation.locator('.execute').click();
    const status = operation.locator('.live-responses-table tbody .response-col_status').first();
    await status.waitFor({ state: 'visible', timeout: 10_000 });
    expect((await status.innerText()).trim()).toBe('200');
    expect(await operation.locator('.live-responses-table .microlight').first().innerText()).toContain('"ready"');
    expect(errors).toEqual([]);
    await page.close();
  });

  it("logs in to /admin/queues with the admin key and shows the event's queue with its waiting request", async () => {
    const event = await createEvent(stack.baseUrl, { name: 'Browser check', capacity: 10 });
    expect((await submit(stack.baseUrl, event.id, 'browser-user', 2)).status).toBe(202);

    const { page, requested, failed, errors, status } = await open('/admin/queues');
    expect(status).toBe(200);
    const queue = page.getByText(`Browser check (${event.id})`).first();
    await queue.waitFor({ state: 'visible', timeout: 20_000 });
    await page.screenshot({ path: SCREENSHOTS.queues });
    // The page's only reach outside (bull-board's CDN web fonts) is stopped by the content security
    // policy before it leaves the browser; that refusal is the only error allowed.
    for (const url of fromElsewhere(requested)) expect(failed, `${url} was blocked`).toContain(`${url} csp`);
    expect(errors.filter((e) => !/fonts\.googleapis\.com.*Content Security Policy/.test(e))).toEqual([]);
    await page.close();
  });
});
