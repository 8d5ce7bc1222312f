"""Kinesis Data Analytics SQL applications through boto3's `kinesisanalytics` client against a
real server: the control plane (create, describe, list, update, add and delete outputs, tags,
start, stop, delete, AWS's errors) and applications running over Sluice streams (records in,
SQL, rows out), across a restart of the server and from LAST_STOPPED_POINT."""
import json

import boto3
import pytest
from botocore.config import Config

from helpers import ACCESS_KEY, REGION, SECRET_KEY, client_for, unique_name, wait_until

ROLE = "arn:aws:iam::000000000000:role/kda"

CODE = """CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (ticker VARCHAR(4), price DOUBLE);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM "ticker", "price" FROM "SOURCE_SQL_STREAM_001" WHERE "price" > 10;
"""


def kda_for(server):
    session = boto3.session.Session(aws_access_key_id=ACCESS_KEY,
                                    aws_secret_access_key=SECRET_KEY, region_name=REGION)
    return session.client("kinesisanalytics", endpoint_url=server.endpoint,
                          config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def stream(kinesis, name, shards=1):
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    kinesis.get_waiter("stream_exists").wait(StreamName=name,
                                             WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    return kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]


def app_input(arn, prefix="SOURCE_SQL_STREAM", v2=False):
    return {
        "NamePrefix": prefix,
        "KinesisStreamsInput": {"ResourceARN": arn} if v2 else {"ResourceARN": arn, "RoleARN": ROLE},
        "InputSchema": {
            "RecordFormat": {"RecordFormatType": "JSON",
                             "MappingParameters": {"JSONMappingParameters": {"RecordRowPath": "$"}}},
            "RecordEncoding": "UTF-8",
            "RecordColumns": [
                {"Name": "ticker", "SqlType": "VARCHAR(4)", "Mapping": "$.ticker"},
                {"Name": "price", "SqlType": "DOUBLE", "Mapping": "$.price"},
            ],
        },
    }


def app_output(arn, fmt="JSON", v2=False):
    return {"Name": "DESTINATION_SQL_STREAM",
            "KinesisStreamsOutput": {"ResourceARN": arn} if v2 else {"ResourceARN": arn,
                                                                     "RoleARN": ROLE},
            "DestinationSchema": {"RecordFormatType": fmt}}


def read_all(kinesis, name):
    out = []
    for sh in kinesis.list_shards(StreamName=name)["Shards"]:
        it = kinesis.get_shard_iterator(StreamName=name, ShardId=sh["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while it:
            r = kinesis.get_records(ShardIterator=it, Limit=10000)
            out += [rec["Data"] for rec in r["Records"]]
            if not r["Records"]:
                break
            it = r.get("NextShardIterator")
    return out


def put(kinesis, name, prices, ticker="AMZN"):
    kinesis.put_records(StreamName=name, Records=[
        {"PartitionKey": str(i), "Data": json.dumps({"ticker": ticker, "price": p}).encode()}
        for i, p in enumerate(prices)])


def create(kda, name, in_arn, out_arn, code=CODE, fmt="JSON"):
    kda.create_application(ApplicationName=name, ApplicationCode=code,
                           Inputs=[app_input(in_arn)], Outputs=[app_output(out_arn, fmt)],
                           Tags=[{"Key": "team", "Value": "streams"}])
    return kda.describe_application(ApplicationName=name)["ApplicationDetail"]


def start(kda, name, position="NOW"):
    detail = kda.describe_application(ApplicationName=name)["ApplicationDetail"]
    kda.start_application(ApplicationName=name, InputConfigurations=[{
        "Id": detail["InputDescriptions"][0]["InputId"],
        "InputStartingPositionConfiguration": {"InputStartingPosition": position}}])


def test_control_plane(server):
    kinesis, kda = client_for(server), kda_for(server)
    in_arn, out_arn = stream(kinesis, unique_name("kin")), stream(kinesis, unique_name("kout"))
    name = unique_name("app")
    detail = create(kda, name, in_arn, out_arn)
    assert detail["ApplicationStatus"] == "READY"
    assert detail["ApplicationVersionId"] == 1
    assert detail["ApplicationARN"] == \
        "arn:aws:kinesisanalytics:us-east-1:000000000000:application/" + name
    (inp,) = detail["InputDescriptions"]
    assert inp["InAppStreamNames"] == ["SOURCE_SQL_STREAM_001"]
    assert inp["KinesisStreamsInputDescription"] == {"ResourceARN": in_arn, "RoleARN": ROLE}
    assert inp["InputSchema"]["RecordColumns"][1] == \
        {"Name": "price", "SqlType": "DOUBLE", "Mapping": "$.price"}
    assert inp["InputParallelism"] == {"Count": 1}
    (out,) = detail["OutputDescriptions"]
    assert out["Name"] == "DESTINATION_SQL_STREAM" and out["OutputId"] != inp["InputId"]
    assert detail["ApplicationCode"] == CODE
    # list, pagination
    other = name + "-b"
    kda.create_application(ApplicationName=other)
    page = kda.list_applications(Limit=1, ExclusiveStartApplicationName=name)
    assert [a["ApplicationName"] for a in page["ApplicationSummaries"]] == [other]
    # errors
    with pytest.raises(kda.exceptions.ResourceInUseException):
        kda.create_application(ApplicationName=name)
    with pytest.raises(kda.exceptions.CodeValidationException):
        kda.create_application(ApplicationName=name + "-bad", ApplicationCode="SELEC 1;")
    with pytest.raises(kda.exceptions.ResourceNotFoundException):
        kda.describe_application(ApplicationName=name + "-none")
    with pytest.raises(kda.exceptions.ConcurrentModificationException):
        kda.update_application(ApplicationName=name, CurrentApplicationVersionId=7,
                               ApplicationUpdate={"ApplicationCodeUpdate": CODE})
    # a version per change
    kda.update_application(ApplicationName=name, CurrentApplicationVersionId=1,
                           ApplicationUpdate={"ApplicationCodeUpdate": CODE + "-- v2\n"})
    kda.delete_application_output(ApplicationName=name, CurrentApplicationVersionId=2,
                                  OutputId=out["OutputId"])
    kda.add_application_output(ApplicationName=name, CurrentApplicationVersionId=3,
                               Output=app_output(out_arn, "CSV"))
    detail = kda.describe_application(ApplicationName=name)["ApplicationDetail"]
    assert detail["ApplicationVersionId"] == 4
    assert detail["OutputDescriptions"][0]["DestinationSchema"] == {"RecordFormatType": "CSV"}
    assert detail["ApplicationCode"].endswith("-- v2\n")
    # tags
    arn = detail["ApplicationARN"]
    kda.tag_resource(ResourceARN=arn, Tags=[{"Key": "env", "Value": "test"}])
    kda.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert kda.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "env", "Value": "test"}]
    # delete needs the create timestamp
    with pytest.raises(kda.exceptions.ResourceNotFoundException):
        kda.delete_application(ApplicationName=other, CreateTimestamp=0)
    created = kda.describe_application(ApplicationName=other)["ApplicationDetail"]["CreateTimestamp"]
    kda.delete_application(ApplicationName=other, CreateTimestamp=created)
    with pytest.raises(kda.exceptions.ResourceNotFoundException):
        kda.describe_application(ApplicationName=other)


def test_start_needs_outputs_in_code(server):
    kinesis, kda = client_for(server), kda_for(server)
    in_arn, out_arn = stream(kinesis, unique_name("kin")), stream(kinesis, unique_name("kout"))
    name = unique_name("app")
    create(kda, name, in_arn, out_arn, code="CREATE STREAM \"OTHER\" (a INT);")
    with pytest.raises(kda.exceptions.InvalidApplicationConfigurationException):
        start(kda, name)
    assert kda.describe_application(ApplicationName=name)["ApplicationDetail"][
        "ApplicationStatus"] == "READY"


def test_running_application(make_server):
    srv = make_server()
    kinesis, kda = client_for(srv), kda_for(srv)
    in_name, out_name = unique_name("kin"), unique_name("kout")
    in_arn, out_arn = stream(kinesis, in_name, 2), stream(kinesis, out_name)
    put(kinesis, in_name, [100])  # before the start: NOW skips it
    name = unique_name("app")
    create(kda, name, in_arn, out_arn)
    start(kda, name, "NOW")
    assert kda.describe_application(ApplicationName=name)["ApplicationDetail"][
        "ApplicationStatus"] == "RUNNING"
    # NOW is the time of StartApplication: records put after it are read, the earlier one not
    put(kinesis, in_name, [5, 11, 12, 3, 40])
    rows = wait_until(lambda: (lambda r: r if len(r) >= 3 else None)(read_all(kinesis, out_name)),
                      timeout=20, what="three rows out")
    assert sorted(json.loads(r)["PRICE"] for r in rows) == [11, 12, 40]
    assert json.loads(rows[0]).keys() == {"TICKER", "PRICE"}
    before = len(rows)
    # a restart resumes the running application where it stopped
    srv.restart()
    put(kinesis, in_name, [50])
    wait_until(lambda: len(read_all(kinesis, out_name)) == before + 1, timeout=20,
               what="the row after the restart")
    # stop, records while stopped, start from LAST_STOPPED_POINT: nothing lost
    kda.stop_application(ApplicationName=name)
    assert kda.describe_application(ApplicationName=name)["ApplicationDetail"][
        "ApplicationStatus"] == "READY"
    put(kinesis, in_name, [60, 1, 70])
    start(kda, name, "LAST_STOPPED_POINT")
    wait_until(lambda: len(read_all(kinesis, out_name)) == before + 3, timeout=20,
               what="the rows put while stopped")
    prices = sorted(json.loads(r)["PRICE"] for r in read_all(kinesis, out_name))
    assert [p for p in prices if p >= 50] == [50, 60, 70]
    # an update of a running application takes effect: CSV output, a new filter
    version = kda.describe_application(ApplicationName=name)["ApplicationDetail"][
        "ApplicationVersionId"]
    kda.update_application(ApplicationName=name, CurrentApplicationVersionId=version,
                           ApplicationUpdate={"ApplicationCodeUpdate": CODE.replace("> 10", "> 80"),
                                              "OutputUpdates": [{
                                                  "OutputId": kda.describe_application(
                                                      ApplicationName=name)["ApplicationDetail"][
                                                      "OutputDescriptions"][0]["OutputId"],
                                                  "DestinationSchemaUpdate": {
                                                      "RecordFormatType": "CSV"}}]})
    put(kinesis, in_name, [75, 90])
    wait_until(lambda: b"AMZN,90.0\n" in read_all(kinesis, out_name), timeout=20,
               what="the CSV row of the updated code")
    assert not any(r.startswith(b"AMZN,75") for r in read_all(kinesis, out_name))
    # DeleteApplication of the running application takes its saved positions and window state
    # with it: a new application of the same name must not resume from them
    saved = lambda: sorted(p.name for p in srv.data_dir.rglob("analytics.db.%s.*" % name))
    wait_until(lambda: saved(), timeout=15, what="the positions saved")
    created = kda.describe_application(ApplicationName=name)["ApplicationDetail"]["CreateTimestamp"]
    kda.delete_application(ApplicationName=name, CreateTimestamp=created)
    assert saved() == []


def kda2_for(server):
    session = boto3.session.Session(aws_access_key_id=ACCESS_KEY,
                                    aws_secret_access_key=SECRET_KEY, region_name=REGION)
    return session.client("kinesisanalyticsv2", endpoint_url=server.endpoint,
                          config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def test_v2_api_on_the_same_applications(server):
    """kinesisanalyticsv2 with RuntimeEnvironment SQL-1_0: one application model with v1."""
    kinesis, v1, v2 = client_for(server), kda_for(server), kda2_for(server)
    in_name, out_name = unique_name("kin"), unique_name("kout")
    in_arn, out_arn = stream(kinesis, in_name), stream(kinesis, out_name)
    name = unique_name("app2")
    detail = v2.create_application(
        ApplicationName=name, RuntimeEnvironment="SQL-1_0", ServiceExecutionRole=ROLE,
        ApplicationConfiguration={
            "SqlApplicationConfiguration": {"Inputs": [app_input(in_arn, v2=True)],
                                            "Outputs": [app_output(out_arn, v2=True)]},
            "ApplicationCodeConfiguration": {"CodeContent": {"TextContent": CODE},
                                             "CodeContentType": "PLAINTEXT"}})["ApplicationDetail"]
    assert detail["RuntimeEnvironment"] == "SQL-1_0"
    assert detail["ServiceExecutionRole"] == ROLE
    assert detail["ApplicationStatus"] == "READY" and detail["ApplicationVersionId"] == 1
    sql = detail["ApplicationConfigurationDescription"]["SqlApplicationConfigurationDescription"]
    assert sql["InputDescriptions"][0]["InAppStreamNames"] == ["SOURCE_SQL_STREAM_001"]
    code = detail["ApplicationConfigurationDescription"]["ApplicationCodeConfigurationDescription"]
    assert code["CodeContentType"] == "PLAINTEXT"
    assert code["CodeContentDescription"]["TextContent"] == CODE
    # the same application through v1
    assert v1.describe_application(ApplicationName=name)["ApplicationDetail"][
        "ApplicationCode"] == CODE
    with pytest.raises(v2.exceptions.UnsupportedOperationException):
        v2.create_application(ApplicationName=name + "-flink", RuntimeEnvironment="FLINK-1_15",
                              ServiceExecutionRole=ROLE)
    # the same limits as v1's CreateApplication (one decoder): 50 tags, 3 outputs
    with pytest.raises(v2.exceptions.TooManyTagsException):
        v2.create_application(ApplicationName=name + "-tags", RuntimeEnvironment="SQL-1_0",
                              ServiceExecutionRole=ROLE,
                              Tags=[{"Key": "k%d" % i, "Value": "v"} for i in range(51)])
    with pytest.raises(v2.exceptions.LimitExceededException):
        v2.create_application(
            ApplicationName=name + "-outs", RuntimeEnvironment="SQL-1_0",
            ServiceExecutionRole=ROLE, ApplicationConfiguration={"SqlApplicationConfiguration": {
                "Outputs": [app_output(out_arn, v2=True)] * 4}})
    # run it
    v2.start_application(ApplicationName=name, RunConfiguration={"SqlRunConfigurations": [{
        "InputId": sql["InputDescriptions"][0]["InputId"],
        "InputStartingPositionConfiguration": {"InputStartingPosition": "NOW"}}]})
    put(kinesis, in_name, [1, 20, 30])
    wait_until(lambda: len(read_all(kinesis, out_name)) == 2, timeout=20, what="two rows out")
    # v2 changes answer the new version; UpdateApplication may leave the version out
    added = v2.add_application_output(ApplicationName=name, CurrentApplicationVersionId=1,
                                      Output=app_output(out_arn, "CSV", v2=True))
    assert added["ApplicationVersionId"] == 2 and len(added["OutputDescriptions"]) == 2
    updated = v2.update_application(ApplicationName=name, ApplicationConfigurationUpdate={
        "ApplicationCodeConfigurationUpdate": {"CodeContentUpdate": {
            "TextContentUpdate": CODE.replace("> 10", "> 25")}}})["ApplicationDetail"]
    assert updated["ApplicationVersionId"] == 3 and updated["ApplicationStatus"] == "RUNNING"
    put(kinesis, in_name, [21, 26])
    wait_until(lambda: b"AMZN,26.0\n" in read_all(kinesis, out_name), timeout=20,
               what="the updated code's CSV row")
    summaries = v2.list_applications()["ApplicationSummaries"]
    mine = [s for s in summaries if s["ApplicationName"] == name]
    assert mine == [{"ApplicationName": name, "ApplicationARN": detail["ApplicationARN"],
                     "ApplicationStatus": "RUNNING", "ApplicationVersionId": 3,
                     "RuntimeEnvironment": "SQL-1_0"}]
    v2.stop_application(ApplicationName=name)
    v2.delete_application(ApplicationName=name, CreateTimestamp=detail["CreateTimestamp"])
    with pytest.raises(v2.exceptions.ResourceNotFoundException):
        v2.describe_application(ApplicationName=name)


def test_reference_data_and_logging_options(server):
    """A reference data source in Sluice's object store joins the stream (loaded at start, and
    again on UpdateApplication); CloudWatch logging options are kept and reported."""
    kinesis, kda = client_for(server), kda_for(server)
    session = boto3.session.Session(aws_access_key_id=ACCESS_KEY,
                                    aws_secret_access_key=SECRET_KEY, region_name=REGION)
    s3 = session.client("s3", endpoint_url=server.endpoint)
    bucket = unique_name("ref").lower().replace("_", "-")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="tickers.csv", Body=b"AMZN,Amazon\nASD,SomeCompanyA\n")
    s3.put_object(Bucket=bucket, Key="tickers2.csv", Body=b"AMZN,Amazon.com\n")
    in_name, out_name = unique_name("kin"), unique_name("kout")
    in_arn, out_arn = stream(kinesis, in_name), stream(kinesis, out_name)
    code = """CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (ticker VARCHAR(4), company VARCHAR(32), price DOUBLE);
CREATE OR REPLACE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM s."ticker", r."Company", s."price" FROM "SOURCE_SQL_STREAM_001" AS s
  JOIN "CompanyName" AS r ON s."ticker" = r."Ticker";
"""
    name = unique_name("ref")
    log_arn = "arn:aws:logs:us-east-1:000000000000:log-group:kda:log-stream:app"
    # code that joins the table is checked against it: the table comes first, then the code
    kda.create_application(ApplicationName=name, ApplicationCode="",
                           Inputs=[app_input(in_arn)], Outputs=[app_output(out_arn)],
                           CloudWatchLoggingOptions=[{"LogStreamARN": log_arn, "RoleARN": ROLE}])
    with pytest.raises(kda.exceptions.CodeValidationException):
        kda.update_application(ApplicationName=name, CurrentApplicationVersionId=1,
                               ApplicationUpdate={"ApplicationCodeUpdate": code})
    kda.add_application_reference_data_source(
        ApplicationName=name, CurrentApplicationVersionId=1, ReferenceDataSource={
            "TableName": "CompanyName",
            "S3ReferenceDataSource": {"BucketARN": "arn:aws:s3:::" + bucket,
                                      "FileKey": "tickers.csv", "ReferenceRoleARN": ROLE},
            "ReferenceSchema": {
                "RecordFormat": {"RecordFormatType": "CSV", "MappingParameters": {
                    "CSVMappingParameters": {"RecordRowDelimiter": "\n",
                                             "RecordColumnDelimiter": ","}}},
                "RecordEncoding": "UTF-8",
                "RecordColumns": [{"Name": "Ticker", "SqlType": "VARCHAR(4)"},
                                  {"Name": "Company", "SqlType": "VARCHAR(32)"}]}})
    kda.update_application(ApplicationName=name, CurrentApplicationVersionId=2,
                           ApplicationUpdate={"ApplicationCodeUpdate": code})
    detail = kda.describe_application(ApplicationName=name)["ApplicationDetail"]
    (ref,) = detail["ReferenceDataSourceDescriptions"]
    assert ref["TableName"] == "CompanyName"
    assert ref["S3ReferenceDataSourceDescription"]["FileKey"] == "tickers.csv"
    (cw,) = detail["CloudWatchLoggingOptionDescriptions"]
    assert cw["LogStreamARN"] == log_arn and cw["CloudWatchLoggingOptionId"]
    start(kda, name)
    put(kinesis, in_name, [10])
    put(kinesis, in_name, [20], ticker="ASD")
    put(kinesis, in_name, [30], ticker="ZZZ")  # no match: no row
    rows = wait_until(lambda: (lambda r: r if len(r) >= 2 else None)(read_all(kinesis, out_name)),
                      timeout=20, what="two joined rows")
    assert sorted((json.loads(r)["TICKER"], json.loads(r)["COMPANY"]) for r in rows) == \
        [("AMZN", "Amazon"), ("ASD", "SomeCompanyA")]
    # an update re-reads the reference data
    kda.update_application(ApplicationName=name, CurrentApplicationVersionId=3, ApplicationUpdate={
        "ReferenceDataSourceUpdates": [{"ReferenceId": ref["ReferenceId"],
                                        "S3ReferenceDataSourceUpdate": {
                                            "FileKeyUpdate": "tickers2.csv"}}],
        "CloudWatchLoggingOptionUpdates": [{
            "CloudWatchLoggingOptionId": cw["CloudWatchLoggingOptionId"],
            "LogStreamARNUpdate": log_arn + "2"}]})
    put(kinesis, in_name, [40])
    wait_until(lambda: any(json.loads(r)["COMPANY"] == "Amazon.com"
                           for r in read_all(kinesis, out_name)), timeout=20,
               what="the row joined with the new reference data")
    detail = kda.describe_application(ApplicationName=name)["ApplicationDetail"]
    assert detail["CloudWatchLoggingOptionDescriptions"][0]["LogStreamARN"] == log_arn + "2"
    kda.delete_application_cloud_watch_logging_option(
        ApplicationName=name, CurrentApplicationVersionId=4,
        CloudWatchLoggingOptionId=cw["CloudWatchLoggingOptionId"])
    with pytest.raises(kda.exceptions.ResourceNotFoundException):
        kda.delete_application_reference_data_source(ApplicationName=name,
                                                     CurrentApplicationVersionId=5,
                                                     ReferenceId="9.9")


DATA_CSV = (b"year,month,state,producer_type,energy_source,units,consumption\r\n"
            b"2001,1,AK,TotalElectricPowerIndustry,Coal,ShortTons,47615\r\n"
            b"2001,1,AK,TotalElectricPowerIndustry,Petroleum,Barrels,79133\r\n"
            b"2001,1,AK,TotalElectricPowerIndustry,Gas,Mcf,4217\r\n"
            b"2001,1,AL,TotalElectricPowerIndustry,Coal,ShortTons,3073466\r\n"
            b"2001,1,AL,TotalElectricPowerIndustry,Petroleum,Barrels,61924\r\n")


def test_discover_input_schema(server):
    """DiscoverInputSchema over an object (the documentation's CSV example) and over a stream of
    JSON records, with the same inference through v2."""
    kinesis, kda = client_for(server), kda_for(server)
    session = boto3.session.Session(aws_access_key_id=ACCESS_KEY,
                                    aws_secret_access_key=SECRET_KEY, region_name=REGION)
    s3 = session.client("s3", endpoint_url=server.endpoint)
    bucket = unique_name("disc").lower().replace("_", "-")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="data.csv", Body=DATA_CSV)
    out = kda.discover_input_schema(S3Configuration={
        "RoleARN": ROLE, "BucketARN": "arn:aws:s3:::" + bucket, "FileKey": "data.csv"})
    schema = out["InputSchema"]
    assert schema["RecordFormat"] == {"RecordFormatType": "CSV", "MappingParameters": {
        "CSVMappingParameters": {"RecordRowDelimiter": "\r\n", "RecordColumnDelimiter": ","}}}
    assert [(c["Name"], c["SqlType"]) for c in schema["RecordColumns"]] == [
        ("COL_year", "INTEGER"), ("COL_month", "INTEGER"), ("state", "VARCHAR(4)"),
        ("producer_type", "VARCHAR(64)"), ("energy_source", "VARCHAR(16)"),
        ("units", "VARCHAR(16)"), ("consumption", "INTEGER")]
    assert out["ParsedInputRecords"][0] == [None, None, "state", "producer_type",
                                            "energy_source", "units", None]
    assert out["ParsedInputRecords"][1][:3] == ["2001", "1", "AK"]
    assert len(out["RawInputRecords"]) == 6
    # a stream of JSON records, from TRIM_HORIZON
    name = unique_name("kdisc")
    arn = stream(kinesis, name)
    kinesis.put_records(StreamName=name, Records=[
        {"PartitionKey": "k", "Data": json.dumps(
            {"TICKER_SYMBOL": t, "SECTOR": s, "CHANGE": c, "PRICE": p, "user": "x"}).encode()}
        for t, s, c, p in [("AMZN", "TECHNOLOGY", -0.5, 84.51), ("WAS", "RETAIL", 1.25, 12.0)]])
    out = kda.discover_input_schema(ResourceARN=arn, RoleARN=ROLE,
                                    InputStartingPositionConfiguration={
                                        "InputStartingPosition": "TRIM_HORIZON"})
    schema = out["InputSchema"]
    assert schema["RecordFormat"]["RecordFormatType"] == "JSON"
    assert [(c["Name"], c["SqlType"], c["Mapping"]) for c in schema["RecordColumns"]] == [
        ("TICKER_SYMBOL", "VARCHAR(4)", "$.TICKER_SYMBOL"), ("SECTOR", "VARCHAR(16)", "$.SECTOR"),
        ("CHANGE", "REAL", "$.CHANGE"), ("PRICE", "REAL", "$.PRICE"),
        ("COL_user", "VARCHAR(4)", "$.user")]
    assert out["ParsedInputRecords"][0][0] == "AMZN"
    # the discovered schema is one CreateApplication takes as it is
    kda.create_application(ApplicationName=unique_name("disc"), Inputs=[{
        "NamePrefix": "SOURCE_SQL_STREAM",
        "KinesisStreamsInput": {"ResourceARN": arn, "RoleARN": ROLE},
        "InputSchema": schema}])
    v2 = kda2_for(server)
    out2 = v2.discover_input_schema(ResourceARN=arn, ServiceExecutionRole=ROLE,
                                    InputStartingPositionConfiguration={
                                        "InputStartingPosition": "TRIM_HORIZON"})
    assert out2["InputSchema"] == schema
    with pytest.raises(kda.exceptions.UnableToDetectSchemaException):
        kda.discover_input_schema(ResourceARN=stream(kinesis, unique_name("kempty")),
                                  RoleARN=ROLE, InputStartingPositionConfiguration={
                                      "InputStartingPosition": "TRIM_HORIZON"})


