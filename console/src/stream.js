// One stream's page, in tabs: overview (its settings, live throughput, actions: retention, shard
// count, capacity mode, encryption, delete), shards (hash ranges, the lineage tree, split and
// merge), consumers (enhanced fan-out: register, deregister; their open subscriptions, delivery
// rates and lag from /metrics) and the data viewer.
import { kinesis, kinesisAll } from './api.js';
import { lineage, shortId } from './lineage.js';
import { needSignIn } from './main.js';
import { accountOf, throughput } from './metrics.js';
import { every, fill, h, hours, rate, sparkline, status, when } from './ui.js';
import { viewer } from './viewer.js';

const REFRESH_MS = 2000;
const TABS = [['overview', 'Overview'], ['shards', 'Shards'], ['consumers', 'Consumers'], ['data', 'Data viewer']];

async function act(what, fn) {
  try {
    await fn();
    status(what);
    return true;
  } catch (err) {
    status(`${err.type || 'Error'}: ${err.message}`, 'error');
    return false;
  }
}

function dl(pairs) {
  return h('dl', { class: 'facts' }, pairs.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]));
}

function overview(name, refresh) {
  const facts = h('div', {});
  const charts = h('div', { class: 'charts' });
  const retention = h('input', { id: 'retention-hours', type: 'number', min: 24, max: 8760 });
  const target = h('input', { id: 'shard-target', type: 'number', min: 1 });
  const confirmName = h('input', { id: 'delete-confirm', placeholder: 'type the stream name' });
  let current = null;
  const actions = h('div', { class: 'card actions' },
    h('h3', {}, 'Actions'),
    h('form', { class: 'row', id: 'retention-form', onsubmit: async (e) => {
      e.preventDefault();
      const want = Number(retention.value);
      const op = want >= current.RetentionPeriodHours ? 'IncreaseStreamRetentionPeriod' : 'DecreaseStreamRetentionPeriod';
      if (await act(`Retention set to ${want} hours`, () => kinesis(op, { StreamName: name, RetentionPeriodHours: want }))) refresh();
    } }, h('label', {}, 'Retention (hours)', retention), h('button', { id: 'retention-apply' }, 'Update retention')),
    h('form', { class: 'row', id: 'scale-form', onsubmit: async (e) => {
      e.preventDefault();
      if (await act(`Resharding to ${target.value} shards`, () => kinesis('UpdateShardCount',
        { StreamName: name, TargetShardCount: Number(target.value), ScalingType: 'UNIFORM_SCALING' }))) refresh();
    } }, h('label', {}, 'Open shards (uniform scaling)', target), h('button', { id: 'scale-apply' }, 'Update shard count')),
    h('div', { class: 'row' },
      h('button', { id: 'mode-toggle', onclick: async () => {
        const mode = current.StreamModeDetails?.StreamMode === 'ON_DEMAND' ? 'PROVISIONED' : 'ON_DEMAND';
        if (await act(`Switching to ${mode}`, () => kinesis('UpdateStreamMode',
          { StreamARN: current.StreamARN, StreamModeDetails: { StreamMode: mode } }))) refresh();
      } }, 'Switch capacity mode'),
      h('button', { id: 'encryption-toggle', onclick: async () => {
        const on = current.EncryptionType === 'KMS';
        const input = { StreamName: name, EncryptionType: 'KMS', KeyId: current.KeyId || 'alias/aws/kinesis' };
        if (await act(on ? 'Encryption stopping' : 'Encryption starting',
          () => kinesis(on ? 'StopStreamEncryption' : 'StartStreamEncryption', input))) refresh();
      } }, 'Toggle encryption')),
    h('form', { class: 'row danger', id: 'delete-form', onsubmit: async (e) => {
      e.preventDefault();
      if (confirmName.value !== name) {
        status('Type the stream name to confirm', 'error');
        return;
      }
      if (await act(`Stream ${name} is being deleted`, () => kinesis('DeleteStream', { StreamName: name, EnforceConsumerDeletion: true })))
        location.hash = '#/streams';
    } }, h('label', {}, 'Delete this stream', confirmName), h('button', { id: 'delete-stream', class: 'danger' }, 'Delete')));
  return {
    el: h('div', {}, h('div', { class: 'grid2' }, h('div', { class: 'card' }, h('h3', {}, 'Details'), facts),
      h('div', { class: 'card' }, h('h3', {}, 'Throughput (live)'), charts)), actions),
    update(d) {
      const first = !current;
      current = d;
      if (first) {
        retention.value = d.RetentionPeriodHours;
        target.value = d.OpenShardCount;
      }
      fill(facts, dl([
        ['ARN', h('code', {}, d.StreamARN)],
        ['Status', h('span', { class: 'badge ' + d.StreamStatus, id: 'stream-status' }, d.StreamStatus)],
        ['Capacity mode', d.StreamModeDetails?.StreamMode === 'ON_DEMAND' ? 'On-demand' : 'Provisioned'],
        ['Open shards', h('span', { id: 'open-shards' }, d.OpenShardCount)],
        ['Retention', hours(d.RetentionPeriodHours)],
        ['Encryption', d.EncryptionType === 'KMS' ? `KMS (${d.KeyId})` : 'None'],
        ['Consumers', d.ConsumerCount],
        ['Enhanced monitoring', (d.EnhancedMonitoring?.[0]?.ShardLevelMetrics || []).join(', ') || 'off'],
        ['Created', when(d.StreamCreationTimestamp)],
      ]));
      const account = accountOf(d.StreamARN);
      const r = throughput.now(account, name);
      fill(charts, throughput.available === false ? h('p', { class: 'muted' }, 'This server does not serve /metrics.') : [
        h('div', { class: 'chart' }, h('div', {}, 'Incoming ', h('strong', {}, r ? rate(r.inBytes) : '—'), h('span', { class: 'muted' }, r ? ' · ' + rate(r.inRecords, 'rec') : '')),
          sparkline([throughput.series(account, name, 'inBytes')], { width: 420, height: 70, labels: ['incoming bytes/s'] })),
        h('div', { class: 'chart' }, h('div', {}, 'Outgoing ', h('strong', {}, r ? rate(r.outBytes) : '—'), h('span', { class: 'muted' }, r ? ' · ' + rate(r.outRecords, 'rec') : '')),
          sparkline([[], throughput.series(account, name, 'outBytes')], { width: 420, height: 70, labels: ['', 'outgoing bytes/s'] })),
      ]);
    },
  };
}

