// KMS, STS and IAM with the AWS SDK for JavaScript v3 (run by test_security_js.py against a
// server started with --auth sigv4; SLUICE_KEY / SLUICE_SECRET are an admin principal of its
// credentials file, SLUICE_ACCOUNT its account). Not a *.test.mjs file: test_js.py runs those
// against the open-mode server.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CreateAliasCommand, CreateKeyCommand, DecryptCommand, DescribeKeyCommand, DisableKeyCommand,
  EnableKeyCommand, EncryptCommand, GenerateDataKeyCommand, GenerateDataKeyWithoutPlaintextCommand,
  KMSClient,
} from "@aws-sdk/client-kms";
import {
  AssumeRoleCommand, GetCallerIdentityCommand, GetSessionTokenCommand, STSClient,
} from "@aws-sdk/client-sts";
import {
  CreateAccessKeyCommand, CreateRoleCommand, CreateUserCommand, DeleteAccessKeyCommand,
  DeleteUserCommand, DeleteUserPolicyCommand, GetUserPolicyCommand, IAMClient, ListAccessKeysCommand,
  PutRolePolicyCommand, PutUserPolicyCommand, UpdateAccessKeyCommand,
} from "@aws-sdk/client-iam";
import { DescribeLimitsCommand, KinesisClient, ListStreamsCommand } from "@aws-sdk/client-kinesis";

const endpoint = process.env.SLUICE_ENDPOINT;
const account = process.env.SLUICE_ACCOUNT;
const admin = { accessKeyId: process.env.SLUICE_KEY, secretAccessKey: process.env.SLUICE_SECRET };
const opts = (credentials) => ({ endpoint, region: "us-east-1", maxAttempts: 1, credentials });
const kms = new KMSClient(opts(admin));
const sts = (credentials = admin) => new STSClient(opts(credentials));
const iam = new IAMClient(opts(admin));
const kinesis = (credentials) => new KinesisClient(opts(credentials));
const unique = (prefix) => `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6)}`;
const policy = (...Statement) => JSON.stringify({ Version: "2012-10-17", Statement });
const temporary = (c) => ({
  accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken,
});
const rejects = (promise, name, message) => assert.rejects(promise, (e) => {
  assert.equal(e.name, name, e.message);
  if (message instanceof RegExp) assert.match(e.message, message);
  else if (message !== undefined) assert.equal(e.message, message);
  return true;
});

test("KMS: a key encrypts and decrypts, bound to its encryption context", async () => {
  const key = (await kms.send(new CreateKeyCommand({ Description: "js" }))).KeyMetadata;
  assert.equal(key.KeyState, "Enabled");
  assert.equal(key.Arn, `arn:aws:kms:us-east-1:${account}:key/${key.KeyId}`);
  const alias = `alias/${unique("js")}`;
  await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: key.KeyId }));
  assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: alias }))).KeyMetadata.KeyId, key.KeyId);

  const plain = new TextEncoder().encode("the JS SDK's secret");
  const context = { purpose: "test" };
  const enc = await kms.send(new EncryptCommand({ KeyId: alias, Plaintext: plain, EncryptionContext: context }));
  assert.equal(enc.KeyId, key.Arn);
  assert.ok(!Buffer.from(enc.CiphertextBlob).includes(Buffer.from(plain)));
  const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: context }));
  assert.deepEqual(Buffer.from(dec.Plaintext), Buffer.from(plain));
  assert.equal(dec.KeyId, key.Arn);
  await rejects(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { purpose: "other" } })),
    "InvalidCiphertextException");

  await kms.send(new DisableKeyCommand({ KeyId: key.KeyId }));
  await rejects(kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: plain })),
    "DisabledException", `${key.Arn} is disabled.`);
  await kms.send(new EnableKeyCommand({ KeyId: key.KeyId }));
});

test("KMS: GenerateDataKey's plaintext and ciphertext are the same key", async () => {
  const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata;
  const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: key.KeyId, KeySpec: "AES_256" }));
  assert.equal(dk.Plaintext.length, 32);
  const back = await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob }));
  assert.deepEqual(Buffer.from(back.Plaintext), Buffer.from(dk.Plaintext));
  const only = await kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: key.KeyId, NumberOfBytes: 16 }));
  assert.equal(only.Plaintext, undefined);
  assert.equal((await kms.send(new DecryptCommand({ CiphertextBlob: only.CiphertextBlob }))).Plaintext.length, 16);
  await rejects(kms.send(new GenerateDataKeyCommand({ KeyId: "alias/none-such", KeySpec: "AES_256" })),
    "NotFoundException");
});

test("STS: GetCallerIdentity, and GetSessionToken's credentials sign as the caller", async () => {
  const me = await sts().send(new GetCallerIdentityCommand({}));
  assert.equal(me.Account, account);
  assert.equal(me.Arn, `arn:aws:iam::${account}:user/admin`);
  const c = (await sts().send(new GetSessionTokenCommand({ DurationSeconds: 900 }))).Credentials;
  assert.match(c.AccessKeyId, /^ASIA[A-Z2-7]{16}$/);
  assert.ok(c.Expiration instanceof Date && c.Expiration > new Date());
  assert.equal((await sts(temporary(c)).send(new GetCallerIdentityCommand({}))).Arn, me.Arn);
  assert.ok(Array.isArray((await kinesis(temporary(c)).send(new ListStreamsCommand({}))).StreamNames));
  await rejects(sts(temporary(c)).send(new GetSessionTokenCommand({})), "AccessDenied",
    "Cannot call GetSessionToken with session credentials");
  const bad = { ...temporary(c), sessionToken: c.SessionToken.slice(0, -4) + "AAAA" };
  await rejects(sts(bad).send(new GetCallerIdentityCommand({})), "InvalidClientTokenId");
});

