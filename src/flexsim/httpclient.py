"""The HTTP transport under the official ``twilio`` SDK: one pooled, thread-safe session.

:class:`PooledHttpClient` is handed to the SDK's ``Client(http_client=...)`` (the SDK's own hook,
so nothing is monkeypatched). It keeps connections alive in a pool that fits the concurrency,
caps the requests in flight, remembers each thread's last response (for ``Retry-After``) and
reports every request to a tracer. Credentials never reach a log line: it does not use the SDK's
header-logging helpers.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from twilio.http import HttpClient
from twilio.http.response import Response

#: ``tracer(method, url, status, elapsed_seconds)``; status is None when the request got no response.
Tracer = Callable[[str, str, Optional[int], float], None]

log = logging.getLogger("flexsim.taskrouter")


class PooledHttpClient(HttpClient):
    """An SDK HTTP client over one pooled ``requests.Session``, safe to share between threads.

    :param pool_size: most requests in flight at once, and the connection pool's size.
    :param on_request: called as ``on_request(method, url, status, elapsed)`` after every request.
    :param timeout: seconds to wait for a connection or a response.
    """

    def __init__(self, pool_size: int = 8, on_request: Tracer | None = None, timeout: float = 30.0):
        super().__init__(log, is_async=False, timeout=timeout)
        self.session = requests.Session()
        # requests would re-read proxy and CA-bundle variables from the environment on every
        # request (measurable CPU at thousands of calls); read them once per host instead.
        self.session.trust_env = False
        self._env_settings: dict[str, dict[str, Any]] = {}
        # Room for every request in flight, so no connection is closed and reopened (keep-alive).
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size + 2)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._slots = threading.BoundedSemaphore(pool_size)
        self._local = threading.local()
        self._on_request = on_request

    @property
    def last_response(self) -> Response | None:
        """The last response this thread received (for ``Retry-After``), or None."""
        return getattr(self._local, "response", None)

    def request(self, method: str, url: str, params: Any = None, data: Any = None,
                headers: Any = None, auth: Any = None, timeout: float | None = None,
                allow_redirects: bool = False) -> Response:
        """Send one request; the signature is the SDK's ``HttpClient.request``."""
        self._local.response = None
        body_kw = "json" if headers and headers.get("Content-Type") == "application/json" else "data"
        status: int | None = None
        started = time.monotonic()
        try:
            with self._slots:
                reply = self.session.request(
                    method.upper(), url, params=params, headers=headers, auth=auth,
                    timeout=timeout or self.timeout, allow_redirects=allow_redirects,
                    **self._settings_for(url), **{body_kw: data})
            status = reply.status_code
        finally:
            if self._on_request is not None:
                self._on_request(method.upper(), url, status, time.monotonic() - started)
        response = Response(reply.status_code, reply.text, reply.headers)
        self._local.response = response
        return response

    def _settings_for(self, url: str) -> dict[str, Any]:
        """Proxies and certificate settings for ``url``'s host, as requests reads them from the environment."""
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc}"
        found = self._env_settings.get(key)
        if found is None:
            probe = requests.Session()  # trust_env on: the environment's proxies and CA bundle
            found = probe.merge_environment_settings(key, {}, None, None, None)
            probe.close()
            self._env_settings[key] = found
        return found

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()


__all__ = ["PooledHttpClient", "Tracer"]
