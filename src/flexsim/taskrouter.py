"""The one access layer between flexsim and TaskRouter (real Twilio or the local emulator).

Every flexsim command that talks to TaskRouter goes through a :class:`TaskRouter`::

    with TaskRouter(settings) as tr:                         # settings: options.TwilioSettings
        workers = tr.list_workers()                          # every page, retried as needed
        tr.call("update", describe("worker", w.friendly_name, w.sid),
                lambda: tr.workspace.workers(w.sid).update(attributes=json.dumps(attrs)))
        tr.map(create_one, specs, on_done=tick)              # bulk work, at most ``concurrency`` in flight

What it guarantees:

- **One SDK client.** The official ``twilio`` ``Client`` is built from the settings (auth token, or API
  key + secret with the account SID). ``TWILIO_REGION``/``TWILIO_EDGE`` are ignored, since they would
  rewrite the emulator's host. With ``settings.taskrouter_url`` the TaskRouter domain's ``base_url``
  points there; nothing is monkeypatched.
- **One HTTP client.** :class:`~flexsim.httpclient.PooledHttpClient` (an SDK ``HttpClient``) owns a
  ``requests.Session`` whose connection pool fits the concurrency, caps the requests in flight at
  ``concurrency`` (even when ``map`` calls nest), and reports each request to the tracer.
- **Retries.** :meth:`TaskRouter.call` retries HTTP 429, 5xx and connection errors with exponential
  backoff and jitter, waits at least ``Retry-After`` (delta-seconds) when the server sends one, and
  gives up after ``RetryPolicy.max_attempts`` tries or ``max_elapsed`` seconds. List pages that fail
  (the SDK's plain ``TwilioException("Unable to fetch page", response)``) are retried the same way,
  one page at a time.
- **One error type.** Anything else (4xx, a body that is not JSON, retries exhausted) raises
  :class:`~flexsim.errors.TwilioRequestFailed` naming the operation, the resource (friendly name and
  SID), Twilio's error code and message.
- **Observability.** ``tracer(method, url, status, elapsed_seconds)`` is called once per HTTP request
  (``status`` is None when no response arrived); ``requests_made``/``writes_made`` count them.
  Credentials never reach a log line: requests are logged (at DEBUG) as method, URL, status and time
  only, and this HTTP client does not use the SDK's header-logging helpers.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Callable, Iterable, TypeVar

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.rest import Client

from flexsim.errors import FlexsimError, TwilioRequestFailed
from flexsim.httpclient import PooledHttpClient, Tracer
from flexsim.options import TwilioSettings

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger("flexsim.taskrouter")
WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})
PAGE_SIZE = 1000  # TaskRouter's largest page: one request lists 1,000 workers
RETRYABLE_ERRORS = (requests.ConnectionError, requests.Timeout)


class CredentialsMissing(FlexsimError):
    """The Twilio settings are incomplete or malformed; the message lists every problem."""

    exit_code = 2


@dataclass(frozen=True)
class RetryPolicy:
    """How :meth:`TaskRouter.call` retries: attempt n waits about ``base_delay * 2**(n-1)``.

    The wait is jittered to between half and all of that (capped at ``max_delay``), but never less
    than the server's ``Retry-After``. No retry starts once ``max_elapsed`` seconds would be exceeded.
    """

    max_attempts: int = 6
    max_elapsed: float = 60.0
    base_delay: float = 0.5
    max_delay: float = 15.0


def describe(kind: str, name: str | None = None, sid: str | None = None) -> str:
    """Name a resource for messages: ``worker 'Agent_001' (WK…)``, ``queue 'Sales'``, ``tasks``."""
    text = kind
    if name:
        text += f" {name!r}"
    if sid:
        text += f" ({sid})"
    return text


class TaskRouter:
    """The TaskRouter workspace of ``settings``, reached through the retrying access layer.

    :param settings: credentials, workspace, optional ``taskrouter_url`` and ``concurrency``.
    :param rng: the generator for backoff jitter (inject a seeded one in tests).
    :param sleep: how to wait between retries (inject a fake in tests).
    :param monotonic: the clock measuring the retry budget.
    :param tracer: called once per HTTP request, see :data:`Tracer`.
    :param retry: the :class:`RetryPolicy`.
    :param http_client: an SDK HTTP client to use instead of a new :class:`PooledHttpClient`.
    :raises CredentialsMissing: when ``settings.problems()`` is not empty.
    """

    def __init__(self, settings: TwilioSettings, *, rng: random.Random | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic, tracer: Tracer | None = None,
                 retry: RetryPolicy | None = None, http_client: HttpClient | None = None):
        problems = settings.problems()
        if problems:
            raise CredentialsMissing("; ".join(problems))
        self.settings = settings
        self.concurrency = max(1, settings.concurrency)
        self.retry = retry or RetryPolicy()
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._monotonic = monotonic
        self._tracer = tracer
        self._count_lock = threading.Lock()
        self.requests_made = 0
        self.writes_made = 0
        self.http = http_client or PooledHttpClient(self.concurrency, on_request=self._record)
        user, password = ((settings.api_key, settings.api_secret) if settings.api_key
                          else (settings.account_sid, settings.auth_token))
        # A non-empty environment keeps the SDK from reading os.environ (TWILIO_REGION/EDGE would
        # rewrite the host); region and edge are then cleared for good measure.
        self.client = Client(user, password, account_sid=settings.account_sid,
                             http_client=self.http, environment={"FLEXSIM": "1"})
        self.client.region = None
        self.client.edge = None
        if settings.taskrouter_url:
            self.client.taskrouter.base_url = settings.taskrouter_url.rstrip("/")
        #: the SDK's WorkspaceContext: ``tr.workspace.workers(sid).update(...)`` and so on.
        self.workspace = self.client.taskrouter.v1.workspaces(settings.workspace_sid)

    def __enter__(self) -> "TaskRouter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release pooled connections."""
        close = getattr(self.http, "close", None)
        if close:
            close()

    def describe(self) -> str:
        """One line for logs: account and workspace masked, endpoint, concurrency."""
        return f"{self.settings.describe()}, concurrency {self.concurrency}"

    # ----------------------------------------------------------------- the retrying call

    def call(self, operation: str, resource: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` (one SDK call) with retries; return its result.

        :param operation: a verb for messages, e.g. ``"update"``.
        :param resource: what is operated on, e.g. ``describe("worker", name, sid)``.
        :raises TwilioRequestFailed: on a non-retryable error, or when retries run out.
        """
        started = self._monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                return fn()
            except Exception as exc:  # noqa: BLE001 - classified below, re-raised as ours
                failure = self._failure(operation, resource, exc)
                if failure is None:
                    raise
                if not self._retryable(exc, failure):
                    raise failure from exc
                delay = self._delay(attempt, self._retry_after(exc))
                elapsed = self._monotonic() - started
                if attempt >= self.retry.max_attempts or elapsed + delay > self.retry.max_elapsed:
                    raise TwilioRequestFailed(
                        operation, resource, failure.status, failure.code,
                        f"{failure.twilio_message} (gave up after {attempt} attempts "
                        f"in {elapsed:.1f} s)") from exc
                log.info("%s %s: %s; retry %d in %.2f s", operation, resource,
                         failure.twilio_message, attempt, delay)
                self._sleep(delay)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        ceiling = min(self.retry.max_delay, self.retry.base_delay * 2 ** (attempt - 1))
        delay = ceiling / 2 + self._rng.uniform(0, ceiling / 2)
        return max(delay, retry_after) if retry_after is not None else delay

    def _retry_after(self, exc: Exception) -> float | None:
        response = _page_response(exc) or (None if isinstance(exc, RETRYABLE_ERRORS)
                                           else getattr(self.http, "last_response", None))
        headers = getattr(response, "headers", None) or {}
        value = headers.get("Retry-After") if hasattr(headers, "get") else None
        try:
            return max(0.0, float(value)) if value is not None else None
        except ValueError:  # an HTTP-date: fall back to our own backoff
            return None

    @staticmethod
    def _retryable(exc: Exception, failure: TwilioRequestFailed) -> bool:
        if isinstance(exc, RETRYABLE_ERRORS):
            return True
        if isinstance(exc, json.JSONDecodeError):  # a body that is not JSON: the write may have happened
            return False
        return failure.status is not None and (failure.status == 429 or failure.status >= 500)

    def _failure(self, operation: str, resource: str, exc: Exception) -> TwilioRequestFailed | None:
        """Translate an SDK, HTTP or decoding error into ours; None for anything else (a bug)."""
        if isinstance(exc, TwilioRestException):
            message = exc.msg.split(": ", 1)[1] if ": " in exc.msg else exc.msg
            return TwilioRequestFailed(operation, resource, exc.status, exc.code, message)
        if isinstance(exc, TwilioServiceException):
            return TwilioRequestFailed(operation, resource, exc.status, exc.code,
                                       exc.detail or exc.title)
        page = _page_response(exc)
        if page is not None:
            code, message = _error_body(page)
            return TwilioRequestFailed(operation, resource, page.status_code, code,
                                       message or f"could not fetch a list page (HTTP {page.status_code})")
        if isinstance(exc, RETRYABLE_ERRORS):
            return TwilioRequestFailed(operation, resource, None, None,
                                       f"{type(exc).__name__}: could not reach {self._endpoint()}")
        if isinstance(exc, json.JSONDecodeError):
            last = getattr(self.http, "last_response", None)
            status = last.status_code if last is not None else None
            text = (last.text[:60] if last is not None else "").strip()
            return TwilioRequestFailed(operation, resource, status, None,
                                       f"the response was not valid JSON: {text!r}")
        if isinstance(exc, TwilioException):
            return TwilioRequestFailed(operation, resource, None, None, str(exc.args[0] if exc.args else exc))
        return None

    def _endpoint(self) -> str:
        return self.settings.taskrouter_url or "https://taskrouter.twilio.com"

    def _record(self, method: str, url: str, status: int | None, elapsed: float) -> None:
        with self._count_lock:
            self.requests_made += 1
            if method in WRITE_METHODS:
                self.writes_made += 1
        log.debug("%s %s -> %s in %.0f ms", method, url, status, elapsed * 1000)
        if self._tracer is not None:
            self._tracer(method, url, status, elapsed)

    # ----------------------------------------------------------------- bulk work

    def map(self, fn: Callable[[T], R], items: Iterable[T],
            on_done: Callable[[], None] | None = None) -> list[R]:
        """Apply ``fn`` to every item with up to ``concurrency`` running at once; results in order.

        ``fn`` should make its requests through :meth:`call`. ``on_done()`` runs after each item
        (for a progress bar). On the first failure no new items start; the error is re-raised once
        the running ones finish.
        """
        todo = list(items)
        if self.concurrency == 1 or len(todo) <= 1:
            results = []
            for item in todo:
                results.append(fn(item))
                if on_done:
                    on_done()
            return results
        pool = ThreadPoolExecutor(max_workers=min(self.concurrency, len(todo)),
                                  thread_name_prefix="taskrouter")
        try:
            futures = [pool.submit(fn, item) for item in todo]
            if on_done:
                for future in futures:
                    future.add_done_callback(
                        lambda f: not f.cancelled() and f.exception() is None and on_done())
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = next((f for f in futures if f in done and f.exception() is not None), None)
            if failed is not None:
                pool.shutdown(wait=True, cancel_futures=True)
                raise failed.exception()  # type: ignore[misc]
            return [f.result() for f in futures]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    # ----------------------------------------------------------------- reads used by every command

    def list_all(self, operation: str, resource: str, first_page: Callable[[], Any]) -> list[Any]:
        """Read every page of a list, retrying each page on its own; ``first_page`` is an SDK ``.page`` call."""
        page = self.call(operation, resource, first_page)
        records = list(page)
        while page.next_page_url:
            page = self.call(operation, resource, page.next_page)
            if page is None:
                break
            records.extend(page)
        return records

    def fetch_workspace(self) -> Any:
        """The WorkspaceInstance."""
        return self.call("fetch", describe("workspace", sid=self.settings.workspace_sid),
                         self.workspace.fetch)

    def list_activities(self) -> list[Any]:
        """Every Activity in the workspace."""
        return self.list_all("list", "activities",
                             lambda: self.workspace.activities.page(page_size=PAGE_SIZE))

    def list_task_channels(self) -> list[Any]:
        """Every TaskChannel in the workspace."""
        return self.list_all("list", "task channels",
                             lambda: self.workspace.task_channels.page(page_size=PAGE_SIZE))

    def list_workers(self) -> list[Any]:
        """Every Worker, attributes included (fetched one by one when a list omits them)."""
        workers = self.list_all("list", "workers", lambda: self.workspace.workers.page(page_size=PAGE_SIZE))
        return self._with_attributes(workers, self.fetch_worker)

    def fetch_worker(self, sid: str) -> Any:
        """One WorkerInstance."""
        return self.call("fetch", describe("worker", sid=sid), self.workspace.workers(sid).fetch)

    def list_worker_channels(self, worker_sid: str, worker_name: str | None = None) -> list[Any]:
        """The WorkerChannels of one worker."""
        channels = self.workspace.workers(worker_sid).worker_channels
        return self.list_all("list", describe("channels of worker", worker_name, worker_sid),
                             lambda: channels.page(page_size=PAGE_SIZE))

    def list_task_queues(self) -> list[Any]:
        """Every TaskQueue in the workspace."""
        return self.list_all("list", "task queues",
                             lambda: self.workspace.task_queues.page(page_size=PAGE_SIZE))

    def list_workflows(self) -> list[Any]:
        """Every Workflow in the workspace."""
        return self.list_all("list", "workflows",
                             lambda: self.workspace.workflows.page(page_size=PAGE_SIZE))

    def list_tasks(self, statuses: list[str] | None = None) -> list[Any]:
        """Every Task, or those whose assignment status is in ``statuses``; attributes included."""
        filters: dict[str, Any] = {"assignment_status": statuses} if statuses else {}
        tasks = self.list_all("list", "tasks",
                              lambda: self.workspace.tasks.page(page_size=PAGE_SIZE, **filters))
        return self._with_attributes(tasks, self.fetch_task)

    def fetch_task(self, sid: str) -> Any:
        """One TaskInstance."""
        return self.call("fetch", describe("task", sid=sid), self.workspace.tasks(sid).fetch)

    def _with_attributes(self, records: list[Any], fetch: Callable[[str], Any]) -> list[Any]:
        """``records`` with any whose list entry left out ``attributes`` fetched one by one."""
        missing = [r.sid for r in records if r.attributes is None]
        if not missing:
            return records
        fetched = {r.sid: r for r in self.map(fetch, missing)}
        return [fetched.get(r.sid, r) for r in records]


def _page_response(exc: Exception) -> Response | None:
    """The response inside the SDK's ``TwilioException("Unable to fetch page", response)``."""
    if type(exc) is TwilioException and len(exc.args) > 1 and hasattr(exc.args[1], "status_code"):
        return exc.args[1]
    return None


def _error_body(response: Response) -> tuple[int | None, str | None]:
    """Twilio's ``code`` and ``message`` from an error body, when it is JSON."""
    try:
        body = json.loads(response.text)
    except (TypeError, ValueError):
        return None, None
    if not isinstance(body, dict):
        return None, None
    code = body.get("code")
    return (code if isinstance(code, int) else None), body.get("message")


def parse_attributes(text: str | None) -> dict[str, Any]:
    """Decode a Worker or Task ``attributes`` string; malformed or non-object JSON gives ``{}``."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


__all__ = ["CredentialsMissing", "PooledHttpClient", "RetryPolicy", "TaskRouter", "Tracer", "describe",
           "parse_attributes"]
