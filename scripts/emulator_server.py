"""moto's server, handling one AWS request at a time.

moto's backends are not thread-safe, and its own server is threaded: two concurrent
DetachInstances calls for one group each rebuild the group's instance list from the same
snapshot and each launch a replacement. AWS serialises a group's scaling activities, so
serialising the whole emulator is as strict as AWS or stricter. Connections are still read and
written on their own threads; only the application call holds the lock.

Usage: python emulator_server.py --host 127.0.0.1 --port 5000
"""

import argparse
import os
import threading
from typing import Any, Callable, Iterable

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def one_request_at_a_time(app: WsgiApp) -> WsgiApp:
    lock = threading.Lock()

    def serialised(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with lock:
            body = app(environ, start_response)
            try:
                # Drain the body inside the lock: a lazy iterable would run backend code outside it.
                return list(body)
            finally:
                # WSGI's contract: whoever consumes the iterable closes it.
                close = getattr(body, "close", None)
                if close is not None:
                    close()

    return serialised


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    # moto.server sets this too; some responses (presigned URLs, queue URLs) embed the port.
    os.environ.setdefault("MOTO_PORT", str(args.port))
    run_simple(
        args.host,
        args.port,
        one_request_at_a_time(DomainDispatcherApplication(create_backend_app)),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
