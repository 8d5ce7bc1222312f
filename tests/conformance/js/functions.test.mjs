// Lambda functions through the AWS SDK for JavaScript v3 (@aws-sdk/client-lambda), run by node's
// test runner from tests/conformance/test_js.py against the session's server (SLUICE_ENDPOINT):
// a Node handler (async and callback styles) and a Python handler deployed as zips, invoked with
// the SDK, their results, environment, errors (FunctionError + the error document), the log tail,
// the waiters and the throttling error class. The zips are written with the system's `zip`.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  LambdaClient,
  CreateFunctionCommand,
  DeleteFunctionCommand,
  GetFunctionCommand,
  InvokeCommand,
  PutFunctionConcurrencyCommand,
  ResourceNotFoundException,
  TooManyRequestsException,
  waitUntilFunctionActiveV2,
} from '@aws-sdk/client-lambda';

const endpoint = process.env.SLUICE_ENDPOINT;
if (!endpoint) throw new Error('SLUICE_ENDPOINT is not set: run through tests/conformance/test_js.py');

const client = new LambdaClient({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
  maxAttempts: 1,
});
const role = 'arn:aws:iam::000000000000:role/lambda-role';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-fn-js-'));
const suffix = Math.random().toString(36).slice(2, 8);
const created = [];

