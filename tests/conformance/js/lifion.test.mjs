// lifion-kinesis, a Kinesis consumer library built on the AWS SDK for JavaScript v2, consuming a
// Sluice stream end to end: its state table (leases, checkpoints, heartbeats) lives in Sluice's
// DynamoDB on the same endpoint, and it de-aggregates the KPL records libsluice puts (through the
// `sluice` CLI). Every user record, plain or aggregated, must arrive with its key and data; then
// enhanced fan-out (SubscribeToShard), two instances of one group sharing the shards, and a
// restarted instance resuming from its checkpoints. Run by tests/conformance/test_js.py
// (SLUICE_ENDPOINT, SLUICE_BIN).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import {
  KinesisClient,
  CreateStreamCommand,
  PutRecordsCommand,
  waitUntilStreamExists,
} from '@aws-sdk/client-kinesis';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';

const require = createRequire(import.meta.url);
const Kinesis = require('lifion-kinesis');

// Two defects of lifion-kinesis 1.3.3's enhanced fan-out, both client-side, worked around here so
// that what is tested is Sluice's side of SubscribeToShard:
// - it sends SubscribeToShard to kinesis.us-east-1.amazonaws.com whatever the endpoint (it signs
//   with aws4, which fills in AWS's host; fixed upstream in 1.4.0, not on npm): that name is
//   resolved to this machine, as a user's /etc/hosts entry would;
// - its event-stream parser (lifion-aws-event-stream 1.x) assumes one message per socket read,
//   and takes the next message's length from the wrong bytes when a read holds the end of one
//   message and the start of another, which loopback makes common: its framing is replaced by a
//   correct one (a message is complete once its prelude's total length arrived); parse() itself,
//   lifion's decoding of each message, is unchanged.
const dns = require('node:dns');
const lookup = dns.lookup;
dns.lookup = (host, options, callback) => lookup.call(dns,
  host === 'kinesis.us-east-1.amazonaws.com' ? 'localhost' : host, options, callback);
const { Parser, parse } = require('lifion-aws-event-stream');
Parser.prototype._transform = function transform(chunk, encoding, callback) {
  this.dataBuffer = Buffer.concat([this.dataBuffer, chunk]);
  while (this.dataBuffer.length >= 4
    && this.dataBuffer.length >= this.dataBuffer.readUInt32BE(0)) {
    const n = this.dataBuffer.readUInt32BE(0);
    const message = this.dataBuffer.subarray(0, n);
    this.dataBuffer = this.dataBuffer.subarray(n);
    try {
      this.push(parse(message));
    } catch (err) {
      this.emit('error', err);
    }
  }
  callback();
};

const endpoint = process.env.SLUICE_ENDPOINT;
const sluice = process.env.SLUICE_BIN;
if (!endpoint || !sluice) {
  throw new Error('SLUICE_ENDPOINT/SLUICE_BIN not set: run through tests/conformance/test_js.py');
}
// Users point their clients at `localhost`, not at an address.
const url = new URL(endpoint);
url.hostname = 'localhost';
const localhost = url.toString().replace(/\/$/, '');

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const client = new KinesisClient({ endpoint: localhost, region: 'us-east-1', credentials });

