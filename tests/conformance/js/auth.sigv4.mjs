// SigV4 verification with the AWS SDK for JavaScript v3 (run by test_auth.py against a server
// started with --auth sigv4; SLUICE_KEY / SLUICE_SECRET are an admin principal of its
// credentials file). Not a *.test.mjs file: test_js.py runs those against the open-mode server.
import { test } from "node:test";
import assert from "node:assert/strict";
import { KinesisClient, ListStreamsCommand } from "@aws-sdk/client-kinesis";

const endpoint = process.env.SLUICE_ENDPOINT;
const client = (accessKeyId, secretAccessKey, region = "us-east-1") =>
  new KinesisClient({ endpoint, region, maxAttempts: 1, credentials: { accessKeyId, secretAccessKey } });

test("the right secret is accepted", async () => {
  const out = await client(process.env.SLUICE_KEY, process.env.SLUICE_SECRET).send(new ListStreamsCommand({}));
  assert.ok(Array.isArray(out.StreamNames));
});

test("a wrong secret gets InvalidSignatureException", async () => {
  await assert.rejects(client(process.env.SLUICE_KEY, "wrong").send(new ListStreamsCommand({})), (e) => {
    assert.equal(e.name, "InvalidSignatureException");
    assert.equal(e.$metadata.httpStatusCode, 400);
    assert.match(e.message, /^The request signature we calculated does not match/);
    return true;
  });
});

test("an unknown key gets UnrecognizedClientException", async () => {
  await assert.rejects(client("AKIANOBODY00EXAMPLE", "x").send(new ListStreamsCommand({})), (e) => {
    assert.equal(e.name, "UnrecognizedClientException");
    assert.equal(e.message, "The security token included in the request is invalid.");
    return true;
  });
});

test("a wrong region in the scope is refused", async () => {
  await assert.rejects(client(process.env.SLUICE_KEY, process.env.SLUICE_SECRET, "ap-south-1").send(new ListStreamsCommand({})), (e) => {
    assert.equal(e.name, "InvalidSignatureException");
    assert.equal(e.message, "Credential should be scoped to a valid region, not 'ap-south-1'. ");
    return true;
  });
});
