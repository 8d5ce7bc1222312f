// lifion-kinesis, a Kinesis consumer library built on the AWS SDK for JavaScript v2, consuming a
// Sluice stream end to end: its state table (leases, checkpoints, heartbeats) lives in Sluice's
// DynamoDB on the same endpoint, and it de-aggregates the KPL records libsluice puts (through the
// `sluice` CLI). Every user record, plain or aggregated, must arrive with its key and data. Run by
// tests/conformance/test_js.py (SLUICE_ENDPOINT, SLUICE_BIN).
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
async function stopFully(consumer) {
  for (let i = 0; i < 400; i += 1) {
    consumer.stopConsumer();
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
});
