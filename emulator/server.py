"""moto's server, one AWS request at a time, refusing the Auto Scaling calls that AWS refuses.

moto's backends race (two concurrent DetachInstances each launch a replacement); AWS serialises a
group's activities, so one lock over every call is as strict or stricter. moto 5.2.5 accepts each
DetachInstances and TerminateInstanceInAutoScalingGroup that AWS refuses whole (messages shared with
the SDK mocks in auto-scaling-refusals.json), so each is checked against moto's state first, inside
the lock, MinSize in capacity units. The group's own side is in group_side.py.

Usage: python server.py --host 127.0.0.1 [--port 5000] [--exit-with-parent]
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
from http import HTTPStatus
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
from werkzeug.serving import make_server  # noqa: E402

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Form = dict[str, list[str]]
Groups = dict[str, Any] | None

REFUSALS: dict[str, str] = json.loads(
    Path(__file__).with_name("auto-scaling-refusals.json").read_text(encoding="utf-8")
)
MAX_INSTANCES_PER_DETACH = 20
DETACHABLE_STATES = ("InService", "Standby")
# SigV4: "AWS4-HMAC-SHA256 Credential=<access key>/<date>/<region>/<service>/aws4_request, ..."
CREDENTIAL_SCOPE = re.compile(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/aws4_request")
INSTANCE_ID_PARAMETER = re.compile(r"InstanceIds\.member\.(\d+)")
GROUP_WRITING_ACTIONS = ("CreateAutoScalingGroup", "UpdateAutoScalingGroup")


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
                getattr(body, "close", lambda: None)()

    return serialised


def refusing_what_aws_refuses(app: WsgiApp, group_side: GroupSide) -> WsgiApp:
    """Answers AWS's ValidationError for a call that AWS refuses; passes the rest on. Also serves
    the group side's endpoints under /_emulator/ and keeps what moto's parser drops."""

    def checked(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(PATH_PREFIX):
            method, body = environ.get("REQUEST_METHOD", ""), read_body_and_restore(environ)
            status, payload = group_side.answer(method, path, body)
            return respond(start_response, status, "application/json", json.dumps(payload))
        if path == "/moto-api/reset":
            group_side.forget()
        request = auto_scaling_request(environ)
        if request is None:
            return app(environ, start_response)
        group_side.ensure_installed()
        check = REFUSAL_CHECKS.get(request.action)
        # Against moto's groups where moto would serve it: None for a region moto does not know.
        groups = check and groups_in(request.account, request.region)
        message = check(request.form, groups) if check is not None else None
        if message is not None:
            request_id = str(uuid.uuid4())
            body = (
                '<ErrorResponse xmlns="https://autoscaling.amazonaws.com/doc/2011-01-01/">'
                "<Error><Type>Sender</Type><Code>ValidationError</Code>"
                f"<Message>{escape(message)}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>"
            )
            return respond(start_response, 400, "text/xml", body, request_id)
        answer = app(environ, start_response)
        if request.action in GROUP_WRITING_ACTIONS:
            keep_unparsed(request.region, request.account, request.form)
        return answer

    return checked


def respond(
    start_response: Callable[..., Any], status: int, kind: str, text: str, request_id: str = ""
) -> list[bytes]:
    body = text.encode("utf-8")
    headers = [("Content-Type", kind), ("Content-Length", str(len(body)))]
    headers += [("x-amzn-RequestId", request_id)] if request_id else []
    start_response(f"{status} {HTTPStatus(status).phrase}", headers)
    return [body]


class AutoScalingRequest(NamedTuple):
    action: str
    account: str
    region: str
    form: Form


def decrement(form: Form) -> bool:
    return form.get("ShouldDecrementDesiredCapacity", [""])[0].lower() == "true"


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
    from moto.iam.models import get_account_id_from

    # moto's own order (BaseResponse.get_current_account): its variable, its header, then the
    # access key's account, which is DEFAULT_ACCOUNT_ID for unknown keys.
    account = str(
        os.environ.get("MOTO_ACCOUNT_ID")
        or environ.get("HTTP_X_MOTO_ACCOUNT_ID")
        or get_account_id_from(scope.group(1))
    )
    form = parse_qs(read_body_and_restore(environ).decode("utf-8"))
    return AutoScalingRequest(form.get("Action", [""])[0], account, scope.group(2), form)


def detach_refusal(form: Form, groups: Groups) -> str | None:
    """AWS's message refusing this DetachInstances, if AWS refuses it."""
    group_name = form.get("AutoScalingGroupName", [""])[0]
    numbered = (
        (int(match.group(1)), values[0])
        for key, values in form.items()
        if (match := INSTANCE_ID_PARAMETER.fullmatch(key))
    )
    instance_ids = [instance_id for _, instance_id in sorted(numbered)]
    # 1. A request-shape limit: checked before the group is looked at.
    if len(instance_ids) > MAX_INSTANCES_PER_DETACH:
        return REFUSALS["tooManyInstances"]
    group = (groups or {}).get(group_name)
    if group is None:
        return None  # moto answers for a group, or a region, that does not exist.
    # 2. Each id in order; the first one AWS would not detach names the refusal.
    states = {state.instance.id: state for state in group.instance_states}
    for instance_id in instance_ids:
        if instance_id not in states:
            return REFUSALS["notPartOfGroup"].format(instanceId=instance_id, groupName=group_name)
        if states[instance_id].lifecycle_state not in DETACHABLE_STATES:
            return REFUSALS["notInServiceOrStandby"].format(instanceId=instance_id)
    # 3. MinSize in capacity units. Only "To detach 1 instance" is attested: no plural is guessed.
    units = sum(weight_of(group, states[instance_id]) for instance_id in instance_ids)
    if decrement(form) and group.desired_capacity - units < group.min_size:
        return below_min_size(group, len(instance_ids))
    return None


