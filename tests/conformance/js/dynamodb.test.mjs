// The DynamoDB subset with the AWS SDK for JavaScript v3: @aws-sdk/client-dynamodb (every
// operation, the legacy and the expression parameters, error classes and texts, the SDK's waiter)
// and @aws-sdk/lib-dynamodb (the document client's marshalling, as lease libraries use it). The
// server is started by tests/conformance/test_js.py (SLUICE_ENDPOINT).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  DynamoDBClient,
  CreateTableCommand,
  DescribeTableCommand,
  UpdateTableCommand,
  DeleteTableCommand,
  ListTablesCommand,
  TagResourceCommand,
  UntagResourceCommand,
  ListTagsOfResourceCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  DeleteItemCommand,
  QueryCommand,
  ScanCommand,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  ResourceNotFoundException,
  ResourceInUseException,
  waitUntilTableExists,
  waitUntilTableNotExists,
} from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
  QueryCommand as DocQueryCommand,
  ScanCommand as DocScanCommand,
  BatchWriteCommand,
} from '@aws-sdk/lib-dynamodb';

const endpoint = process.env.SLUICE_ENDPOINT;
if (!endpoint) {
  throw new Error('SLUICE_ENDPOINT is not set: run these tests through tests/conformance/test_js.py');
}
const client = new DynamoDBClient({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
  maxAttempts: 1,
});
const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });

const name = (tag) => `js-${tag}-${randomBytes(4).toString('hex')}`;

