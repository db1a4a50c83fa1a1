// A small SVG writer for the load bench's plot (test/system/load.bench.ts): panels stacked
// vertically, each with a time axis in seconds, a linear or log y axis, points, bars and lines,
// and a legend. No dependencies: it returns the SVG text.

export interface Series {
  label: string;
  color: string;
  kind: "points" | "bars" | "line";
  /** [x, y] pairs; for bars x is the window's start and `width` its length. */
  data: [number, number][];
  width?: number;
  /** Marker: a circle, or a cross (points only). */
  marker?: "circle" | "cross";
}

export interface Panel {
  title: string;
  yLabel: string;
  log?: boolean;
  series: Series[];
}

export interface Plot {
  title: string;
  xLabel: string;
  /** Shaded spans of the x axis with a label (e.g. the phases of the run). */
  spans?: { from: number; to: number; label: string }[];
  panels: Panel[];
}

const W = 900;
const PANEL_H = 230;
const M = { left: 70, right: 190, top: 40, bottom: 40 };

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const fmt = (v: number) =>
  Number.isInteger(v)
    ? String(v)
    : Math.abs(v) >= 1
      ? v.toFixed(1)
      : String(Number(v.toPrecision(2)));

/** About `count` round tick values covering [lo, hi]. */
function niceTicks(lo: number, hi: number, count = 6): number[] {
  const span = hi - lo || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Number(v.toPrecision(12)));
  return out;
}

export function renderPlot(plot: Plot): string {
  const allX = plot.panels.flatMap((p) =>
    p.series.flatMap((s) => s.data.map(([x]) => x + (s.kind === "bars" ? (s.width ?? 0) : 0))),
  );
  const xMax = Math.max(1, ...allX, ...(plot.spans ?? []).map((s) => s.to));
  const innerW = W - M.left - M.right;
  const sx = (x: number) => M.left + (x / xMax) * innerW;
  const height = M.top + plot.panels.length * PANEL_H + 10;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${height}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(plot.title)}</text>`,
  ];
  plot.panels.forEach((panel, pi) => {
    const top = M.top + pi * PANEL_H;
    const bottom = top + PANEL_H - M.bottom;
    const ys = panel.series.flatMap((s) => s.data.map(([, y]) => y)).filter((y) => y > 0);
    let sy: (y: number) => number;
    let ticks: number[];
    if (panel.log) {
      const lo = 10 ** Math.floor(Math.log10(Math.min(...ys, 1)));
      const hi = 10 ** Math.ceil(Math.log10(Math.max(...ys, lo * 10)));
      sy = (y) =>
        bottom -
        ((Math.log10(Math.max(y, lo)) - Math.log10(lo)) / Math.log10(hi / lo)) * (bottom - top);
      ticks = [];
      for (let v = lo; v <= hi * 1.0001; v *= 10) ticks.push(v);
    } else {
      const hi = Math.max(...ys, 1) * 1.1;
      ticks = niceTicks(0, hi);
      const top2 = Math.max(hi, ticks[ticks.length - 1]!);
      sy = (y) => bottom - (y / top2) * (bottom - top);
    }
    for (const [si, span] of (plot.spans ?? []).entries())
      out.push(
        `<rect x="${sx(span.from).toFixed(1)}" y="${top}" width="${(sx(span.to) - sx(span.from)).toFixed(1)}" height="${bottom - top}" fill="${si % 2 ? "#eef3fa" : "#f4f4f4"}"/>`,
        pi === 0
          ? `<text x="${((sx(span.from) + sx(span.to)) / 2).toFixed(1)}" y="${top + 12}" text-anchor="middle" fill="#777">${esc(span.label)}</text>`
          : "",
      );
    out.push(
      `<text x="${M.left}" y="${top - 6}" font-weight="bold">${esc(panel.title)}</text>`,
      `<line x1="${M.left}" y1="${bottom}" x2="${M.left + innerW}" y2="${bottom}" stroke="black"/>`,
      `<line x1="${M.left}" y1="${top}" x2="${M.left}" y2="${bottom}" stroke="black"/>`,
      `<text transform="translate(${M.left - 48},${(top + bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(panel.yLabel)}</text>`,
    );
    for (const t of ticks) {
      const y = sy(t).toFixed(1);
      out.push(
        `<line x1="${M.left}" y1="${y}" x2="${M.left + innerW}" y2="${y}" stroke="#ddd"/>`,
        `<text x="${M.left - 4}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmt(t)}</text>`,
      );
    }
    for (const t of niceTicks(0, xMax, 10)) {
      const x = sx(t).toFixed(1);
      out.push(
        `<line x1="${x}" y1="${bottom}" x2="${x}" y2="${bottom + 4}" stroke="black"/>`,
        `<text x="${x}" y="${bottom + 15}" text-anchor="middle">${fmt(t)}</text>`,
      );
    }
    if (pi === plot.panels.length - 1)
      out.push(
        `<text x="${M.left + innerW / 2}" y="${bottom + 30}" text-anchor="middle">${esc(plot.xLabel)}</text>`,
      );
    panel.series.forEach((s, si) => {
      if (s.kind === "bars") {
        const bars = panel.series.filter((x) => x.kind === "bars");
        const slot = bars.indexOf(s);
        for (const [x, y] of s.data) {
          const w = (sx(x + (s.width ?? 1)) - sx(x)) / bars.length;
          const x0 = sx(x) + slot * w;
          out.push(
            `<rect x="${x0.toFixed(1)}" y="${sy(y).toFixed(1)}" width="${Math.max(0.5, w - 0.5).toFixed(1)}" height="${(bottom - sy(y)).toFixed(1)}" fill="${s.color}"/>`,
          );
        }
      } else if (s.kind === "line") {
        const pts = s.data.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ");
        out.push(`<polyline points="${pts}" fill="none" stroke="${s.color}" stroke-width="1.5"/>`);
      } else {
        for (const [x, y] of s.data) {
          const cx = sx(x).toFixed(1);
          const cy = sy(y).toFixed(1);
          out.push(
            s.marker === "cross"
              ? `<path d="M${+cx - 3},${+cy - 3}l6,6m0,-6l-6,6" stroke="${s.color}" stroke-width="1.2"/>`
              : `<circle cx="${cx}" cy="${cy}" r="2.5" fill="${s.color}" fill-opacity="0.75"/>`,
          );
        }
      }
      const ly = top + 8 + si * 15;
      const lx = M.left + innerW + 12;
      const mark =
        s.kind === "line"
          ? `<line x1="${lx}" y1="${ly}" x2="${lx + 14}" y2="${ly}" stroke="${s.color}" stroke-width="2"/>`
          : s.marker === "cross"
            ? `<path d="M${lx + 4},${ly - 3}l6,6m0,-6l-6,6" stroke="${s.color}" stroke-width="1.2"/>`
            : s.kind === "bars"
              ? `<rect x="${lx}" y="${ly - 5}" width="14" height="10" fill="${s.color}"/>`
              : `<circle cx="${lx + 7}" cy="${ly}" r="3" fill="${s.color}"/>`;
      out.push(mark, `<text x="${lx + 20}" y="${ly + 4}">${esc(s.label)}</text>`);
    });
  });
  out.push("</svg>");
  return out.filter((l) => l !== "").join("\n") + "\n";
}
