// The multilang leg of bench/consumer/run.sh: an aws-kcl record processor that counts records,
// checkpoints at most once a second per shard (and at shard end and shutdown) and appends
// "<records in batch>" to $BENCH_LOG after each batch, so the script can see when all arrived.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const kcl = require(path.join(__dirname, '..', '..', 'tests', 'conformance', 'js', 'node_modules',
  'aws-kcl'));

let lastCheckpoint = Date.now();

kcl({
  initialize(input, done) { done(); },
  processRecords(input, done) {
    fs.appendFileSync(process.env.BENCH_LOG, `${input.records.length}\n`);
    if (Date.now() - lastCheckpoint < 1000) {
      done();
      return;
    }
    lastCheckpoint = Date.now();
    input.checkpointer.checkpoint(input.records[input.records.length - 1].sequenceNumber,
      () => done());
  },
  leaseLost(input, done) { done(); },
  shardEnded(input, done) { input.checkpointer.checkpoint(() => done()); },
  shutdownRequested(input, done) { input.checkpointer.checkpoint(() => done()); },
}).run();
