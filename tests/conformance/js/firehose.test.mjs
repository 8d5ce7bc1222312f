// Firehose with the AWS SDK for JavaScript v3 (docs/firehose.md): @aws-sdk/client-firehose creates
// a delivery stream, puts records (per-record ids, partial-failure shape), reads the description,
// and @aws-sdk/client-s3 reads the delivered object back from Sluice's object store. The server is
// started by tests/conformance/test_js.py (SLUICE_ENDPOINT).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import {
  FirehoseClient,
  CreateDeliveryStreamCommand,
  DescribeDeliveryStreamCommand,
  PutRecordCommand,
  PutRecordBatchCommand,
  DeleteDeliveryStreamCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-firehose';
import {
  S3Client,
  CreateBucketCommand,
  ListObjectsV2Command,
  GetObjectCommand,
} from '@aws-sdk/client-s3';

const endpoint = process.env.SLUICE_ENDPOINT;
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const fh = new FirehoseClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
const s3 = new S3Client({ endpoint, region: 'us-east-1', credentials, forcePathStyle: true,
                          maxAttempts: 1 });

async function until(fn, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('Firehose (JS SDK v3)', () => {
  it('DirectPut into the object store, GZIP, read back with client-s3', async () => {
    const name = 'js-' + randomBytes(4).toString('hex');
    const bucket = 'js-fh-' + randomBytes(4).toString('hex');
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const created = await fh.send(new CreateDeliveryStreamCommand({
      DeliveryStreamName: name,
      ExtendedS3DestinationConfiguration: {
        RoleARN: 'arn:aws:iam::000000000000:role/fh',
        BucketARN: 'arn:aws:s3:::' + bucket,
        Prefix: 'js/',
        CompressionFormat: 'GZIP',
        BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 },
      },
    }));
    assert.match(created.DeliveryStreamARN, new RegExp(`:deliverystream/${name}$`));
    const d = (await fh.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: name })))
      .DeliveryStreamDescription;
    assert.equal(d.DeliveryStreamStatus, 'ACTIVE');
    assert.equal(d.VersionId, '1');
    assert.ok(d.CreateTimestamp instanceof Date);
    assert.equal(d.Destinations[0].ExtendedS3DestinationDescription.CompressionFormat, 'GZIP');
    const one = await fh.send(new PutRecordCommand({
      DeliveryStreamName: name, Record: { Data: Buffer.from('first\n') } }));
    assert.ok(one.RecordId.length > 0);
    assert.equal(one.Encrypted, false);
    const batch = await fh.send(new PutRecordBatchCommand({
      DeliveryStreamName: name,
      Records: [1, 2, 3].map((i) => ({ Data: Buffer.from(`r${i}\n`) })),
    }));
    assert.equal(batch.FailedPutCount, 0);
    assert.equal(batch.RequestResponses.length, 3);
    assert.equal(new Set(batch.RequestResponses.map((r) => r.RecordId)).size, 3);
    const keys = await until(async () => {
      const l = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'js/' }));
      const ks = (l.Contents || []).map((o) => o.Key);
      let text = '';
      for (const k of ks) {
        const o = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: k }));
        text += gunzipSync(Buffer.from(await o.Body.transformToByteArray())).toString();
      }
      return text.split('\n').length > 4 ? ks : null;
    });
    for (const k of keys) {
      assert.match(k, new RegExp(`^js/\\d{4}/\\d{2}/\\d{2}/\\d{2}/${name}-1-` +
        '\\d{4}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-[0-9a-f-]{36}\\.gz$'));
    }
    await fh.send(new DeleteDeliveryStreamCommand({ DeliveryStreamName: name }));
    await assert.rejects(
      fh.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: name })),
      (e) => e instanceof ResourceNotFoundException &&
        e.message === `Firehose ${name} under account 000000000000 not found.`);
  });
});
