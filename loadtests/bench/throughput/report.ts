// The throughput bench's targets and its markdown: the full report and the README summary.
import type { CpuReport } from '../lib/cpu.ts';
import { int, ms } from '../lib/stats.ts';
import { type Mode, MODE_LABEL } from './common.ts';
import type { Burst, DoorRate } from './door.ts';
import type { PartA } from './drain.ts';
import type { PartB } from './e2e.ts';
import type { PartC } from './longpolls.ts';

export const TARGETS = {
  drainPerSecond: 10_000,
  pgbenchFactor: 5,
  endToEndPerSecond: 4_000,
  rssMB: 300,
  /** (i) the service's 409s at the door ÷ the bare door's req/s: at least. */
  doorRatio: 0.8,
  /** (ii) end to end submit + long-poll decisions/s ÷ the bare door's req/s: at least. */
  pollRatio: 0.5,
  /** (iii) end to end with Prefer: wait decisions/s ÷ the bare door's req/s: at least. */
  preferRatio: 0.8,
  /** (d) the burst's time to the last final answer ÷ the bare door's: at most. */
  burstRatio: 1.5,
};

/** Everything one run measured (a part not run is undefined or empty). */
export interface Figures {
  modes: Mode[];
  bare: { door: DoorRate; burst: Burst } | undefined;
  doors: DoorRate[];
  a: PartA | undefined;
  polls: PartB[];
  prefers: PartB[];
  c: PartC | undefined;
  bursts: Burst[];
}

const x = (v: number) => `${v.toFixed(2)}×`;
const modeName = (m: Mode) => (m === 'single' ? 'single process' : 'split');
const ratioOf = (v: number, f: Figures) => (f.bare && f.bare.door.perSecond > 0 ? v / f.bare.door.perSecond : undefined);
const burstRatioOf = (b: Burst, f: Figures) => (f.bare && f.bare.burst.wallMs > 0 ? b.wallMs / f.bare.burst.wallMs : undefined);
const atLeast = (v: number | undefined, t: number) => v !== undefined && v >= t;
const atMost = (v: number | undefined, t: number) => v !== undefined && v <= t;
/** The burst that counts for (d)'s target in a mode: the default client flow (submit + long-poll). */
const countedBurst = (f: Figures, m: Mode) => f.bursts.find((b) => b.who === m && b.flow === 'poll') ?? f.bursts.find((b) => b.who === m);

const verdict = (ok: boolean) => (ok ? '**met**' : '**not met**');

function cpuTable(r: CpuReport): string {
  const rows = Object.entries(r.percent)
    .filter(([, v]) => v >= 0.5)
    .sort((x, y) => y[1] - x[1])
    .map(([k, v]) => `| ${k} | ${v.toFixed(0)} % |`);
  return [
    `CPU over the ${r.seconds.toFixed(1)} s window (100 % = one core; the machine has ${r.cores} cores and was ${r.machinePercent.toFixed(0)} % busy):`,
    '',
    '| process | CPU |',
    '|---|---|',
    ...rows,
  ].join('\n');
}

