"""The contract module: body limits, request checks, response and websocket message checks, and
the confinement of downloads to the user's own scratch directory."""

from __future__ import annotations

import getpass
import json
import os

import pytest

from jupyter_wp5 import contract
from jupyter_wp5.contract import NO_BODY, ContractError, parse_body, validate_request
from jupyter_wp5.data.download import confined_target
from jupyter_wp5.models import DID, Conflict, InvalidRequest, PayloadTooLarge

RULE = "0123456789abcdef0123456789abcdef"


def test_deep_bodies_are_a_400_before_parsing():
    deep = b"[" * 50_000 + b"]" * 50_000
    with pytest.raises(InvalidRequest, match="nested deeper than 32"):
        parse_body(deep)
    with pytest.raises(InvalidRequest, match="nested deeper"):
        parse_body(b'{"a":' * 33 + b"1" + b"}" * 33)
    # Brackets inside strings are text, not nesting.
    assert parse_body(json.dumps({"comment": "[" * 100 + '"{'}).encode()) == {
        "comment": "[" * 100 + '"{'
    }


def test_large_bodies_are_a_413_and_bad_json_a_400():
    with pytest.raises(PayloadTooLarge) as large:
        parse_body(json.dumps({"comment": "x" * contract.MAX_BODY_BYTES}).encode())
    assert large.value.status == 413
    with pytest.raises(InvalidRequest, match="not valid JSON"):
        parse_body(b"{nope")
    assert parse_body(b"") is NO_BODY


@pytest.mark.parametrize(
    ("method", "path", "params", "body", "reason"),
    [
        ("GET", "datasets", {}, NO_BODY, "q is required"),
        ("GET", "datasets", {"q": "cms:*", "limit": "1e400"}, NO_BODY, "whole number"),
        ("GET", "datasets", {"q": "cms:*", "limit": "0"}, NO_BODY, "below 1"),
        ("GET", "datasets", {"q": "cms:*", "cursor": "x" * 201}, NO_BODY, "longer than 200"),
        ("GET", "datasets", {"q": "x" * 301}, NO_BODY, "longer than 300"),
        ("GET", "datasets/details", {"did": "cms:a/../b"}, NO_BODY, "did does not match"),
        ("GET", "datasets/details", {"did": "cms:a/"}, NO_BODY, "did does not match"),
        ("GET", "datasets/details", {"did": "cms:/a/B#1/"}, NO_BODY, "did does not match"),
        ("GET", "datasets/details", {"did": "cms://a/B"}, NO_BODY, "did does not match"),
        ("GET", "datasets/details", {}, NO_BODY, "did is required"),
        ("GET", "datasets/files", {"did": "cms:a//b"}, NO_BODY, "did does not match"),
        ("GET", "datasets/files", {"did": "cms:/A/./B"}, NO_BODY, "did does not match"),
        ("GET", "datasets/fileset", {"did": "cms:a"}, NO_BODY, "rse is required"),
        ("DELETE", "replicas/not-a-rule", {}, NO_BODY, "rule_id does not match"),
        ("POST", "replicas", {}, NO_BODY, "needs a JSON body"),
        ("POST", "replicas", {}, [], "must be of type object"),
        ("POST", "replicas", {}, {"did": "cms:x", "copies": 101}, "copies is above 100"),
        ("POST", "replicas", {}, {"did": "cms:x", "copies": 0}, "copies is below 1"),
        ("POST", "replicas", {}, {"did": "cms:x", "comment": "c" * 256}, "longer than 255"),
        ("POST", "replicas", {}, {"did": "cms:x", "rse_expression": "A|" * 251}, "longer"),
        ("POST", "replicas", {}, {"did": "cms:x", "lifetime": "99999999999999w"}, "forms"),
        ("POST", "replicas", {}, {"did": "cms:x", "lifetime": 10**13}, "forms"),
        ("POST", "replicas", {}, {"did": "cms:x", "admin": True}, "unknown fields: admin"),
        ("PATCH", f"replicas/{RULE}", {}, {"retry": "yes"}, "type boolean"),
        ("POST", "clusters", {}, {"profile": "cpu", "workers": 10**6}, "above 10000"),
        ("POST", "clusters", {}, {"workers": 1}, "lacks a required field (profile)"),
        ("PATCH", "clusters/abc", {}, {"adaptive": {"maximum": 2, "x": 1}}, "unknown"),
    ],
)
def test_requests_outside_the_contract_are_refused_with_reason(method, path, params, body, reason):
    with pytest.raises(InvalidRequest, match=reason.replace("(", r"\(").replace(")", r"\)")):
        validate_request(method, path, params, body)


