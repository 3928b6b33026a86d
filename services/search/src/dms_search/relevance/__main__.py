"""`python -m dms_search.relevance`: print nDCG@10 and recall@10, ours against plain."""

from __future__ import annotations

import argparse
import os

from opensearchpy import OpenSearch

from dms_search.relevance import evaluate, report


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m dms_search.relevance")
    parser.add_argument("--opensearch",
                        default=os.environ.get("DMS_OPENSEARCH_URL", "http://127.0.0.1:9200"))
    parser.add_argument("--per-query", action="store_true", help="print every query's scores")
    args = parser.parse_args()
    client = OpenSearch(hosts=[args.opensearch], timeout=30)
    try:
        ours, plain = evaluate(client)
    finally:
        client.close()
    print(report(ours, plain, per_query=args.per_query))


if __name__ == "__main__":
    main()
