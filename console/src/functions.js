// The functions page: Sluice's Lambda functions (ListFunctions over REST-JSON) and, where the
// server has them, event-source mappings. A server started with --functions off answers every
// Lambda call with an error, shown here as such.
import { lambda } from './api.js';
import { needSignIn } from './main.js';
import { bytes, every, fill, h, when } from './ui.js';

export function functionsPage(root) {
  const body = h('tbody', { id: 'functions-body' });
  const note = h('p', { class: 'muted', id: 'functions-note' });
  const mappings = h('tbody', { id: 'mappings-body' });
  const mappingsCard = h('div', { class: 'card', hidden: true }, h('h3', {}, 'Event-source mappings'),
    h('table', { class: 'list' }, h('thead', {}, h('tr', {}, ['Function', 'Source', 'State', 'Batch size', 'Last result'].map((t) => h('th', {}, t)))), mappings));
  fill(root, h('div', { class: 'page-head' }, h('h1', {}, 'Functions')),
    h('div', { class: 'card' }, h('table', { class: 'list', id: 'functions' },
      h('thead', {}, h('tr', {}, ['Name', 'Runtime', 'Handler', 'Memory', 'Timeout', 'Code size', 'Last modified'].map((t) => h('th', {}, t)))), body), note),
    mappingsCard);
  return every(5000, async () => {
    try {
      const out = await lambda('GET', '/2015-03-31/functions/');
      const fns = out.Functions || [];
      note.textContent = fns.length ? '' : 'No functions. Create one with the AWS CLI or an SDK (docs/functions.md).';
      fill(body, fns.map((f) => h('tr', { 'data-function': f.FunctionName },
        h('td', { class: 'strong' }, f.FunctionName), h('td', {}, f.Runtime || '—'), h('td', {}, h('code', {}, f.Handler || '—')),
        h('td', { class: 'num' }, f.MemorySize ? f.MemorySize + ' MB' : '—'), h('td', { class: 'num' }, f.Timeout ? f.Timeout + ' s' : '—'),
        h('td', { class: 'num' }, bytes(f.CodeSize)), h('td', {}, when(f.LastModified)))));
    } catch (err) {
      if (needSignIn(err)) return;
      fill(body);
      note.textContent = `Functions are not available: ${err.type}: ${err.message}`;
    }
    try {
      const m = await lambda('GET', '/2015-03-31/event-source-mappings/');
      mappingsCard.hidden = false;
      fill(mappings, (m.EventSourceMappings || []).map((x) => h('tr', {},
        h('td', {}, (x.FunctionArn || '').split(':').pop()), h('td', { class: 'small mono' }, x.EventSourceArn),
        h('td', {}, x.State), h('td', { class: 'num' }, x.BatchSize), h('td', {}, x.LastProcessingResult || '—'))));
    } catch {
      mappingsCard.hidden = true;
    }
  });
}