function shardsTab(name, refresh) {
  const tree = h('div', { class: 'tree' });
  const body = h('tbody', { id: 'shards-body' });
  const el = h('div', {},
    h('div', { class: 'card' }, h('h3', {}, 'Lineage'), h('p', { class: 'muted small' },
      'Each row is a generation; a box is as wide as its hash-key range. Filled boxes are open shards.'), tree),
    h('div', { class: 'card' }, h('h3', {}, 'Shards'), h('table', { class: 'list', id: 'shards' },
      h('thead', {}, h('tr', {}, ['Shard', 'State', 'Parents', 'Hash key range', 'Sequence numbers', ''].map((t) => h('th', {}, t)))), body)));
  return {
    el,
    update(shards) {
      fill(tree, lineage(shards));
      const open = shards.filter((x) => !x.SequenceNumberRange?.EndingSequenceNumber);
      fill(body, shards.map((x) => {
        const isOpen = !x.SequenceNumberRange?.EndingSequenceNumber;
        const start = BigInt(x.HashKeyRange.StartingHashKey);
        const end = BigInt(x.HashKeyRange.EndingHashKey);
        const next = open.find((o) => BigInt(o.HashKeyRange.StartingHashKey) === end + 1n);
        return h('tr', { 'data-shard': x.ShardId },
          h('td', {}, h('code', {}, x.ShardId)),
          h('td', {}, h('span', { class: 'badge ' + (isOpen ? 'ACTIVE' : 'CLOSED') }, isOpen ? 'open' : 'closed')),
          h('td', { class: 'small' }, [x.ParentShardId, x.AdjacentParentShardId].filter(Boolean).map(shortId).join(' + ') || '—'),
          h('td', { class: 'small mono' }, x.HashKeyRange.StartingHashKey, h('br'), x.HashKeyRange.EndingHashKey),
          h('td', { class: 'small mono' }, x.SequenceNumberRange?.StartingSequenceNumber, h('br'), x.SequenceNumberRange?.EndingSequenceNumber || '(open)'),
          h('td', {}, isOpen && end > start ? h('button', { 'data-split': x.ShardId, onclick: async () => {
            const mid = (start + end + 1n) / 2n;
            if (await act(`Splitting ${x.ShardId}`, () => kinesis('SplitShard',
              { StreamName: name, ShardToSplit: x.ShardId, NewStartingHashKey: mid.toString() }))) refresh();
          } }, 'Split') : null,
          isOpen && next ? h('button', { 'data-merge': x.ShardId, onclick: async () => {
            if (await act(`Merging ${x.ShardId} and ${next.ShardId}`, () => kinesis('MergeShards',
              { StreamName: name, ShardToMerge: x.ShardId, AdjacentShardToMerge: next.ShardId }))) refresh();
          } }, 'Merge with ' + shortId(next.ShardId)) : null));
      }));
    },
  };
}