@pytest.mark.parametrize(
    ("method", "path", "params", "body"),
    [
        ("GET", "datasets", {"q": "cms:*DY*", "type": "all", "limit": "10", "token": "t"}, NO_BODY),
        ("GET", "datasets/files", {"did": "cms:DY/part.1/sub", "rse": "SITE-A"}, NO_BODY),
        ("GET", "datasets/details", {"did": "cms:/DY_M-50/Run3-130X/NANOAODSIM#a1b2"}, NO_BODY),
        # As the kernel's REST transport passes them: a leading /, numbers, None for absent.
        ("GET", "/datasets", {"q": "cms:*", "limit": 10, "cursor": None}, NO_BODY),
        ("GET", "datasets", {"q": "cms:*", "type": "", "limit": ""}, NO_BODY),
        ("GET", "datasets/fileset", {"did": "cms:DY", "rse": "A", "allow_partial": "yes"}, NO_BODY),
        ("POST", "replicas", {}, {"did": "cms:/DY/Run3/NANOAODSIM#a1", "rse_expression": "B"}),
        ("POST", "replicas", {}, {"did": "cms:a/b.root", "rse_expression": "B", "lifetime": "7d"}),
        ("POST", "replicas", {}, {"did": "cms:x", "mode": "download", "lifetime": None}),
        ("PATCH", f"replicas/{RULE}", {}, {"lifetime": 3600, "retry": True}),
        ("DELETE", f"replicas/{RULE}", {}, NO_BODY),
        ("POST", "clusters", {}, {"profile": "cpu", "adaptive": {"minimum": 0, "maximum": 4}}),
    ],
)
def test_requests_within_the_contract_pass(method, path, params, body):
    assert validate_request(method, path, params, body) is not None


def test_dids_travel_in_the_query_never_in_a_path():
    # A name parameter in the path is ambiguous when the name holds '/' (datasets/{scope}/{name}
    # and .../files), and proxies may decode or refuse %2F.
    assert not [op.template for op in contract._operations() if "{name}" in op.template]
    op, values = contract.find_operation("GET", "datasets/files")
    assert op.template == "/datasets/files" and values == {}
    assert contract.find_operation("GET", "datasets/cms/a/files") is None
    assert contract.find_operation("GET", "nowhere") is None


def test_responses_are_checked_with_their_status_and_closed_schemas():
    contract.validate_response("DELETE", f"replicas/{RULE}", 204)
    with pytest.raises(ContractError, match="must have no body"):
        contract.validate_response("DELETE", f"replicas/{RULE}", 204, {})
    with pytest.raises(ContractError, match="may not answer 418"):
        contract.validate_response("GET", "health", 418, {"error": "x", "message": "y"})
    contract.validate_response("GET", "health", 403, {"error": "forbidden", "message": "no"})
    with pytest.raises(ContractError, match="unknown fields: secret"):
        contract.validate_response(
            "GET", "health", 200, {"version": "1", "engines": [], "secret": "token"}
        )


def test_events_messages_have_their_own_schema():
    cluster = {
        "id": "c1", "name": "n", "profile": "cpu", "backend": "local", "status": "running",
        "workers": 1, "cores": 1, "memory": 1, "gpus": 0, "scheduler_address": "tls://x:1",
        "dashboard_link": None, "created_at": "now", "adaptive_minimum": None,
        "adaptive_maximum": None, "credentials": None, "architectures": {},
    }  # fmt: skip
    contract.validate_event({"type": "cluster", "data": cluster})
    with pytest.raises(ContractError):
        contract.validate_event({"type": "replica", "data": cluster})
    with pytest.raises(ContractError):
        contract.validate_event({"type": "cluster", "data": cluster, "extra": 1})


def test_our_object_schemas_are_closed():
    # Open on purpose: Rucio's metadata and RSE attributes, and the maps keyed by name.
    open_maps = {"metadata", "attributes", "states", "resources", "files"}

    def visit(schema, where):
        if isinstance(schema, dict):
            if schema.get("type") == "object" and "properties" in schema:
                assert schema.get("additionalProperties") is False, where
            for key, value in schema.items():
                if key == "properties":
                    for name, prop in value.items():
                        if name not in open_maps:
                            visit(prop, f"{where}.{name}")
                else:
                    visit(value, f"{where}.{key}")
        elif isinstance(schema, list):
            for i, item in enumerate(schema):
                visit(item, f"{where}[{i}]")

    visit(contract.spec()["components"]["schemas"], "schemas")
    visit(contract.spec()["paths"], "paths")


# -- downloads stay in the user's own scratch directory -------------------------------------


def test_downloads_go_to_a_private_per_user_directory(tmp_path):
    target = confined_target(str(tmp_path / "scratch"), DID("cms", "DY/part.1"))
    user_dir = (tmp_path / "scratch").resolve() / getpass.getuser()
    assert target == user_dir / "cms" / "DY" / "part.1"
    assert user_dir.stat().st_mode & 0o777 == 0o700


def test_a_cms_name_downloads_under_its_scope_never_at_the_root(tmp_path):
    # A leading '/' must not make the path absolute (Path("a") / "/DY" is "/DY").
    block = DID.parse("cms:/DYJetsToMuMu_M-50/Run3Summer22NanoAODv12-130X/NANOAODSIM#a1b2")
    target = confined_target(str(tmp_path / "scratch"), block)
    user_dir = (tmp_path / "scratch").resolve() / getpass.getuser()
    parts = ("DYJetsToMuMu_M-50", "Run3Summer22NanoAODv12-130X", "NANOAODSIM#a1b2")
    assert target == user_dir.joinpath("cms", *parts)


@pytest.mark.parametrize("link", ["user", "scope", "dataset"])
def test_downloads_never_follow_a_symlink(tmp_path, link):
    scratch = tmp_path / "scratch"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    user_dir = scratch / getpass.getuser()
    path = {"user": user_dir, "scope": user_dir / "cms", "dataset": user_dir / "cms" / "DY"}[link]
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(elsewhere, path)
    with pytest.raises(Conflict, match="symbolic link"):
        confined_target(str(scratch), DID("cms", "DY"))
    assert list(elsewhere.iterdir()) == []
