// Artillery processor for the booking scenarios: one virtual user is one client doing the real flow,
//   POST /v1/events/:eventId/bookings  ->  202 {requestId} | 409 SOLD_OUT | ...
//   GET  /v1/booking-requests/:requestId?wait=N  (long-poll, repeated while pending or waitlisted)
//   POST /v1/bookings/:bookingId/confirm  (holds-sale: the checkout of a held booking, unless abandoned)
// Every outcome is counted as an Artillery metric (booking.*; the latency of each step is Artillery's
// plugins.metrics-by-endpoint.response_time.submit / .poll) and written as one JSON line to a file
// of its own per worker thread under LOADTEST_OUT_DIR, which loadtests/run.mjs reads afterwards to
// check the invariants through the API.
//
// Environment (set by loadtests/run.mjs):
//   LOADTEST_EVENTS   JSON array of event ids; each virtual user picks one at random
//   LOADTEST_OUT_DIR  directory for the outcome files (optional: without it nothing is written)
//   LOADTEST_RUN_ID   prefix of the generated user ids
//   LOADTEST_JWT_SECRET  with it, each virtual user sends an HS256 bearer token for its user id
//                     (AUTH_MODE=jwt), so the cost of verifying tokens is part of the measurement
// Scenario variables (config.variables): maxQuantity (seats per request, 1..maxQuantity, default 1),
// pollWait (seconds per long-poll, default 10), maxPolls (long-polls before giving up, default 12),
// waitlist (1: join the waiting list when sold out), abandonRate (holds-sale: the share of users who
// never pay for their hold, 0..1), thinkMs (holds-sale: the longest time a paying user takes before
// the checkout; each picks a time up to it at random).
'use strict';

const { createHmac, randomUUID } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { threadId } = require('node:worker_threads');

const EVENTS = parseEvents(process.env.LOADTEST_EVENTS);
const RUN_ID = process.env.LOADTEST_RUN_ID || 'lt';
const JWT_SECRET = process.env.LOADTEST_JWT_SECRET || '';