function zipOf(files) {
  const dir = fs.mkdtempSync(path.join(tmp, 'src-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  const out = path.join(tmp, `${path.basename(dir)}.zip`);
  execFileSync('zip', ['-q', '-r', out, '.'], { cwd: dir });
  return fs.readFileSync(out);
}

async function deploy(name, runtime, handler, files, extra = {}) {
  await client.send(new CreateFunctionCommand({
    FunctionName: name, Runtime: runtime, Handler: handler, Role: role,
    Code: { ZipFile: zipOf(files) }, ...extra,
  }));
  created.push(name);
  await waitUntilFunctionActiveV2({ client, maxWaitTime: 20, minDelay: 1 }, { FunctionName: name });
}

async function call(name, event, extra = {}) {
  const out = await client.send(new InvokeCommand({
    FunctionName: name, Payload: Buffer.from(JSON.stringify(event)), ...extra,
  }));
  const text = Buffer.from(out.Payload ?? []).toString('utf8');
  return { out, body: text ? JSON.parse(text) : null };
}

describe('Lambda with the JS SDK v3', () => {
  after(async () => {
    for (const name of created) {
      try { await client.send(new DeleteFunctionCommand({ FunctionName: name })); } catch { /* gone */ }
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('runs an async Node handler with its environment, warm', async () => {
    const name = `js-async-${suffix}`;
    // a handler whose module is not in the zip: created, then fails at init (below)
    await deploy(name, 'nodejs20.x', 'src/app.handler', { 'app.mjs': 'export const x = 1;' });
    const fn = `js-async2-${suffix}`;
    await deploy(fn, 'nodejs20.x', 'app.handler', {
      'app.mjs': `let n = 0;
export const handler = async (event, context) => {
  n += 1;
  console.log('seen', event.x);
  return { n, x: event.x, env: process.env.COLOR, id: context.awsRequestId };
};`,
    }, { Environment: { Variables: { COLOR: 'blue' } } });
    const first = await call(fn, { x: 1 }, { LogType: 'Tail' });
    assert.equal(first.out.StatusCode, 200);
    assert.equal(first.out.FunctionError, undefined);
    assert.deepEqual({ ...first.body, id: undefined }, { n: 1, x: 1, env: 'blue', id: undefined });
    const log = Buffer.from(first.out.LogResult, 'base64').toString('utf8');
    assert.match(log, /^START RequestId: [0-9a-f-]{36} Version: \$LATEST\n/m);
    assert.match(log, /\tINFO\tseen 1\n/);
    assert.match(log, /REPORT RequestId: .*\tDuration: [0-9.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB/);
    const second = await call(fn, { x: 2 });
    assert.equal(second.body.n, 2);
    // the function with a missing handler module fails at init, as AWS reports it
    const broken = await call(name, {});
    assert.equal(broken.out.FunctionError, 'Unhandled');
    assert.equal(broken.body.errorType, 'Runtime.ImportModuleError');
  });

  it('runs a callback Node handler and reports its error', async () => {
    const fn = `js-cb-${suffix}`;
    await deploy(fn, 'nodejs22.x', 'index.handler', {
      'index.js': `exports.handler = (event, context, callback) => {
  if (event.bad) return callback(new RangeError('out of range'));
  callback(null, { ok: true, remaining: context.getRemainingTimeInMillis() > 0 });
};`,
    });
    assert.deepEqual((await call(fn, {})).body, { ok: true, remaining: true });
    const failed = await call(fn, { bad: true });
    assert.equal(failed.out.FunctionError, 'Unhandled');
    assert.equal(failed.body.errorType, 'RangeError');
    assert.equal(failed.body.errorMessage, 'out of range');
  });

  it('runs a Python handler', async () => {
    const fn = `js-py-${suffix}`;
    await deploy(fn, 'python3.13', 'main.handler', {
      'main.py': 'def handler(event, context):\n    return {"sum": event["a"] + event["b"], "fn": context.function_name}\n',
    });
    assert.deepEqual((await call(fn, { a: 2, b: 3 })).body, { sum: 5, fn });
  });

  it('maps errors to the SDK classes', async () => {
    await assert.rejects(client.send(new GetFunctionCommand({ FunctionName: `nope-${suffix}` })),
      (e) => e instanceof ResourceNotFoundException && e.$metadata.httpStatusCode === 404);
    const fn = `js-zero-${suffix}`;
    await deploy(fn, 'python3.12', 'main.handler', { 'main.py': 'def handler(e, c):\n    return 1\n' });
    await client.send(new PutFunctionConcurrencyCommand({ FunctionName: fn, ReservedConcurrentExecutions: 0 }));
    await assert.rejects(call(fn, {}), (e) => e instanceof TooManyRequestsException &&
      e.Reason === 'ReservedFunctionConcurrentInvocationLimitExceeded' && e.retryAfterSeconds === '1');
  });

  it('gives a context that @aws-lambda-powertools/logger reads as on AWS', async () => {
    // the package and its dependencies go into the zip, as users deploy them
    const dir = fs.mkdtempSync(path.join(tmp, 'pt-'));
    const modules = path.join(import.meta.dirname, 'node_modules');
    for (const p of ['@aws-lambda-powertools/logger', '@aws-lambda-powertools/commons', '@aws/lambda-invoke-store'])
      fs.cpSync(path.join(modules, p), path.join(dir, 'node_modules', p), { recursive: true });
    fs.writeFileSync(path.join(dir, 'index.mjs'), `import { Logger } from '@aws-lambda-powertools/logger';
const logger = new Logger({ serviceName: 'sluice-test' });
export const handler = async (event, context) => {
  logger.addContext(context);
  logger.info('handled', { n: event.n });
  return { ok: true };
};`);
    const zip = path.join(tmp, 'pt.zip');
    execFileSync('zip', ['-q', '-r', zip, '.'], { cwd: dir });
    const fn = `js-powertools-${suffix}`;
    await client.send(new CreateFunctionCommand({
      FunctionName: fn, Runtime: 'nodejs22.x', Handler: 'index.handler', Role: role,
      MemorySize: 256, Code: { ZipFile: fs.readFileSync(zip) },
    }));
    created.push(fn);
    await waitUntilFunctionActiveV2({ client, maxWaitTime: 20, minDelay: 1 }, { FunctionName: fn });
    const arn = (await client.send(new GetFunctionCommand({ FunctionName: fn }))).Configuration.FunctionArn;
    for (const n of [1, 2]) {
      const { out, body } = await call(fn, { n }, { LogType: 'Tail' });
      assert.deepEqual(body, { ok: true });
      const log = Buffer.from(out.LogResult, 'base64').toString('utf8');
      const line = log.split('\n').find((l) => l.startsWith('{') && l.includes('"handled"'));
      assert.ok(line, log);
      const rec = JSON.parse(line);
      assert.equal(rec.message, 'handled');
      assert.equal(rec.level, 'INFO');
      assert.equal(rec.service, 'sluice-test');
      assert.equal(rec.n, n);
      assert.equal(rec.function_name, fn);
      assert.equal(rec.function_arn, arn);
      assert.equal(Number(rec.function_memory_size), 256);
      assert.match(rec.function_request_id, /^[0-9a-f-]{36}$/);
      assert.ok(log.includes(`START RequestId: ${rec.function_request_id}`), log);
      assert.equal(rec.cold_start, n === 1);
      assert.ok(!Number.isNaN(Date.parse(rec.timestamp)));
    }
  });
});
