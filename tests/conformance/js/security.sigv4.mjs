// Temporary credentials and encryption at rest with the AWS SDK for JavaScript v3 (run by
// test_sts_session.py against a server started with --auth sigv4). SLUICE_KEY / SLUICE_SECRET /
// SLUICE_TOKEN are credentials of GetSessionToken; SLUICE_STREAM is a stream encrypted with
// StartStreamEncryption. Not a *.test.mjs file: test_js.py runs those against the open-mode server.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListStreamsCommand, PutRecordCommand,
} from "@aws-sdk/client-kinesis";

const endpoint = process.env.SLUICE_ENDPOINT;
const stream = process.env.SLUICE_STREAM;
const client = (sessionToken) => new KinesisClient({
  endpoint, region: "us-east-1", maxAttempts: 1,
  credentials: { accessKeyId: process.env.SLUICE_KEY, secretAccessKey: process.env.SLUICE_SECRET, sessionToken },
});

test("temporary credentials sign requests", async () => {
  const out = await client(process.env.SLUICE_TOKEN).send(new ListStreamsCommand({}));
  assert.ok(out.StreamNames.includes(stream));
});

test("a changed session token is refused", async () => {
  const bad = process.env.SLUICE_TOKEN.slice(0, -4) + "0000";
  await assert.rejects(client(bad).send(new ListStreamsCommand({})), (e) => {
    assert.equal(e.name, "UnrecognizedClientException");
    assert.equal(e.message, "The security token included in the request is invalid.");
    return true;
  });
});

test("an encrypted stream's records come back intact, marked KMS", async () => {
  const c = client(process.env.SLUICE_TOKEN);
  const data = new TextEncoder().encode("JS-SECRET-PAYLOAD");
  const put = await c.send(new PutRecordCommand({ StreamName: stream, PartitionKey: "js", Data: data }));
  assert.equal(put.EncryptionType, "KMS");
  const it = await c.send(new GetShardIteratorCommand({
    StreamName: stream, ShardId: put.ShardId, ShardIteratorType: "AT_SEQUENCE_NUMBER",
    StartingSequenceNumber: put.SequenceNumber,
  }));
  const got = await c.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
  assert.equal(new TextDecoder().decode(got.Records[0].Data), "JS-SECRET-PAYLOAD");
  assert.equal(got.Records[0].EncryptionType, "KMS");
});
