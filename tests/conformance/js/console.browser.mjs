// The web console end to end in a real browser: Debian's headless Chromium driven by
// playwright-core (never a downloaded browser). Run by test_console.py against a server it
// started: SLUICE_ENDPOINT; SLUICE_KEY / SLUICE_SECRET when the server runs --auth sigv4 (the
// console must then ask for credentials and sign in the browser); SLUICE_ARTIFACTS, where the
// screenshots go. Not a *.test.mjs file: test_js.py runs those against the open-mode server.
// Every step waits for what a user would see (selectors), never for a fixed time.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { KinesisClient, PutRecordsCommand, SubscribeToShardCommand } from "@aws-sdk/client-kinesis";
import { FirehoseClient, CreateDeliveryStreamCommand, PutRecordBatchCommand } from "@aws-sdk/client-firehose";
import { S3Client, CreateBucketCommand } from "@aws-sdk/client-s3";

const endpoint = process.env.SLUICE_ENDPOINT;
const key = process.env.SLUICE_KEY;
const secret = process.env.SLUICE_SECRET;
const signed = Boolean(key);
const artifacts = process.env.SLUICE_ARTIFACTS;
const tag = signed ? "sigv4" : "open";
const stream = `console-${tag}-${process.pid}`;
const kinesis = new KinesisClient({
  endpoint, region: "us-east-1", maxAttempts: 1,
  credentials: { accessKeyId: key || "AKIDEXAMPLE", secretAccessKey: secret || "secret" },
});
const clientCredentials = { accessKeyId: key || "AKIDEXAMPLE", secretAccessKey: secret || "secret" };
const firehose = new FirehoseClient({ endpoint, region: "us-east-1", maxAttempts: 1, credentials: clientCredentials });
const s3 = new S3Client({ endpoint, region: "us-east-1", maxAttempts: 1, forcePathStyle: true, credentials: clientCredentials });
const WAIT = { timeout: 20000 };

let browser, page;
const pageErrors = [];

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.on("pageerror", (e) => pageErrors.push(String(e)));
});

after(async () => {
  await browser?.close();
});

// Saves a screenshot and checks that it shows something: many colours, no colour covering
// nearly everything (a blank or error page fails).
async function screenshot(name) {
  const file = path.join(artifacts, `${tag}-${name}.png`);
  const png = await page.screenshot({ path: file, fullPage: true });
  const stats = await page.evaluate(async (b64) => {
    const img = new Image();
    img.src = "data:image/png;base64," + b64;
    await img.decode();
    const canvas = document.createElement("canvas");
    canvas.width = img.width;
    canvas.height = img.height;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const data = ctx.getImageData(0, 0, img.width, img.height).data;
    const counts = new Map();
    for (let i = 0; i < data.length; i += 4 * 7) {
      const c = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
      counts.set(c, (counts.get(c) || 0) + 1);
    }
    const total = data.length / (4 * 7);
    return { colours: counts.size, top: Math.max(...counts.values()) / total };
  }, png.toString("base64"));
  assert.ok(stats.colours >= 16 && stats.top < 0.95, `${file} looks blank: ${JSON.stringify(stats)}`);
  return file;
}

async function putRecords(from, count) {
  const records = [];
  for (let i = from; i < from + count; i++)
    records.push({ PartitionKey: `key-${i}`, Data: Buffer.from(JSON.stringify({ id: i, event: "click", page: "/home" })) });
  const out = await kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: records }));
  assert.equal(out.FailedRecordCount, 0);
}

test("the console loads (and asks for credentials when signatures are verified)", async () => {
  await page.goto(endpoint + "/console/");
  if (signed) {
    await page.waitForSelector("#signin", WAIT);
    await page.fill("#signin-key", key);
    await page.fill("#signin-secret", "not-the-secret");
    await page.click("#signin-submit");
    await page.waitForSelector("#status.error", WAIT);
    assert.match(await page.textContent("#status"), /InvalidSignatureException/);
    await page.fill("#signin-secret", secret);
    await page.click("#signin-submit");
    await page.waitForSelector("#who-key", WAIT);
    assert.equal(await page.textContent("#who-key"), key);
  }
  await page.waitForSelector("#streams[data-loaded]", WAIT);
});

