// DynamoDB load generator for bench/dynamodb/compare: GetItem and conditional UpdateItem against
// one endpoint, closed loop with --connections requests in flight (one per keep-alive HTTP/1.1
// connection), request bodies built before the run. Prints one JSON line per workload:
// {"workload", "ops", "seconds", "ops_per_s", "p50_ms", "p99_ms", "errors"}.
//
//   node load.mjs --endpoint http://127.0.0.1:PORT [--connections 32] [--duration 5] [--items 1000]
//
// The requests carry a well-formed SigV4 header (Sluice checks its form; neither server verifies
// the signature), as an SDK would send.
import http from 'node:http';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const endpoint = new URL(args.endpoint ?? 'http://127.0.0.1:4567');
const connections = Number(args.connections ?? 32);
const duration = Number(args.duration ?? 5);
const itemCount = Number(args.items ?? 1000);
const table = `bench-${process.pid}-${Date.now()}`;
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });

function amzDate() {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
}

function call(op, body) {
  const data = Buffer.from(JSON.stringify(body));
  const date = amzDate();
  const headers = {
    'Content-Type': 'application/x-amz-json-1.0',
    'X-Amz-Target': `DynamoDB_20120810.${op}`,
    'X-Amz-Date': date,
    Authorization: `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/${date.slice(0, 8)}/us-east-1/dynamodb/` +
      'aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=' +
      '0'.repeat(64),
    'Content-Length': data.length,
  };
  return new Promise((resolve, reject) => {
    const req = http.request({ host: endpoint.hostname, port: endpoint.port, method: 'POST',
      path: '/', headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

async function must(op, body) {
  const r = await call(op, body);
  if (r.status !== 200) throw new Error(`${op}: ${r.status} ${r.body}`);
  return JSON.parse(r.body.toString() || '{}');
}

async function setup() {
  await must('CreateTable', {
    TableName: table, BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
  });
  for (;;) {
    const d = await must('DescribeTable', { TableName: table });
    if (d.Table.TableStatus === 'ACTIVE') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const puts = [];
  for (let i = 0; i < itemCount; i++) {
    puts.push(must('PutItem', { TableName: table, Item: {
      id: { S: `item-${i}` }, owner: { S: 'worker-1' }, counter: { N: '0' },
      checkpoint: { S: '49590338271490256608559692538361571095921575989136588898' },
    } }));
    if (puts.length >= connections) await Promise.all(puts.splice(0));
  }
  await Promise.all(puts);
}

function bodies(workload) {
  const out = [];
  for (let i = 0; i < itemCount; i++) {
    const key = { id: { S: `item-${i}` } };
    if (workload === 'GetItem') out.push(['GetItem', { TableName: table, Key: key, ConsistentRead: true }]);
    else out.push(['UpdateItem', {
      TableName: table, Key: key,
      UpdateExpression: 'SET #c = #c + :one, #k = :k',
      ConditionExpression: 'attribute_exists(id) AND #o = :o',
      ExpressionAttributeNames: { '#c': 'counter', '#k': 'checkpoint', '#o': 'owner' },
      ExpressionAttributeValues: { ':one': { N: '1' }, ':o': { S: 'worker-1' },
        ':k': { S: '49590338271490256608559692538361571095921575989136588899' } },
    }]);
  }
  return out;
}

async function run(workload) {
  const reqs = bodies(workload);
  const latencies = [];
  let errors = 0;
  const end = performance.now() + duration * 1000;
  let next = 0;
  async function loop() {
    while (performance.now() < end) {
      const [op, body] = reqs[next++ % reqs.length];
      const t0 = performance.now();
      const r = await call(op, body);
      latencies.push(performance.now() - t0);
      if (r.status !== 200) errors++;
    }
  }
  const t0 = performance.now();
  await Promise.all(Array.from({ length: connections }, loop));
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))];
  console.log(JSON.stringify({ workload, ops: latencies.length, seconds: +seconds.toFixed(2),
    ops_per_s: Math.round(latencies.length / seconds), p50_ms: +pct(0.5).toFixed(3),
    p99_ms: +pct(0.99).toFixed(3), errors }));
}

await setup();
await run('GetItem');
await run('UpdateItem');
await must('DeleteTable', { TableName: table });
agent.destroy();
