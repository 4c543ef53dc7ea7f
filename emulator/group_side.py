"""The Auto Scaling group's own side, which moto 5.2.5 does not model, patched into its backend.

- Capacity Rebalancing: after POST /_emulator/spot-warning and the test's delay, a group with it
  takes the instance out of service and launches a replacement (moto only stores the setting).
- Termination hooks run (moto only stores them): the instance waits in Terminating:Wait, and
  GET /_emulator/group-actions lists the hooks that ran. Terminate honours hooks and weights.
- Weights: a weighted group's sizes are capacity units, each instance its type's WeightedCapacity.
- POST /_emulator/lifecycle-state sets any state AWS reports (moto only reports two).

ASSUMPTIONS.md lists what AWS does not document and this module chose. Everything here runs under
the server's one lock: request handlers are called inside it, and a reaction's timer takes it.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from typing import Any, Iterable

TERMINATING_TRANSITION = "autoscaling:EC2_INSTANCE_TERMINATING"
# Standby and Retained instances are already outside desired capacity: leaving replaces nothing.
COUNTED_STATES = ("InService", "Pending", "Pending:Wait", "Pending:Proceed")
ON_THE_WAY_OUT = ("Terminating", "Terminating:Wait", "Terminating:Proceed", "Terminated")
# AWS's LifecycleState values (API reference, Instance), warm pool states aside.
LIFECYCLE_STATES = (
    "Pending Pending:Wait Pending:Proceed Quarantined InService Terminating Terminating:Wait "
    "Terminating:Proceed Terminating:Retained Terminated Detaching Detached EnteringStandby Standby"
).split()
PATH_PREFIX = "/_emulator/"
MAX_REACTION_DELAY_MS = 600_000
MAX_PENDING_REACTIONS = 10_000

Answer = tuple[int, dict[str, Any]]
ACTION_KEYS = ("instanceId", "groupName", "by", "lifecycleState", "hooksRun", "replacements")


def weights_of(group: Any) -> dict[str, int]:
    """WeightedCapacity per instance type from the group's overrides; empty if it has none."""
    overrides = (group.mixed_instances_policy or {}).get("LaunchTemplate", {}).get("Overrides")
    return {
        str(override.get("InstanceType")): int(override["WeightedCapacity"])
        for override in overrides or []
        if str(override.get("WeightedCapacity", "")).isdigit()
    }


def weight_of(group: Any, instance_state: Any) -> int:
    """The capacity units an instance counts for in its group: its type's weight, or 1."""
    return weights_of(group).get(instance_state.instance_type, 1)