test("create a stream from the console", async () => {
  await page.fill("#create-name", stream);
  await page.fill("#create-shards", "1");
  await page.click("#create-submit");
  await page.waitForSelector(`tr[data-stream="${stream}"] .badge.ACTIVE`, WAIT);
  await screenshot("streams");
});

test("records put by a client show in the data viewer, live", async () => {
  await putRecords(0, 5);
  // The streams page's throughput comes from /metrics: the 5 records show as an incoming rate.
  await page.waitForFunction((name) => {
    const cell = document.querySelector(`tr[data-stream="${name}"] td:nth-child(8)`);
    return cell && /[1-9][0-9.]* (B|KiB)\/s/.test(cell.textContent);
  }, stream, WAIT);
  assert.equal(await page.isVisible("#metrics-note"), false);
  // What the stream's log occupies on disk (sluice_storage_stream_*), and the total below.
  await page.waitForFunction((name) => {
    const cell = document.querySelector(`tr[data-stream="${name}"] td.disk`);
    return cell && /^[1-9][0-9.]* (B|KiB|MiB)1 segment$/.test(cell.textContent);
  }, stream, WAIT);
  assert.match(await page.textContent("#storage-total"), /^Storage: [1-9][0-9]* segments?, [0-9.]+ (B|KiB|MiB) on disk/);
  await page.click(`tr[data-stream="${stream}"] a`);
  await page.waitForSelector("#stream-name", WAIT);
  await page.click('[data-tab="data"]');
  await page.waitForSelector("#viewer-shard option[value='shardId-000000000000']", { ...WAIT, state: "attached" });
  await page.selectOption("#viewer-start", "TRIM_HORIZON");
  await page.selectOption("#viewer-format", "json");
  await page.check("#viewer-follow");
  await page.click("#viewer-go");
  await page.waitForFunction(() => document.querySelectorAll("#viewer-records .record").length === 5, null, WAIT);
  const first = await page.textContent("#viewer-records .record pre");
  assert.equal(first, JSON.stringify({ id: 0, event: "click", page: "/home" }, null, 2));
  // Following: records put now appear without another click.
  await putRecords(5, 3);
  await page.waitForFunction(() => document.querySelectorAll("#viewer-records .record").length === 8, null, WAIT);
  assert.match(await page.textContent("#viewer-records .record:last-child .meta"), /key-7/);
  await screenshot("viewer-json");
  await page.selectOption("#viewer-format", "hex");
  const hex = await page.textContent("#viewer-records .record pre");
  assert.match(hex, /^00000000  7b 22 69 64 22 3a 30 2c/);
  await page.selectOption("#viewer-format", "text");
  assert.equal(await page.textContent("#viewer-records .record pre"), '{"id":0,"event":"click","page":"/home"}');
  await page.click("#viewer-stop");
});

test("split a shard and see the lineage", async () => {
  await page.click('[data-tab="shards"]');
  await page.waitForSelector('#lineage g.shard[data-shard="shardId-000000000000"]', WAIT);
  await page.click('button[data-split="shardId-000000000000"]');
  await page.waitForFunction(() =>
    document.querySelectorAll('#lineage path.edge[data-parent="shardId-000000000000"]').length === 2, null, WAIT);
  const children = await page.$$eval('#lineage path.edge[data-parent="shardId-000000000000"]',
    (edges) => edges.map((e) => e.getAttribute("data-child")).sort());
  assert.deepEqual(children, ["shardId-000000000001", "shardId-000000000002"]);
  assert.equal(await page.getAttribute('#lineage g.shard[data-shard="shardId-000000000000"]', "class"), "shard closed");
  await screenshot("lineage");
  // The viewer reads across the split: the parent's records, then the children's.
  await putRecords(8, 4);
  await page.click('[data-tab="data"]');
  await page.waitForSelector("#viewer-shard option[value='shardId-000000000002']", { ...WAIT, state: "attached" });
  await page.uncheck("#viewer-follow");
  await page.click("#viewer-go");
  await page.waitForSelector('#viewer-state[data-state="done"]', WAIT);
  assert.equal(await page.locator("#viewer-records .record").count(), 12);
  assert.deepEqual(pageErrors, []);
});

