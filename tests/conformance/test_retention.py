"""Conformance: IncreaseStreamRetentionPeriod / DecreaseStreamRetentionPeriod.

Bounds 24..8760 hours and the exact texts of spec 3.7 (observed AWS via
kinesalite's tests; the >8760 text is the spec's analogous form, [unverified]).
"""

from helpers import ACCOUNT, assert_error, assert_validation, unique_name


def retention(kinesis, name):
    return kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["RetentionPeriodHours"]


def test_increase_and_decrease(kinesis, stream):
    assert retention(kinesis, stream) == 24
    resp = kinesis.increase_stream_retention_period(StreamName=stream, RetentionPeriodHours=48)
    assert set(resp) == {"ResponseMetadata"}
    assert retention(kinesis, stream) == 48
    assert kinesis.describe_stream(StreamName=stream)["StreamDescription"]["RetentionPeriodHours"] == 48
    kinesis.decrease_stream_retention_period(StreamName=stream, RetentionPeriodHours=30)
    assert retention(kinesis, stream) == 30


def test_equal_value_accepted(kinesis, stream):
    kinesis.increase_stream_retention_period(StreamName=stream, RetentionPeriodHours=24)
    kinesis.decrease_stream_retention_period(StreamName=stream, RetentionPeriodHours=24)
    assert retention(kinesis, stream) == 24


def test_upper_bound_8760_accepted(kinesis, stream):
    kinesis.increase_stream_retention_period(StreamName=stream, RetentionPeriodHours=8760)
    assert retention(kinesis, stream) == 8760
    kinesis.decrease_stream_retention_period(StreamName=stream, RetentionPeriodHours=24)
    assert retention(kinesis, stream) == 24


def test_increase_to_shorter(kinesis, stream):
    kinesis.increase_stream_retention_period(StreamName=stream, RetentionPeriodHours=48)
    assert_error(lambda: kinesis.increase_stream_retention_period(StreamName=stream, RetentionPeriodHours=36),
                 "InvalidArgumentException",
                 "Requested retention period (36 hours) for stream %s can not be shorter than existing "
                 "retention period (48 hours). Use DecreaseRetentionPeriod API." % stream)
    assert retention(kinesis, stream) == 48


def test_decrease_to_longer(kinesis, stream):
    assert_error(lambda: kinesis.decrease_stream_retention_period(StreamName=stream, RetentionPeriodHours=72),
                 "InvalidArgumentException",
                 "Requested retention period (72 hours) for stream %s can not be longer than existing "
                 "retention period (24 hours). Use IncreaseRetentionPeriod API." % stream)


def test_below_minimum(kinesis, stream):
    for op in (kinesis.increase_stream_retention_period, kinesis.decrease_stream_retention_period):
        for hours in (23, 1):
            assert_error(lambda: op(StreamName=stream, RetentionPeriodHours=hours),
                         "InvalidArgumentException",
                         "Minimum allowed retention period is 24 hours. "
                         "Requested retention period (%d hours) is too short." % hours)


def test_negative_is_too_short(kinesis_nv, stream):
    # The current model has no range on RetentionPeriodHours, so -1 reaches the
    # semantic check (older models made this a ValidationException).
    assert_error(lambda: kinesis_nv.increase_stream_retention_period(StreamName=stream, RetentionPeriodHours=-1),
                 "InvalidArgumentException",
                 "Minimum allowed retention period is 24 hours. Requested retention period (-1 hours) is too short.")


def test_above_maximum(kinesis, stream):
    # [unverified] spec 3.7: analogous to the observed 168-hour text of kinesalite.
    for op in (kinesis.increase_stream_retention_period, kinesis.decrease_stream_retention_period):
        assert_error(lambda: op(StreamName=stream, RetentionPeriodHours=8761),
                     "InvalidArgumentException",
                     "Maximum allowed retention period is 8760 hours. "
                     "Requested retention period (8761 hours) is too long.")
    assert retention(kinesis, stream) == 24


def test_stream_not_found(kinesis):
    name = unique_name()
    for op in (kinesis.increase_stream_retention_period, kinesis.decrease_stream_retention_period):
        assert_error(lambda: op(StreamName=name, RetentionPeriodHours=48),
                     "ResourceNotFoundException",
                     "Stream %s under account %s not found." % (name, ACCOUNT))


def test_validation(kinesis_nv):
    assert_validation(lambda: kinesis_nv.increase_stream_retention_period(StreamName="s"),
                      [(None, "retentionPeriodHours", "Member must not be null")])
    name = "a" * 129
    assert_validation(lambda: kinesis_nv.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=24),
                      [(name, "streamName", "Member must have length less than or equal to 128")])


def test_decrease_hides_old_data_only_by_age(kinesis, stream):
    # Decreasing to 24 h keeps records younger than 24 h readable.
    kinesis.increase_stream_retention_period(StreamName=stream, RetentionPeriodHours=100)
    seq = kinesis.put_record(StreamName=stream, Data=b"keep", PartitionKey="a")["SequenceNumber"]
    kinesis.decrease_stream_retention_period(StreamName=stream, RetentionPeriodHours=24)
    it = kinesis.get_shard_iterator(StreamName=stream, ShardId="shardId-000000000000",
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert [r["SequenceNumber"] for r in kinesis.get_records(ShardIterator=it)["Records"]] == [seq]
