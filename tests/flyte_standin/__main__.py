"""Serve the TEST STAND-IN for Flyte's admin API from the command line (the quickstart's remote demo).

    python -m tests.flyte_standin --port 30081

Prints ``ready <endpoint>`` once it serves, then runs until interrupted (SIGINT or SIGTERM).
Executions run for real on the local Docker engine. Not a Flyte: see the package docstring.
"""

from __future__ import annotations

import argparse
import signal
import threading

import docker

from tests.flyte_standin.standin import StandIn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    args = parser.parse_args()
    standin = StandIn(docker.from_env(), port=args.port)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"ready {standin.endpoint}", flush=True)
    stop.wait()
    standin.stop()


if __name__ == "__main__":
    main()