def terminate_refusal(form: Form, groups: Groups) -> str | None:
    """AWS's message refusing this TerminateInstanceInAutoScalingGroup, if AWS refuses it."""
    instance_id = form.get("InstanceId", [""])[0]
    if groups is None:
        return None  # A region moto does not know: let moto answer.
    found = member_of(groups.values(), instance_id)
    if found is None:
        return REFUSALS["instanceNotFound"].format(instanceId=instance_id)
    group, state = found
    # Standby and Retained instances are outside desired capacity: nothing to decrement.
    if not decrement(form) or state.lifecycle_state not in COUNTED_STATES:
        return None
    if group.desired_capacity == group.min_size:
        return REFUSALS["terminateAtMinSize"].format(min=group.min_size)
    # Only a weighted instance can cross MinSize from above: AWS's wording for that is not
    # documented, so its detach refusal's is used (in units).
    if group.desired_capacity - weight_of(group, state) < group.min_size:
        return below_min_size(group, 1)
    return None


def below_min_size(group: Any, count: int) -> str:
    sizes = {"min": group.min_size, "max": group.max_size, "desired": group.desired_capacity}
    return REFUSALS["belowMinSize"].format(groupName=group.name, count=count, **sizes)


REFUSAL_CHECKS: dict[str, Callable[[Form, Groups], str | None]] = {
    "DetachInstances": detach_refusal,
    "TerminateInstanceInAutoScalingGroup": terminate_refusal,
}


def read_body_and_restore(environ: dict[str, Any]) -> bytes:
    """The request body; wsgi.input is replaced by a fresh stream of it, so moto still reads it."""
    length = str(environ.get("CONTENT_LENGTH") or "0")
    body = environ["wsgi.input"].read(int(length)) if length.isdigit() and int(length) else b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def with_fast_queue_clock() -> None:
    """moto's SQS reads the clock per message through datetime arithmetic (0.5 s per call on a
    queue of 1000); time.time() gives the same epoch twentyfold faster."""
    import time

    import moto.core.utils as core_utils
    import moto.sqs.models as sqs_models

    sqs_models.unix_time = lambda dt=None: (  # type: ignore[assignment]
        time.time() if dt is None else core_utils.unix_time(dt)
    )
    sqs_models.unix_time_millis = lambda dt=None: (  # type: ignore[assignment]
        time.time() * 1000.0 if dt is None else core_utils.unix_time_millis(dt)
    )


def exit_when_stdin_closes() -> None:
    """The parent holds stdin's other end, so EOF comes when it ends, even by SIGKILL."""
    while sys.stdin.buffer.read(65536):
        pass
    os._exit(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, default=0, help="0 (default): any free port")
    parser.add_argument("--exit-with-parent", action="store_true", help="exit when stdin closes")
    args = parser.parse_args()
    if args.exit_with_parent:
        threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    with_fast_queue_clock()
    lock = threading.Lock()
    moto = DomainDispatcherApplication(create_backend_app)
    app = one_request_at_a_time(refusing_what_aws_refuses(moto, GroupSide(lock)), lock)
    handler = MotoRequestHandler
    server = make_server(args.host, args.port, app, threaded=True, request_handler=handler)
    # moto.server sets this too; some responses (presigned URLs, queue URLs) embed the port.
    os.environ.setdefault("MOTO_PORT", str(server.port))
    # The port the OS chose, for server.ts: bound here, so no other process can take it first.
    print(f"Listening on port {server.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
