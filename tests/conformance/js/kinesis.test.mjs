// Conformance of Sluice with the AWS SDK for JavaScript v3 (@aws-sdk/client-kinesis), run by
// node's built-in test runner. The server is started by tests/conformance/test_js.py, which
// passes its address in SLUICE_ENDPOINT. The same scenario runs twice: with the client's default
// request handler (NodeHttp2Handler: HTTP/2 with prior knowledge over http://, which is what the
// Kinesis client uses out of the box) and with HTTP/1.1 chosen explicitly (NodeHttpHandler).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { randomBytes } from 'node:crypto';
import {
  KinesisClient,
  CreateStreamCommand,
  DeleteStreamCommand,
  DescribeStreamSummaryCommand,
  ListShardsCommand,
  PutRecordCommand,
  PutRecordsCommand,
  GetShardIteratorCommand,
  GetRecordsCommand,
  ResourceNotFoundException,
  waitUntilStreamExists,
  waitUntilStreamNotExists,
} from '@aws-sdk/client-kinesis';
import { NodeHttp2Handler, NodeHttpHandler } from '@smithy/node-http-handler';

const endpoint = process.env.SLUICE_ENDPOINT;
const account = process.env.SLUICE_ACCOUNT_ID ?? '000000000000';
if (!endpoint) {
  throw new Error('SLUICE_ENDPOINT is not set: run these tests through tests/conformance/test_js.py');
}

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

// Counts HTTP/2 sessions opened through node:http2. The SDK's NodeHttp2Handler calls
// http2.connect on this very module object, so the count proves which protocol was used.
let http2Sessions = 0;
const realConnect = http2.connect;
http2.connect = function countingConnect(...args) {
  http2Sessions += 1;
  return realConnect.apply(this, args);
};

// An HTTP/1.1 agent that counts the TCP connections it opens.
class CountingAgent extends http.Agent {
  constructor() {
    super({ keepAlive: true });
    this.connections = 0;
  }

  createConnection(...args) {
    this.connections += 1;
    return super.createConnection(...args);
  }
}

