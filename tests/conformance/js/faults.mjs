// Run by tests/conformance/test_fault_injection.py against a server started with
// --fault "op=write,error=throughput,rate=0.2;op=write,error=internal,rate=0.05" (every stream):
// the AWS SDK for JavaScript v3 sees AWS's error types (ProvisionedThroughputExceededException
// with a 400, InternalFailure with a 500), its own retries recover, and PutRecords' per-record
// failures carry AWS's codes. Exits non-zero on any mismatch.
import assert from 'node:assert/strict';
import {
  KinesisClient,
  CreateStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  PutRecordCommand,
  PutRecordsCommand,
  waitUntilStreamExists,
} from '@aws-sdk/client-kinesis';

const endpoint = process.env.SLUICE_ENDPOINT;
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const once = new KinesisClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
const retrying = new KinesisClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 12 });
const StreamName = `js-faults-${process.pid}`;

await once.send(new CreateStreamCommand({ StreamName, ShardCount: 1 }));
await waitUntilStreamExists({ client: once, maxWaitTime: 30, minDelay: 1 }, { StreamName });

// Without retries, the injected errors reach the caller with their AWS types and statuses.
const seen = new Map();
for (let i = 0; i < 1000 && seen.size < 2; i++) {
  try {
    await once.send(new PutRecordCommand({ StreamName, Data: Buffer.from('x'), PartitionKey: 'k' }));
  } catch (e) {
    seen.set(e.name, e.$metadata.httpStatusCode);
  }
}
assert.equal(seen.get('ProvisionedThroughputExceededException'), 400);
assert.equal(seen.get('InternalFailure'), 500);

// With the SDK's retries every PutRecord ends in success, and the stream holds exactly what was
// acknowledged, in order.
const acked = [];
for (let i = 0; i < 40; i++) {
  const out = await retrying.send(
    new PutRecordCommand({ StreamName, Data: Buffer.from(`r${i}`), PartitionKey: 'k' }));
  acked.push(out.SequenceNumber);
}

// PutRecords: per-record failures with AWS's codes; FailedRecordCount counts them.
const out = await retrying.send(new PutRecordsCommand({
  StreamName,
  Records: Array.from({ length: 500 }, (_, i) => ({ Data: Buffer.from(`b${i}`), PartitionKey: `p${i}` })),
}));
const codes = out.Records.filter((r) => r.ErrorCode).map((r) => r.ErrorCode);
assert.equal(out.FailedRecordCount, codes.length);
assert.ok(codes.includes('ProvisionedThroughputExceededException'));
assert.ok(codes.includes('InternalFailure'));
for (const r of out.Records.filter((r) => !r.ErrorCode)) acked.push(r.SequenceNumber);

const { ShardIterator } = await once.send(new GetShardIteratorCommand({
  StreamName, ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }));
const stored = [];
let it = ShardIterator;
for (;;) {
  const page = await once.send(new GetRecordsCommand({ ShardIterator: it, Limit: 10000 }));
  stored.push(...page.Records.map((r) => r.SequenceNumber));
  if (page.Records.length === 0 && page.MillisBehindLatest === 0) break;
  it = page.NextShardIterator;
}
// what the first loop's unretried successes stored comes first; then exactly the acknowledged
const tail = stored.slice(stored.length - acked.length);
assert.deepEqual(tail, acked);
console.log(`ok: ${acked.length} acknowledged records stored once, errors seen: ${[...seen.keys()]}`);
