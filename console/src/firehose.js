// The Firehose pages: the delivery streams of the account (ListDeliveryStreams, then
// DescribeDeliveryStream for each: status, source, destination, live incoming and delivered
// rates from /metrics) and one delivery stream's page (its description, its destination's
// settings: bucket, prefixes, buffering hints, compression or the HTTP endpoint, and its
// AWS/Firehose numbers: totals and rates, throttled records, data freshness).
import { firehose } from './api.js';
import { needSignIn } from './main.js';
import { bytes, every, fill, h, rate, sparkline, when } from './ui.js';

const REFRESH_MS = 2000;
const HISTORY = 60;

// sluice_firehose_<name>{delivery_stream_name="..."} -> { stream: { name: value } }
export function parseFirehose(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^sluice_firehose_([a-z0-9_]+)\{(.*)\}\s+(\S+)/.exec(line);
    if (!m) continue;
    const stream = /delivery_stream_name="((?:[^"\\]|\\.)*)"/.exec(m[2]);
    if (!stream) continue;
    (out[stream[1]] ||= {})[m[1]] = Number(m[3]) || 0;
  }
  return out;
}

// Polls /metrics; keeps each delivery stream's totals and per-second rates of its counters.
class FirehoseMetrics {
  constructor() {
    this.now = {};
    this.rates = {};
    this.history = new Map();
    this.time = 0;
    this.available = null;
  }

  async poll() {
    let text;
    try {
      const res = await fetch('/metrics', { headers: { accept: 'text/plain' } });
      if (!res.ok) throw new Error(String(res.status));
      text = await res.text();
    } catch {
      this.available = false;
      return;
    }
    this.available = true;
    const t = performance.now();
    const now = parseFirehose(text);
    if (this.time) {
      const seconds = Math.max(0.001, (t - this.time) / 1000);
      for (const [stream, m] of Object.entries(now)) {
        const before = this.now[stream] || {};
        const r = {};
        for (const [k, v] of Object.entries(m))
          if (k.endsWith('_total')) r[k] = Math.max(0, v - (before[k] || 0)) / seconds;
        this.rates[stream] = r;
        const list = this.history.get(stream) || [];
        list.push(r);
        if (list.length > HISTORY) list.shift();
        this.history.set(stream, list);
      }
    }
    this.now = now;
    this.time = t;
  }

  delivered(m) {
    return (m?.delivery_to_s3_bytes_total || 0) + (m?.delivery_to_http_endpoint_bytes_total || 0);
  }

  deliveredRecords(m) {
    return (m?.delivery_to_s3_records_total || 0) + (m?.delivery_to_http_endpoint_records_total || 0);
  }
}

const metrics = new FirehoseMetrics();

// Where a delivery stream delivers: [kind, the main place, its description].
function destinationOf(d) {
  const dest = (d.Destinations || [])[0] || {};
  const s3 = dest.ExtendedS3DestinationDescription || dest.S3DestinationDescription;
  if (s3) return ['Amazon S3', (s3.BucketARN || '').replace('arn:aws:s3:::', 's3://') + '/' + (s3.Prefix || ''), s3];
  const http = dest.HttpEndpointDestinationDescription;
  if (http) return ['HTTP endpoint', http.EndpointConfiguration?.Url || '—', http];
  const other = Object.keys(dest).find((k) => k.endsWith('DestinationDescription'));
  return [other ? other.replace('DestinationDescription', '') : '—', '—', other ? dest[other] : {}];
}

function sourceOf(d) {
  const k = d.Source?.KinesisStreamSourceDescription;
  return k ? 'Kinesis stream ' + k.KinesisStreamARN.split('/').pop() : 'Direct PUT';
}

export function firehosePage(root) {
  const body = h('tbody', { id: 'delivery-streams-body' });
  const empty = h('p', { class: 'muted', id: 'delivery-streams-empty', hidden: true },
    'No delivery streams yet: create one with the AWS CLI or an SDK (docs/firehose.md).');
  const note = h('p', { class: 'muted small', id: 'firehose-note', hidden: true });
  fill(root, h('div', { class: 'page-head' }, h('h1', {}, 'Delivery streams')),
    h('div', { class: 'card' }, h('table', { class: 'list', id: 'delivery-streams' },
      h('thead', {}, h('tr', {}, ['Name', 'Status', 'Source', 'Destination', 'Incoming', 'Delivered', 'Last 2 min']
        .map((t) => h('th', {}, t)))), body), empty, note));
  const descriptions = new Map();
  return every(REFRESH_MS, async () => {
    try {
      const [list] = await Promise.all([firehose('ListDeliveryStreams', { Limit: 10000 }), metrics.poll()]);
      const names = list.DeliveryStreamNames || [];
      await Promise.all(names.map(async (n) => {
        try {
          descriptions.set(n, (await firehose('DescribeDeliveryStream', { DeliveryStreamName: n })).DeliveryStreamDescription);
        } catch {
          descriptions.delete(n);
        }
      }));
      empty.hidden = names.length > 0;
      note.hidden = metrics.available !== false;
      note.textContent = 'Rates need the server\'s /metrics endpoint, which this server does not serve.';
      fill(body, [...names].sort().map((n) => {
        const d = descriptions.get(n) || {};
        const [kind, where] = destinationOf(d);
        const r = metrics.rates[n];
        const hist = metrics.history.get(n) || [];
        return h('tr', { 'data-delivery-stream': n },
          h('td', {}, h('a', { href: '#/firehose/' + encodeURIComponent(n), class: 'strong' }, n)),
          h('td', {}, h('span', { class: 'badge ' + (d.DeliveryStreamStatus || '') }, d.DeliveryStreamStatus || '—')),
          h('td', {}, sourceOf(d)),
          h('td', { class: 'destination' }, h('div', {}, kind), h('div', { class: 'muted small mono' }, where)),
          h('td', { class: 'num incoming' }, r ? [rate(r.incoming_bytes_total || 0), h('div', { class: 'muted small' }, rate(r.incoming_records_total || 0, 'rec'))] : '—'),
          h('td', { class: 'num delivered' }, r ? [rate(metrics.delivered(r)), h('div', { class: 'muted small' }, rate(metrics.deliveredRecords(r), 'rec'))] : '—'),
          h('td', {}, sparkline([hist.map((p) => p.incoming_bytes_total || 0), hist.map((p) => metrics.delivered(p))],
            { labels: ['incoming bytes/s', 'delivered bytes/s'] })));
      }));
      root.querySelector('#delivery-streams')?.setAttribute('data-loaded', 'true');
    } catch (err) {
      if (!needSignIn(err)) throw err;
    }
  });
}

