// CloudWatch over Smithy RPC v2 CBOR with the AWS SDK for JavaScript v3 (docs/observability.md,
// "CloudWatch API"). @aws-sdk/client-cloudwatch 3.1178 defaults to AWS JSON 1.0; its protocol
// option takes the SDK's own AwsSmithyRpcV2CborProtocol, the protocol the CloudWatch model lists
// first and newer SDKs pick. A middleware records what went over the wire, so the test fails if
// the SDK fell back to JSON. The server is started by tests/conformance/test_js.py.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  CloudWatchClient,
  PutMetricDataCommand,
  GetMetricStatisticsCommand,
  GetMetricDataCommand,
  ListMetricsCommand,
  InvalidParameterValueException,
} from '@aws-sdk/client-cloudwatch';
import { AwsSmithyRpcV2CborProtocol } from '@aws-sdk/core/protocols';

const endpoint = process.env.SLUICE_ENDPOINT;
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const cw = new CloudWatchClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1,
                                  protocol: AwsSmithyRpcV2CborProtocol });
const wire = [];
cw.middlewareStack.add((next) => async (args) => {
  const w = { path: args.request.path, headers: args.request.headers };
  wire.push(w);
  const out = await next(args);
  w.status = out.response.statusCode;
  w.response = out.response.headers;
  return out;
}, { step: 'deserialize', name: 'recordWire', priority: 'low' });

function lastWire(op) {
  const w = wire[wire.length - 1];
  assert.equal(w.path, `/service/GraniteServiceVersion20100801/operation/${op}`);
  assert.equal(w.headers['content-type'], 'application/cbor');
  assert.equal(w.headers['smithy-protocol'], 'rpc-v2-cbor');
  return w;
}

describe('CloudWatch over Smithy RPC v2 CBOR (JS SDK v3)', () => {
  it('puts data and reads exact statistics, series and the metric list back', async () => {
    const ns = 'Sluice/Js' + randomBytes(3).toString('hex');
    const dims = [{ Name: 'Host', Value: 'a' }];
    // one minute, ten seconds in, with a millisecond fraction: tag 1 + float seconds
    const minute = Math.floor(Date.now() / 60000) * 60000 - 60000;
    await cw.send(new PutMetricDataCommand({ Namespace: ns, MetricData: [
      { MetricName: 'Latency', Dimensions: dims, Timestamp: new Date(minute + 10123),
        Values: [1, 5, 9], Counts: [1, 2, 1], Unit: 'Milliseconds' },
      { MetricName: 'Latency', Dimensions: dims, Timestamp: new Date(minute + 20000), Value: 100,
        Unit: 'Milliseconds' },
    ] }));
    const put = lastWire('PutMetricData');
    assert.equal(put.status, 200);
    assert.equal(put.response['smithy-protocol'], 'rpc-v2-cbor');
    assert.equal(put.response['content-type'], 'application/cbor');

    const stats = await cw.send(new GetMetricStatisticsCommand({
      Namespace: ns, MetricName: 'Latency', Dimensions: dims,
      StartTime: new Date(minute - 600000), EndTime: new Date(minute + 600000), Period: 60,
      Statistics: ['Sum', 'SampleCount', 'Minimum', 'Maximum', 'Average'],
    }));
    lastWire('GetMetricStatistics');
    assert.equal(stats.Datapoints.length, 1);
    const p = stats.Datapoints[0];
    assert.ok(p.Timestamp instanceof Date);
    assert.equal(p.Timestamp.getTime(), minute);
    assert.deepEqual([p.Sum, p.SampleCount, p.Minimum, p.Maximum, p.Average],
                     [1 + 10 + 9 + 100, 5, 1, 100, 24]);
    assert.equal(p.Unit, 'Milliseconds');

    const data = await cw.send(new GetMetricDataCommand({
      StartTime: new Date(minute - 600000), EndTime: new Date(minute + 600000),
      ScanBy: 'TimestampAscending',
      MetricDataQueries: [{ Id: 'm1', MetricStat: {
        Metric: { Namespace: ns, MetricName: 'Latency', Dimensions: dims }, Period: 60,
        Stat: 'Maximum' } }],
    }));
    lastWire('GetMetricData');
    const r = data.MetricDataResults[0];
    assert.equal(r.Id, 'm1');
    assert.deepEqual(r.Timestamps.map((t) => t.getTime()), [minute]);
    assert.deepEqual(r.Values, [100]);
    assert.equal(r.StatusCode, 'Complete');

    const list = await cw.send(new ListMetricsCommand({ Namespace: ns }));
    lastWire('ListMetrics');
    assert.deepEqual(list.Metrics, [{ Namespace: ns, MetricName: 'Latency', Dimensions: dims }]);
  });

  it('answers errors in CBOR with the modeled exception', async () => {
    await assert.rejects(
      cw.send(new PutMetricDataCommand({ Namespace: 'AWS/Kinesis',
                                         MetricData: [{ MetricName: 'X', Value: 1 }] })),
      (e) => {
        assert.ok(e instanceof InvalidParameterValueException, e.name);
        assert.equal(e.message, 'The value AWS/ for parameter Namespace is invalid.');
        assert.equal(e.$metadata.httpStatusCode, 400);
        return true;
      });
    const w = lastWire('PutMetricData');
    assert.equal(w.status, 400);
    assert.equal(w.response['smithy-protocol'], 'rpc-v2-cbor');
    assert.equal(w.response['content-type'], 'application/cbor');
    await assert.rejects(
      cw.send(new GetMetricStatisticsCommand({ Namespace: 'N', MetricName: 'M', Period: 60,
        StartTime: new Date(2000000), EndTime: new Date(1000000), Statistics: ['Sum'] })),
      (e) => e instanceof InvalidParameterValueException &&
             e.message === 'The parameter StartTime must be less than the parameter EndTime.');
  });
});