function runSluice(...args) {
  return execFileSync(sluice, [args[0], '--endpoint-url', localhost, ...args.slice(1)],
    { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

// stopConsumer() clears lifion's timers, but work still in flight (a lease acquired while
// starting, a poll awaiting its answer) arms new ones afterwards: stop again until nothing but
// node's own pipes is left, so that node can exit.
async function stopFully(...consumers) {
  for (let i = 0; i < 400; i += 1) {
    for (const consumer of consumers) consumer.stopConsumer();
    await new Promise((resolve) => setTimeout(resolve, 25));
    const busy = process.getActiveResourcesInfo()
      .filter((r) => r !== 'PipeWrap' && r !== 'TTYWrap');
    if (busy.length === 0) return;
  }
  throw new Error(`lifion-kinesis did not stop: ${process.getActiveResourcesInfo()}`);
}

describe('lifion-kinesis consuming from Sluice', () => {
  it('receives every plain and KPL-aggregated user record, state in Sluice DynamoDB',
    { timeout: 120000 }, async () => {
      const suffix = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
      const name = `lifion-${suffix}`;
      await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 2 }));
      await waitUntilStreamExists({ client, maxWaitTime: 30 }, { StreamName: name });

      const expected = [];
      const plain = Array.from({ length: 40 }, (_, i) => ({
        PartitionKey: `plain-${i}`, Data: Buffer.from(`plain record ${i}`),
      }));
      const put = await client.send(new PutRecordsCommand({ StreamName: name, Records: plain }));
      assert.equal(put.FailedRecordCount ?? 0, 0);
      for (const r of plain) expected.push([r.PartitionKey, r.Data.toString()]);
      const lines = Array.from({ length: 200 }, (_, i) => `aggregated record ${i} ${'y'.repeat(i % 30)}`);
      runSluice('put', '--stream-name', name, '--aggregate', '--partition-key', 'agg-{n}',
        ...lines);
      lines.forEach((l, i) => expected.push([`agg-${i}`, l]));

      const errors = [];
      const seen = [];
      const consumer = new Kinesis({
        streamName: name,
        consumerGroup: `group-${suffix}`,
        endpoint: localhost,
        region: 'us-east-1',
        credentials,
        createStreamIfNeeded: false,
        initialPositionInStream: 'TRIM_HORIZON',
        shouldDeaggregate: true,
        shouldParseJson: false,
        useAutoCheckpoints: true,
        noRecordsPollDelay: 250,
        pollDelay: 0,
        leaseAcquisitionInterval: 1000,
        dynamoDb: { endpoint: localhost, region: 'us-east-1', credentials,
          tableName: `lifion-state-${suffix}` },
      });
      consumer.on('error', (err) => errors.push(err));
      const done = new Promise((resolve) => {
        consumer.on('data', ({ records }) => {
          for (const r of records) seen.push([r.partitionKey, Buffer.from(r.data).toString()]);
          if (seen.length >= expected.length) resolve();
        });
      });
      await consumer.startConsumer();
      try {
        await done;
      } finally {
        await stopFully(consumer);
      }
      assert.deepEqual(errors, []);
      const sort = (a) => a.map((x) => x.join('\u0000')).sort();
      assert.deepEqual(sort(seen), sort(expected));

      // The automatic checkpoints went to the state table in Sluice's DynamoDB: one per shard.
      const ddb = DynamoDBDocumentClient.from(
        new DynamoDBClient({ endpoint: localhost, region: 'us-east-1', credentials }));
      const { Item } = await ddb.send(new GetCommand({
        TableName: `lifion-state-${suffix}`,
        Key: { consumerGroup: `group-${suffix}`, streamName: name },
      }));
      const checkpoints = {};
      const walk = (v) => {
        if (!v || typeof v !== 'object') return;
        for (const [k, x] of Object.entries(v)) {
          if (k.startsWith('shardId-') && x && typeof x.checkpoint === 'string') {
            checkpoints[k] = x.checkpoint;
          } else walk(x);
        }
      };
      walk(Item);
      assert.deepEqual(Object.keys(checkpoints).sort(),
        ['shardId-000000000000', 'shardId-000000000001'], JSON.stringify(Item));
    });

  async function newStream(prefix, shards) {
    const name = `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
    await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
    await waitUntilStreamExists({ client, maxWaitTime: 30 }, { StreamName: name });
    return name;
  }

  async function put(name, first, count) {
    const records = Array.from({ length: count }, (_, i) => ({
      PartitionKey: `key-${first + i}`, Data: Buffer.from(`record ${first + i}`),
    }));
    const out = await client.send(new PutRecordsCommand({ StreamName: name, Records: records }));
    assert.equal(out.FailedRecordCount ?? 0, 0);
    return records.map((r) => r.Data.toString());
  }

  // One lifion-kinesis instance of group `group`; what it receives goes to `seen`.
  function instance(name, group, extra = {}) {
    const consumer = new Kinesis({
      streamName: name,
      consumerGroup: group,
      endpoint: localhost,
      region: 'us-east-1',
      // Top-level keys: lifion's fan-out requests sign with these, not with `credentials`.
      ...credentials,
      createStreamIfNeeded: false,
      initialPositionInStream: 'TRIM_HORIZON',
      shouldParseJson: false,
      useAutoCheckpoints: true,
      noRecordsPollDelay: 250,
      pollDelay: 0,
      leaseAcquisitionInterval: 1000,
      dynamoDb: { endpoint: localhost, region: 'us-east-1', credentials, tableName: `${group}-state` },
      ...extra,
    });
    const errors = [];
    const seen = [];
    consumer.on('error', (err) => errors.push(err));
    consumer.on('data', ({ records, shardId }) => {
      for (const r of records) seen.push({ shardId, data: Buffer.from(r.data).toString() });
    });
    return { consumer, errors, seen };
  }

  async function until(what, predicate, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (predicate()) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  const sorted = (list) => [...list].sort();

  it('consumes over enhanced fan-out (SubscribeToShard)', { timeout: 60000 }, async () => {
    const name = await newStream('lifion-efo', 2);
    const a = instance(name, `efo-${Date.now()}`, { useEnhancedFanOut: true });
    const want = await put(name, 0, 20);
    await a.consumer.startConsumer();
    try {
      await until('20 records', () => a.seen.length >= 20, 30000);
      want.push(...await put(name, 20, 20)); // to live subscriptions
      await until('40 records', () => a.seen.length >= 40, 30000);
    } finally {
      await stopFully(a.consumer);
    }
    assert.deepEqual(a.errors, []);
    assert.deepEqual(sorted(a.seen.map((s) => s.data)), sorted(want));
  });

  it('shares the shards between two instances of a group', { timeout: 60000 }, async () => {
    const name = await newStream('lifion-two', 4);
    const group = `two-${Date.now()}`;
    const a = instance(name, group);
    const b = instance(name, group);
    await Promise.all([a.consumer.startConsumer(), b.consumer.startConsumer()]);
    let want;
    try {
      want = await put(name, 0, 80);
      await until('80 records', () => a.seen.length + b.seen.length >= 80, 30000);
    } finally {
      await stopFully(a.consumer, b.consumer);
    }
    assert.deepEqual([...a.errors, ...b.errors], []);
    // Every record once, and each shard read by one instance: two shards each.
    assert.deepEqual(sorted([...a.seen, ...b.seen].map((s) => s.data)), sorted(want));
    const shardsA = new Set(a.seen.map((s) => s.shardId));
    const shardsB = new Set(b.seen.map((s) => s.shardId));
    assert.equal(shardsA.size, 2);
    assert.equal(shardsB.size, 2);
    assert.ok([...shardsA].every((s) => !shardsB.has(s)));
  });

  it('resumes from its checkpoints after a restart', { timeout: 120000 }, async () => {
    const name = await newStream('lifion-restart', 2);
    const group = `restart-${Date.now()}`;
    const first = instance(name, group);
    const want = await put(name, 0, 30);
    await first.consumer.startConsumer();
    try {
      await until('30 records', () => first.seen.length >= 30, 30000);
    } finally {
      await stopFully(first.consumer);
    }
    const more = await put(name, 30, 20);
    // A new process has a new consumer id: lifion hands the old one's leases over once its
    // heartbeat is 40 s old (its fixed HEARTBEAT_FAILURE_TIMEOUT), so this waits that long.
    const second = instance(name, group);
    await second.consumer.startConsumer();
    try {
      await until('20 new records', () => second.seen.length >= 20, 100000);
    } finally {
      await stopFully(second.consumer);
    }
    assert.deepEqual([...first.errors, ...second.errors], []);
    assert.deepEqual(sorted(first.seen.map((s) => s.data)), sorted(want));
    assert.deepEqual(sorted(second.seen.map((s) => s.data)), sorted(more)); // nothing again
  });
});
