// Event-source mappings through the AWS SDK for JavaScript v3 (@aws-sdk/client-lambda and
// client-kinesis), run by node's test runner from tests/conformance/test_js.py against the
// session's server (SLUICE_ENDPOINT): a Node handler that records every event it receives is
// deployed, a mapping created, records put; each recorded event is validated with
// @aws-lambda-powertools/parser's Kinesis schema (the shape handlers written for AWS rely on) and
// its records compared with what was put. The zip is written with the system's `zip`.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  LambdaClient,
  CreateFunctionCommand,
  DeleteFunctionCommand,
  CreateEventSourceMappingCommand,
  DeleteEventSourceMappingCommand,
  GetEventSourceMappingCommand,
  ListEventSourceMappingsCommand,
  ResourceNotFoundException,
  waitUntilFunctionActiveV2,
} from '@aws-sdk/client-lambda';
import {
  KinesisClient,
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { KinesisDataStreamSchema } from '@aws-lambda-powertools/parser/schemas/kinesis';

const endpoint = process.env.SLUICE_ENDPOINT;
if (!endpoint) throw new Error('SLUICE_ENDPOINT is not set: run through tests/conformance/test_js.py');

const config = {
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
  maxAttempts: 1,
};
const lambda = new LambdaClient(config);
const kinesis = new KinesisClient(config);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-esm-js-'));
const suffix = Math.random().toString(36).slice(2, 8);
const eventsFile = path.join(tmp, 'events.jsonl');

const RECORDER = `import fs from 'node:fs';
export const handler = async (event) => {
  fs.appendFileSync(process.env.EVENTS_FILE, JSON.stringify(event) + '\\n');
  return {};
};`;

function zipOf(files) {
  const dir = fs.mkdtempSync(path.join(tmp, 'src-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  const out = path.join(tmp, `${path.basename(dir)}.zip`);
  execFileSync('zip', ['-q', '-r', out, '.'], { cwd: dir });
  return fs.readFileSync(out);
}

function events() {
  if (!fs.existsSync(eventsFile)) return [];
  return fs.readFileSync(eventsFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

async function until(what, fn, timeoutMs = 30000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('event-source mappings with the JS SDK v3', () => {
  const fn = `js-esm-${suffix}`;
  const stream = `js-esm-${suffix}`;
  let uuid;

  after(async () => {
    try { await lambda.send(new DeleteEventSourceMappingCommand({ UUID: uuid })); } catch { /* gone */ }
    try { await lambda.send(new DeleteFunctionCommand({ FunctionName: fn })); } catch { /* gone */ }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('delivers events that pass the Powertools Kinesis schema', async () => {
    await lambda.send(new CreateFunctionCommand({
      FunctionName: fn, Runtime: 'nodejs20.x', Handler: 'index.handler',
      Role: 'arn:aws:iam::000000000000:role/lambda-role',
      Code: { ZipFile: zipOf({ 'index.mjs': RECORDER }) },
      Environment: { Variables: { EVENTS_FILE: eventsFile } },
    }));
    await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 20, minDelay: 1 }, { FunctionName: fn });
    await kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 2 }));
    let arn;
    await until('the stream', async () => {
      const s = (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream })))
        .StreamDescriptionSummary;
      arn = s.StreamARN;
      return s.StreamStatus === 'ACTIVE';
    });
    const created = await lambda.send(new CreateEventSourceMappingCommand({
      FunctionName: fn, EventSourceArn: arn, StartingPosition: 'TRIM_HORIZON', BatchSize: 4,
    }));
    uuid = created.UUID;
    assert.equal(created.State, 'Creating');
    assert.equal(created.BatchSize, 4);
    const got = await lambda.send(new GetEventSourceMappingCommand({ UUID: uuid }));
    assert.equal(got.State, 'Enabled');
    assert.ok(got.LastModified instanceof Date);
    const listed = await lambda.send(new ListEventSourceMappingsCommand({ FunctionName: fn }));
    assert.deepEqual(listed.EventSourceMappings.map((m) => m.UUID), [uuid]);

    const records = Array.from({ length: 10 }, (_, i) => ({
      Data: Buffer.from(JSON.stringify({ n: i })), PartitionKey: `key-${i}`,
    }));
    const put = await kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: records }));
    assert.equal(put.FailedRecordCount, 0);
    await until('every record', () => events().flatMap((e) => e.Records).length >= 10);
    const seen = new Map();
    for (const event of events()) {
      const parsed = KinesisDataStreamSchema.parse(event); // throws on any shape mismatch
      assert.ok(parsed.Records.length <= 4);
      const shards = new Set(event.Records.map((r) => r.eventID.split(':')[0]));
      assert.equal(shards.size, 1, 'one shard per batch');
      for (const r of parsed.Records) {
        seen.set(r.kinesis.sequenceNumber, r);
        assert.equal(r.eventSourceARN, arn);
        assert.equal(r.awsRegion, 'us-east-1');
        assert.equal(r.invokeIdentityArn, 'arn:aws:iam::000000000000:role/lambda-role');
      }
    }
    for (const [i, entry] of put.Records.entries()) {
      const r = seen.get(entry.SequenceNumber);
      assert.ok(r, `record ${i} delivered`);
      assert.equal(r.eventID, `${entry.ShardId}:${entry.SequenceNumber}`);
      assert.equal(r.kinesis.partitionKey, `key-${i}`);
      // the schema decodes data (base64, then JSON when it parses)
      assert.deepEqual(r.kinesis.data, { n: i });
    }
  });

  it('answers ResourceNotFoundException for an unknown mapping', async () => {
    await assert.rejects(
      lambda.send(new GetEventSourceMappingCommand({ UUID: '00000000-0000-4000-8000-000000000000' })),
      (e) => e instanceof ResourceNotFoundException && e.message === 'The resource you requested does not exist.');
  });
});
