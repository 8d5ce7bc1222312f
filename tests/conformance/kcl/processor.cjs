// A KCL record processor written with the aws-kcl npm package's API, exactly as an application
// would write one for the Java MultiLangDaemon; tests/conformance/test_consume.py runs it under
// `sluice consume --multilang "node processor.cjs"`. It appends one JSON line per event to
// $KCL_LOG (records processed, checkpoints stored, lifecycle calls), tagged with $KCL_WORKER, and
// checkpoints after every batch, at shard end and on shutdown.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const kcl = require(path.join(__dirname, '..', 'js', 'node_modules', 'aws-kcl'));

const logPath = process.env.KCL_LOG;
const worker = process.env.KCL_WORKER || '?';

function log(event) {
  fs.appendFileSync(logPath, `${JSON.stringify({ worker, pid: process.pid, ...event })}\n`);
}

let shardId = null;

const processor = {
  initialize(input, done) {
    shardId = input.shardId;
    log({ event: 'initialize', shard: shardId, checkpoint: input.sequenceNumber });
    done();
  },

  processRecords(input, done) {
    const records = input.records || [];
    for (const r of records) {
      log({
        event: 'record',
        shard: shardId,
        seq: r.sequenceNumber,
        sub: r.subSequenceNumber,
        key: r.partitionKey,
        data: Buffer.from(r.data, 'base64').toString(),
      });
    }
    if (records.length === 0) {
      done();
      return;
    }
    const last = records[records.length - 1];
    input.checkpointer.checkpoint(last.sequenceNumber, (err, seq) => {
      log({ event: err ? 'checkpointFailed' : 'checkpoint', shard: shardId, seq, error: err });
      done();
    });
  },

  leaseLost(input, done) {
    log({ event: 'leaseLost', shard: shardId });
    done();
  },

  shardEnded(input, done) {
    input.checkpointer.checkpoint((err) => {
      log({ event: 'shardEnded', shard: shardId, error: err || null });
      done();
    });
  },

  shutdownRequested(input, done) {
    input.checkpointer.checkpoint((err) => {
      log({ event: 'shutdownRequested', shard: shardId, error: err || null });
      done();
    });
  },
};

kcl(processor).run();
