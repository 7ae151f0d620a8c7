"""
Schemathesis hooks for scripts/peers/schemathesis.ts (loaded through SCHEMATHESIS_HOOKS).

What the documents say but OpenAPI 3.0 cannot put in a schema: a label map's keys are Kubernetes
label keys. The map's schema carries their pattern as `x-key-pattern` (3.0 has no `propertyNames`),
so generation knows nothing of it and a "schema-valid" body would carry keys the API rightly
refuses. In a test case whose body is meant to be valid, such keys are replaced by valid ones; a
body meant to be invalid is left as it is.

And what a run must not do to itself: rotate or revoke the key it calls with (see before_call).
"""

import json
import os
import re

import schemathesis
from schemathesis import GenerationMode


def _key_pattern() -> "re.Pattern[str]":
    found = set()

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("x-key-pattern"), str):
                found.add(node["x-key-pattern"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    with open(os.environ["ODC_SCHEMATHESIS_SCHEMA"], encoding="utf-8") as document:
        walk(json.load(document))
    if len(found) > 1:
        raise ValueError(f"label maps disagree on their key pattern: {sorted(found)}")
    return re.compile(found.pop() if found else r"^$")


KEY = _key_pattern()
LABEL_MAPS = {"labels", "node_labels", "node_selector"}


def _valid_keys(node):
    if isinstance(node, list):
        return [_valid_keys(item) for item in node]
    if not isinstance(node, dict):
        return node
    fixed = {}
    for name, value in node.items():
        if name in LABEL_MAPS and isinstance(value, dict):
            value = {
                (key if KEY.fullmatch(key) else f"schemathesis.dev/key-{index}"): label
                for index, (key, label) in enumerate(value.items())
            }
        fixed[name] = _valid_keys(value)
    return fixed


@schemathesis.hook
def map_case(context, case):
    components = case.meta.components if case.meta is not None else {}
    body = next((info for location, info in components.items() if location == "body"), None)
    if body is not None and body.mode == GenerationMode.POSITIVE:
        case.body = _valid_keys(case.body)
    return case


OWN_KEY_ID = os.environ.get("ODC_SCHEMATHESIS_OWN_KEY_ID", "")
SPARE_KEY_ID = os.environ.get("ODC_SCHEMATHESIS_SPARE_KEY_ID", "")


@schemathesis.hook
def before_call(context, case, **kwargs):
    """
    The stateful phase links GET /keys's ids to rotate and revoke, so it finds the key the run calls
    with; rotating it would leave the rest of the run unauthenticated, testing nothing. Such a call
    goes to a spare key instead, made for this (whatever the phase, every call passes here).
    """
    if (
        OWN_KEY_ID
        and case.operation.path.startswith("/api/v1/keys/")
        and (case.path_parameters or {}).get("id") == OWN_KEY_ID
    ):
        case.path_parameters["id"] = SPARE_KEY_ID