function consumersTab(refresh) {
  const body = h('tbody', { id: 'consumers-body' });
  const nameInput = h('input', { id: 'consumer-name', required: true, placeholder: 'my-application' });
  let arn = null;
  const form = h('form', { class: 'row', id: 'consumer-form', onsubmit: async (e) => {
    e.preventDefault();
    if (await act(`Registering ${nameInput.value}`, () => kinesis('RegisterStreamConsumer', { StreamARN: arn, ConsumerName: nameInput.value.trim() }))) {
      form.reset();
      refresh();
    }
  } }, h('label', {}, 'Consumer name', nameInput), h('button', { class: 'primary' }, 'Register consumer'));
  return {
    el: h('div', { class: 'card' }, h('h3', {}, 'Enhanced fan-out consumers'),
      h('p', { class: 'muted small' }, 'Subscriptions are the SubscribeToShard streams open now; delivery and lag come from the server\'s /metrics.'),
      h('table', { class: 'list', id: 'consumers' }, h('thead', {}, h('tr', {}, ['Name', 'Status', 'Registered',
        'Subscriptions', 'Delivered', 'Behind latest', 'ARN', ''].map((t) => h('th', {}, t)))), body),
      form),
    update(streamArn, stream, consumers) {
      arn = streamArn;
      const account = accountOf(streamArn);
      fill(body, consumers.length ? consumers.map((c) => {
        const m = throughput.consumer(account, stream, c.ConsumerName);
        return h('tr', { 'data-consumer': c.ConsumerName },
          h('td', {}, c.ConsumerName), h('td', {}, h('span', { class: 'badge ' + c.ConsumerStatus }, c.ConsumerStatus)),
          h('td', {}, when(c.ConsumerCreationTimestamp)),
          h('td', { class: 'num subscriptions' }, m ? String(m.subscriptions) : '0'),
          h('td', { class: 'num delivered' }, m?.rate ? [rate(m.rate.bytes), h('div', { class: 'muted small' }, rate(m.rate.records, 'rec'))] : '—'),
          h('td', { class: 'num behind' }, m && m.subscriptions ? `${Math.round(m.behindSeconds * 1000)} ms` : '—'),
          h('td', { class: 'small mono' }, c.ConsumerARN),
          h('td', {}, h('button', { onclick: async () => {
            if (await act(`Deregistering ${c.ConsumerName}`, () => kinesis('DeregisterStreamConsumer', { ConsumerARN: c.ConsumerARN }))) refresh();
          } }, 'Deregister')));
      }) : h('tr', {}, h('td', { colspan: 8, class: 'muted' }, 'No consumers.')));
    },
  };
}

export function streamPage(root, name, tab) {
  const base = '#/streams/' + encodeURIComponent(name);
  const nav = h('nav', { class: 'tabs' }, TABS.map(([id, label]) =>
    h('a', { href: base + '/' + id, class: tab === id ? 'active' : null, 'data-tab': id }, label)));
  const content = h('div', { id: 'tab-' + tab });
  fill(root, h('div', { class: 'page-head' }, h('a', { href: '#/streams', class: 'muted' }, 'Data streams'), ' / ',
    h('h1', { id: 'stream-name' }, name)), nav, content);
  const refreshNow = () => tick().catch((err) => { if (!needSignIn(err)) status(err.message, 'error'); });
  let view = null;
  let v = null;
  if (tab === 'shards') view = shardsTab(name, refreshNow);
  else if (tab === 'consumers') view = consumersTab(refreshNow);
  else if (tab === 'data') v = viewer(name);
  else view = overview(name, refreshNow);
  fill(content, (view || v).el);

  async function tick() {
    if (tab === 'overview') {
      const [d] = await Promise.all([kinesis('DescribeStreamSummary', { StreamName: name }), throughput.poll()]);
      view.update(d.StreamDescriptionSummary);
    } else if (tab === 'shards') {
      view.update(await kinesisAll('ListShards', { StreamName: name }, 'Shards'));
    } else if (tab === 'consumers') {
      const [summary] = await Promise.all([kinesis('DescribeStreamSummary', { StreamName: name }), throughput.poll()]);
      const d = summary.StreamDescriptionSummary;
      const consumers = await kinesisAll('ListStreamConsumers', { StreamARN: d.StreamARN }, 'Consumers',
        (token) => ({ StreamARN: d.StreamARN, NextToken: token }));
      view.update(d.StreamARN, name, consumers);
    } else if (tab === 'data') {
      v.setShards(await kinesisAll('ListShards', { StreamName: name }, 'Shards'));
    }
    content.dataset.loaded = 'true';
  }

  const stopTimer = every(tab === 'data' ? 10000 : REFRESH_MS, async () => {
    try {
      await tick();
    } catch (err) {
      if (!needSignIn(err)) throw err;
    }
  });
  return () => {
    stopTimer();
    if (v) v.stop();
  };
}
