"""moto's server, one AWS request at a time, refusing the Auto Scaling calls that AWS refuses.

moto's backends are not thread-safe: two concurrent DetachInstances for one group each launch a
replacement. AWS serialises a group's activities, so one lock over every application call is as
strict or stricter; connections are still read and written on their own threads.

moto 5.2.5 accepts every DetachInstances (non-members, any lifecycle state, over 20 ids, below
MinSize) and every TerminateInstanceInAutoScalingGroup (a non-member, at MinSize). AWS refuses each
whole, with a ValidationError whose message is in auto-scaling-refusals.json (the SDK mocks share
it); so each is checked against moto's state inside the lock first, MinSize in capacity units.
The group's own side and the /_emulator/ endpoints are in group_side.py.

Usage: python server.py --host 127.0.0.1 --port 5000 [--exit-with-parent]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import sys
import threading
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable, NamedTuple
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

# The server's own folder: tests load this file by path, which does not put it on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from group_side import (  # noqa: E402
    COUNTED_STATES,
    PATH_PREFIX,
    GroupSide,
    groups_in,
    keep_unparsed,
    member_of,
    weight_of,
)
from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple  # noqa: E402

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

REFUSALS: dict[str, str] = json.loads(
    Path(__file__).with_name("auto-scaling-refusals.json").read_text(encoding="utf-8")
)
MAX_INSTANCES_PER_DETACH = 20
DETACHABLE_STATES = ("InService", "Standby")
# SigV4: "AWS4-HMAC-SHA256 Credential=<access key>/<date>/<region>/<service>/aws4_request, ..."
CREDENTIAL_SCOPE = re.compile(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/aws4_request")
INSTANCE_ID_PARAMETER = re.compile(r"InstanceIds\.member\.(\d+)")


def one_request_at_a_time(app: WsgiApp, lock: threading.Lock | None = None) -> WsgiApp:
    """`lock` is shared with whatever else changes moto's state (the group side's timers)."""
    lock = lock or threading.Lock()

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


def refusing_what_aws_refuses(app: WsgiApp, group_side: GroupSide | None = None) -> WsgiApp:
    """Answers AWS's ValidationError for a call that AWS refuses; passes the rest on. With a
    group side, also serves its endpoints under /_emulator/ and keeps what moto's parser drops."""

    def checked(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if group_side is not None and path.startswith(PATH_PREFIX):
            status, payload = group_side.answer(
                environ.get("REQUEST_METHOD", ""), path, read_body_and_restore(environ)
            )
            return json_response(start_response, status, payload)
        if group_side is not None and path == "/moto-api/reset":
            group_side.forget()
        request = auto_scaling_request(environ)
        if request is None:
            return app(environ, start_response)
        if group_side is not None:
            group_side.ensure_installed()
        check = REFUSAL_CHECKS.get(request.action)
        message = check(environ, request) if check is not None else None
        if message is not None:
            return validation_error(start_response, message)
        body = app(environ, start_response)
        if request.action in GROUP_WRITING_ACTIONS:
            keep_unparsed(request.region, account_of(environ, request.access_key), request.form)
        return body

    return checked


GROUP_WRITING_ACTIONS = ("CreateAutoScalingGroup", "UpdateAutoScalingGroup")


def validation_error(start_response: Callable[..., Any], message: str) -> list[bytes]:
    request_id = str(uuid.uuid4())
    body = (
        '<ErrorResponse xmlns="https://autoscaling.amazonaws.com/doc/2011-01-01/">'
        "<Error><Type>Sender</Type><Code>ValidationError</Code>"
        f"<Message>{escape(message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return respond(start_response, 400, "text/xml", body, [("x-amzn-RequestId", request_id)])


def json_response(
    start_response: Callable[..., Any], status: int, payload: dict[str, Any]
) -> list[bytes]:
    return respond(start_response, status, "application/json", json.dumps(payload))


def respond(
    start_response: Callable[..., Any],
    status: int,
    content_type: str,
    text: str,
    headers: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    body = text.encode("utf-8")
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}.get(status, "Error")
    start_response(
        f"{status} {reason}",
        [("Content-Type", content_type), ("Content-Length", str(len(body))), *(headers or [])],
    )
    return [body]


class AutoScalingRequest(NamedTuple):
    action: str
    access_key: str
    region: str
    form: dict[str, list[str]]

    def param(self, name: str) -> str:
        return self.form.get(name, [""])[0]

    def decrement(self) -> bool:
        return self.param("ShouldDecrementDesiredCapacity").lower() == "true"

    def groups(self, environ: dict[str, Any]) -> dict[str, Any] | None:
        """moto's groups where moto would serve this request; None for a region it does not know."""
        return groups_in(account_of(environ, self.access_key), self.region)


def auto_scaling_request(environ: dict[str, Any]) -> AutoScalingRequest | None:
    """The request's action and parameters, if it is an Auto Scaling query-API call."""
    scope = CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if (
        environ.get("REQUEST_METHOD") != "POST"
        or scope is None
        or scope.group(3) != "autoscaling"
        or not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded")
    ):
        return None
    form = parse_qs(read_body_and_restore(environ).decode("utf-8"))
    return AutoScalingRequest(form.get("Action", [""])[0], scope.group(1), scope.group(2), form)


def detach_refusal(environ: dict[str, Any], request: AutoScalingRequest) -> str | None:
    """AWS's message refusing this DetachInstances, if AWS refuses it."""
    group_name = request.param("AutoScalingGroupName")
    members = sorted(
        (int(match.group(1)), values[0])
        for key, values in request.form.items()
        if (match := INSTANCE_ID_PARAMETER.fullmatch(key))
    )
    instance_ids = [instance_id for _, instance_id in members]
    # 1. A request-shape limit: checked before the group is looked at.
    if len(instance_ids) > MAX_INSTANCES_PER_DETACH:
        return REFUSALS["tooManyInstances"]
    group = (request.groups(environ) or {}).get(group_name)
    if group is None:
        return None  # moto answers for a group, or a region, that does not exist.
    # 2. Each id in order; the first one AWS would not detach names the refusal.
    states = {state.instance.id: state for state in group.instance_states}
    for instance_id in instance_ids:
        if instance_id not in states:
            return REFUSALS["notPartOfGroup"].format(instanceId=instance_id, groupName=group_name)
        if states[instance_id].lifecycle_state not in DETACHABLE_STATES:
            return REFUSALS["notInServiceOrStandby"].format(instanceId=instance_id)
    # 3. MinSize, in capacity units (an instance weighs 1 unless the group has weights). Only
    # singular ("To detach 1 instance") is attested for AWS's wording; the template keeps
    # "instance" for any count rather than guess a plural.
    units = sum(weight_of(group, states[instance_id]) for instance_id in instance_ids)
    if request.decrement() and group.desired_capacity - units < group.min_size:
        return below_min_size(group, len(instance_ids))
    return None


def terminate_refusal(environ: dict[str, Any], request: AutoScalingRequest) -> str | None:
    """AWS's message refusing this TerminateInstanceInAutoScalingGroup, if AWS refuses it."""
    instance_id = request.param("InstanceId")
    groups = request.groups(environ)
    if groups is None:
        return None  # A region moto does not know: let moto answer.
    found = member_of(groups.values(), instance_id)
    if found is None:
        return REFUSALS["instanceNotFound"].format(instanceId=instance_id)
    group, state = found
    # Standby and Retained instances are outside desired capacity: nothing to decrement.
    if not request.decrement() or state.lifecycle_state not in COUNTED_STATES:
        return None
    if group.desired_capacity == group.min_size:
        return REFUSALS["terminateAtMinSize"].format(min=group.min_size)
    # Only a weighted instance can take desired capacity past MinSize from above it: AWS's
    # wording for that is not documented, so its detach refusal's is used (in units).
    if group.desired_capacity - weight_of(group, state) < group.min_size:
        return below_min_size(group, 1)
    return None


def below_min_size(group: Any, count: int) -> str:
    return REFUSALS["belowMinSize"].format(
        groupName=group.name,
        min=group.min_size,
        max=group.max_size,
        desired=group.desired_capacity,
        count=count,
    )


REFUSAL_CHECKS: dict[str, Callable[[dict[str, Any], AutoScalingRequest], str | None]] = {
    "DetachInstances": detach_refusal,
    "TerminateInstanceInAutoScalingGroup": terminate_refusal,
}


def read_body_and_restore(environ: dict[str, Any]) -> bytes:
    """The request body; wsgi.input is replaced by a fresh stream of it, so moto still reads it."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def account_of(environ: dict[str, Any], access_key: str) -> str:
    """moto's own order (BaseResponse.get_current_account): its environment variable, its header,
    then the account the access key belongs to, which is DEFAULT_ACCOUNT_ID for unknown keys."""
    from moto.iam.models import get_account_id_from

    return str(
        os.environ.get("MOTO_ACCOUNT_ID")
        or environ.get("HTTP_X_MOTO_ACCOUNT_ID")
        or get_account_id_from(access_key)
    )


def with_fast_queue_clock() -> None:
    """moto's SQS reads the clock per message per call through datetime arithmetic, so a send or
    receive on a queue of 1000 messages took about 0.5 s (a storm's worth of warnings). The same
    epoch from time.time() cuts that twentyfold; explicit datetimes still go through moto's own."""
    import time

    import moto.core.utils as core_utils
    import moto.sqs.models as sqs_models

    def unix_time(dt: Any = None) -> float:
        return time.time() if dt is None else core_utils.unix_time(dt)

    def unix_time_millis(dt: Any = None) -> float:
        return time.time() * 1000.0 if dt is None else core_utils.unix_time_millis(dt)

    sqs_models.unix_time = unix_time  # type: ignore[assignment]
    sqs_models.unix_time_millis = unix_time_millis  # type: ignore[assignment]


def exit_when_stdin_closes() -> None:
    """The parent holds stdin's other end, so EOF comes when it ends, even by SIGKILL."""
    while sys.stdin.buffer.read(65536):
        pass
    os._exit(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="exit when stdin closes, so that no server outlives the process that started it",
    )
    args = parser.parse_args()
    if args.exit_with_parent:
        threading.Thread(target=exit_when_stdin_closes, daemon=True).start()

    # moto.server sets this too; some responses (presigned URLs, queue URLs) embed the port.
    os.environ.setdefault("MOTO_PORT", str(args.port))
    with_fast_queue_clock()
    lock = threading.Lock()
    group_side = GroupSide(lock)
    run_simple(
        args.host,
        args.port,
        one_request_at_a_time(
            refusing_what_aws_refuses(
                DomainDispatcherApplication(create_backend_app), group_side
            ),
            lock,
        ),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
