// Preloaded into Artillery by loadtests/run.mjs (NODE_OPTIONS=--require). Even with
// ARTILLERY_DISABLE_TELEMETRY set, Artillery 2.0.21 sends an anonymous "test run" event to PostHog
// when it exits; without internet access PostHog's client retries and holds the exit for about 12 s
// after the report is written. This swaps posthog-node (used for nothing else) for a no-op client.
'use strict';

const Module = require('node:module');

class NoTelemetry {
  capture() {}
  async shutdownAsync() {}
  async shutdown() {}
}

const load = Module._load;
Module._load = function loadWithoutTelemetry(request, ...rest) {
  if (request === 'posthog-node') return { PostHog: NoTelemetry };
  return load.call(this, request, ...rest);
};
