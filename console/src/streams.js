// The data streams page: every stream of the account with its mode, status, retention,
// encryption, open shard count, consumers and live in/out throughput (from /metrics), refreshed
// every few seconds; and the form that creates a stream.
import { kinesis, kinesisAll } from './api.js';
import { needSignIn } from './main.js';
import { accountOf, throughput } from './metrics.js';
import { bytes, every, fill, h, hours, rate, sparkline, status } from './ui.js';

const REFRESH_MS = 2000;

function createForm(onCreated) {
  const mode = h('select', { id: 'create-mode' }, h('option', { value: 'PROVISIONED' }, 'Provisioned'),
    h('option', { value: 'ON_DEMAND' }, 'On-demand'));
  const shards = h('input', { id: 'create-shards', type: 'number', min: 1, value: 1 });
  const shardsLabel = h('label', {}, 'Shards', shards);
  mode.addEventListener('change', () => { shardsLabel.hidden = mode.value === 'ON_DEMAND'; });
  const form = h('form', { class: 'card create', id: 'create-form' },
    h('h3', {}, 'Create a data stream'),
    h('div', { class: 'row' },
      h('label', {}, 'Name', h('input', { id: 'create-name', required: true, pattern: '[a-zA-Z0-9_.\\-]{1,128}', placeholder: 'orders' })),
      h('label', {}, 'Capacity mode', mode), shardsLabel,
      h('button', { id: 'create-submit', class: 'primary', type: 'submit' }, 'Create')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = form.querySelector('#create-name').value.trim();
    const input = { StreamName: name, StreamModeDetails: { StreamMode: mode.value } };
    if (mode.value === 'PROVISIONED') input.ShardCount = Number(shards.value);
    try {
      await kinesis('CreateStream', input);
      status(`Stream ${name} is being created`);
      form.reset();
      shards.value = 1;
      shardsLabel.hidden = false;
      onCreated();
    } catch (err) {
      status(`${err.type}: ${err.message}`, 'error');
    }
  });
  return form;
}

export function streamsPage(root) {
  const body = h('tbody', { id: 'streams-body' });
  const table = h('table', { class: 'list', id: 'streams' },
    h('thead', {}, h('tr', {}, ['Name', 'Status', 'Mode', 'Open shards', 'Retention', 'Encryption', 'Consumers',
      'Incoming', 'Outgoing', 'On disk', 'Last 2 min'].map((t) => h('th', {}, t)))), body);
  const storageNote = h('p', { class: 'muted small', id: 'storage-total', hidden: true });
  const empty = h('p', { class: 'muted', id: 'streams-empty', hidden: true }, 'No data streams yet: create one below.');
  const metricsNote = h('p', { class: 'muted small', id: 'metrics-note', hidden: true },
    'Throughput needs the server\'s /metrics endpoint, which this server does not serve.');
  fill(root, h('div', { class: 'page-head' }, h('h1', {}, 'Data streams')), h('div', { class: 'card' }, table, empty, metricsNote, storageNote),
    createForm(() => refresh()));
  const summaries = new Map();

  async function refresh() {
    const [list] = await Promise.all([
      kinesisAll('ListStreams', {}, 'StreamSummaries', (token) => ({ NextToken: token })),
      throughput.poll(),
    ]);
    await Promise.all(list.map(async (s) => {
      try {
        const d = (await kinesis('DescribeStreamSummary', { StreamName: s.StreamName })).StreamDescriptionSummary;
        summaries.set(s.StreamName, d);
      } catch {
        summaries.delete(s.StreamName);
      }
    }));
    empty.hidden = list.length > 0;
    metricsNote.hidden = throughput.available !== false;
    const total = throughput.storage.total;
    storageNote.hidden = !total;
    if (total) fill(storageNote, `Storage: ${total.segments} segment${total.segments === 1 ? '' : 's'}, ${bytes(total.bytes)} on disk (every stream and delivery-stream buffer)`);
    fill(body, list.sort((a, b) => a.StreamName.localeCompare(b.StreamName)).map((s) => {
      const d = summaries.get(s.StreamName) || {};
      const account = accountOf(s.StreamARN || d.StreamARN);
      const r = throughput.now(account, s.StreamName);
      const disk = throughput.disk(account, s.StreamName);
      const href = '#/streams/' + encodeURIComponent(s.StreamName);
      return h('tr', { 'data-stream': s.StreamName },
        h('td', {}, h('a', { href, class: 'strong' }, s.StreamName)),
        h('td', {}, h('span', { class: 'badge ' + (d.StreamStatus || s.StreamStatus) }, d.StreamStatus || s.StreamStatus)),
        h('td', {}, (d.StreamModeDetails || s.StreamModeDetails)?.StreamMode === 'ON_DEMAND' ? 'On-demand' : 'Provisioned'),
        h('td', { class: 'num' }, d.OpenShardCount ?? '—'),
        h('td', {}, d.RetentionPeriodHours ? hours(d.RetentionPeriodHours) : '—'),
        h('td', {}, d.EncryptionType === 'KMS' ? 'KMS' : 'None'),
        h('td', { class: 'num' }, d.ConsumerCount ?? '—'),
        h('td', { class: 'num' }, r ? [rate(r.inBytes), h('div', { class: 'muted small' }, rate(r.inRecords, 'rec'))] : '—'),
        h('td', { class: 'num' }, r ? [rate(r.outBytes), h('div', { class: 'muted small' }, rate(r.outRecords, 'rec'))] : '—'),
        h('td', { class: 'num disk' }, disk ? [bytes(disk.bytes), h('div', { class: 'muted small' }, `${disk.segments} segment${disk.segments === 1 ? '' : 's'}`)] : '—'),
        h('td', {}, sparkline([throughput.series(account, s.StreamName, 'inBytes'), throughput.series(account, s.StreamName, 'outBytes')],
          { labels: ['incoming bytes/s', 'outgoing bytes/s'] })));
    }));
    root.querySelector('#streams')?.setAttribute('data-loaded', 'true');
  }

  return every(REFRESH_MS, async () => {
    try {
      await refresh();
    } catch (err) {
      if (!needSignIn(err)) throw err;
    }
  });
}