test("STS: AssumeRole with an external id and a session policy", async () => {
  const role = unique("jsrole");
  const roleArn = `arn:aws:iam::${account}:role/${role}`;
  await iam.send(new CreateRoleCommand({
    RoleName: role,
    AssumeRolePolicyDocument: policy({
      Effect: "Allow", Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: "sts:AssumeRole",
      Condition: { StringEquals: { "sts:ExternalId": "js-ext-1" } },
    }),
  }));
  await iam.send(new PutRolePolicyCommand({
    RoleName: role, PolicyName: "read",
    PolicyDocument: policy({ Effect: "Allow", Action: ["kinesis:ListStreams", "kinesis:DescribeLimits"], Resource: "*" }),
  }));
  const denied = `User: arn:aws:iam::${account}:user/admin is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`;
  await rejects(sts().send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "js" })), "AccessDenied", denied);
  await rejects(sts().send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "js", ExternalId: "js-ext-2" })),
    "AccessDenied", denied);
  const got = await sts().send(new AssumeRoleCommand({
    RoleArn: roleArn, RoleSessionName: "js", ExternalId: "js-ext-1", DurationSeconds: 900,
    Policy: policy({ Effect: "Allow", Action: "kinesis:ListStreams", Resource: "*" }),
  }));
  const session = `arn:aws:sts::${account}:assumed-role/${role}/js`;
  assert.equal(got.AssumedRoleUser.Arn, session);
  assert.match(got.AssumedRoleUser.AssumedRoleId, /^AROA[A-Z0-9]+:js$/);
  const c = temporary(got.Credentials);
  assert.equal((await sts(c).send(new GetCallerIdentityCommand({}))).Arn, session);
  assert.ok(Array.isArray((await kinesis(c).send(new ListStreamsCommand({}))).StreamNames));
  // the role allows DescribeLimits, the session policy does not
  await rejects(kinesis(c).send(new DescribeLimitsCommand({})), "AccessDeniedException",
    `User: ${session} is not authorized to perform: kinesis:DescribeLimits on resource: ` +
    `arn:aws:kinesis:us-east-1:${account}:* because no session policy allows the kinesis:DescribeLimits action`);
  await rejects(sts().send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "js", ExternalId: "js-ext-1", DurationSeconds: 7200 })),
    "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
});

test("IAM: a user with an access key and an inline policy may do only what it allows", async () => {
  const user = unique("jsuser");
  await iam.send(new CreateUserCommand({ UserName: user }));
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: user }))).AccessKey;
  assert.match(key.AccessKeyId, /^AKIA/);
  assert.equal(key.Status, "Active");
  const creds = { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey };
  const arn = `arn:aws:iam::${account}:user/${user}`;
  // no policy yet: everything is denied
  await rejects(kinesis(creds).send(new ListStreamsCommand({})), "AccessDeniedException",
    `User: ${arn} is not authorized to perform: kinesis:ListStreams on resource: ` +
    `arn:aws:kinesis:us-east-1:${account}:* because no identity-based policy allows the kinesis:ListStreams action`);
  const doc = policy({ Effect: "Allow", Action: "kinesis:ListStreams", Resource: "*" });
  await iam.send(new PutUserPolicyCommand({ UserName: user, PolicyName: "list", PolicyDocument: doc }));
  const got = await iam.send(new GetUserPolicyCommand({ UserName: user, PolicyName: "list" }));
  assert.deepEqual(JSON.parse(decodeURIComponent(got.PolicyDocument)), JSON.parse(doc));
  assert.ok(Array.isArray((await kinesis(creds).send(new ListStreamsCommand({}))).StreamNames));
  await rejects(kinesis(creds).send(new DescribeLimitsCommand({})), "AccessDeniedException", /because no identity-based policy allows/);
  // the user may not manage IAM, not even itself
  await rejects(new IAMClient(opts(creds)).send(new PutUserPolicyCommand({
    UserName: user, PolicyName: "all", PolicyDocument: policy({ Effect: "Allow", Action: "*", Resource: "*" }),
  })), "AccessDenied", /is not authorized to perform: iam:PutUserPolicy/);
  // an inactive key is refused like an unknown one
  await iam.send(new UpdateAccessKeyCommand({ UserName: user, AccessKeyId: key.AccessKeyId, Status: "Inactive" }));
  await rejects(kinesis(creds).send(new ListStreamsCommand({})), "UnrecognizedClientException",
    "The security token included in the request is invalid.");
  const keys = (await iam.send(new ListAccessKeysCommand({ UserName: user }))).AccessKeyMetadata;
  assert.deepEqual(keys.map((k) => [k.AccessKeyId, k.Status]), [[key.AccessKeyId, "Inactive"]]);
  await rejects(iam.send(new DeleteUserCommand({ UserName: user })), "DeleteConflictException",
    "Cannot delete entity, must delete access keys and policies first.");
  await iam.send(new DeleteAccessKeyCommand({ UserName: user, AccessKeyId: key.AccessKeyId }));
  await iam.send(new DeleteUserPolicyCommand({ UserName: user, PolicyName: "list" }));
  await iam.send(new DeleteUserCommand({ UserName: user }));
});
