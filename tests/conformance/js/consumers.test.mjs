// Enhanced fan-out with the AWS SDK for JavaScript v3: RegisterStreamConsumer, then
// SubscribeToShard over the client's default HTTP/2 handler, records pushed in order, and a second
// subscription of the same consumer and shard refused within 5 seconds. The server is started by
// tests/conformance/test_js.py (SLUICE_ENDPOINT).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  KinesisClient,
  CreateStreamCommand,
  DeleteStreamCommand,
  DescribeStreamSummaryCommand,
  DescribeStreamConsumerCommand,
  RegisterStreamConsumerCommand,
  DeregisterStreamConsumerCommand,
  PutRecordsCommand,
  SubscribeToShardCommand,
  waitUntilStreamExists,
} from '@aws-sdk/client-kinesis';

const endpoint = process.env.SLUICE_ENDPOINT;
const account = process.env.SLUICE_ACCOUNT_ID ?? '000000000000';
if (!endpoint) {
  throw new Error('SLUICE_ENDPOINT is not set: run these tests through tests/conformance/test_js.py');
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

describe('enhanced fan-out (SubscribeToShard) over HTTP/2', { timeout: 120_000 }, () => {
  const client = new KinesisClient({
    endpoint, region: 'us-east-1', maxAttempts: 1,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
  });
  const streamName = `js-efo-${process.pid}-${Date.now()}`;
  const consumerName = 'js-consumer';
  let streamArn;
  let consumerArn;

  before(async () => {
    await client.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: 1 }));
    await waitUntilStreamExists({ client, maxWaitTime: 60, minDelay: 1, maxDelay: 2 }, { StreamName: streamName });
    const summary = await client.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
    streamArn = summary.StreamDescriptionSummary.StreamARN;
  });

  after(async () => {
    try {
      await client.send(new DeleteStreamCommand({ StreamName: streamName, EnforceConsumerDeletion: true }));
    } finally {
      client.destroy();
    }
  });

  it('registers a consumer that becomes ACTIVE', async () => {
    const out = await client.send(new RegisterStreamConsumerCommand({
      StreamARN: streamArn, ConsumerName: consumerName,
    }));
    consumerArn = out.Consumer.ConsumerARN;
    assert.match(consumerArn,
      new RegExp(`^arn:aws:kinesis:us-east-1:${account}:stream/${streamName}/consumer/${consumerName}:[0-9]+$`));
    let status = out.Consumer.ConsumerStatus;
    for (let i = 0; i < 100 && status !== 'ACTIVE'; i += 1) {
      await sleep(100);
      const d = await client.send(new DescribeStreamConsumerCommand({ ConsumerARN: consumerArn }));
      status = d.ConsumerDescription.ConsumerStatus;
    }
    assert.equal(status, 'ACTIVE');
  });

  it('pushes records in order, and refuses a second subscription within 5 s', async () => {
    const count = 20;
    const entries = Array.from({ length: count }, (_, i) => ({
      PartitionKey: 'efo', Data: new TextEncoder().encode(`efo-${i}`),
    }));
    const put = await client.send(new PutRecordsCommand({ StreamName: streamName, Records: entries }));
    assert.equal(put.FailedRecordCount, 0);

    const abort = new AbortController();
    const sub = await client.send(new SubscribeToShardCommand({
      ConsumerARN: consumerArn, ShardId: 'shardId-000000000000',
      StartingPosition: { Type: 'TRIM_HORIZON' },
    }), { abortSignal: abort.signal });
    assert.equal(sub.$metadata.httpStatusCode, 200);

    // A second subscription for the same consumer and shard right away is refused.
    await assert.rejects(
      client.send(new SubscribeToShardCommand({
        ConsumerARN: consumerArn, ShardId: 'shardId-000000000000',
        StartingPosition: { Type: 'TRIM_HORIZON' },
      })),
      (err) => {
        assert.equal(err.name, 'ResourceInUseException', `got ${err.name}: ${err.message}`);
        return true;
      });

    const received = [];
    let lastContinuation;
    const deadline = Date.now() + 30_000;
    // Give up after 30 s even if the server sends nothing at all.
    const timer = setTimeout(() => abort.abort(new Error('no records within 30 s')), 30_000);
    try {
      for await (const event of sub.EventStream) {
        if (event.SubscribeToShardEvent) {
          const ev = event.SubscribeToShardEvent;
          received.push(...ev.Records);
          if (ev.ContinuationSequenceNumber) lastContinuation = ev.ContinuationSequenceNumber;
          assert.equal(typeof ev.MillisBehindLatest, 'number');
        }
        if (received.length >= count || Date.now() > deadline) break;
      }
    } finally {
      clearTimeout(timer);
      abort.abort();
    }
    assert.equal(received.length, count);
    received.forEach((rec, i) => {
      assert.equal(new TextDecoder().decode(rec.Data), `efo-${i}`);
      assert.equal(rec.SequenceNumber, put.Records[i].SequenceNumber);
    });
    assert.ok(lastContinuation && BigInt(lastContinuation) >= BigInt(received[count - 1].SequenceNumber));
  });

  it('deregisters the consumer', async () => {
    await client.send(new DeregisterStreamConsumerCommand({ ConsumerARN: consumerArn }));
  });
});
