"""Classify questions with the TREC workflow through its generated, typed client.

Generate the client first (it mirrors trec.adf's declared types, so mypy
checks this file against them), then run:

    adfc gen python examples/trec/trec.adf -o examples/trec/trec_client.py
    python examples/trec/classify.py "How far is it from Denver to Aspen ?" "Who wrote Hamlet ?"
"""

from __future__ import annotations

import sys

from trec_client import Client, Outputs


def main(questions: list[str]) -> int:
    client = Client()  # the workflow with its lock file's trained values, if any
    for question in questions:
        out: Outputs = client(question=question)
        print(f"{out.pred}\t{question}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