test("a consumer's subscriptions, delivery and lag", async () => {
  await page.click('[data-tab="consumers"]');
  await page.waitForSelector("#tab-consumers[data-loaded]", WAIT);
  await page.fill("#consumer-name", "console-app");
  await page.click("#consumer-form button");
  await page.waitForSelector('tr[data-consumer="console-app"] .badge.ACTIVE', WAIT);
  assert.equal(await page.textContent('tr[data-consumer="console-app"] td.subscriptions'), "0");
  const consumerArn = await page.textContent('tr[data-consumer="console-app"] td.mono');
  // A client subscribes (enhanced fan-out over HTTP/2) and reads while records are put.
  const abort = new AbortController();
  const sub = await kinesis.send(new SubscribeToShardCommand({
    ConsumerARN: consumerArn, ShardId: "shardId-000000000001", StartingPosition: { Type: "LATEST" },
  }), { abortSignal: abort.signal });
  let received = 0;
  const reading = (async () => {
    try {
      for await (const ev of sub.EventStream) received += ev.SubscribeToShardEvent?.Records?.length || 0;
    } catch { /* aborted */ }
  })();
  await page.waitForFunction(() =>
    document.querySelector('tr[data-consumer="console-app"] td.subscriptions')?.textContent === "1", null, WAIT);
  for (let i = 0; received < 6 && i < 100; i++) {
    if (i % 10 === 0) await putRecords(100 + i, 10); // some land on each child shard
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(received >= 6, `the subscription received ${received} records`);
  await page.waitForFunction(() => {
    const cell = document.querySelector('tr[data-consumer="console-app"] td.delivered');
    return cell && /[1-9][0-9.]* (B|KiB)\/s/.test(cell.textContent);
  }, null, WAIT);
  assert.match(await page.textContent('tr[data-consumer="console-app"] td.behind'), /^[0-9]+ ms$/);
  await screenshot("consumers");
  abort.abort();
  await reading;
  await page.waitForFunction(() =>
    document.querySelector('tr[data-consumer="console-app"] td.subscriptions')?.textContent === "0", null, WAIT);
});

test("delivery streams: list, destination and metrics", async () => {
  const bucket = `console-${tag}-${process.pid}`;
  const name = `console-fh-${tag}-${process.pid}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await firehose.send(new CreateDeliveryStreamCommand({
    DeliveryStreamName: name,
    ExtendedS3DestinationConfiguration: {
      RoleARN: "arn:aws:iam::000000000000:role/fh", BucketARN: "arn:aws:s3:::" + bucket, Prefix: "web/",
      CompressionFormat: "GZIP", BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 },
    },
  }));
  await page.click('a[data-nav="firehose"]');
  await page.waitForSelector(`tr[data-delivery-stream="${name}"] .badge.ACTIVE`, WAIT);
  assert.match(await page.textContent(`tr[data-delivery-stream="${name}"] td.destination`),
    new RegExp(`^Amazon S3s3://${bucket}/web/$`));
  const records = [];
  for (let i = 0; i < 20; i++) records.push({ Data: Buffer.from(JSON.stringify({ n: i }) + "\n") });
  const out = await firehose.send(new PutRecordBatchCommand({ DeliveryStreamName: name, Records: records }));
  assert.equal(out.FailedPutCount, 0);
  await page.waitForFunction((n) => {
    const cell = document.querySelector(`tr[data-delivery-stream="${n}"] td.incoming`);
    return cell && /[1-9][0-9.]* (B|KiB)\/s/.test(cell.textContent);
  }, name, WAIT);
  await screenshot("delivery-streams");
  await page.click(`tr[data-delivery-stream="${name}"] a`);
  await page.waitForSelector("#fh-facts[data-loaded]", WAIT);
  assert.equal(await page.textContent("#fh-destination"), `s3://${bucket}/web/`);
  assert.match(await page.textContent("#fh-dest"), /Compression\s*GZIP/);
  await page.waitForFunction(() => /^20 records, /.test(document.querySelector("#fh-incoming")?.textContent || ""), null, WAIT);
  await page.waitForFunction(() => Number(document.querySelector("#fh-objects")?.textContent) >= 1, null, WAIT);
  assert.match(await page.textContent("#fh-delivered"), /^20 records, /);
  await screenshot("delivery-stream");
  assert.deepEqual(pageErrors, []);
});