async function rejects(promise, cls, message) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${err.name}: ${err.message}`);
    if (message !== undefined) assert.equal(err.message, message);
    return true;
  });
}

async function validation(promise, message) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.name, 'ValidationException');
    if (message !== undefined) assert.equal(err.message, message);
    return true;
  });
}

describe('DynamoDB with the JavaScript SDK v3', () => {
  const leases = name('leases');
  const events = name('events');

  before(async () => {
    const created = await client.send(new CreateTableCommand({
      TableName: leases,
      AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
      ProvisionedThroughput: { ReadCapacityUnits: 10, WriteCapacityUnits: 10 },
      SSESpecification: { Enabled: true },
      Tags: [{ Key: 'app', Value: 'kcl' }],
    }));
    assert.equal(created.TableDescription.TableStatus, 'CREATING');
    await client.send(new CreateTableCommand({
      TableName: events,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'N' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
    }));
    await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 1 }, { TableName: leases });
    await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 1 }, { TableName: events });
  });

  after(async () => {
    for (const t of [leases, events]) {
      await client.send(new DeleteTableCommand({ TableName: t }));
      await waitUntilTableNotExists({ client, maxWaitTime: 30, minDelay: 1 }, { TableName: t });
    }
  });

  it('describes, lists, tags and refuses a second table of the same name', async () => {
    const t = (await client.send(new DescribeTableCommand({ TableName: leases }))).Table;
    assert.equal(t.TableStatus, 'ACTIVE');
    assert.deepEqual(t.KeySchema, [{ AttributeName: 'leaseKey', KeyType: 'HASH' }]);
    assert.equal(t.SSEDescription.Status, 'ENABLED');
    const names = (await client.send(new ListTablesCommand({}))).TableNames;
    assert.ok(names.includes(leases) && names.includes(events));
    await rejects(client.send(new CreateTableCommand({
      TableName: leases, BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
    })), ResourceInUseException, `Table already exists: ${leases}`);
    await rejects(client.send(new DescribeTableCommand({ TableName: `${leases}-nope` })),
      ResourceNotFoundException, `Requested resource not found: Table: ${leases}-nope not found`);
    await client.send(new TagResourceCommand({ ResourceArn: t.TableArn, Tags: [{ Key: 'x', Value: 'y' }] }));
    await client.send(new UntagResourceCommand({ ResourceArn: t.TableArn, TagKeys: ['app'] }));
    const tags = (await client.send(new ListTagsOfResourceCommand({ ResourceArn: t.TableArn }))).Tags;
    assert.deepEqual(tags, [{ Key: 'x', Value: 'y' }]);
  });

  it('takes a lease the KCL 2.x way (legacy Expected and AttributeUpdates)', async () => {
    const Key = { leaseKey: { S: 'shardId-000000000000' } };
    await client.send(new PutItemCommand({
      TableName: leases, Item: { ...Key, leaseCounter: { N: '0' }, checkpoint: { S: 'TRIM_HORIZON' } },
      Expected: { leaseKey: { Exists: false } },
    }));
    await rejects(client.send(new PutItemCommand({
      TableName: leases, Item: Key, Expected: { leaseKey: { Exists: false } },
    })), ConditionalCheckFailedException, 'The conditional request failed');
    const r = await client.send(new UpdateItemCommand({
      TableName: leases, Key,
      Expected: { leaseCounter: { Value: { N: '0' }, Exists: true } },
      AttributeUpdates: {
        leaseOwner: { Value: { S: 'worker-1' }, Action: 'PUT' },
        leaseCounter: { Value: { N: '1' }, Action: 'ADD' },
        ownerSwitchesSinceCheckpoint: { Value: { N: '1' }, Action: 'ADD' },
      },
      ReturnValues: 'ALL_NEW',
    }));
    assert.equal(r.Attributes.leaseCounter.N, '1');
    assert.equal(r.Attributes.leaseOwner.S, 'worker-1');
    await rejects(client.send(new UpdateItemCommand({
      TableName: leases, Key,
      Expected: { leaseCounter: { Value: { N: '0' } } },
      AttributeUpdates: { leaseOwner: { Value: { S: 'thief' }, Action: 'PUT' } },
    })), ConditionalCheckFailedException);
    await client.send(new UpdateItemCommand({
      TableName: leases, Key,
      Expected: { leaseOwner: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'worker-1' }] } },
      AttributeUpdates: { leaseOwner: { Action: 'DELETE' } },
    }));
    const item = (await client.send(new GetItemCommand({ TableName: leases, Key, ConsistentRead: true }))).Item;
    assert.equal(item.leaseOwner, undefined);
    assert.equal(item.checkpoint.S, 'TRIM_HORIZON');
  });

  it('updates documents with expressions through the document client', async () => {
    const key = { leaseKey: 'doc-1' };
    await doc.send(new PutCommand({
      TableName: leases, Item: { ...key, state: { counters: { a: 1 }, owners: ['w1'] }, n: 1.5 },
      ConditionExpression: 'attribute_not_exists(leaseKey)',
    }));
    const r = await doc.send(new UpdateCommand({
      TableName: leases, Key: key,
      UpdateExpression: 'SET #s.counters.a = #s.counters.a + :one, #s.owners = list_append(#s.owners, :w), ' +
        'n = if_not_exists(absentAttr, :zero) - :half ADD tagset :t REMOVE #s.gone',
      ConditionExpression: 'size(#s.owners) = :one AND begins_with(leaseKey, :pre)',
      ExpressionAttributeNames: { '#s': 'state' },
      ExpressionAttributeValues: { ':one': 1, ':w': ['w2'], ':zero': 0, ':half': 0.5, ':pre': 'doc',
        ':t': new Set(['x']) },
      ReturnValues: 'ALL_NEW',
    }));
    assert.deepEqual(r.Attributes.state, { counters: { a: 2 }, owners: ['w1', 'w2'] });
    assert.equal(r.Attributes.n, -0.5);
    assert.deepEqual(r.Attributes.tagset, new Set(['x']));
    const got = await doc.send(new GetCommand({ TableName: leases, Key: key,
      ProjectionExpression: '#s.owners[1], n', ExpressionAttributeNames: { '#s': 'state' } }));
    assert.deepEqual(got.Item, { state: { owners: ['w2'] }, n: -0.5 });
    await assert.rejects(doc.send(new UpdateCommand({
      TableName: leases, Key: key, UpdateExpression: 'SET n = :v', ConditionExpression: 'n > :v',
      ExpressionAttributeValues: { ':v': 10 },
    })), ConditionalCheckFailedException);
  });

  it('answers expression errors with DynamoDB\'s texts', async () => {
    const Key = { leaseKey: { S: 'e' } };
    await validation(client.send(new UpdateItemCommand({ TableName: leases, Key,
      UpdateExpression: 'SET a = :a, SET b = :a', ExpressionAttributeValues: { ':a': { S: '1' } } })),
    'Invalid UpdateExpression: Syntax error; token: "SET", near: ", SET b"');
    await validation(client.send(new PutItemCommand({ TableName: leases, Item: Key,
      ConditionExpression: 'status = :a', ExpressionAttributeValues: { ':a': { S: '1' } } })),
    'Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: status');
    await validation(client.send(new PutItemCommand({ TableName: leases, Item: Key,
      ConditionExpression: 'a = :a', ExpressionAttributeValues: { ':a': { S: '1' }, ':b': { S: '2' } } })),
    'Value provided in ExpressionAttributeValues unused in expressions: keys: {:b}');
    await validation(client.send(new PutItemCommand({ TableName: leases, Item: { ...Key, n: { N: '1e200' } } })),
      'Number overflow. Attempting to store a number with magnitude larger than supported range');
    await validation(client.send(new GetItemCommand({ TableName: leases, Key: { other: { S: 'x' } } })),
      'The provided key element does not match the schema');
    await rejects(client.send(new GetItemCommand({ TableName: `${leases}-gone`, Key })),
      ResourceNotFoundException, 'Requested resource not found');
  });

  it('queries, scans and pages, on the table and on a new GSI', async () => {
    await doc.send(new BatchWriteCommand({ RequestItems: { [events]: Array.from({ length: 20 }, (_, i) => ({
      PutRequest: { Item: { pk: i % 2 ? 'odd' : 'even', sk: i, owner: i % 3 ? 'w1' : 'w2' } },
    })) } }));
    const q = await doc.send(new DocQueryCommand({ TableName: events,
      KeyConditionExpression: 'pk = :p AND sk BETWEEN :lo AND :hi', FilterExpression: '#o = :o',
      ExpressionAttributeNames: { '#o': 'owner' },
      ExpressionAttributeValues: { ':p': 'even', ':lo': 2, ':hi': 12, ':o': 'w1' }, ScanIndexForward: false }));
    assert.deepEqual(q.Items.map((i) => i.sk), [10, 8, 4, 2]);
    assert.equal(q.ScannedCount, 6);
    const legacy = await client.send(new QueryCommand({ TableName: events,
      KeyConditions: { pk: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'odd' }] },
        sk: { ComparisonOperator: 'GE', AttributeValueList: [{ N: '15' }] } } }));
    assert.deepEqual(legacy.Items.map((i) => i.sk.N), ['15', '17', '19']);
    let seen = 0;
    let ExclusiveStartKey;
    do {
      const page = await doc.send(new DocScanCommand({ TableName: events, Limit: 6, ExclusiveStartKey }));
      seen += page.Items.length;
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    assert.equal(seen, 20);
    const parts = await Promise.all([0, 1, 2].map((Segment) => client.send(new ScanCommand({
      TableName: events, Segment, TotalSegments: 3, Select: 'COUNT' }))));
    assert.equal(parts.reduce((a, p) => a + p.Count, 0), 20);
    await client.send(new UpdateTableCommand({ TableName: events,
      AttributeDefinitions: [{ AttributeName: 'owner', AttributeType: 'S' }],
      GlobalSecondaryIndexUpdates: [{ Create: { IndexName: 'by-owner',
        KeySchema: [{ AttributeName: 'owner', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
        Projection: { ProjectionType: 'ALL' } } }] }));
    await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 1 }, { TableName: events });
    const byOwner = await doc.send(new DocQueryCommand({ TableName: events, IndexName: 'by-owner',
      KeyConditionExpression: '#o = :o', ExpressionAttributeNames: { '#o': 'owner' },
      ExpressionAttributeValues: { ':o': 'w2' } }));
    assert.deepEqual(byOwner.Items.map((i) => i.sk), [0, 3, 6, 9, 12, 15, 18]);
  });

  it('gets and writes in batches, deletes with conditions', async () => {
    await client.send(new BatchWriteItemCommand({ RequestItems: { [leases]: [
      { PutRequest: { Item: { leaseKey: { S: 'b1' }, v: { N: '1' } } } },
      { PutRequest: { Item: { leaseKey: { S: 'b2' }, v: { N: '2' } } } },
    ] } }));
    const got = await client.send(new BatchGetItemCommand({ RequestItems: {
      [leases]: { Keys: [{ leaseKey: { S: 'b1' } }, { leaseKey: { S: 'b2' } }, { leaseKey: { S: 'b3' } }] } } }));
    assert.deepEqual(got.Responses[leases].map((i) => i.v.N).sort(), ['1', '2']);
    await rejects(client.send(new DeleteItemCommand({ TableName: leases, Key: { leaseKey: { S: 'b1' } },
      ConditionExpression: 'v = :two', ExpressionAttributeValues: { ':two': { N: '2' } } })),
    ConditionalCheckFailedException);
    const old = await client.send(new DeleteItemCommand({ TableName: leases, Key: { leaseKey: { S: 'b1' } },
      ConditionExpression: 'v = :one', ExpressionAttributeValues: { ':one': { N: '1' } }, ReturnValues: 'ALL_OLD' }));
    assert.equal(old.Attributes.v.N, '1');
    const rest = await client.send(new GetItemCommand({ TableName: leases, Key: { leaseKey: { S: 'b1' } } }));
    assert.equal(rest.Item, undefined);
  });
});