/** An HS256 JWT for `sub`, valid for an hour (what `npm run token` makes). */
function hsToken(sub) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub, iat: now, exp: now + 3600 })}`;
  return `${unsigned}.${createHmac('sha256', JWT_SECRET).update(unsigned).digest('base64url')}`;
}

/** The Authorization header of a virtual user, when the run sends tokens. */
function authHeaders(vars) {
  return JWT_SECRET ? { authorization: `Bearer ${vars.token}` } : {};
}

function parseEvents(raw) {
  if (!raw) throw new Error('LOADTEST_EVENTS is not set: run the scenarios through loadtests/run.mjs');
  const ids = JSON.parse(raw);
  if (!Array.isArray(ids) || ids.length === 0) throw new Error('LOADTEST_EVENTS must be a non-empty JSON array');
  return ids;
}

let outFd = null;
function record(entry) {
  const dir = process.env.LOADTEST_OUT_DIR;
  if (!dir) return;
  if (outFd === null) {
    outFd = fs.openSync(path.join(dir, `outcomes-${process.pid}-${threadId}-${randomUUID().slice(0, 8)}.jsonl`), 'a');
  }
  fs.writeSync(outFd, `${JSON.stringify(entry)}\n`);
}

function intVar(vars, name, fallback) {
  const n = Number(vars[name]);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

function parseBody(body) {
  if (body && typeof body === 'object') return body;
  try {
    return JSON.parse(body);
  } catch {
    return {};
  }
}

/** Flow step: picks the event, a fresh user and the quantity for this virtual user. */
function pickBooking(context, events, done) {
  const vars = context.vars;
  vars.eventId = EVENTS[Math.floor(Math.random() * EVENTS.length)];
  vars.userId = `${RUN_ID}-${randomUUID()}`;
  if (JWT_SECRET) vars.token = hsToken(vars.userId);
  vars.quantity = 1 + Math.floor(Math.random() * intVar(vars, 'maxQuantity', 1));
  vars.pollWait = intVar(vars, 'pollWait', 10);
  vars.polls = 0;
  vars.requestId = '';
  vars.decided = false;
  vars.waitlisted = false;
  vars.bookingId = '';
  return done();
}

/** beforeRequest of the submission: the JSON body and an idempotency key, as a real client sends. */
function setBookingBody(requestParams, context, events, done) {
  requestParams.json = { userId: context.vars.userId, quantity: context.vars.quantity };
  if (Number(context.vars.waitlist) === 1) requestParams.json.waitlist = true;
  requestParams.headers = { ...requestParams.headers, ...authHeaders(context.vars), 'idempotency-key': randomUUID() };
  context.vars.submittedAt = Date.now();
  context.vars.stage = 'submit';
  return done();
}

/** afterResponse of the submission: 202 starts the long-poll, anything else is a final answer. */
function recordSubmission(requestParams, response, context, events, done) {
  const vars = context.vars;
  const body = parseBody(response.body);
  const status = response.statusCode;
  const base = { t: 'submit', eventId: vars.eventId, userId: vars.userId, quantity: vars.quantity, status };
  if (status === 202 && typeof body.requestId === 'string') {
    vars.requestId = body.requestId;
    events.emit('counter', 'booking.accepted', 1);
    record({ ...base, requestId: body.requestId });
  } else {
    const code = typeof body.code === 'string' ? body.code : `HTTP_${status}`;
    events.emit('counter', status === 409 && code === 'SOLD_OUT' ? 'booking.sold_out_at_once' : `booking.refused.${code}`, 1);
    record({ ...base, code });
  }
  return done();
}

/** ifTrue of the long-poll: only an accepted, undecided request is polled. */
function awaitingDecision(vars) {
  return Boolean(vars.requestId) && !vars.decided;
}

function beforePoll(requestParams, context, events, done) {
  requestParams.headers = { ...requestParams.headers, ...authHeaders(context.vars) };
  context.vars.polls += 1;
  context.vars.stage = 'poll';
  return done();
}

/** afterResponse of a long-poll: records the decision once the request is no longer pending. */
function recordPoll(requestParams, response, context, events, done) {
  const vars = context.vars;
  const body = parseBody(response.body);
  if (response.statusCode !== 200) {
    events.emit('counter', `booking.poll_failed.${response.statusCode}`, 1);
    record({ t: 'poll_failed', requestId: vars.requestId, status: response.statusCode, code: body.code });
    vars.decided = true; // nothing more to learn here; run.mjs follows the request up
    return done();
  }
  if (body.status === 'pending') return done();
  if (body.status === 'waitlisted') {
    // On the waiting list: keep long-polling until promoted (confirmed) or rejected.
    if (!vars.waitlisted) events.emit('counter', 'booking.waitlisted', 1);
    vars.waitlisted = true;
    return done();
  }
  vars.decided = true;
  events.emit('histogram', 'booking.decision_ms', Date.now() - vars.submittedAt);
  if (body.status === 'confirmed') events.emit('counter', 'booking.confirmed', 1);
  else events.emit('counter', `booking.rejected.${body.reason || 'UNKNOWN'}`, 1);
  record({
    t: 'decided',
    requestId: vars.requestId,
    eventId: body.eventId,
    quantity: body.quantity,
    status: body.status,
    reason: body.reason,
    bookingId: body.bookingId,
    promoted: Boolean(vars.waitlisted),
  });
  if (body.status === 'confirmed') vars.bookingId = body.bookingId;
  return done();
}

/**
 * Flow step after the long-polls (holds-sale): a user with a held booking abandons it with
 * probability abandonRate, or thinks for up to thinkMs and then checks out.
 */
function chooseCheckout(context, events, done) {
  const vars = context.vars;
  vars.checkout = false;
  if (!vars.bookingId) return done();
  if (Math.random() < Number(vars.abandonRate ?? 0)) {
    events.emit('counter', 'booking.hold_abandoned', 1);
    record({ t: 'abandoned', eventId: vars.eventId, bookingId: vars.bookingId });
    return done();
  }
  vars.checkout = true;
  setTimeout(done, Math.random() * Number(vars.thinkMs ?? 0));
}

/** ifTrue of the checkout: only a user who kept a hold pays. */
function wantsCheckout(vars) {
  return vars.checkout === true;
}

/** whileTrue of the checkout loop: once more after a 503 (see recordCheckout). */
function checkoutAgain(context, next) {
  return next(context.vars.checkout === true);
}

function beforeCheckout(requestParams, context, events, done) {
  requestParams.headers = { ...requestParams.headers, ...authHeaders(context.vars) };
  context.vars.stage = 'checkout';
  return done();
}

/** afterResponse of the checkout: confirmed (200), HOLD_EXPIRED (409), or another answer. */
function recordCheckout(requestParams, response, context, events, done) {
  const vars = context.vars;
  const body = parseBody(response.body);
  const status = response.statusCode;
  const outcome = status === 200 ? body.status : typeof body.code === 'string' ? body.code : `HTTP_${status}`;
  events.emit('counter', `booking.checkout.${outcome}`, 1);
  vars.checkoutTries = (vars.checkoutTries ?? 0) + 1;
  // Repeated (the loop goes on) after a 503, at most 3 times; recorded once, with the last answer.
  vars.checkout = status === 503 && vars.checkoutTries <= 3;
  if (vars.checkout) return setTimeout(done, 1000 * (Number(response.headers['retry-after']) || 1));
  record({ t: 'checkout', eventId: vars.eventId, bookingId: vars.bookingId, status, outcome, quantity: vars.quantity, at: Date.now() });
  return done();
}

/** whileTrue of the long-poll loop: poll again while pending, up to maxPolls times. */
function keepPolling(context, next) {
  const vars = context.vars;
  const more = awaitingDecision(vars) && vars.polls < intVar(vars, 'maxPolls', 12);
  if (!more && awaitingDecision(vars)) record({ t: 'gave_up', requestId: vars.requestId });
  return next(more);
}

/** onError (no answer at all: timeout, connection reset...): recorded so the summary can show it. */
function recordError(error, requestParams, context, events, done) {
  const vars = context.vars;
  record({
    t: 'error',
    stage: vars.stage,
    eventId: vars.eventId,
    quantity: vars.quantity,
    requestId: vars.requestId || undefined,
    error: error && (error.code || error.message),
  });
  return done();
}

module.exports = {
  pickBooking,
  setBookingBody,
  recordSubmission,
  awaitingDecision,
  beforePoll,
  recordPoll,
  keepPolling,
  recordError,
  chooseCheckout,
  wantsCheckout,
  checkoutAgain,
  beforeCheckout,
  recordCheckout,
};
