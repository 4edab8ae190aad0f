"""Executes one notebook on a Jupyter kernel, like `jupyter nbconvert --execute`, without losing late outputs.

The Deno kernel sometimes sends a cell's output after it has reported the cell idle; nbclient stops listening at
that idle message and drops what comes later (about 1 run in 10 of a 5-cell notebook). This driver keeps listening
on the IOPub channel for `--linger` seconds after each idle (restarting the wait at every late message of that
cell) and adds the late outputs to the cell. It prints how many late messages it caught on stderr.

usage: python3 notebooks/execute.py [--timeout S] [--kernel NAME] [--linger S] IN.ipynb OUT.ipynb
Called by `deno task notebooks` (cli/notebooks.ts); needs Debian's python3-nbclient and python3-nbformat.
"""

import argparse
import os
import queue
import sys

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete
from nbclient.util import ensure_async


class LingeringClient(NotebookClient):
    """NotebookClient that also collects a cell's outputs arriving shortly after its idle message."""

    linger_seconds = 0.5
    late_messages = 0

    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        await super()._async_poll_output_msg(parent_msg_id, cell, cell_index)
        while True:
            try:
                msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=self.linger_seconds))
            except queue.Empty:
                return
            if msg["parent_header"].get("msg_id") != parent_msg_id:
                continue
            if msg["msg_type"] == "status":
                continue
            self.late_messages += 1
            try:
                self.process_message(msg, cell, cell_index)
            except CellExecutionComplete:
                pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    parser.add_argument("--kernel", default="deno")
    parser.add_argument("--linger", type=float, default=0.5, help="seconds to wait for late outputs after idle")
    args = parser.parse_args()
    nb = nbformat.read(args.input, as_version=4)
    client = LingeringClient(
        nb,
        timeout=args.timeout,
        kernel_name=args.kernel,
        resources={"metadata": {"path": os.path.dirname(os.path.abspath(args.input))}},
    )
    client.linger_seconds = args.linger
    status = 0
    try:
        client.execute()
    except Exception as e:  # CellExecutionError names the cell; the partial notebook is still written
        print(str(e), file=sys.stderr)
        status = 1
    nbformat.write(nb, args.output)
    print(f"late messages caught: {client.late_messages}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
