// Sluice's runtime-interface client for Node.js (docs/functions.md, "Runtimes"): loads the
// handler named by _HANDLER ("file.handler", "dir/file.handler") from LAMBDA_TASK_ROOT and speaks
// the Lambda Runtime API at AWS_LAMBDA_RUNTIME_API, so that handlers written for AWS run
// unchanged: async handlers, callback handlers (event, context, callback), the documented context
// fields, console output prefixed with the time, request id and level as AWS prints it.
// Standard library only; the server compiles this file in and writes it to its data directory.
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import util from 'node:util';
import fs from 'node:fs';

const api = process.env.AWS_LAMBDA_RUNTIME_API || '';
const slash = api.indexOf('/');
const hostPort = slash < 0 ? api : api.slice(0, slash);
const prefix = slash < 0 ? '' : api.slice(slash);
const colon = hostPort.lastIndexOf(':');
const host = hostPort.slice(0, colon);
const port = Number(hostPort.slice(colon + 1));
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const taskRoot = process.env.LAMBDA_TASK_ROOT || process.cwd();

function call(method, p, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(body);
    const req = http.request(
      {
        host, port, method, agent,
        path: prefix + '/2018-06-01/runtime' + p,
        headers: { ...headers, 'Content-Length': data ? data.length : 0 },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      });
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

// console: "<time>\t<request id>\t<LEVEL>\t<message>" as AWS's Node runtimes print it
let currentId = 'undefined';
const write = (level, args) => {
  process.stdout.write(`${new Date().toISOString()}\t${currentId}\t${level}\t${util.format(...args)}\n`);
};
console.log = (...a) => write('INFO', a);
console.info = (...a) => write('INFO', a);
console.warn = (...a) => write('WARN', a);
console.error = (...a) => write('ERROR', a);
console.debug = (...a) => write('DEBUG', a);
console.trace = (...a) => write('TRACE', a);

function errorDoc(err, fallbackType) {
  if (err instanceof Error) {
    return {
      errorType: err.name && err.name !== 'Error' ? err.name : (err.constructor?.name || fallbackType),
      errorMessage: err.message,
      trace: String(err.stack || '').split('\n'),
    };
  }
  return { errorType: typeof err === 'string' ? 'string' : fallbackType, errorMessage: String(err), trace: [] };
}

async function initError(doc) {
  console.error(`${doc.errorType}: ${doc.errorMessage}`);
  try {
    await call('POST', '/init/error', JSON.stringify(doc), { 'Lambda-Runtime-Function-Error-Type': doc.errorType });
  } catch { /* the server is gone */ }
  process.exit(1);
}

async function loadHandler() {
  const spec = process.env._HANDLER || '';
  const cut = spec.lastIndexOf('/') + 1;
  const rest = spec.slice(cut);
  const dot = rest.indexOf('.');
  if (dot < 1) {
    return initError({ errorType: 'Runtime.MalformedHandlerName', errorMessage: `Bad handler ${spec}`, trace: [] });
  }
  const modName = spec.slice(0, cut) + rest.slice(0, dot);
  const fnPath = rest.slice(dot + 1).split('.');
  const base = path.resolve(taskRoot, modName);
  const candidates = ['.js', '.mjs', '.cjs'].map((ext) => base + ext).filter((f) => fs.existsSync(f));
  if (candidates.length === 0) {
    return initError({
      errorType: 'Runtime.ImportModuleError',
      errorMessage: `Error: Cannot find module '${modName}'`,
      trace: [],
    });
  }
  let mod;
  try {
    const file = candidates[0];
    if (file.endsWith('.mjs')) {
      mod = await import(pathToFileURL(file).href);
    } else {
      try {
        mod = createRequire(file)(file);
      } catch (e) {
        if (e && (e.code === 'ERR_REQUIRE_ESM' || e.code === 'ERR_REQUIRE_ASYNC_MODULE')) mod = await import(pathToFileURL(file).href);
        else throw e;
      }
    }
  } catch (e) {
    const doc = errorDoc(e, 'Runtime.UserCodeSyntaxError');
    if (!(e instanceof SyntaxError)) doc.errorType = 'Runtime.ImportModuleError';
    return initError(doc);
  }
  let fn = mod;
  for (const part of fnPath) fn = fn == null ? undefined : fn[part];
  if (fn === undefined && mod && mod.default) {
    fn = mod.default;
    for (const part of fnPath) fn = fn == null ? undefined : fn[part];
  }
  if (typeof fn !== 'function') {
    return initError({ errorType: 'Runtime.HandlerNotFound', errorMessage: `${spec} is undefined or not exported`, trace: [] });
  }
  return fn;
}

// Runs one invocation: async handlers settle their promise, callback handlers call back.
function invoke(fn, event, context) {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (err, result) => {
      if (settled) return;
      settled = true;
      resolve({ err, result });
    };
    const callback = (err, result) => finish(err === undefined ? null : err, result);
    context.done = callback;
    context.succeed = (r) => finish(null, r);
    context.fail = (e) => finish(e ?? new Error('handled'));
    try {
      const r = fn(event, context, callback);
      if (r && typeof r.then === 'function') {
        r.then((v) => finish(null, v), (e) => finish(e ?? new Error('Promise rejected'), undefined));
      } else if (fn.length < 3) {
        finish(null, r);
      }
    } catch (e) {
      finish(e, undefined);
    }
  });
}

const handler = await loadHandler();
for (;;) {
  let next;
  try {
    next = await call('GET', '/invocation/next');
  } catch {
    process.exit(0); // the server is gone
  }
  if (next.status !== 200) process.exit(0);
  const h = next.headers;
  const id = h['lambda-runtime-aws-request-id'];
  const deadline = Number(h['lambda-runtime-deadline-ms']);
  currentId = id;
  if (h['lambda-runtime-trace-id']) process.env._X_AMZN_TRACE_ID = h['lambda-runtime-trace-id'];
  else delete process.env._X_AMZN_TRACE_ID;
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: h['lambda-runtime-invoked-function-arn'],
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: id,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    identity: h['lambda-runtime-cognito-identity'] ? JSON.parse(h['lambda-runtime-cognito-identity']) : undefined,
    clientContext: h['lambda-runtime-client-context'] ? JSON.parse(h['lambda-runtime-client-context']) : undefined,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  let event;
  try {
    event = JSON.parse(next.body.toString('utf8'));
  } catch {
    event = next.body.toString('utf8');
  }
  const { err, result } = await invoke(handler, event, context);
  try {
    if (err) {
      const doc = errorDoc(err, 'Error');
      console.error('Invoke Error', JSON.stringify(doc));
      await call('POST', `/invocation/${id}/error`, JSON.stringify(doc), {
        'Content-Type': 'application/json',
        'Lambda-Runtime-Function-Error-Type': doc.errorType,
      });
    } else {
      const body = JSON.stringify(result === undefined ? null : result);
      await call('POST', `/invocation/${id}/response`, body, { 'Content-Type': 'application/json' });
    }
  } catch {
    process.exit(0);
  }
  currentId = 'undefined';
}