/** The targets with this run's figures, for the README. */
export function summary(f: Figures, info: string): string {
  const { a, c } = f;
  const share = (v: number, target: number) => `${((100 * v) / target).toFixed(0)} % of the target`;
  const yes = (ok: boolean) => (ok ? 'yes' : 'no');
  const rows: string[] = [];
  if (f.bare) {
    rows.push(
      `| baseline: bare door (Express 5, \`express.json()\`, one Redis EVALSHA, 409 problem+json), ${int(f.bare.door.connections)} clients | ${int(f.bare.door.perSecond)} req/s; ${int(f.bare.burst.users)} at once all answered in ${ms(f.bare.burst.wallMs)} ms | — |`,
    );
  }
  for (const d of f.doors) {
    const r = ratioOf(d.perSecond, f);
    rows.push(
      `| (i) the door, sold-out event, ${modeName(d.who as Mode)}: 409s/s >= ${TARGETS.doorRatio}× the bare door | ${r === undefined ? 'n/a' : x(r)} (${int(d.perSecond)} req/s) | ${yes(atLeast(r, TARGETS.doorRatio) && d.failed === 0)} |`,
    );
  }
  if (a) {
    const ratio = a.decisionsPerSecond / a.pgbenchTps;
    rows.push(
      `| (a) one hot event, one worker, from a filled queue: >= ${int(TARGETS.drainPerSecond)} decisions/s | ${int(a.decisionsPerSecond)} decisions/s | ${a.decisionsPerSecond >= TARGETS.drainPerSecond ? 'yes' : `no (${share(a.decisionsPerSecond, TARGETS.drainPerSecond)})`} |`,
      `| (a) ... and >= ${TARGETS.pgbenchFactor}× pgbench's one transaction per booking (${int(a.pgbenchTps)} tps in the same run) | ${ratio.toFixed(2)}× | ${ratio >= TARGETS.pgbenchFactor ? 'yes' : 'no'} |`,
    );
  }
  for (const b of f.polls) {
    const r = ratioOf(b.perSecond, f);
    rows.push(
      `| (ii) end to end, submit + long-poll, ${modeName(b.mode)}: decisions/s >= ${TARGETS.pollRatio}× the bare door (and >= ${int(TARGETS.endToEndPerSecond)}) | ${r === undefined ? 'n/a' : x(r)} (${int(b.perSecond)} decisions/s, p50 / p99 ${ms(b.p50)} / ${ms(b.p99)} ms) | ${yes(atLeast(r, TARGETS.pollRatio) && b.failed === 0)} (${b.perSecond >= TARGETS.endToEndPerSecond ? `>= ${int(TARGETS.endToEndPerSecond)}: yes` : share(b.perSecond, TARGETS.endToEndPerSecond)}) |`,
    );
  }
  for (const b of f.prefers) {
    const r = ratioOf(b.perSecond, f);
    rows.push(
      `| (iii) end to end, one request with \`Prefer: wait=${b.preferWaitSeconds}\`, ${modeName(b.mode)}: decisions/s >= ${TARGETS.preferRatio}× the bare door | ${r === undefined ? 'n/a' : x(r)} (${int(b.perSecond)} decisions/s, p50 / p99 ${ms(b.p50)} / ${ms(b.p99)} ms) | ${yes(atLeast(r, TARGETS.preferRatio) && b.failed === 0)} |`,
    );
  }
  if (c) {
    const mb = (c.holdingMiB * 1024 * 1024) / 1e6;
    rows.push(
      `| (c) ${int(c.requested)} concurrent long-polls on one API process: RSS < ${TARGETS.rssMB} MB | ${mb.toFixed(0)} MB (idle ${((c.idleMiB * 1024 * 1024) / 1e6).toFixed(0)} MB) | ${mb < TARGETS.rssMB && c.held >= c.requested ? 'yes' : 'no'} |`,
    );
  }
  for (const m of f.modes) {
    const b = countedBurst(f, m);
    if (!b) continue;
    const r = burstRatioOf(b, f);
    rows.push(
      `| (d) ${int(b.users)} users at once for ${int(b.seats ?? 0)} seats, ${modeName(m)}: time until every one has its final answer <= ${TARGETS.burstRatio}× the bare door's | ${r === undefined ? 'n/a' : x(r)} (${ms(b.wallMs)} ms, submit + long-poll) | ${yes(atMost(r, TARGETS.burstRatio) && b.failed === 0 && b.problems.length === 0)} |`,
    );
  }
  return [
    info,
    '',
    `Service parts run in ${f.modes.map((m) => MODE_LABEL[m]).join(' and in ')}.`,
    '',
    '| target | measured | met |',
    '|---|---|---|',
    ...rows,
  ].join('\n');
}

/** A table with one column per run (mode, flow), rows of `[figure, cell per run, target]`. */
function columns(heads: string[], rows: Array<[string, string[], string]>): string[] {
  return [
    `| figure | ${heads.join(' | ')} | target |`,
    `|${'---|'.repeat(heads.length + 2)}`,
    ...rows.map(([figure, cells, target]) => `| ${figure} | ${cells.join(' | ')} | ${target} |`),
  ];
}

const cpuTables = (list: Array<{ label: string; cpu: CpuReport }>) => list.flatMap(({ label, cpu }) => [`${label}. ${cpuTable(cpu)}`, '']);

