/* The usage bar chart: an SVG with one <rect data-testid="usage-bar" data-value=N> per bucket. */

import { svg } from './dom.js';
import { t } from './i18n.js';
import { fmtInt, formatMoney } from './format.js';

/** SVG bar chart: one <rect data-testid="usage-bar" data-value=N> per bucket. */
export function barChart(buckets, metric) {
  const W = 640;
  const H = 240;
  const padL = 64;
  const padR = 10;
  const padT = 14;
  const padB = 34;
  const fmt = (v) => (metric === 'cost' ? formatMoney(Math.round(v)) : fmtInt(Math.round(v * 10) / 10));
  const chart = svg('svg', {
    viewBox: `0 0 ${W} ${H}`,
    class: 'chart',
    testid: 'usage-chart',
    role: 'img',
    'aria-label': t('usage.chartLabel', { metric: t('usage.metric.' + metric) }),
    'data-metric': metric,
    preserveAspectRatio: 'xMidYMid meet',
  });
  const plotH = H - padT - padB;
  const plotW = W - padL - padR;
  const values = buckets.map((b) => b.value);
  const max = Math.max(0, ...values) || 1;
  for (const frac of [0, 0.5, 1]) {
    const y = padT + plotH - frac * plotH;
    chart.appendChild(svg('line', { x1: padL, x2: W - padR, y1: y, y2: y, class: 'grid' }));
    chart.appendChild(svg('text', { x: padL - 6, y: y + 4, class: 'axis', 'text-anchor': 'end' }, fmt(max * frac)));
  }
  if (!buckets.length) {
    chart.appendChild(
      svg(
        'text',
        { x: padL + plotW / 2, y: padT + plotH / 2, class: 'axis empty', 'text-anchor': 'middle' },
        t('usage.noData'),
      ),
    );
    return chart;
  }
  const slot = plotW / buckets.length;
  const bw = Math.max(1, Math.min(44, slot * 0.7));
  const every = Math.max(1, Math.ceil(buckets.length / 8));
  buckets.forEach((b, i) => {
    const hgt = b.value > 0 ? Math.max(1, (b.value / max) * plotH) : 0;
    const x = padL + i * slot + (slot - bw) / 2;
    const y = padT + plotH - hgt;
    chart.appendChild(
      svg(
        'rect',
        {
          x: x.toFixed(2),
          y: y.toFixed(2),
          width: bw.toFixed(2),
          height: hgt.toFixed(2),
          rx: Math.min(3, bw / 3).toFixed(2),
          class: 'bar',
          testid: 'usage-bar',
          'data-value': b.value,
          'data-day': b.label,
        },
        svg('title', null, `${b.label}: ${fmt(b.value)}`),
      ),
    );
    if (i % every === 0) {
      chart.appendChild(
        svg(
          'text',
          { x: (x + bw / 2).toFixed(2), y: H - padB + 16, class: 'axis', 'text-anchor': 'middle' },
          b.label.length === 10 ? b.label.slice(5) : b.label,
        ),
      );
    }
  });
  return chart;
}
