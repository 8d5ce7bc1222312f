// SQS (AWS JSON 1.0) and SNS (Query) with the AWS SDK for JavaScript v3: @aws-sdk/client-sqs checks
// MD5OfMessageBody and MD5OfMessageAttributes itself (its md5 middleware), maps the query-compatible
// error codes to its exception classes, and long-polls; @aws-sdk/client-sns publishes to a queue
// subscription. The server is started by tests/conformance/test_js.py (SLUICE_ENDPOINT).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  SQSClient,
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SendMessageCommand,
  SendMessageBatchCommand,
  ReceiveMessageCommand,
  DeleteMessageCommand,
  GetQueueUrlCommand,
  QueueDoesNotExist,
} from '@aws-sdk/client-sqs';
import {
  SNSClient,
  CreateTopicCommand,
  SubscribeCommand,
  PublishCommand,
  NotFoundException,
} from '@aws-sdk/client-sns';

const config = {
  endpoint: process.env.SLUICE_ENDPOINT,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
  maxAttempts: 1,
};
const sqs = new SQSClient(config);
const sns = new SNSClient(config);
const name = (tag) => `${tag}-${randomBytes(5).toString('hex')}`;

describe('SQS with the JS SDK v3', () => {
  it('sends, long-polls and deletes with attributes the SDK checks', async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name('js') }));
    const attrs = {
      s: { DataType: 'String', StringValue: 'värde' },
      b: { DataType: 'Binary', BinaryValue: new Uint8Array([0, 1, 255]) },
      n: { DataType: 'Number', StringValue: '3' },
    };
    const poll = sqs.send(new ReceiveMessageCommand({
      QueueUrl, WaitTimeSeconds: 10, MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['ApproximateReceiveCount'],
    }));
    await new Promise((r) => setTimeout(r, 300));
    const sent = await sqs.send(new SendMessageCommand({
      QueueUrl, MessageBody: 'hello from js', MessageAttributes: attrs,
    }));
    assert.match(sent.MD5OfMessageAttributes, /^[0-9a-f]{32}$/);
    const { Messages } = await poll;
    assert.equal(Messages.length, 1);
    assert.equal(Messages[0].Body, 'hello from js');
    assert.equal(Messages[0].MessageId, sent.MessageId);
    assert.equal(Messages[0].Attributes.ApproximateReceiveCount, '1');
    assert.deepEqual([...Messages[0].MessageAttributes.b.BinaryValue], [0, 1, 255]);
    assert.equal(Messages[0].MessageAttributes.s.StringValue, 'värde');
    await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: Messages[0].ReceiptHandle }));
    const batch = await sqs.send(new SendMessageBatchCommand({
      QueueUrl, Entries: [{ Id: 'a', MessageBody: 'one' }, { Id: 'b', MessageBody: 'two' }],
    }));
    assert.equal(batch.Successful.length, 2);
    const q = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }));
    assert.equal(q.Attributes.ApproximateNumberOfMessages, '2');
  });

  it('reports a missing queue as QueueDoesNotExist', async () => {
    await assert.rejects(sqs.send(new GetQueueUrlCommand({ QueueName: name('none') })),
      (e) => e instanceof QueueDoesNotExist && e.$metadata.httpStatusCode === 400);
  });
});

describe('SNS with the JS SDK v3', () => {
  it('publishes to an SQS subscription', async () => {
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: name('jst') }));
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name('jsq') }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({
      QueueUrl, AttributeNames: ['QueueArn'],
    }));
    const { SubscriptionArn } = await sns.send(new SubscribeCommand({
      TopicArn, Protocol: 'sqs', Endpoint: Attributes.QueueArn,
    }));
    assert.ok(SubscriptionArn.startsWith(TopicArn + ':'));
    const { MessageId } = await sns.send(new PublishCommand({ TopicArn, Message: 'to the queue' }));
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 10 }));
    const envelope = JSON.parse(Messages[0].Body);
    assert.equal(envelope.Type, 'Notification');
    assert.equal(envelope.MessageId, MessageId);
    assert.equal(envelope.Message, 'to the queue');
    await assert.rejects(sns.send(new PublishCommand({ TopicArn: TopicArn + 'x', Message: 'x' })),
      (e) => e instanceof NotFoundException);
  });
});
