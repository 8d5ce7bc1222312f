// Run by tests/conformance/test_throughput_limits.py against a server started with
// --throughput-limits aws --quotas aws: the AWS SDK for JavaScript v3 sees AWS's per-record
// throttling in PutRecords, ProvisionedThroughputExceededException from GetRecords (and its own
// retries recover from it), and LimitExceededException from UpdateShardCount's daily quota.
// Exits non-zero on any mismatch.
import assert from 'node:assert/strict';
import {
  KinesisClient,
  CreateStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  PutRecordsCommand,
  UpdateShardCountCommand,
  waitUntilStreamExists,
} from '@aws-sdk/client-kinesis';

const endpoint = process.env.SLUICE_ENDPOINT;
const account = process.env.SLUICE_ACCOUNT_ID ?? '000000000000';
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const once = new KinesisClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
const retrying = new KinesisClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 10 });
const StreamName = `js-capacity-${process.pid}`;

await once.send(new CreateStreamCommand({ StreamName, ShardCount: 1 }));
await waitUntilStreamExists({ client: once, maxWaitTime: 30, minDelay: 1 }, { StreamName });

// 1,500 records at once on one shard: the second's burst (1,000) passes, the rest is refused
// per record with AWS's code and text.
const out = await once.send(new PutRecordsCommand({
  StreamName,
  Records: Array.from({ length: 500 }, (_, i) => ({ Data: Buffer.from('x'), PartitionKey: `k${i}` })),
}));
assert.equal(out.FailedRecordCount, 0);
let refused = 0;
for (let b = 0; b < 2; b++) {
  const more = await once.send(new PutRecordsCommand({
    StreamName,
    Records: Array.from({ length: 500 }, (_, i) => ({ Data: Buffer.from('y'), PartitionKey: `k${i}` })),
  }));
  for (const r of more.Records.filter((r) => r.ErrorCode)) {
    assert.equal(r.ErrorCode, 'ProvisionedThroughputExceededException');
    assert.equal(r.ErrorMessage,
      `Rate exceeded for shard shardId-000000000000 in stream ${StreamName} under account ${account}.`);
    refused++;
  }
  assert.equal(more.FailedRecordCount, more.Records.filter((r) => r.ErrorCode).length);
}
assert.ok(refused > 0, 'nothing was throttled');

// GetRecords above 5 calls/s: the exception without retries, success with them.
const { ShardIterator } = await once.send(new GetShardIteratorCommand({
  StreamName, ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }));
let throttled = null;
for (let i = 0; i < 10 && !throttled; i++) {
  try {
    await once.send(new GetRecordsCommand({ ShardIterator, Limit: 1 }));
  } catch (e) {
    throttled = e;
  }
}
assert.ok(throttled, 'ten GetRecords calls in a row were all accepted');
assert.equal(throttled.name, 'ProvisionedThroughputExceededException');
assert.equal(throttled.$metadata.httpStatusCode, 400);
const page = await retrying.send(new GetRecordsCommand({ ShardIterator, Limit: 1 }));
assert.equal(page.Records.length, 1);

// UpdateShardCount: 10 per stream per rolling 24 hours.
for (let i = 0; i < 10; i++) {
  await once.send(new UpdateShardCountCommand({
    StreamName, TargetShardCount: i % 2 === 0 ? 2 : 1, ScalingType: 'UNIFORM_SCALING' }));
}
await assert.rejects(
  once.send(new UpdateShardCountCommand({ StreamName, TargetShardCount: 2, ScalingType: 'UNIFORM_SCALING' })),
  (e) => e.name === 'LimitExceededException' && e.message ===
    `UpdateShardCount cannot be called more than 10 times in a rolling 24-hour period for stream ${StreamName} under account ${account}.`);
console.log(`ok: ${refused} records throttled, GetRecords throttled and retried, quota refused`);