class GroupSide:
    """The group's reactions and their record, for one emulator process."""

    def __init__(self, lock: threading.Lock) -> None:
        self.lock = lock
        self.actions: list[dict[str, Any]] = []
        # Epoch ms each instance first left service, for the bench's timings; actions stay untimed.
        self.out_of_service_at: dict[str, int] = {}
        self.pending: set[threading.Timer] = set()
        self.generation = 0
        self.installed = False

    def ensure_installed(self) -> None:
        """Patches moto's backend on first use: importing it at start would slow every start."""
        if not self.installed:
            patch_moto(self)
            self.installed = True

    def forget(self) -> None:
        """moto is being reset: pending reactions are dropped with the state they would change."""
        self.generation += 1
        for timer in self.pending:
            timer.cancel()
        self.pending.clear()
        self.actions.clear()
        self.out_of_service_at.clear()

    def answer(self, method: str, path: str, body: bytes) -> Answer:
        """An out-of-band request under PATH_PREFIX, answered as (HTTP status, JSON)."""
        self.ensure_installed()
        try:
            request = json.loads(body.decode("utf-8") or "{}") if method == "POST" else {}
        except ValueError as error:
            return 400, {"error": f"The body is not JSON: {error}"}
        if not isinstance(request, dict):
            return 400, {"error": "The body must be a JSON object"}
        route = {
            ("POST", "spot-warning"): self.warn,
            ("POST", "lifecycle-state"): self.set_lifecycle_state,
            ("GET", "group-actions"): self.group_actions,
        }.get((method, path[len(PATH_PREFIX) :]))
        if route is None:
            return 404, {"error": f"No {method} {path} on this emulator"}
        instance_id, region = request.get("instanceId"), request.get("region")
        if method == "POST" and not (isinstance(instance_id, str) and isinstance(region, str)):
            return 400, {"error": "instanceId and region are required strings"}
        return route(request)

    def group_actions(self, _request: dict[str, Any]) -> Answer:
        return 200, {
            "actions": list(self.actions),
            "pendingReactions": len(self.pending),
            "outOfServiceAtMs": dict(self.out_of_service_at),
        }

    def warn(self, request: dict[str, Any]) -> Answer:
        instance_id, region = request["instanceId"], request["region"]
        delay_ms = request.get("reactAfterMs", 0)
        group_reacts = request.get("groupReacts", True)
        if not isinstance(delay_ms, int) or not 0 <= delay_ms <= MAX_REACTION_DELAY_MS:
            return 400, {"error": f"reactAfterMs must be a whole number 0-{MAX_REACTION_DELAY_MS}"}
        if not isinstance(group_reacts, bool):
            return 400, {"error": "groupReacts must be true or false"}
        if len(self.pending) >= MAX_PENDING_REACTIONS:
            return 400, {"error": f"Already {MAX_PENDING_REACTIONS} reactions pending"}
        found = find_member(region, instance_id)
        rebalancing = bool(found and found[0].capacity_rebalance)
        reaction = "scheduled" if rebalancing and group_reacts else "none"
        if reaction == "scheduled":
            reacting = (self.generation, region, instance_id)
            timer = threading.Timer(delay_ms / 1000.0, self.react, reacting)
            timer.daemon = True
            self.pending.add(timer)
            timer.start()
        return 200, {
            "instanceId": instance_id,
            "groupName": found[0].name if found else None,
            "capacityRebalance": rebalancing,
            "reaction": reaction,
        }

    def react(self, generation: int, region: str, instance_id: str) -> None:
        """Runs on the warning's timer thread, which `pending` holds."""
        with self.lock:
            if generation != self.generation:
                return  # moto was reset since the warning.
            self.pending.discard(threading.current_thread())  # type: ignore[arg-type]
            found = find_member(region, instance_id)
            # The handler may have moved it first, or the setting changed: nothing to do.
            if found is None or not found[0].capacity_rebalance:
                return
            group, state = found
            if state.lifecycle_state == "InService":
                self.take_out_of_service(group, state, "CapacityRebalancing", False)

    def set_lifecycle_state(self, request: dict[str, Any]) -> Answer:
        instance_id, region = request["instanceId"], request["region"]
        state_name = request.get("lifecycleState")
        if state_name not in LIFECYCLE_STATES:
            return 400, {"error": f"lifecycleState must be one of {', '.join(LIFECYCLE_STATES)}"}
        found = find_member(region, instance_id)
        if found is None:
            return 404, {"error": f"{instance_id} is in no group in {region}"}
        found[1].lifecycle_state = state_name
        return 200, {"instanceId": instance_id, "groupName": found[0].name}

    def take_out_of_service(self, group: Any, state: Any, by: str, decrement: bool) -> None:
        """Runs the termination hooks (or ends the instance), then replaces or decrements."""
        backend = group.autoscaling_backend
        instance_id = state.instance.id
        counted = state.lifecycle_state in COUNTED_STATES
        # A Retained instance has been through its termination hooks already (assumed).
        hooks = [
            hook.name
            for hook in backend.describe_lifecycle_hooks(group.name)
            if hook.lifecycle_transition == TERMINATING_TRANSITION
            and state.lifecycle_state != "Terminating:Retained"
        ]
        state_after = "Terminating:Wait" if hooks else "Terminating"
        # Behind a load balancer the group deregisters it first: Terminating while it drains.
        if hooks or getattr(group, "target_group_arns", None):
            state.lifecycle_state = state_after
        else:
            group.instance_states = [s for s in group.instance_states if s is not state]
            backend.ec2_backend.terminate_instances([instance_id])
        before = {s.instance.id for s in group.instance_states}
        if counted:
            # moto fills InService capacity back up to desired: the replacement, if any.
            units = weight_of(group, state) if decrement else 0
            group.set_desired_capacity(group.desired_capacity - units)
        launched = [s.instance.id for s in group.instance_states if s.instance.id not in before]
        self.record(instance_id, group.name, by, state_after, hooks, launched)

    def record(self, *values: Any) -> None:
        """Keeps an action (ACTION_KEYS' values in order), and when its instance left service."""
        self.actions.append(dict(zip(ACTION_KEYS, values)))
        self.out_of_service_at.setdefault(values[0], int(time.time() * 1000))


def groups_in(account_id: str, region: str) -> dict[str, Any] | None:
    """moto's groups by name in that account and region; None for a region moto does not know."""
    from moto.autoscaling.models import autoscaling_backends

    try:
        groups: dict[str, Any] = autoscaling_backends[account_id][region].autoscaling_groups
    except KeyError:
        return None
    return groups


def member_of(groups: Iterable[Any], instance_id: str) -> tuple[Any, Any] | None:
    """(group, instance state) of the member with that id, or None."""
    return next(
        ((g, s) for g in groups for s in g.instance_states if s.instance.id == instance_id), None
    )


