"""`dms-dlq`: look at parked events and replay them once their cause is fixed.

    dms-dlq list dms.document.received
    dms-dlq replay dms.document.received
    dms-dlq count            (every DMS topic)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from dms_common.bus import dlq
from dms_common.events import Topic


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dms-dlq", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap",
                        default=os.environ.get("DMS_KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("list", "replay"):
        p = sub.add_parser(name)
        p.add_argument("topic", choices=[t.value for t in Topic])
    sub.add_parser("count")
    args = parser.parse_args(argv)

    if args.cmd == "list":
        parked = asyncio.run(dlq.pending(args.bootstrap, args.topic))
        for item in parked:
            print(f"{item.partition}:{item.offset}\tkey={item.key}\tgroup={item.consumer_group}\t"
                  f"at={item.failed_at}\t{item.error}")
        print(f"{len(parked)} parked on {args.topic}.dlq")
    elif args.cmd == "replay":
        count = asyncio.run(dlq.replay(args.bootstrap, args.topic))
        print(f"replayed {count} event(s) onto {args.topic}")
    else:
        for topic in Topic:
            waiting = asyncio.run(dlq.count_pending(args.bootstrap, topic.value))
            print(f"{topic.value}.dlq\t{waiting}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
