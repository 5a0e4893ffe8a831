"""Validate SDK exchanges against the vendored OpenAPI subset.

``Contract`` holds the subset (``openapi-subset.json``, loaded once per process) and checks
one exchange: the request (parameters and body) and the response (status, body) of the
operation it belongs to, with openapi-core. Beyond what openapi-core can do alone:

* every error status (400, 401, 404, 500, ..., which the spec does not document, and 429,
  which it does) is checked against ``#/components/schemas/ErrorResponse``, the envelope
  every error must use; headers of errors are not (tests inject fractional ``retry-after``);
* a request that breaks the spec is a violation only when the backend *accepted* it (2xx):
  refusing it is the right answer, and negative tests send such requests on purpose;
* ``text/event-stream`` responses (``stream: true`` runs) are checked event by event
  against the matching branch of ``AssistantStreamEvent``, and must end with ``done``;
  those of ``createResponse`` against the branch of ``ResponseStreamEvent`` whose ``type``
  the event carries (the SSE ``event`` name must equal it; no ``done`` event ends them);
* skipped: the body of ``GET /files/{file_id}/content`` (raw bytes, which the spec
  mistypes as a JSON string) and the bracket fields of multipart uploads
  (``expires_after[anchor]``), which openapi-core does not decode.

``ContractRecorder`` turns this into an httpx2 event-hook pair for ``openai.OpenAI(
http_client=httpx2.Client(event_hooks=recorder.event_hooks()))``: every violation is
recorded and raised as ``ContractViolation`` (an ``AssertionError``) from the hook, so
the call that caused it fails; ``assert_clean()`` in fixture teardown catches any the
code under test swallowed.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.responses.exceptions import ResponseNotFound
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from werkzeug.datastructures import Headers, ImmutableMultiDict

SUBSET = Path(__file__).with_name("openapi-subset.json")
# exchanges are matched as if sent to the spec's own server; only the path counts
SPEC_HOST = "https://api.openai.com"
BASE_PATH = "/v1"
DOC_URI = "urn:assistops:openapi-subset"
ERROR_SCHEMA = "#/components/schemas/ErrorResponse"
STREAM_EVENTS = "#/components/schemas/AssistantStreamEvent"
RESPONSE_EVENTS = "#/components/schemas/ResponseStreamEvent"
RESPONSE_STREAM_OPERATIONS = frozenset({"createResponse"})
RAW_BODY_OPERATIONS = frozenset({"downloadFile"})
MAX_MESSAGE = 300


@dataclass(frozen=True)
class Operation:
    """One operation of the subset."""

    operation_id: str
    method: str  # upper case
    template: str  # e.g. /vector_stores/{vector_store_id}/files

    def __str__(self) -> str:
        return f"{self.operation_id} ({self.method} {self.template})"


@dataclass(frozen=True)
class Violation:
    """One way an exchange breaks the contract."""

    operation: str  # "createAssistant (POST /assistants)" or "GET /v1/x (no operation)"
    part: str  # "request", "response 200", "event thread.run.created", ...
    path: str  # JSON path inside that part ("$.tools[0]", "query.limit")
    message: str

    def __str__(self) -> str:
        return f"{self.operation}: {self.part} at {self.path}: {self.message}"


class ContractViolation(AssertionError):
    """An exchange broke the vendored OpenAPI contract."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        lines = "\n  ".join(str(v) for v in violations)
        super().__init__(f"{len(violations)} contract violation(s):\n  {lines}")