def find_member(region: str, instance_id: str) -> tuple[Any, Any] | None:
    """The member with that id in moto's default account, or None."""
    from moto.core import DEFAULT_ACCOUNT_ID

    account_id = os.environ.get("MOTO_ACCOUNT_ID") or DEFAULT_ACCOUNT_ID
    return member_of((groups_in(account_id, region) or {}).values(), instance_id)


def patch_moto(side: GroupSide) -> None:
    """Teaches moto's autoscaling models weights, hooks on termination and the group's record."""
    from moto.autoscaling.exceptions import ValidationError
    from moto.autoscaling.models import (
        AutoScalingBackend,
        FakeAutoScalingGroup,
        InstanceState,
        TerminateInstanceActivity,
    )

    # Weighted groups count in capacity units, and say each instance's weight.
    def weighted_capacity(self: Any) -> str | None:
        group = self.auto_scaling_group
        return str(weight_of(group, self)) if weights_of(group) else None

    # Serialised into DescribeAutoScalingGroups by moto's attribute picker (None is left out).
    InstanceState.weighted_capacity = property(weighted_capacity)  # type: ignore[attr-defined]
    FakeAutoScalingGroup.desired_capacity_type = "units"  # type: ignore[attr-defined]

    set_desired_capacity_in_instances = FakeAutoScalingGroup.set_desired_capacity

    def set_desired_capacity(self: Any, new_capacity: int | None) -> None:
        weights = weights_of(self)
        if not weights:
            set_desired_capacity_in_instances(self, new_capacity)
            return
        self.desired_capacity = self.min_size if new_capacity is None else new_capacity
        in_service = sum(weight_of(self, s) for s in self.active_instances())
        shortfall = (self.desired_capacity or 0) - in_service
        if shortfall > 0:
            count = math.ceil(shortfall / weights.get(self.instance_type, 1))
            self.replace_autoscaling_group_instances(count, self.get_propagated_tags())
        # Above desired capacity, AWS scales in by its termination policy: not modelled.
        if self.name in self.autoscaling_backend.autoscaling_groups:
            self.autoscaling_backend.update_attached_elbs(self.name)
            self.autoscaling_backend.update_attached_target_groups(self.name)

    FakeAutoScalingGroup.set_desired_capacity = set_desired_capacity  # type: ignore[method-assign]

    # DetachInstances decrements in units and records each detached instance's replacement.
    detach_in_instances = AutoScalingBackend.detach_instances

    def detach_instances(
        self: Any, group_name: str, instance_ids: list[str], should_decrement: bool
    ) -> Any:
        group = self.autoscaling_groups[group_name]
        before = {s.instance.id for s in group.instance_states}
        if should_decrement and weights_of(group):
            group.desired_capacity -= sum(
                weight_of(group, s) for s in group.instance_states if s.instance.id in instance_ids
            )
            should_decrement = False
        activities = detach_in_instances(self, group_name, instance_ids, should_decrement)
        launched = [s.instance.id for s in group.instance_states if s.instance.id not in before]
        detached = [i for i in instance_ids if i in before]
        for index, instance_id in enumerate(detached):
            # moto launches them together: one each, in order (all for a single one, which a
            # weighted group may replace with several).
            new = launched if len(detached) == 1 else launched[index : index + 1]
            side.record(instance_id, group_name, "DetachInstances", "Detached", [], new)
        return activities

    AutoScalingBackend.detach_instances = detach_instances  # type: ignore[method-assign]

    # TerminateInstanceInAutoScalingGroup honours termination hooks and weights.
    def terminate_instance(self: Any, instance_id: str, should_decrement: bool) -> Any:
        found = member_of(self.autoscaling_groups.values(), instance_id)
        if found is None:  # The server refuses this first, with AWS's message.
            raise ValidationError(f"No managed instance found for instance ID: {instance_id}")
        group, state = found
        original_capacity = group.desired_capacity
        if state.lifecycle_state not in ON_THE_WAY_OUT:
            side.take_out_of_service(
                group, state, "TerminateInstanceInAutoScalingGroup", should_decrement
            )
        return TerminateInstanceActivity(state.instance, original_capacity)

    AutoScalingBackend.terminate_instance = terminate_instance  # type: ignore[method-assign]


def keep_unparsed(region: str, account_id: str, form: dict[str, list[str]]) -> None:
    """Stores what moto's parser drops: a Create or UpdateAutoScalingGroup's DesiredCapacityType,
    and an UpdateAutoScalingGroup's CapacityRebalance."""
    group = (groups_in(account_id, region) or {}).get(form.get("AutoScalingGroupName", [""])[0])
    if group is None:
        return
    capacity_type = form.get("DesiredCapacityType", [""])[0]
    if capacity_type:
        group.desired_capacity_type = capacity_type
    rebalance = form.get("CapacityRebalance", [""])[0].lower()
    if rebalance in ("true", "false"):
        group.capacity_rebalance = rebalance == "true"