PREPROCESSOR = """
export const handler = async (event) => ({
  records: event.records.map((r) => {
    const doc = JSON.parse(Buffer.from(r.data, 'base64').toString('utf8'));
    if (doc.ticker === 'DROP') return { recordId: r.recordId, result: 'Dropped', data: r.data };
    if (doc.ticker === 'FAIL') return { recordId: r.recordId, result: 'ProcessingFailed', data: r.data };
    if (!r.kinesisStreamRecordMetadata.sequenceNumber || !r.kinesisStreamRecordMetadata.shardId)
      throw new Error('no metadata');
    doc.price = doc.price * 100;
    return { recordId: r.recordId, result: 'Ok', data: Buffer.from(JSON.stringify(doc)).toString('base64') };
  }),
});
"""

DELIVERY = """
import fs from 'node:fs';
export const handler = async (event) => {
  for (const r of event.records)
    fs.appendFileSync(process.env.OUT, Buffer.from(r.data, 'base64').toString('utf8') + '\\n');
  return { records: event.records.map((r) => ({ recordId: r.recordId, result: 'Ok' })) };
};
"""


def test_lambda_preprocessing_and_output(server, tmp_path):
    """InputProcessingConfiguration's function transforms, drops and fails records before the
    SQL; a LambdaOutput function receives the rows."""
    import io
    import zipfile

    session = boto3.session.Session(aws_access_key_id=ACCESS_KEY,
                                    aws_secret_access_key=SECRET_KEY, region_name=REGION)
    lam = session.client("lambda", endpoint_url=server.endpoint)

    def deploy(name, code, env=None):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("index.mjs", code)
        lam.create_function(FunctionName=name, Runtime="nodejs20.x", Handler="index.handler",
                            Role="arn:aws:iam::000000000000:role/l", Code={"ZipFile": buf.getvalue()},
                            Environment={"Variables": env or {}})
        lam.get_waiter("function_active_v2").wait(FunctionName=name,
                                                  WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
        return lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]

    out_file = tmp_path / "delivered.txt"
    pre_arn = deploy(unique_name("pre"), PREPROCESSOR)
    out_arn = deploy(unique_name("deliver"), DELIVERY, {"OUT": str(out_file)})
    kinesis, kda = client_for(server), kda_for(server)
    in_name = unique_name("kin")
    in_arn = stream(kinesis, in_name)
    name = unique_name("lam")
    inp = app_input(in_arn)
    inp["InputProcessingConfiguration"] = {"InputLambdaProcessor": {"ResourceARN": pre_arn,
                                                                    "RoleARN": ROLE}}
    kda.create_application(ApplicationName=name, ApplicationCode=CODE, Inputs=[inp], Outputs=[{
        "Name": "DESTINATION_SQL_STREAM",
        "LambdaOutput": {"ResourceARN": out_arn, "RoleARN": ROLE},
        "DestinationSchema": {"RecordFormatType": "JSON"}}])
    detail = kda.describe_application(ApplicationName=name)["ApplicationDetail"]
    assert detail["InputDescriptions"][0]["InputProcessingConfigurationDescription"] == {
        "InputLambdaProcessorDescription": {"ResourceARN": pre_arn, "RoleARN": ROLE}}
    assert detail["OutputDescriptions"][0]["LambdaOutputDescription"]["ResourceARN"] == out_arn
    start(kda, name)
    put(kinesis, in_name, [0.5, 0.05])               # 50 passes the filter, 5 does not
    put(kinesis, in_name, [9], ticker="DROP")
    put(kinesis, in_name, [9], ticker="FAIL")
    put(kinesis, in_name, [0.2], ticker="WAS")        # 20
    rows = wait_until(lambda: out_file.exists() and (lambda t: t if len(t) >= 2 else None)(
        out_file.read_text().split()), timeout=30, what="two rows delivered to the function")
    assert sorted((json.loads(r)["TICKER"], json.loads(r)["PRICE"]) for r in rows) == \
        [("AMZN", 50), ("WAS", 20)]
    # the processing configuration can be taken away again
    kda.delete_application_input_processing_configuration(
        ApplicationName=name, CurrentApplicationVersionId=1,
        InputId=detail["InputDescriptions"][0]["InputId"])
    assert "InputProcessingConfigurationDescription" not in kda.describe_application(
        ApplicationName=name)["ApplicationDetail"]["InputDescriptions"][0]


def test_application_survives_kill_9(make_server):
    """A kill -9 loses neither the application (stored before the answer) nor rows: it runs again
    from its saved positions, so every record is processed at least once."""
    srv = make_server()
    kinesis, kda = client_for(srv), kda_for(srv)
    in_name, out_name = unique_name("kin"), unique_name("kout")
    in_arn, out_arn = stream(kinesis, in_name), stream(kinesis, out_name)
    name = unique_name("app")
    create(kda, name, in_arn, out_arn)
    start(kda, name, "NOW")
    put(kinesis, in_name, [11, 12])
    wait_until(lambda: len(read_all(kinesis, out_name)) >= 2, timeout=20, what="two rows")
    srv.restart(kill=True)
    kda = kda_for(srv)
    detail = kda.describe_application(ApplicationName=name)["ApplicationDetail"]
    assert detail["ApplicationStatus"] == "RUNNING" and detail["ApplicationCode"] == CODE
    put(kinesis, in_name, [13, 5])
    wait_until(lambda: {json.loads(r)["PRICE"] for r in read_all(kinesis, out_name)} ==
               {11, 12, 13}, timeout=20, what="the row put after the kill")