function e2eSection(f: Figures, list: PartB[], ratioTarget: number): { lines: string[]; met: boolean } {
  let met = true;
  const verdicts = list.map((b) => {
    const r = ratioOf(b.perSecond, f);
    const ok = atLeast(r, ratioTarget) && b.failed === 0;
    met &&= ok;
    return { r, ok };
  });
  const absolute = list.map((b) => b.perSecond >= TARGETS.endToEndPerSecond);
  const first = list[0]!;
  const lines = columns(
    list.map((b) => MODE_LABEL[b.mode]),
    [
      [
        first.flow === 'poll'
          ? 'clients (keep-alive connections), each: submit, long-poll until decided, repeat'
          : `clients (keep-alive connections), each: one request with \`Prefer: wait=${first.preferWaitSeconds}\` (long-poll after a 202), repeat`,
        list.map((b) => int(b.connections)),
        '—',
      ],
      [
        `**decisions/s** over the ${first.windowSeconds} s window (after a warm-up)`,
        list.map((b) => `**${int(b.perSecond)}** (${int(b.decisions)} decisions)`),
        first.flow === 'poll' ? `>= ${int(TARGETS.endToEndPerSecond)}: ${list.map((_, i) => verdict(absolute[i]!)).join(' / ')}` : '—',
      ],
      [
        "**ratio to the bare door's req/s**",
        verdicts.map(({ r }) => (r === undefined ? 'n/a' : `**${x(r)}**`)),
        `>= ${ratioTarget}×: ${verdicts.map(({ ok }) => verdict(ok)).join(' / ')}`,
      ],
      ['decision latency p50 / p99 (submit -> decision received)', list.map((b) => `${ms(b.p50)} / ${ms(b.p99)} ms`), '—'],
      [
        first.flow === 'poll' ? 'submission latency p50 / p99 (-> 202)' : 'submission latency p50 / p99 (-> 200 with the decision, or 202)',
        list.map((b) => `${ms(b.submitP50)} / ${ms(b.submitP99)} ms`),
        '—',
      ],
      ...(first.flow === 'prefer'
        ? ([['submissions not decided within the wait (202, then long-polled)', list.map((b) => int(b.preferFallbacks)), '—']] as Array<
            [string, string[], string]
          >)
        : []),
      ['errors in the window', list.map((b) => b.errors), '0'],
      [
        'decisions per worker transaction (mean over the run)',
        list.map((b) => (b.perTransaction === undefined ? 'n/a' : b.perTransaction.toFixed(1))),
        '—',
      ],
      [
        "HTTP process's event-loop lag p99 (its `nodejs_eventloop_lag_p99_seconds`)",
        list.map((b) => (b.apiLoopLagP99Ms === undefined ? 'n/a' : `${b.apiLoopLagP99Ms.toFixed(0)} ms`)),
        '—',
      ],
      ["HTTP process's resident memory at the end of the window", list.map((b) => `${b.apiRssMiB.toFixed(0)} MiB`), '—'],
    ],
  );
  return { lines: [...lines, '', ...cpuTables(list.map((b) => ({ label: MODE_LABEL[b.mode], cpu: b.cpu })))], met };
}