function uniqueName(prefix) {
  return `${prefix}-${process.pid}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
}

// Reads every record of one shard from TRIM_HORIZON until the shard tip is reached.
async function readShard(client, streamName, shardId, expectedCount) {
  const it = await client.send(new GetShardIteratorCommand({
    StreamName: streamName, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON',
  }));
  assert.equal(typeof it.ShardIterator, 'string');
  let iterator = it.ShardIterator;
  const records = [];
  const responses = [];
  for (let calls = 0; calls < 100 && iterator; calls += 1) {
    const out = await client.send(new GetRecordsCommand({ ShardIterator: iterator }));
    responses.push(out);
    records.push(...out.Records);
    iterator = out.NextShardIterator;
    if (out.Records.length === 0 && out.MillisBehindLatest === 0 && records.length >= expectedCount) {
      break;
    }
  }
  return { records, responses };
}

function scenario(label, makeClient, checkTransport) {
  describe(`Kinesis over ${label}`, { timeout: 120_000 }, () => {
    let client;
    let transport;
    const streamName = uniqueName(`js-${label.replace(/[^a-zA-Z0-9]/g, '')}`);

    before(() => {
      ({ client, transport } = makeClient());
    });

    after(() => {
      client?.destroy();
    });

    it('creates a stream and waits until it is ACTIVE', async () => {
      const out = await client.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: 2 }));
      assert.equal(out.$metadata.httpStatusCode, 200);
      const waited = await waitUntilStreamExists(
        { client, maxWaitTime: 60, minDelay: 1, maxDelay: 2 }, { StreamName: streamName });
      assert.equal(waited.state, 'SUCCESS');
      const summary = await client.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
      const d = summary.StreamDescriptionSummary;
      assert.equal(d.StreamName, streamName);
      assert.equal(d.StreamStatus, 'ACTIVE');
      assert.equal(d.OpenShardCount, 2);
      assert.equal(d.StreamARN, `arn:aws:kinesis:us-east-1:${account}:stream/${streamName}`);
      assert.ok(d.StreamCreationTimestamp instanceof Date);
      assert.ok(Math.abs(d.StreamCreationTimestamp.getTime() - Date.now()) < 120_000);
      checkTransport(transport);
    });

    it('puts records and reads them back byte for byte, in order', async () => {
      const shards = (await client.send(new ListShardsCommand({ StreamName: streamName }))).Shards;
      assert.equal(shards.length, 2);
      const single = new Uint8Array([0, 1, 2, 253, 254, 255]);
      const put = await client.send(new PutRecordCommand({
        StreamName: streamName, PartitionKey: 'pk-single', Data: single,
      }));
      assert.match(put.SequenceNumber, /^[1-9][0-9]*$/);
      assert.ok(shards.some((s) => s.ShardId === put.ShardId));

      const entries = [];
      for (let i = 0; i < 500; i += 1) {
        entries.push({ PartitionKey: `pk-${i % 7}`, Data: new TextEncoder().encode(`record-${i}`) });
      }
      const batch = await client.send(new PutRecordsCommand({ StreamName: streamName, Records: entries }));
      assert.equal(batch.FailedRecordCount, 0);
      assert.equal(batch.Records.length, 500);

      // Expected content per shard, in acknowledgement order (one writer: order = sequence order).
      const expected = new Map(shards.map((s) => [s.ShardId, []]));
      expected.get(put.ShardId).push({ seq: put.SequenceNumber, data: Buffer.from(single) });
      batch.Records.forEach((r, i) => {
        assert.match(r.SequenceNumber, /^[1-9][0-9]*$/);
        expected.get(r.ShardId).push({ seq: r.SequenceNumber, data: Buffer.from(entries[i].Data) });
      });

      for (const shard of shards) {
        const want = expected.get(shard.ShardId);
        const { records } = await readShard(client, streamName, shard.ShardId, want.length);
        assert.equal(records.length, want.length, `record count of ${shard.ShardId}`);
        records.forEach((rec, i) => {
          assert.equal(rec.SequenceNumber, want[i].seq);
          assert.deepEqual(Buffer.from(rec.Data), want[i].data);
          assert.ok(rec.ApproximateArrivalTimestamp instanceof Date);
          assert.ok(Math.abs(rec.ApproximateArrivalTimestamp.getTime() - Date.now()) < 120_000);
          if (i > 0) {
            assert.ok(BigInt(rec.SequenceNumber) > BigInt(records[i - 1].SequenceNumber));
          }
        });
      }
    });

    it('returns a GetRecords response larger than 1 MB in one call', async () => {
      const big = uniqueName('js-big');
      await client.send(new CreateStreamCommand({ StreamName: big, ShardCount: 1 }));
      await waitUntilStreamExists({ client, maxWaitTime: 60, minDelay: 1, maxDelay: 2 }, { StreamName: big });
      // Three records of 900 KiB each (under the default 1 MiB record limit): ~2.7 MB of data,
      // ~3.6 MB of base64 in the JSON response.
      const blobs = [randomBytes(900 * 1024), randomBytes(900 * 1024), randomBytes(900 * 1024)];
      for (const blob of blobs) {
        const out = await client.send(new PutRecordCommand({ StreamName: big, PartitionKey: 'big', Data: blob }));
        assert.equal(out.ShardId, 'shardId-000000000000');
      }
      const it2 = await client.send(new GetShardIteratorCommand({
        StreamName: big, ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON',
      }));
      const out = await client.send(new GetRecordsCommand({ ShardIterator: it2.ShardIterator }));
      assert.equal(out.Records.length, 3);
      out.Records.forEach((rec, i) => assert.ok(Buffer.from(rec.Data).equals(blobs[i]), `record ${i} differs`));
      assert.equal(typeof out.NextShardIterator, 'string');
      assert.equal(out.MillisBehindLatest, 0);
      await client.send(new DeleteStreamCommand({ StreamName: big }));
    });

    it('answers a missing stream with ResourceNotFoundException and the AWS message', async () => {
      const missing = uniqueName('js-missing');
      await assert.rejects(
        client.send(new DescribeStreamSummaryCommand({ StreamName: missing })),
        (err) => {
          assert.ok(err instanceof ResourceNotFoundException, `got ${err.name}: ${err.message}`);
          assert.equal(err.name, 'ResourceNotFoundException');
          assert.equal(err.message, `Stream ${missing} under account ${account} not found.`);
          assert.equal(err.$metadata.httpStatusCode, 400);
          return true;
        });
    });

    it('deletes the stream', async () => {
      await client.send(new DeleteStreamCommand({ StreamName: streamName }));
      const waited = await waitUntilStreamNotExists(
        { client, maxWaitTime: 60, minDelay: 1, maxDelay: 2 }, { StreamName: streamName });
      assert.equal(waited.state, 'SUCCESS');
      checkTransport(transport);
    });
  });
}

scenario('HTTP/2 (default client)', () => {
  const client = new KinesisClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
  return { client, transport: { sessionsBefore: http2Sessions, client } };
}, (transport) => {
  // The default handler of the Kinesis client is NodeHttp2Handler, and it really spoke HTTP/2.
  assert.equal(transport.client.config.requestHandler.constructor.name, NodeHttp2Handler.name);
  assert.ok(http2Sessions > transport.sessionsBefore, 'no HTTP/2 session was opened');
});

scenario('HTTP/1.1 (NodeHttpHandler)', () => {
  const agent = new CountingAgent();
  const client = new KinesisClient({
    endpoint, region: 'us-east-1', credentials, maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpAgent: agent }),
  });
  return { client, transport: { agent } };
}, (transport) => {
  assert.ok(transport.agent.connections > 0, 'no HTTP/1.1 connection was opened');
});