function dl(pairs) {
  return h('dl', { class: 'facts' }, pairs.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]));
}

function destinationFacts(kind, where, dest) {
  const pairs = [['Type', kind], ['Delivers to', h('span', { class: 'mono', id: 'fh-destination' }, where)]];
  if (dest.BufferingHints) pairs.push(['Buffering', `${dest.BufferingHints.SizeInMBs} MiB or ${dest.BufferingHints.IntervalInSeconds} s`]);
  if (dest.CompressionFormat) pairs.push(['Compression', dest.CompressionFormat]);
  if (dest.ErrorOutputPrefix) pairs.push(['Error prefix', h('span', { class: 'mono' }, dest.ErrorOutputPrefix)]);
  if (dest.S3BackupMode) pairs.push(['S3 backup', dest.S3BackupMode]);
  if (dest.EndpointConfiguration?.Name) pairs.push(['Endpoint name', dest.EndpointConfiguration.Name]);
  if (dest.RequestConfiguration?.ContentEncoding) pairs.push(['Content encoding', dest.RequestConfiguration.ContentEncoding]);
  if (dest.RetryOptions?.DurationInSeconds !== undefined) pairs.push(['Retries for', `${dest.RetryOptions.DurationInSeconds} s`]);
  if (dest.DynamicPartitioningConfiguration?.Enabled) pairs.push(['Dynamic partitioning', 'on']);
  return dl(pairs);
}

export function deliveryStreamPage(root, name) {
  const facts = h('div', { id: 'fh-facts' });
  const dest = h('div', { id: 'fh-dest' });
  const numbers = h('div', { id: 'fh-metrics' });
  const charts = h('div', { class: 'charts' });
  fill(root, h('div', { class: 'page-head' }, h('a', { href: '#/firehose', class: 'muted' }, 'Delivery streams'), ' / ',
    h('h1', { id: 'delivery-stream-name' }, name)),
  h('div', { class: 'card' }, h('h3', {}, 'Delivery stream'), facts),
  h('div', { class: 'card' }, h('h3', {}, 'Destination'), dest),
  h('div', { class: 'card' }, h('h3', {}, 'Metrics (AWS/Firehose)'), numbers, charts));
  return every(REFRESH_MS, async () => {
    try {
      const [out] = await Promise.all([firehose('DescribeDeliveryStream', { DeliveryStreamName: name }), metrics.poll()]);
      const d = out.DeliveryStreamDescription;
      fill(facts, dl([
        ['ARN', h('span', { class: 'mono small' }, d.DeliveryStreamARN)],
        ['Status', h('span', { class: 'badge ' + d.DeliveryStreamStatus, id: 'fh-status' }, d.DeliveryStreamStatus)],
        ['Source', sourceOf(d)],
        ['Encryption', d.DeliveryStreamEncryptionConfiguration?.Status || 'DISABLED'],
        ['Version', d.VersionId],
        ['Created', when(d.CreateTimestamp)],
      ]));
      const [kind, where, desc] = destinationOf(d);
      fill(dest, destinationFacts(kind, where, desc));
      const m = metrics.now[name] || {};
      const r = metrics.rates[name] || {};
      const hist = metrics.history.get(name) || [];
      const freshness = m.delivery_to_s3_data_freshness_seconds;
      fill(numbers, dl([
        ['Incoming', h('span', { id: 'fh-incoming' }, `${m.incoming_records_total || 0} records, ${bytes(m.incoming_bytes_total || 0)}`)],
        ['Incoming now', `${rate(r.incoming_bytes_total || 0)} · ${rate(r.incoming_records_total || 0, 'rec')}`],
        ['Put requests', String(m.incoming_put_requests_total || 0)],
        ['Delivered', h('span', { id: 'fh-delivered' }, `${metrics.deliveredRecords(m)} records, ${bytes(metrics.delivered(m))}`)],
        ['Objects delivered', h('span', { id: 'fh-objects' }, String(m.delivery_to_s3_objects_total || 0))],
        ['Throttled records', String(m.throttled_records_total || 0)],
        ['Data freshness', freshness !== undefined ? `${freshness.toFixed(1)} s` : '—'],
        ['Read from the Kinesis stream', m.data_read_from_kinesis_stream_records_total !== undefined
          ? `${m.data_read_from_kinesis_stream_records_total} records` : '—'],
      ]));
      fill(charts, sparkline([hist.map((p) => p.incoming_bytes_total || 0), hist.map((p) => metrics.delivered(p))],
        { width: 480, height: 80, labels: ['incoming bytes/s', 'delivered bytes/s'] }));
      root.querySelector('#fh-facts').dataset.loaded = 'true';
    } catch (err) {
      if (!needSignIn(err)) fill(facts, h('p', { class: 'error' }, `${err.type || 'Error'}: ${err.message}`));
    }
  });
}