export function report(f: Figures, runLine: string): { md: string; met: boolean } {
  const { a, c } = f;
  const out: string[] = [];
  let met = true;
  out.push(
    `Service parts ((i), (ii), (iii), (d)) run in ${f.modes.map((m) => MODE_LABEL[m]).join(' and in ')}; (a) and (c) run as separate processes, as before.`,
    '',
  );
  if (f.bare) {
    const { door, burst } = f.bare;
    out.push(
      '## Baseline: the bare door',
      '',
      'A minimal server in the benchmark (`loadtests/bench/throughput/bare-door.main.ts`), started like the roles: Express 5, `express.json()`,',
      "one Redis call per booking (EVALSHA of a tiny script reading a seat count, on a client configured as the service's request-path",
      'client), then `409` problem+json `SOLD_OUT`. Every other figure of this bench is a ratio to it.',
      '',
      '| figure | value |',
      '|---|---|',
      `| closed-loop clients (keep-alive connections), each sending the next booking as soon as the last is answered | ${int(door.connections)} |`,
      `| **409s/s** over the ${door.windowSeconds} s window (after a warm-up) | **${int(door.perSecond)}** (${int(door.answers)} answers) |`,
      `| latency p50 / p99 | ${ms(door.p50)} / ${ms(door.p99)} ms |`,
      `| answers other than 409 SOLD_OUT | ${door.errors} |`,
      `| **${int(burst.users)} users at once** (a connection each, opened beforehand): time until the last answer | **${ms(burst.wallMs)} ms** (p50 / p99 ${ms(burst.p50)} / ${ms(burst.p99)} ms, ${burst.errors} errors) |`,
      '',
      `Bare door. ${cpuTable(door.cpu)}`,
      '',
    );
    if (door.failed > 0 || burst.failed > 0) met = false;
  }
  if (f.doors.length > 0) {
    const verdicts = f.doors.map((d) => {
      const r = ratioOf(d.perSecond, f);
      const ok = atLeast(r, TARGETS.doorRatio) && d.failed === 0;
      met &&= ok;
      return { r, ok };
    });
    out.push(
      "## (i) The service's door for a sold-out event (the admission gate answers 409)",
      '',
      ...columns(
        f.doors.map((d) => MODE_LABEL[d.who as Mode]),
        [
          ['closed-loop clients (keep-alive connections), as for the bare door', f.doors.map((d) => int(d.connections)), '—'],
          [
            `**409s/s** over the ${f.doors[0]!.windowSeconds} s window (after a warm-up)`,
            f.doors.map((d) => `**${int(d.perSecond)}** (${int(d.answers)} answers)`),
            '—',
          ],
          [
            "**ratio to the bare door's req/s**",
            verdicts.map(({ r }) => (r === undefined ? 'n/a' : `**${x(r)}**`)),
            `>= ${TARGETS.doorRatio}×: ${verdicts.map(({ ok }) => verdict(ok)).join(' / ')}`,
          ],
          ['latency p50 / p99', f.doors.map((d) => `${ms(d.p50)} / ${ms(d.p99)} ms`), '—'],
          ['answers other than 409 SOLD_OUT', f.doors.map((d) => d.errors), '0'],
        ],
      ),
      '',
      ...cpuTables(f.doors.map((d) => ({ label: MODE_LABEL[d.who as Mode], cpu: d.cpu }))),
    );
  }
  if (a) {
    const ratio = a.decisionsPerSecond / a.pgbenchTps;
    const okRate = a.decisionsPerSecond >= TARGETS.drainPerSecond;
    const okRatio = ratio >= TARGETS.pgbenchFactor;
    met &&= okRate && okRatio;
    out.push(
      '## (a) One hot event, ample seats: decisions/s through one worker from a filled queue',
      '',
      `| figure | value | target |`,
      '|---|---|---|',
      `| pgbench, 1 client, one booking (conditional UPDATE + INSERT) per transaction | ${int(a.pgbenchTps)} tps | — |`,
      `| requests in the queue (submitted through the API, no worker running) | ${int(a.filled)} in ${int(a.jobs)} jobs (${(a.filled / Math.max(1, a.jobs)).toFixed(1)} per job) | — |`,
      `| submissions/s while filling (256 connections) | ${int(a.fillPerSecond)} | — |`,
      `| **decisions/s, one worker, from the first decision to the last** | **${int(a.decisionsPerSecond)}** (${int(a.decided)} decided, ${a.windowSeconds.toFixed(2)} s) | >= ${int(TARGETS.drainPerSecond)}: ${verdict(okRate)} |`,
      `| decisions/s by \`decided_at\` (first to last decision in the database) | ${int(a.decidedAtSpanPerSecond)} | — |`,
      `| decisions per worker transaction (mean) | ${a.perTransaction === undefined ? 'n/a' : a.perTransaction.toFixed(1)} | — |`,
      `| **ratio to pgbench** | **${ratio.toFixed(2)}×** | >= ${TARGETS.pgbenchFactor}×: ${verdict(okRatio)} |`,
      '',
      cpuTable(a.cpu),
      '',
      'pgbench script (`pgbench -n -c 1 -j 1 -T <s> -M prepared`, on the bench database):',
      '',
      '```',
      a.pgbenchScript.trimEnd(),
      '```',
      '',
    );
  }
  if (f.polls.length > 0) {
    const s = e2eSection(f, f.polls, TARGETS.pollRatio);
    met &&= s.met && f.polls.every((b) => b.perSecond >= TARGETS.endToEndPerSecond);
    out.push('## (ii) End to end over HTTP (submit -> decided), clients submitting and long-polling', '', ...s.lines);
  }
  if (f.prefers.length > 0) {
    const s = e2eSection(f, f.prefers, TARGETS.preferRatio);
    met &&= s.met;
    out.push(
      `## (iii) End to end over HTTP, one request per booking with \`Prefer: wait=${f.prefers[0]!.preferWaitSeconds}\``,
      '',
      ...s.lines,
    );
  }
  if (c) {
    const holdingMB = (c.holdingMiB * 1024 * 1024) / 1e6;
    const ok = holdingMB < TARGETS.rssMB && c.held >= c.requested;
    met &&= ok;
    out.push(
      `## (c) ${int(c.requested)} concurrent long-polling clients on one API process`,
      '',
      '| figure | value | target |',
      '|---|---|---|',
      `| requests submitted (no worker running: they stay pending) | ${int(c.accepted)} of ${int(c.requested)} | — |`,
      `| long-polls (\`?wait=30\`, one connection each) held at the reading | ${int(c.held)} (API's \`booking_long_poll_waiters\`: ${c.waiters === undefined ? 'n/a' : int(c.waiters)}) | ${int(c.requested)} |`,
      `| API VmRSS idle / after the submissions | ${c.afterSubmitMiB ? `${c.idleMiB.toFixed(0)} / ${c.afterSubmitMiB.toFixed(0)} MiB` : 'n/a'} | — |`,
      `| **API VmRSS while holding them** | **${c.holdingMiB.toFixed(0)} MiB (${holdingMB.toFixed(0)} MB)** | < ${TARGETS.rssMB} MB: ${verdict(ok)} |`,
      `| API peak RSS (VmHWM) over its life | ${c.peakMiB.toFixed(0)} MiB | — |`,
      `| of which V8 heap used / allocated while holding (idle: used) | ${c.heapUsedMiB === undefined ? 'n/a' : `${c.heapUsedMiB.toFixed(0)} / ${c.heapTotalMiB?.toFixed(0)} MiB (${c.idleHeapUsedMiB?.toFixed(0)} MiB)`} | — |`,
      `| external (Buffers etc.) while holding | ${c.externalMiB === undefined ? 'n/a' : `${c.externalMiB.toFixed(0)} MiB`} | — |`,
      `| errors | ${c.errors} | — |`,
      '',
      `Open-files limit of the bench and its children: ${c.openFiles}.`,
      '',
    );
  }
  if (f.bursts.length > 0 && f.bare) {
    const list = f.bursts;
    const bare = f.bare.burst;
    const counted = new Set(f.modes.map((m) => countedBurst(f, m)));
    const verdicts = list.map((b) => {
      const r = burstRatioOf(b, f);
      const ok = atMost(r, TARGETS.burstRatio) && b.failed === 0 && b.problems.length === 0;
      if (counted.has(b)) met &&= ok;
      // Any burst losing a user or overselling fails the run, counted or not.
      if (b.failed > 0 || b.problems.length > 0) met = false;
      return { r, ok };
    });
    const flowName = (b: Burst) => (b.flow === 'prefer' ? `Prefer: wait=${f.prefers[0]?.preferWaitSeconds ?? 30}` : 'submit + long-poll');
    out.push(
      `## (d) ${int(list[0]!.users)} users at once for ${int(list[0]!.seats ?? 0)} seats: the time until every one has its final answer`,
      '',
      'Every user on a connection of its own, opened beforehand, after a warm-up round on another event; all send at the same moment. A',
      "final answer is a 409 at the door or the decision (for the admitted: the long-poll's answer, or the `200` of `Prefer: wait`). The",
      'bare door answers the same burst (every user a 409). The default client flow (submit + long-poll) counts for the target; the',
      'Prefer: wait burst is reported beside it.',
      '',
      ...columns(
        ['bare door', ...list.map((b) => `${MODE_LABEL[b.who as Mode]}, ${flowName(b)}`)],
        [
          ['**time until the last final answer**', [`**${ms(bare.wallMs)} ms**`, ...list.map((b) => `**${ms(b.wallMs)} ms**`)], '—'],
          [
            "**ratio to the bare door's time**",
            ['1.00×', ...verdicts.map(({ r }) => (r === undefined ? 'n/a' : `**${x(r)}**`))],
            `<= ${TARGETS.burstRatio}×: ${list.map((b, i) => (counted.has(b) ? verdict(verdicts[i]!.ok) : 'not counted')).join(' / ')}`,
          ],
          ['final answers p50 / p99', [`${ms(bare.p50)} / ${ms(bare.p99)} ms`, ...list.map((b) => `${ms(b.p50)} / ${ms(b.p99)} ms`)], '—'],
          ['confirmed / 409 SOLD_OUT', [`— / ${int(bare.soldOut)}`, ...list.map((b) => `${int(b.confirmed)} / ${int(b.soldOut)}`)], '—'],
          ['users without a final answer', [bare.errors, ...list.map((b) => b.errors)], '0'],
          [
            'seats sold (database) / left',
            ['—', ...list.map((b) => `${int(b.sold ?? 0)} / ${int(b.available ?? 0)}`)],
            'all sold, none oversold',
          ],
          ...(list.some((b) => b.problems.length > 0)
            ? ([['problems', ['—', ...list.map((b) => b.problems.join('; ') || 'none')], 'none']] as Array<[string, string[], string]>)
            : []),
        ],
      ),
      '',
    );
  }
  return { md: [runLine, '', ...out].join('\n'), met };
}
