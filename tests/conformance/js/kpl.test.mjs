// KPL aggregation interoperability between libsluice (through the `sluice` CLI, which uses it)
// and aws-kinesis-agg, the npm implementation of the KPL format, both ways, through a real Sluice
// server: records aggregated by libsluice de-aggregate in aws-kinesis-agg (checksums on) with the
// same keys and data, and records aggregated by aws-kinesis-agg de-aggregate in libsluice with
// their sub-sequence numbers. Run by tests/conformance/test_js.py (SLUICE_ENDPOINT, SLUICE_BIN).
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import {
  KinesisClient,
  CreateStreamCommand,
  ListShardsCommand,
  PutRecordCommand,
  GetShardIteratorCommand,
  GetRecordsCommand,
  waitUntilStreamExists,
} from '@aws-sdk/client-kinesis';

const require = createRequire(import.meta.url);
const agg = require('aws-kinesis-agg');

const endpoint = process.env.SLUICE_ENDPOINT;
const sluice = process.env.SLUICE_BIN;
if (!endpoint || !sluice) {
  throw new Error('SLUICE_ENDPOINT/SLUICE_BIN not set: run through tests/conformance/test_js.py');
}
const client = new KinesisClient({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
});

async function createStream(shards) {
  const name = `kpl-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  await waitUntilStreamExists({ client, maxWaitTime: 30 }, { StreamName: name });
  return name;
}

async function rawRecords(name) {
  const { Shards } = await client.send(new ListShardsCommand({ StreamName: name }));
  const out = [];
  for (const s of Shards) {
    const { ShardIterator } = await client.send(new GetShardIteratorCommand({
      StreamName: name, ShardId: s.ShardId, ShardIteratorType: 'TRIM_HORIZON',
    }));
    const { Records } = await client.send(new GetRecordsCommand({ ShardIterator, Limit: 10000 }));
    out.push(...Records);
  }
  return out;
}

function runSluice(...args) {
  return execFileSync(sluice, [args[0], '--endpoint-url', endpoint, ...args.slice(1)],
    { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

describe('KPL aggregation interoperability with aws-kinesis-agg', () => {
  it('aws-kinesis-agg builds the fixed vector libsluice is tested against', () => {
    const ra = new agg.RecordAggregator();
    ra.addUserRecord({ partitionKey: 'pk1', data: Buffer.from('hello') });
    ra.addUserRecord({ partitionKey: 'pk2', explicitHashKey: '123', data: Buffer.from('world') });
    ra.addUserRecord({ partitionKey: 'pk1', data: Buffer.from('!') });
    // The same bytes as tests/unit/wire/test_kpl.c's vector.
    assert.equal(ra.build().data.toString('hex'),
      'f3899ac20a03706b310a03706b3212033132331a0908001a0568656c6c6f1a0b080110001a05776f726c641a' +
      '0508001a0121adb0e9722c84524d925abfbb4aee29c8');
  });

  it('records aggregated by libsluice de-aggregate in aws-kinesis-agg', async () => {
    const name = await createStream(2);
    const lines = Array.from({ length: 300 }, (_, i) => `user record ${i} ${'x'.repeat(i % 50)}`);
    runSluice('put', '--stream-name', name, '--aggregate', '--partition-key', 'key-{n}',
      ...lines);
    const raw = await rawRecords(name);
    assert.ok(raw.length < lines.length / 10, `only ${raw.length} Kinesis records`);
    const seen = [];
    for (const r of raw) {
      agg.deaggregateSync({ Data: r.Data, PartitionKey: r.PartitionKey,
        SequenceNumber: r.SequenceNumber }, true, (err, users) => {
        assert.ifError(err);
        for (const u of users) {
          seen.push([u.PartitionKey, Buffer.from(u.Data, 'base64').toString()]);
        }
      });
    }
    const expected = lines.map((l, i) => [`key-${i}`, l]);
    const sort = (a) => a.map((x) => x.join('\u0000')).sort();
    assert.deepEqual(sort(seen), sort(expected));
  });

  it('records aggregated by aws-kinesis-agg de-aggregate in libsluice', async () => {
    const name = await createStream(1);
    const ra = new agg.RecordAggregator();
    const users = [];
    for (let i = 0; i < 100; i++) {
      const u = { partitionKey: `pk-${i % 7}`, data: Buffer.from(`agg data ${i}`) };
      if (i % 10 === 3) u.explicitHashKey = String(12345 + i);
      users.push(u);
      ra.addUserRecord(u);
    }
    const encoded = ra.build();
    await client.send(new PutRecordCommand({ StreamName: name, Data: encoded.data,
      PartitionKey: encoded.partitionKey }));
    const out = runSluice('tail', '--stream-name', name, '--format', 'json');
    const got = out.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(got.length, users.length);
    got.forEach((r, i) => {
      assert.equal(r.subSequenceNumber, i);
      assert.equal(r.partitionKey, users[i].partitionKey);
      assert.equal(r.data, users[i].data.toString());
      assert.equal(r.explicitHashKey, users[i].explicitHashKey);
      assert.equal(r.sequenceNumber, got[0].sequenceNumber);
    });
    // A corrupted checksum: libsluice hands the record out raw, as the KCL does.
    const bad = Buffer.from(encoded.data);
    bad[bad.length - 1] ^= 0xff;
    const name2 = await createStream(1);
    await client.send(new PutRecordCommand({ StreamName: name2, Data: bad, PartitionKey: 'raw' }));
    const hex = runSluice('tail', '--stream-name', name2, '--format', 'hex').trim().split(' ');
    assert.equal(hex[1], 'raw');
    assert.equal(hex[2], bad.toString('hex'));
  });
});
