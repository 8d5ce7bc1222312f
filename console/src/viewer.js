// The data viewer: records of a stream from a position (TRIM_HORIZON, LATEST, a time, a sequence
// number), on one shard or all of them, shown as text, pretty JSON or a hex dump, and followed
// live like `tail -f` (when a followed shard closes, its children are read from their start).
// It reads with GetShardIterator and GetRecords, as any consumer does.
import { kinesis, kinesisAll } from './api.js';
import { shortId } from './lineage.js';
import { fill, h, status, when } from './ui.js';

const RECORDS_SHOWN_MAX = 1000;
const IDLE_POLL_MS = 1000;

function decodeBase64(text) {
  const bin = atob(text || '');
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const utf8 = new TextDecoder('utf-8');

function hexdump(data) {
  const lines = [];
  for (let off = 0; off < data.length; off += 16) {
    const row = data.subarray(off, off + 16);
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, '0'));
    const left = hex.slice(0, 8).join(' ');
    const right = hex.slice(8).join(' ');
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${off.toString(16).padStart(8, '0')}  ${left.padEnd(23)}  ${right.padEnd(23)}  |${ascii}|`);
  }
  return lines.join('\n') || '(empty)';
}

export function formatData(data, format) {
  if (format === 'hex') return { text: hexdump(data), note: null };
  const text = utf8.decode(data);
  if (format === 'json') {
    try {
      return { text: JSON.stringify(JSON.parse(text), null, 2), note: null };
    } catch {
      return { text, note: 'not JSON' };
    }
  }
  return { text, note: null };
}

export function viewer(streamName) {
  const shardSel = h('select', { id: 'viewer-shard' }, h('option', { value: '' }, 'All shards'));
  const start = h('select', { id: 'viewer-start' },
    ['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP', 'AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER'].map((t) => h('option', { value: t }, t)));
  const time = h('input', { id: 'viewer-time', type: 'datetime-local', step: 1, hidden: true });
  const seq = h('input', { id: 'viewer-seq', placeholder: 'sequence number', size: 40, hidden: true });
  const format = h('select', { id: 'viewer-format' }, h('option', { value: 'text' }, 'Text'),
    h('option', { value: 'json' }, 'JSON'), h('option', { value: 'hex' }, 'Hex'));
  const follow = h('input', { id: 'viewer-follow', type: 'checkbox', checked: true });
  const go = h('button', { id: 'viewer-go', class: 'primary', type: 'submit' }, 'Read');
  const stopBtn = h('button', { id: 'viewer-stop', type: 'button', disabled: true }, 'Stop');
  const count = h('span', { id: 'viewer-count', class: 'muted' }, '');
  const list = h('div', { id: 'viewer-records', class: 'records' });
  const state = h('span', { id: 'viewer-state', class: 'muted' }, 'idle');
  const records = [];
  let session = null;

  start.addEventListener('change', () => {
    time.hidden = start.value !== 'AT_TIMESTAMP';
    seq.hidden = !start.value.endsWith('SEQUENCE_NUMBER');
  });
  format.addEventListener('change', () => fill(list, records.map(render)));

  function render(r) {
    const f = formatData(r.data, format.value);
    return h('div', { class: 'record', 'data-seq': r.SequenceNumber, 'data-shard': r.shard },
      h('div', { class: 'meta' },
        h('span', { title: 'arrival time' }, when(r.ApproximateArrivalTimestamp)),
        h('span', { class: 'tag', title: r.shard }, shortId(r.shard)),
        h('span', { title: 'partition key' }, 'key ', h('code', {}, r.PartitionKey)),
        h('span', { class: 'seq', title: 'sequence number' }, r.SequenceNumber),
        h('span', { class: 'muted' }, `${r.data.length} B`),
        f.note ? h('span', { class: 'muted' }, f.note) : null),
      h('pre', { class: 'data ' + format.value }, f.text));
  }

  function add(shard, recs) {
    // Stay at the bottom while the user is there (tail -f); leave the view alone once they scroll up.
    const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 40;
    for (const r of recs) {
      const rec = { ...r, shard, data: decodeBase64(r.Data) };
      records.push(rec);
      list.append(render(rec));
    }
    while (records.length > RECORDS_SHOWN_MAX) {
      records.shift();
      list.firstChild?.remove();
    }
    count.textContent = `${records.length} record${records.length === 1 ? '' : 's'}`;
    if (recs.length && atBottom) list.scrollTop = list.scrollHeight;
  }

  function iteratorInput(shardId, type) {
    const input = { StreamName: streamName, ShardId: shardId, ShardIteratorType: type };
    if (type === 'AT_TIMESTAMP') input.Timestamp = (time.value ? new Date(time.value) : new Date()).getTime() / 1000;
    if (type.endsWith('SEQUENCE_NUMBER')) input.StartingSequenceNumber = seq.value.trim();
    return input;
  }

  async function run(s) {
    const shards = await kinesisAll('ListShards', { StreamName: streamName }, 'Shards');
    let chosen = shards;
    if (shardSel.value) chosen = shards.filter((x) => x.ShardId === shardSel.value);
    else if (start.value === 'LATEST') chosen = shards.filter((x) => !x.SequenceNumberRange?.EndingSequenceNumber);
    const started = new Set();
    const errors = [];
    const readShard = async (shardId, type) => {
      started.add(shardId);
      let iterator;
      try {
        iterator = (await kinesis('GetShardIterator', iteratorInput(shardId, type))).ShardIterator;
      } catch (err) {
        errors.push(err);
        return;
      }
      while (!s.stopped && iterator) {
        let out;
        try {
          out = await kinesis('GetRecords', { ShardIterator: iterator, Limit: 1000 });
        } catch (err) {
          if (err.type !== 'ProvisionedThroughputExceededException') throw err;
          await s.wait(IDLE_POLL_MS);
          continue;
        }
        if (s.stopped) return;
        add(shardId, out.Records || []);
        iterator = out.NextShardIterator;
        if (!iterator && follow.checked && !shardSel.value) {
          // The shard closed (a split or merge): follow its children from their start.
          const now = await kinesisAll('ListShards', { StreamName: streamName }, 'Shards');
          await Promise.all(now.filter((c) => !started.has(c.ShardId) &&
            (c.ParentShardId === shardId || c.AdjacentParentShardId === shardId))
            .map((c) => readShard(c.ShardId, 'TRIM_HORIZON')));
          return;
        }
        if (!(out.Records || []).length && out.MillisBehindLatest === 0) {
          if (!follow.checked) return;
          await s.wait(IDLE_POLL_MS);
        }
      }
    };
    await Promise.all(chosen.map((x) => readShard(x.ShardId, start.value)));
    if (errors.length && errors.length === chosen.length) throw errors[0];
  }

  function stop() {
    if (session) session.stop();
    session = null;
    go.disabled = false;
    stopBtn.disabled = true;
  }

  async function begin() {
    stop();
    records.length = 0;
    fill(list);
    count.textContent = '0 records';
    const s = { stopped: false, timers: new Set() };
    s.wait = (ms) => new Promise((resolve) => {
      const t = setTimeout(() => { s.timers.delete(t); resolve(); }, ms);
      s.timers.add(t);
    });
    s.stop = () => {
      s.stopped = true;
      s.timers.forEach(clearTimeout);
    };
    session = s;
    go.disabled = true;
    stopBtn.disabled = false;
    state.textContent = follow.checked ? 'following' : 'reading';
    state.dataset.state = 'reading';
    try {
      await run(s);
    } catch (err) {
      status(`${err.type || 'Error'}: ${err.message}`, 'error');
    }
    if (session === s) {
      state.textContent = s.stopped ? 'stopped' : 'caught up';
      state.dataset.state = 'done';
      stop();
    }
  }

  stopBtn.addEventListener('click', () => {
    stop();
    state.textContent = 'stopped';
  });
  const form = h('form', { class: 'row viewer-controls', id: 'viewer-form' },
    h('label', {}, 'Shard', shardSel), h('label', {}, 'Start at', start), time, seq,
    h('label', {}, 'Show as', format), h('label', { class: 'check' }, follow, 'Follow'), go, stopBtn,
    h('button', { type: 'button', onclick: () => { records.length = 0; fill(list); count.textContent = ''; } }, 'Clear'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    begin();
  });
  const el = h('div', { class: 'card viewer' }, form, h('div', { class: 'row small' }, state, count), list);
  return {
    el,
    setShards(shards) {
      const keep = shardSel.value;
      fill(shardSel, h('option', { value: '' }, 'All shards'),
        shards.map((x) => h('option', { value: x.ShardId }, x.ShardId + (x.SequenceNumberRange?.EndingSequenceNumber ? ' (closed)' : ''))));
      shardSel.value = keep;
    },
    stop,
  };
}
