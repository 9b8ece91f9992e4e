"""moto's server with its request handling serialized: `python moto_locked.py HOST PORT`.

moto's DynamoDB is not atomic under concurrent requests (two `UpdateItem` calls on a missing item
can both create it, and one `ADD` is lost); real DynamoDB never does that. Holding one lock around
the whole WSGI call, body included, gives the ledger tests the atomicity they assume, instead of
weakening their bounds. Connections are still accepted concurrently.
"""

import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

LOCK = threading.Lock()
APP = DomainDispatcherApplication(create_backend_app)


def locked(environ, start_response):
    with LOCK:
        # The body is produced inside the lock: a lazy iterable would run the handler after it.
        return list(APP(environ, start_response))


if __name__ == "__main__":
    run_simple(sys.argv[1], int(sys.argv[2]), locked, threaded=True, request_handler=MotoRequestHandler)
