// Small DOM helpers shared by the pages: element creation (text is always set as text, never as
// HTML, so record data and names cannot inject markup), number formats, a sparkline chart and the
// page's status line.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElementNS(
    tag === 'svg' || attrs.svg ? 'http://www.w3.org/2000/svg' : 'http://www.w3.org/1999/xhtml', tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false || k === 'svg') continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value' && 'value' in el) el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function s(tag, attrs = {}, ...children) {
  return h(tag, { ...attrs, svg: true }, ...children);
}

export function bytes(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return (i === 0 ? Math.round(n) : n.toFixed(n < 10 ? 1 : 0)) + ' ' + units[i];
}

export function rate(n, unit = 'B') {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  return unit === 'B' ? bytes(n) + '/s' : (n < 10 ? n.toFixed(1) : Math.round(n)) + ' ' + unit + '/s';
}

export function when(t) {
  if (t === null || t === undefined) return '—';
  const d = typeof t === 'number' ? new Date(t < 1e12 ? t * 1000 : t) : new Date(t);
  return d.toLocaleString(undefined, { hour12: false });
}

export function hours(h) {
  return h % 24 === 0 ? `${h / 24} day${h === 24 ? '' : 's'} (${h} h)` : `${h} hours`;
}

// A small line chart of the last values of one or two series (SVG, no library).
export function sparkline(series, { width = 160, height = 36, labels = [] } = {}) {
  const all = series.flat().filter((v) => v !== null && v !== undefined);
  const max = Math.max(1, ...all) * 1.15;
  const svg = s('svg', { class: 'spark', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
    preserveAspectRatio: 'none' });
  series.forEach((values, i) => {
    if (!values.length) return;
    const step = width / Math.max(1, values.length - 1);
    const pts = values.map((v, j) => `${(j * step).toFixed(1)},${(height - 2 - ((v || 0) / max) * (height - 4)).toFixed(1)}`);
    svg.append(s('polyline', { class: 'series' + i, points: pts.join(' '), fill: 'none', 'vector-effect': 'non-scaling-stroke' },
      labels[i] ? s('title', {}, labels[i]) : null));
  });
  return svg;
}

let statusTimer = null;

// Shows a message in the page's status line (errors stay until the next message).
export function status(message, kind = 'info') {
  let el = document.getElementById('status');
  if (!el) {
    el = h('div', { id: 'status', role: 'status' });
    document.body.append(el);
  }
  el.textContent = message;
  el.className = 'status ' + kind + (message ? ' shown' : '');
  clearTimeout(statusTimer);
  if (kind !== 'error' && message) statusTimer = setTimeout(() => el.classList.remove('shown'), 3000);
}

// Replaces the children of `el`.
export function fill(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false)
    .map((c) => (c instanceof Node ? c : document.createTextNode(String(c)))));
  return el;
}

// A periodic task that stops when the page changes: returns stop().
export function every(ms, fn) {
  let stopped = false;
  let timer = null;
  const run = async () => {
    if (stopped) return;
    try {
      await fn();
    } catch (e) {
      status(e.message, 'error');
    }
    if (!stopped) timer = setTimeout(run, ms);
  };
  run();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
