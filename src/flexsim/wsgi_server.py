"""A WSGI app served by waitress on a background thread (the emulator's and agentsim's servers)."""

from __future__ import annotations

import threading
from typing import Any

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import create_server
from waitress.task import WSGITask

SERVER_THREADS = 16


class _TwilioCaseTask(WSGITask):
    """Waitress writes ``Etag``; Twilio writes ``ETag``, and the SDK hands headers over as a
    plain (case-sensitive) dict, so ``headers["ETag"]`` must work as it does on Twilio."""

    def build_response_header(self) -> bytes:
        return super().build_response_header().replace(b"\r\nEtag: ", b"\r\nETag: ")


class _TwilioCaseChannel(HTTPChannel):
    task_class = _TwilioCaseTask


class BackgroundWSGIServer:
    """A WSGI app served by waitress on a daemon thread; ``port`` is known once constructed.

    :param port: 0 binds a free port.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, *, threads: int = SERVER_THREADS,
                 name: str = "flexsim-http"):
        self._server = create_server(app, host=host, port=port, threads=threads, ident=name,
                                     clear_untrusted_proxy_headers=True)
        self._server.channel_class = _TwilioCaseChannel
        self.port = int(self._server.effective_port)
        self._thread = threading.Thread(target=self._server.run, name=name, daemon=True)

    def start(self) -> BackgroundWSGIServer:
        """Serve on the background thread; returns self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the listening socket and open connections, then the worker threads."""
        server = self._server
        if self._thread.is_alive():
            # Close every socket from inside the server's own loop thread, which then ends.
            try:
                server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
            except OSError:  # the trigger is already closed: close what is left from here
                wasyncore.close_all(server._map)
            self._thread.join(timeout=5)
        else:
            wasyncore.close_all(server._map)
        server.task_dispatcher.shutdown(timeout=5)
