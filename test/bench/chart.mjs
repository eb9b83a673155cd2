// The lateness chart: p50 and p99 step lateness by task count, asyncdemo beside
// the Python peers and the bare Node peer, as a small standalone SVG (no
// dependencies, renders on GitHub).
// Both axes are logarithmic: N spans four decades, and lateness spans from a
// fraction of a millisecond (one task) to hundreds (ten thousand, in Python).

const WIDTH = 640;
const HEIGHT = 360;
const PAD = { left: 64, right: 160, top: 40, bottom: 48 };
/** Lateness below this is drawn on the bottom line: a log axis has no zero. */
const FLOOR_MS = 0.1;

const SERIES = [
  { peer: 'asyncdemo', stat: 'p99', label: 'asyncdemo p99', color: '#1f6feb', dash: '' },
  { peer: 'asyncdemo', stat: 'p50', label: 'asyncdemo p50', color: '#1f6feb', dash: '5 4' },
  { peer: 'python', stat: 'p99', label: 'Python peer p99', color: '#d9480f', dash: '' },
  { peer: 'python', stat: 'p50', label: 'Python peer p50', color: '#d9480f', dash: '5 4' },
  { peer: 'expert', stat: 'p99', label: 'Python expert p99', color: '#2f9e44', dash: '' },
  { peer: 'expert', stat: 'p50', label: 'Python expert p50', color: '#2f9e44', dash: '5 4' },
  { peer: 'node', stat: 'p99', label: 'bare node p99', color: '#7048e8', dash: '' },
  { peer: 'node', stat: 'p50', label: 'bare node p50', color: '#7048e8', dash: '5 4' },
];

/**
 * @param rows [{ n, asyncdemo: {p50, p99}, python: …, expert: …, node: … }], by increasing n
 * @param title the chart's heading
 */
export function latenessChart(rows, title) {
  const ns = rows.map((r) => r.n);
  const values = rows.flatMap((r) => SERIES.map((s) => r[s.peer]?.[s.stat])).filter((v) => v !== undefined);
  // A quarter decade of room either side, so the end points stand clear of the frame.
  const xMin = Math.log10(Math.min(...ns)) - 0.25;
  const xMax = Math.max(Math.log10(Math.max(...ns)), xMin + 1) + 0.25;
  const yMin = Math.log10(FLOOR_MS);
  const yMax = Math.ceil(Math.log10(Math.max(FLOOR_MS * 10, ...values)));
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const round = (v) => Math.round(v * 10) / 10;
  const x = (n) => round(PAD.left + ((Math.log10(n) - xMin) / (xMax - xMin)) * plotW);
  const y = (ms) => round(PAD.top + plotH - ((Math.log10(Math.max(ms, FLOOR_MS)) - yMin) / (yMax - yMin)) * plotH);

  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`);
  out.push(`<text x="${PAD.left}" y="22" font-size="14" font-weight="bold">${escape(title)}</text>`);
  for (let e = yMin; e <= yMax; e++) {
    const ms = 10 ** e;
    out.push(`<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${y(ms)}" y2="${y(ms)}" stroke="#ddd"/>`);
    const label = e === yMin ? `≤${fmt(ms)}` : fmt(ms);
    out.push(`<text x="${PAD.left - 6}" y="${y(ms) + 4}" text-anchor="end">${label}</text>`);
  }
  for (const n of ns) {
    out.push(`<line x1="${x(n)}" x2="${x(n)}" y1="${PAD.top}" y2="${PAD.top + plotH}" stroke="#eee"/>`);
    out.push(`<text x="${x(n)}" y="${PAD.top + plotH + 16}" text-anchor="middle">${n.toLocaleString('en')}</text>`);
  }
  out.push(`<rect x="${PAD.left}" y="${PAD.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${PAD.left + plotW / 2}" y="${HEIGHT - 10}" text-anchor="middle">tasks (N)</text>`);
  out.push(`<text transform="translate(16 ${PAD.top + plotH / 2}) rotate(-90)" text-anchor="middle">step lateness (ms)</text>`);

  SERIES.forEach((s, i) => {
    const points = rows.filter((r) => r[s.peer]?.[s.stat] !== undefined).map((r) => [x(r.n), y(r[s.peer][s.stat])]);
    if (points.length > 0) {
      const d = points.map(([px, py]) => `${px},${py}`).join(' ');
      out.push(`<polyline points="${d}" fill="none" stroke="${s.color}" stroke-width="2" stroke-dasharray="${s.dash}"/>`);
      for (const [px, py] of points) out.push(`<circle cx="${px}" cy="${py}" r="3" fill="${s.color}"/>`);
    }
    const ly = PAD.top + 10 + i * 20;
    const lx = PAD.left + plotW + 14;
    out.push(`<line x1="${lx}" x2="${lx + 24}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2" stroke-dasharray="${s.dash}"/>`);
    out.push(`<text x="${lx + 30}" y="${ly + 4}">${escape(s.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

const fmt = (ms) => (ms >= 1 ? String(ms) : ms.toFixed(1));
const escape = (text) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
