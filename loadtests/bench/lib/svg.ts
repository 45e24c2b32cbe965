// A hand-written SVG grouped bar chart: a few panels stacked vertically, each with groups (scenarios)
// of bars (series, e.g. strategies), a value label on every bar, and a legend. No chart library.

export interface Panel {
  title: string;
  /** Axis unit shown after the title, e.g. 'ms (log scale)'. */
  unit: string;
  /** values[group][series]; undefined draws no bar ("n/a"). */
  values: Array<Array<number | undefined>>;
  /** Logarithmic value axis (for latencies spanning orders of magnitude). */
  log?: boolean;
  /** Label of a value on its bar. */
  format: (v: number) => string;
  /** Fixed maximum of the axis (e.g. 100 for percentages). */
  max?: number;
  /** A dashed horizontal line across the panel at `value` (e.g. a latency bound), labelled. */
  threshold?: { value: number; label: string };
}

export interface Chart {
  title: string;
  subtitle: string;
  groups: string[];
  series: Array<{ name: string; color: string }>;
  panels: Panel[];
}

const esc = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** The smallest of 1, 2, 2.5, 5 × 10^k that is >= v. */
function niceStep(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export function barChartSvg(chart: Chart): string {
  const width = 980;
  const left = 70;
  const right = 20;
  const panelHeight = 250;
  // Legend entries flow onto further lines when they do not fit on one.
  const legend: Array<{ x: number; y: number; name: string; color: string }> = [];
  let lx = left;
  let ly = 58;
  for (const s of chart.series) {
    const w = 28 + s.name.length * 7;
    if (lx > left && lx + w > width - right) {
      lx = left;
      ly += 18;
    }
    legend.push({ x: lx, y: ly, name: s.name, color: s.color });
    lx += w;
  }
  const top = 92 + (ly - 58);
  const plotHeight = panelHeight - 70;
  const height = top + chart.panels.length * panelHeight + 10;
  const plotWidth = width - left - right;
  const groupWidth = plotWidth / chart.groups.length;
  const barWidth = Math.min(48, (groupWidth * 0.8) / chart.series.length);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left}" y="26" font-size="17" font-weight="bold">${esc(chart.title)}</text>`,
    `<text x="${left}" y="46" fill="#555">${esc(chart.subtitle)}</text>`,
  );
  for (const l of legend) {
    out.push(
      `<rect x="${l.x}" y="${l.y}" width="12" height="12" fill="${l.color}"/>`,
      `<text x="${l.x + 17}" y="${l.y + 11}">${esc(l.name)}</text>`,
    );
  }
  chart.panels.forEach((panel, p) => {
    const y0 = top + p * panelHeight;
    const base = y0 + 28 + plotHeight;
    const all = [...panel.values.flat(), panel.threshold?.value].filter((v): v is number => v !== undefined && Number.isFinite(v));
    out.push(
      `<text x="${left}" y="${y0 + 14}" font-size="14" font-weight="bold">${esc(panel.title)} <tspan font-weight="normal" fill="#555">${esc(panel.unit)}</tspan></text>`,
    );
    let scale: (v: number) => number;
    const ticks: number[] = [];
    if (panel.log) {
      const positive = all.filter((v) => v > 0);
      const lo = 10 ** Math.floor(Math.log10(Math.min(...positive, 1)));
      const hi = 10 ** Math.ceil(Math.log10(Math.max(...positive, 10)));
      scale = (v) => (plotHeight * (Math.log10(Math.max(v, lo)) - Math.log10(lo))) / (Math.log10(hi) - Math.log10(lo));
      for (let t = lo; t <= hi; t *= 10) ticks.push(t);
    } else {
      const step = panel.max !== undefined ? panel.max / 4 : niceStep(Math.max(...all, 1e-9) / 4);
      const max = panel.max ?? step * Math.ceil(Math.max(...all, 1e-9) / step);
      scale = (v) => (plotHeight * Math.max(0, v)) / max;
      for (let t = 0; t <= max + step / 2; t += step) ticks.push(t);
    }
    for (const t of ticks) {
      const y = base - scale(t);
      out.push(
        `<line x1="${left}" y1="${y.toFixed(1)}" x2="${width - right}" y2="${y.toFixed(1)}" stroke="#e3e3e3"/>`,
        `<text x="${left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" fill="#555">${esc(formatTick(t))}</text>`,
      );
    }
    out.push(`<line x1="${left}" y1="${base}" x2="${width - right}" y2="${base}" stroke="#999"/>`);
    if (panel.threshold) {
      const y = (base - scale(panel.threshold.value)).toFixed(1);
      out.push(
        `<line x1="${left}" y1="${y}" x2="${width - right}" y2="${y}" stroke="#c92a2a" stroke-dasharray="6 4"/>`,
        `<text x="${width - right - 4}" y="${Number(y) - 4}" text-anchor="end" font-size="11" fill="#c92a2a">${esc(panel.threshold.label)}</text>`,
      );
    }
    chart.groups.forEach((group, g) => {
      const gx = left + g * groupWidth;
      const barsWidth = barWidth * chart.series.length;
      const start = gx + (groupWidth - barsWidth) / 2;
      chart.series.forEach((s, i) => {
        const v = panel.values[g]?.[i];
        const x = start + i * barWidth;
        if (v === undefined || !Number.isFinite(v)) {
          out.push(`<text x="${(x + barWidth / 2).toFixed(1)}" y="${base - 4}" text-anchor="middle" font-size="10" fill="#999">n/a</text>`);
          return;
        }
        const h = Math.max(1, scale(v));
        out.push(
          `<rect x="${(x + 2).toFixed(1)}" y="${(base - h).toFixed(1)}" width="${(barWidth - 4).toFixed(1)}" height="${h.toFixed(1)}" fill="${s.color}"><title>${esc(`${group} / ${s.name}: ${panel.format(v)}`)}</title></rect>`,
          `<text x="${(x + barWidth / 2).toFixed(1)}" y="${(base - h - 4).toFixed(1)}" text-anchor="middle" font-size="10">${esc(panel.format(v))}</text>`,
        );
      });
      out.push(`<text x="${(gx + groupWidth / 2).toFixed(1)}" y="${base + 18}" text-anchor="middle">${esc(group)}</text>`);
    });
  });
  out.push('</svg>', '');
  return out.join('\n');
}

function formatTick(t: number): string {
  if (t >= 1000) return `${(t / 1000).toLocaleString('en-US', { maximumFractionDigits: 1 })}k`;
  if (t >= 1 || t === 0) return t.toLocaleString('en-US', { maximumFractionDigits: 2 });
  return String(t);
}
