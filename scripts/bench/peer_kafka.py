#!/usr/bin/env python3
"""The peer in `consent-bridge bench kafka`: the same produce and consume work done by an
independent librdkafka-based client (Python confluent-kafka) against the same broker.

Prints one JSON line: {"produce_msgs_per_s": ..., "consume_msgs_per_s": ...}.
Settings match ours: idempotent producer, acks=all, linger.ms=2; consumer group from the
beginning, batches of 500, rate measured from the first to the last record received.
"""
import argparse
import json
import sys
import time

from confluent_kafka import Consumer, Producer


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--messages", type=int, required=True)
    parser.add_argument("--size", type=int, required=True)
    args = parser.parse_args()

    payload = b"x" * args.size
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
        print(f"peer produce failed: {remaining} undelivered, {len(failures)} errors", file=sys.stderr)
        return 1

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
        print(f"peer consumed only {received} of {args.messages}", file=sys.stderr)
        return 1
    # The first record's arrival starts the clock, so the group join is not counted.
    consume_seconds = max(last - first, 1e-9)
    print(json.dumps({
        "produce_msgs_per_s": args.messages / produce_seconds,
        "consume_msgs_per_s": (args.messages - 1) / consume_seconds,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