def _short(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def _schema_violations(
    op: str, part: str, errors: Iterator[ValidationError] | tuple[ValidationError, ...]
) -> list[Violation]:
    out = []
    for error in errors:
        # anyOf/oneOf failures say little; the best branch error points deeper
        deepest = best_match(error.context) if error.context else error
        out.append(Violation(op, part, deepest.json_path, _short(deepest.message)))
    return out


# ------------------------------------------------------------- openapi-core adapters


@dataclass
class _CoreRequest:
    """An httpx2 request seen through openapi-core's ``Request`` protocol."""

    method: str
    path: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters
    host_url: str = SPEC_HOST

    @classmethod
    def of(cls, request: httpx2.Request, path: str) -> _CoreRequest:
        query = ImmutableMultiDict(list(request.url.params.multi_items()))
        params = RequestParameters(
            query=query,
            header=Headers(list(request.headers.multi_items())),
            cookie=ImmutableMultiDict(),
        )
        return cls(
            method=request.method.lower(),
            path=path,
            body=request.content or None,
            content_type=request.headers.get("content-type", "").lower(),
            parameters=params,
        )


@dataclass
class _CoreResponse:
    """An httpx2 response (already read) seen through openapi-core's protocol."""

    status_code: int
    data: bytes | None
    content_type: str
    headers: Headers


# --------------------------------------------------------------------- the contract


class Contract:
    """The vendored subset and everything needed to check exchanges against it."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self._app = OpenAPI.from_dict(document)
        registry: Registry[Any] = Registry().with_resource(
            DOC_URI, Resource.from_contents(document, default_specification=DRAFT202012)
        )
        self._registry = registry
        self._validators: dict[str, Draft202012Validator] = {}
        self._event_validators: dict[str, Draft202012Validator] = {}
        self.operations = self._operations(document)
        self._event_schemas = self._stream_event_schemas()
        self._response_event_refs = self._response_stream_event_refs()

    # -- lookup

    @staticmethod
    def _operations(document: dict[str, Any]) -> list[tuple[re.Pattern[str], Operation]]:
        routes = []
        for template, item in document["paths"].items():
            segments = template.split("/")
            regex = "/".join("[^/]+" if s.startswith("{") else re.escape(s) for s in segments)
            pattern = re.compile(f"^{regex}$")
            literal = sum(1 for seg in template.split("/") if seg and not seg.startswith("{"))
            for method, op in item.items():
                if isinstance(op, dict) and "operationId" in op:
                    operation = Operation(op["operationId"], method.upper(), template)
                    routes.append((literal, template, pattern, operation))
        # literal segments win over parameters: /threads/runs before /threads/{thread_id}
        routes.sort(key=lambda r: (-r[0], r[1]))
        return [(pattern, operation) for _, _, pattern, operation in routes]

    def operation(self, method: str, path: str) -> Operation | None:
        """The operation a request for ``path`` (without the ``/v1`` prefix) belongs to."""
        for pattern, op in self.operations:
            if op.method == method.upper() and pattern.match(path):
                return op
        return None

    def schema_validator(self, ref: str) -> Draft202012Validator:
        """A JSON Schema validator for one component, e.g. ``#/components/schemas/X``."""
        if ref not in self._validators:
            self._validators[ref] = Draft202012Validator(
                {"$ref": DOC_URI + ref}, registry=self._registry
            )
        return self._validators[ref]

    def _stream_event_schemas(self) -> dict[str, Any]:
        """``event name -> schema of its data`` from the ``AssistantStreamEvent`` family."""
        schemas = self.document["components"]["schemas"]
        out: dict[str, Any] = {}

        def visit(node: Any) -> None:
            if "$ref" in node:
                visit(schemas[node["$ref"].rsplit("/", 1)[1]])
            elif "oneOf" in node:
                for member in node["oneOf"]:
                    visit(member)
            else:
                for name in node["properties"]["event"]["enum"]:
                    out[name] = node["properties"]["data"]

        visit({"$ref": STREAM_EVENTS})
        return out

    def _response_stream_event_refs(self) -> dict[str, str]:
        """``event type -> $ref`` of the ``ResponseStreamEvent`` branches."""
        schemas = self.document["components"]["schemas"]
        root = schemas[RESPONSE_EVENTS.rsplit("/", 1)[1]]
        out: dict[str, str] = {}
        for member in root.get("anyOf") or root.get("oneOf") or []:
            ref = member["$ref"]
            for name in schemas[ref.rsplit("/", 1)[1]]["properties"]["type"]["enum"]:
                out[name] = ref
        return out

    def check_response_event(self, event: str, data: str, *, op: str) -> list[Violation]:
        """Violations of one server-sent event of a Responses stream."""
        part = f"event {event}"
        try:
            value = json.loads(data)
        except ValueError:
            return [Violation(op, part, "$", f"data is not JSON: {data!r:.80}")]
        kind = value.get("type") if isinstance(value, dict) else None
        if kind != event:
            return [Violation(op, part, "$.type", f"type {kind!r} is not the event name")]
        ref = self._response_event_refs.get(event)
        if ref is None:
            return [Violation(op, part, "$", "not a ResponseStreamEvent type")]
        return self.check_schema(value, ref, op=op, part=part)

    # -- checks

    def check_schema(self, instance: Any, ref: str, *, op: str, part: str) -> list[Violation]:
        """Violations of one instance against one component schema."""
        errors = self.schema_validator(ref).iter_errors(instance)
        return _schema_violations(op, part, tuple(errors))

    def check_exchange(
        self, request: httpx2.Request, response: httpx2.Response, *, body: bytes | None
    ) -> list[Violation]:
        """Violations of one exchange; ``body`` is the response body (None if streamed)."""
        path = request.url.path
        sub = path[len(BASE_PATH) :] if path.startswith(BASE_PATH + "/") else path
        operation = self.operation(request.method, sub)
        label = str(operation) if operation else f"{request.method} {path} (no operation)"
        status = response.status_code
        part = f"response {status}"
        ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if status >= 400:
            # every error (documented or not) must be the error envelope
            return self._check_error_body(body, label, part)
        if operation is None and (sub == "/agents" or sub.startswith("/agents/")):
            return _check_agents(request.method, sub, body, label, part)
        if operation is None:
            return [Violation(label, "request", "$", "the subset has no such operation")]
        out = []
        core_request = _CoreRequest.of(request, BASE_PATH + sub)
        for error in self._app.iter_request_errors(core_request):
            out.extend(self._core_violations(label, "request (accepted by the backend)", error))
        if ctype == "text/event-stream" or operation.operation_id in RAW_BODY_OPERATIONS:
            return out  # events are checked as they stream; raw bytes have no schema
        core_response = _CoreResponse(
            status_code=status,
            data=body,
            content_type=response.headers.get("content-type", "").lower(),
            headers=Headers(list(response.headers.multi_items())),
        )
        for error in self._app.iter_response_errors(core_request, core_response):
            out.extend(self._core_violations(label, part, error))
        return out

    def _check_error_body(self, body: bytes | None, label: str, part: str) -> list[Violation]:
        try:
            document = json.loads(body or b"")
        except ValueError:
            return [Violation(label, part, "$", f"error body is not JSON: {body!r:.80}")]
        return self.check_schema(document, ERROR_SCHEMA, op=label, part=part)

    @staticmethod
    def _core_violations(label: str, part: str, error: Exception) -> list[Violation]:
        if isinstance(error, ResponseNotFound):  # pragma: no cover - errors handled above
            return [Violation(label, part, "$", str(error))]
        cause = error.__cause__
        schema_errors = getattr(cause, "schema_errors", None)
        where = "$"
        name = getattr(error, "name", None)
        location = getattr(error, "location", None)
        if name and location:
            where = f"{location}.{name}"
        if schema_errors:
            found = _schema_violations(label, part, tuple(schema_errors))
            if where != "$":
                found = [Violation(v.operation, v.part, where, v.message) for v in found]
            return found
        text = str(error) if cause is None else f"{error}: {cause}"
        return [Violation(label, part, where, _short(text))]

    def check_event(self, event: str, data: str, *, op: str) -> list[Violation]:
        """Violations of one server-sent event."""
        part = f"event {event}"
        schema = self._event_schemas.get(event)
        if schema is None:
            return [Violation(op, part, "$", "not an AssistantStreamEvent event name")]
        if event == "done":
            value: Any = data
        else:
            try:
                value = json.loads(data)
            except ValueError:
                return [Violation(op, part, "$", f"data is not JSON: {data!r:.80}")]
        if event not in self._event_validators:
            # data schemas are a $ref into the document, or inline without refs (done)
            ref = schema.get("$ref")
            self._event_validators[event] = (
                self.schema_validator(ref) if ref else Draft202012Validator(schema)
            )
        errors = self._event_validators[event].iter_errors(value)
        return _schema_violations(op, part, tuple(errors))


@functools.cache
def load_contract(path: Path = SUBSET) -> Contract:
    """The contract, parsed once per process (about half a second)."""
    return Contract(json.loads(path.read_text(encoding="utf-8")))


# ------------------------------------------------------------------------ streaming


class _EventParser:
    """Incremental ``text/event-stream`` parser: bytes in, ``(event, data)`` out."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[tuple[str, str]]:
        self._buffer += chunk.replace(b"\r\n", b"\n")
        events = []
        while b"\n\n" in self._buffer:
            block, self._buffer = self._buffer.split(b"\n\n", 1)
            parsed = self._parse(block.decode("utf-8"))
            if parsed is not None:
                events.append(parsed)
        return events

    def leftover(self) -> str:
        return self._buffer.decode("utf-8", "replace").strip()

    @staticmethod
    def _parse(block: str) -> tuple[str, str] | None:
        event, data = "message", []
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
        if not data and event == "message":
            return None
        return event, "\n".join(data)


class _ValidatingStream(httpx2.SyncByteStream):
    """Passes a response stream through unchanged, checking each event on the way."""

    def __init__(
        self,
        inner: httpx2.SyncByteStream,
        recorder: ContractRecorder,
        label: str,
        *,
        responses: bool = False,
    ) -> None:
        self._inner = inner
        self._recorder = recorder
        self._label = label
        self._responses = responses
        self._parser = _EventParser()
        self._last_event: str | None = None

    @property
    def elapsed(self) -> Any:
        return getattr(self._inner, "elapsed", None)

    def __iter__(self) -> Iterator[bytes]:
        contract = self._recorder.contract
        for chunk in self._inner:
            found: list[Violation] = []
            for event, data in self._parser.feed(chunk):
                self._last_event = event
                self._recorder.events += 1
                if self._responses:
                    found.extend(contract.check_response_event(event, data, op=self._label))
                else:
                    found.extend(contract.check_event(event, data, op=self._label))
            self._recorder.report(found)
            yield chunk
        # the stream ran to its end: it must have ended cleanly with the done event
        tail = self._parser.leftover()
        if tail:
            found = [Violation(self._label, "stream", "$", f"unterminated event: {tail!r:.80}")]
            self._recorder.report(found)
        if self._last_event != "done" and not self._responses:
            found = [Violation(self._label, "stream", "$", "did not end with a done event")]
            self._recorder.report(found)

    def close(self) -> None:
        self._inner.close()


# ------------------------------------------------------------------------ the hooks


@dataclass
class ContractRecorder:
    """Event hooks validating every exchange of one client, and what they found."""

    contract: Contract = field(default_factory=load_contract)
    violations: list[Violation] = field(default_factory=list)
    exchanges: int = 0
    events: int = 0  # server-sent events checked
    seen: set[str] = field(default_factory=set)  # operation ids exercised

    def event_hooks(self) -> Mapping[str, list[Any]]:
        """The ``event_hooks`` argument of ``httpx2.Client``."""
        return {"request": [self.on_request], "response": [self.on_response]}

    def on_request(self, request: httpx2.Request) -> None:
        """Buffer the body so that it can be both sent and validated."""
        request.read()

    def on_response(self, response: httpx2.Response) -> None:
        """Validate the exchange; raise ``ContractViolation`` on any problem."""
        request = response.request
        self.exchanges += 1
        path = request.url.path
        sub = path[len(BASE_PATH) :] if path.startswith(BASE_PATH + "/") else path
        operation = self.contract.operation(request.method, sub)
        if operation is not None:
            self.seen.add(operation.operation_id)
        ctype = response.headers.get("content-type", "")
        if response.status_code < 400 and ctype.startswith("text/event-stream"):
            label = str(operation) if operation else f"{request.method} {path}"
            assert isinstance(response.stream, httpx2.SyncByteStream)
            responses = operation is not None and (
                operation.operation_id in RESPONSE_STREAM_OPERATIONS
            )
            response.stream = _ValidatingStream(response.stream, self, label, responses=responses)
            self.report(self.contract.check_exchange(request, response, body=None))
            return
        body = response.read()
        self.report(self.contract.check_exchange(request, response, body=body))

    def report(self, found: list[Violation]) -> None:
        """Record violations and fail the call that caused them."""
        if found:
            self.violations.extend(found)
            raise ContractViolation(found)

    def assert_clean(self) -> None:
        """Fail if any exchange broke the contract (for fixture teardown)."""
        if self.violations:
            found, self.violations = self.violations, []
            raise ContractViolation(found)


def _check_agents(
    method: str, sub: str, body: bytes | None, label: str, part: str
) -> list[Violation]:
    """/v1/agents has no OpenAPI description yet: its contract is the SDK's generated types,
    so each response is validated with them (as ``_strict_response_validation`` would)."""
    import pydantic
    from openai.pagination import SyncCursorPage
    from openai.types.beta import Agent, AgentDeleted

    if method == "GET" and sub == "/agents":
        model: Any = SyncCursorPage[Agent]
    elif method == "DELETE":
        model = AgentDeleted
    else:
        model = Agent
    try:
        document = json.loads(body or b"")
        pydantic.TypeAdapter(model).validate_python(document, strict=False)
    except (ValueError, pydantic.ValidationError) as exc:
        return [
            Violation(label, part, "$", f"not the SDK's {getattr(model, '__name__', model)}: {exc}")
        ]
    return []
