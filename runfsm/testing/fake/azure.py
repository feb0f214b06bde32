"""The fake's Azure AI Foundry Agents surface: project paths, ``api-version``, bearer auth, over the same runs.

Azure's classic agents API is the Assistants API under a project endpoint
(``https://<resource>.services.ai.azure.com/api/projects/<project>``): the same
``/threads/{id}/runs/{id}/...`` paths (no ``/v1``) with an ``api-version`` query parameter
(``azure-ai-agents`` 1.1 sends ``v1``), an ``Authorization: Bearer`` token, the same JSON
(``assistant_id`` on the wire, which the SDK calls ``agent_id``) and the same SSE events.
So one :class:`~runfsm.testing.fake.api.FakeAssistants` serves both: a request under
``/api/projects/<project>/`` is checked here (401 without a bearer token, 400 without
``api-version``), then routed, played and recorded like any other (same route names, same
faults, same request log, the path as sent). Run responses on this surface carry no
``openai-poll-after-ms`` header, an OpenAI header Azure is not documented to send.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from runfsm.testing.fake.wire import error_response

if TYPE_CHECKING:
    from collections.abc import Mapping

    from runfsm.testing.fake.wire import FakeResponse

__all__ = [
    "AZURE_API_VERSION",
    "AZURE_PROJECT",
    "azure_answer",
    "azure_refusal",
    "engine_path",
    "is_azure_path",
    "project_path",
]

AZURE_PROJECT = "runfsm-fake"
"""The project name in the fake's Azure endpoint (any project name is served)."""
AZURE_API_VERSION = "v1"
"""The ``api-version`` ``azure-ai-agents`` 1.1 sends by default."""

_PREFIX = "/api/projects/"
_OPENAI_ONLY_HEADERS = ("openai-poll-after-ms",)


def project_path(project: str = AZURE_PROJECT) -> str:
    """The path of a project endpoint: ``/api/projects/<project>``."""
    if not project or "/" in project:
        raise ValueError(f"a project name is one non-empty path segment, got {project!r}")
    return f"{_PREFIX}{project}"


def is_azure_path(path: str) -> bool:
    """True for a path under a project endpoint (``/api/projects/<project>/...``)."""
    return path.startswith(_PREFIX) and "/" in path[len(_PREFIX) :]


def engine_path(path: str) -> str:
    """The path the fake routes: an Azure path without its project prefix; any other path as it is."""
    if not is_azure_path(path):
        return path
    rest = path[len(_PREFIX) :]
    return rest[rest.index("/") :]


def azure_refusal(query: str, headers: Mapping[str, str] | None) -> FakeResponse | None:
    """The service's refusal of an Azure request (401: no bearer token, 400: no ``api-version``), or None."""
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    scheme, _, token = lowered.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        response = error_response(
            401, "runfsm fake (Azure): missing or malformed 'Authorization: Bearer <token>' header", type="unauthorized"
        )
        response.headers["www-authenticate"] = 'Bearer realm="runfsm-fake"'
        return response
    versions = parse_qs(query).get("api-version", [])
    if not versions or not versions[-1].strip():
        return error_response(400, "runfsm fake (Azure): the 'api-version' query parameter is required")
    return None


def azure_answer(response: FakeResponse) -> FakeResponse:
    """A response as the Azure surface sends it: without the OpenAI-only headers."""
    for name in _OPENAI_ONLY_HEADERS:
        response.headers.pop(name, None)
    return response
