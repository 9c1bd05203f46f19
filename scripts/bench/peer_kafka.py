#!/usr/bin/env python3
"""The peer in `consent-bridge bench kafka`: the same produce and consume work done by an
independent librdkafka-based client (Python confluent-kafka) against the same broker.

Prints one JSON line of numbers only (the bench reads it as [String: Double]):
{"produce_msgs_per_s": ..., "consume_msgs_per_s": ...}, the medians. Every round's figure and
the bundled librdkafka version go to stderr.

Same protocol and settings as ours (ConsentKafka's KafkaThroughputBenchmark): `--rounds` times
a fresh idempotent producer (acks=all, linger.ms=2) produces `--messages` records of `--size`
bytes with keys patient-<i % 1024>, timed from the first produce to the last delivery report;
then `--rounds` times a consumer in a fresh group reads `--messages` records from the beginning
in batches of 500 (fetch.wait.max.ms=10), timed from the first record received to the last (the
group join is not counted). Each figure is the median of its rounds.

Note: the pip wheel bundles its own librdkafka (see "librdkafka" in the output), which may be
newer than the system librdkafka ConsentKafka links.
"""
import argparse
import json
import statistics
import sys
import time

import confluent_kafka
from confluent_kafka import Consumer, Producer


def produce_once(args, payload) -> float:
    producer = Producer({
        "bootstrap.servers": args.bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 2,
    })
    failures = []

    def on_delivery(err, _msg):
        if err is not None:
            failures.append(err)

    start = time.perf_counter()
    for index in range(args.messages):
        key = b"patient-%d" % (index % 1024)
        while True:
            try:
                producer.produce(args.topic, value=payload, key=key, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.001)
        producer.poll(0)
    remaining = producer.flush(60)
    produce_seconds = time.perf_counter() - start
    if remaining or failures:
        raise RuntimeError(f"peer produce failed: {remaining} undelivered, {len(failures)} errors")
    return args.messages / produce_seconds


def consume_once(args) -> float:
    consumer = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": "bench-peer-%d" % time.time_ns(),
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "fetch.wait.max.ms": 10,
    })
    consumer.subscribe([args.topic])
    received = 0
    first = None
    deadline = time.monotonic() + 120
    while received < args.messages and time.monotonic() < deadline:
        batch = consumer.consume(num_messages=500, timeout=1.0)
        for message in batch:
            if message.error() is None:
                if first is None:
                    first = time.perf_counter()
                received += 1
    last = time.perf_counter()
    consumer.close()
    if received < args.messages:
        raise RuntimeError(f"peer consumed only {received} of {args.messages}")
    # The first record's arrival starts the clock, so the group join is not counted.
    return (args.messages - 1) / max(last - first, 1e-9)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--messages", type=int, required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    payload = b"x" * args.size
    rounds = max(1, args.rounds)
    try:
        produced = [produce_once(args, payload) for _ in range(rounds)]
        consumed = [consume_once(args) for _ in range(rounds)]
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    print("peer rounds (librdkafka %s): produce %s  consume %s msg/s" % (
        confluent_kafka.libversion()[0],
        " ".join("%.0f" % rate for rate in produced),
        " ".join("%.0f" % rate for rate in consumed),
    ), file=sys.stderr)
    print(json.dumps({
        "produce_msgs_per_s": statistics.median(produced),
        "consume_msgs_per_s": statistics.median(consumed),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
