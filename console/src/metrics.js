// Live throughput of streams: the page polls Sluice's Prometheus endpoint (/metrics) and turns
// the counters of each stream (CloudWatch's IncomingBytes, IncomingRecords, GetRecords.Bytes,
// GetRecords.Records under their Prometheus names) into rates between two polls. History is
// kept while the page is open (the last HISTORY points). A server without /metrics answers 404:
// rates then show as "—".

const HISTORY = 60;

// Which counter a sample name is, by the CloudWatch metric it carries.
// A histogram counts through its _sum; its _count and _bucket lines are skipped.
function kindOf(name) {
  if (/_(bucket|count)$/.test(name)) return null;
  const n = name.toLowerCase().replace(/_(total|sum)$/, '');
  if (n.endsWith('incoming_bytes')) return 'inBytes';
  if (n.endsWith('incoming_records')) return 'inRecords';
  if (n.endsWith('get_records_bytes') || n.endsWith('outgoing_bytes')) return 'outBytes';
  if (n.endsWith('get_records_records') || n.endsWith('outgoing_records')) return 'outRecords';
  return null;
}

function labelsOf(text) {
  const labels = {};
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  let m;
  while ((m = re.exec(text))) labels[m[1]] = m[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
  return labels;
}

// The key of a stream's series: Sluice labels them with the account (one server holds several)
// and the stream name.
export function seriesKey(account, stream) {
  return `${account || ''}/${stream}`;
}

// The account of a stream ARN (arn:aws:kinesis:region:account:stream/name), or ''.
export function accountOf(arn) {
  return (arn || '').split(':')[4] || '';
}

// Prometheus text -> { 'account/stream': { inBytes, inRecords, outBytes, outRecords } }
// (stream-level samples only: a shard-level sample carries a shard label and would count twice).
export function parseMetrics(text) {
  const out = {};
  for (const line of text.split('\n')) {
    if (!line || line[0] === '#') continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const kind = kindOf(m[1]);
    if (!kind) continue;
    const labels = labelsOf(m[3] || '');
    const stream = labels.stream ?? labels.stream_name ?? labels.StreamName;
    if (stream === undefined || labels.shard !== undefined || labels.shard_id !== undefined) continue;
    const key = seriesKey(labels.account_id ?? labels.account, stream);
    const entry = (out[key] ||= { inBytes: 0, inRecords: 0, outBytes: 0, outRecords: 0 });
    entry[kind] += Number(m[4]) || 0;
  }
  return out;
}

// The storage gauges (sluice_storage_stream_segments / _stream_bytes per stream, and the totals
// sluice_storage_segments / _bytes): { streams: {'account/stream': {segments, bytes}},
// total: {segments, bytes} | null }.
export function parseStorage(text) {
  const out = { streams: {}, total: null };
  for (const line of text.split('\n')) {
    const m = /^sluice_storage_(stream_segments|stream_bytes|segments|bytes)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const v = Number(m[4]) || 0;
    const field = m[1].endsWith('segments') ? 'segments' : 'bytes';
    if (m[1].startsWith('stream_')) {
      const labels = labelsOf(m[3] || '');
      const key = seriesKey(labels.account_id, labels.stream_name);
      (out.streams[key] ||= { segments: 0, bytes: 0 })[field] = v;
    } else {
      (out.total ||= { segments: 0, bytes: 0 })[field] = v;
    }
  }
  return out;
}

// Enhanced fan-out consumers (sluice_kinesis_consumer_*): { 'account/stream/consumer':
// { subscriptions, records, bytes, behindSeconds } } (records and bytes are counters).
export function parseConsumers(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^sluice_kinesis_consumer_(subscriptions|event_records_total|event_bytes_total|behind_seconds)\{(.*)\}\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = labelsOf(m[2]);
    const key = `${seriesKey(labels.account_id, labels.stream_name)}/${labels.consumer_name}`;
    const entry = (out[key] ||= { subscriptions: 0, records: 0, bytes: 0, behindSeconds: 0 });
    const field = { subscriptions: 'subscriptions', event_records_total: 'records', event_bytes_total: 'bytes', behind_seconds: 'behindSeconds' }[m[1]];
    entry[field] = Number(m[3]) || 0;
  }
  return out;
}

export class Throughput {
  constructor() {
    this.storage = { streams: {}, total: null };
    this.consumers = {};     // key -> parseConsumers' entry
    this.consumerRates = {}; // key -> { records, bytes } per second between the last two polls
    this.last = null;
    this.lastTime = 0;
    this.history = new Map(); // stream -> [{inBytes, inRecords, outBytes, outRecords}] per second
    this.available = null; // unknown until the first poll
  }

  async poll() {
    let text;
    try {
      const res = await fetch('/metrics', { headers: { accept: 'text/plain' } });
      if (!res.ok) {
        this.available = false;
        return;
      }
      text = await res.text();
    } catch {
      this.available = false;
      return;
    }
    this.available = true;
    const now = performance.now();
    const counters = parseMetrics(text);
    this.storage = parseStorage(text);
    const consumers = parseConsumers(text);
    if (this.last) {
      const seconds = Math.max(0.001, (now - this.lastTime) / 1000);
      for (const [key, c] of Object.entries(consumers)) {
        const before = this.consumers[key] || { records: 0, bytes: 0 };
        this.consumerRates[key] = { records: Math.max(0, c.records - before.records) / seconds,
          bytes: Math.max(0, c.bytes - before.bytes) / seconds };
      }
    }
    this.consumers = consumers;
    if (this.last) {
      const seconds = Math.max(0.001, (now - this.lastTime) / 1000);
      for (const [stream, c] of Object.entries(counters)) {
        const before = this.last[stream] || { inBytes: 0, inRecords: 0, outBytes: 0, outRecords: 0 };
        const point = {};
        for (const k of Object.keys(c)) point[k] = Math.max(0, c[k] - before[k]) / seconds;
        const list = this.history.get(stream) || [];
        list.push(point);
        if (list.length > HISTORY) list.shift();
        this.history.set(stream, list);
      }
    }
    this.last = counters;
    this.lastTime = now;
  }

  history_(account, stream) {
    return this.history.get(seriesKey(account, stream)) || this.history.get(seriesKey('', stream)) || [];
  }

  // The latest rates of a stream of an account, or null before two polls.
  now(account, stream) {
    const list = this.history_(account, stream);
    return list.length ? list[list.length - 1] : null;
  }

  // A consumer's subscriptions and delivery rates, or null before the server has counted any.
  consumer(account, stream, consumer) {
    const key = `${seriesKey(account, stream)}/${consumer}`;
    const c = this.consumers[key];
    return c ? { ...c, rate: this.consumerRates[key] || null } : null;
  }

  // What a stream's logs occupy on disk ({segments, bytes}), or null.
  disk(account, stream) {
    return this.storage.streams[seriesKey(account, stream)] || null;
  }

  series(account, stream, kind) {
    return this.history_(account, stream).map((p) => p[kind]);
  }
}

export const throughput = new Throughput();
