"""Permissions: Rucio's generic policy, plus rule owners manage their rules, plus community access.

Owners: a rule's owner may delete it, change its lifetime and retry its stuck copies (as the CMS and
ATLAS policies allow owners to manage their rules). Generic allows all three to admins only.

Community access (docs/admin-guide.md, "Communities"): a scope is *protected* when some account
holds the attribute ``wp5.scope.<scope>`` (value ``steward`` or ``member``). Then:

- a rule on a DID of that scope (or on anything inside it) by an account without that attribute
  needs a *grant*: a record in Rucio's config table, section ``wp5_access``, for this account and
  this DID (or a collection holding it), with status ``granted`` and an expiry in the future. A
  grant limited to storage elements admits rules whose RSE expression stays inside them, and a
  rule under a grant must end by the grant's expiry (its lifetime), so the copy ends with it;
- the records of ``wp5_access`` are readable by every account (they hold account names, DIDs and
  hashes only). An account may add its own ``pending`` request; only a steward of the DID's scope
  may decide one (``granted``/``denied``) or revoke a grant, and then only its status, expiry and
  storage elements change;
- no account outside the community may attach the scope's data to a collection of another scope
  (a rule on that collection would otherwise copy the data without a grant);
- a steward may delete any rule on a DID of their scope, or set its lifetime (so a revoke ends
  the copies made under the grant at once).

Grants are read from the database in the permission check itself, so a grant or a revoke counts
for the next request, without a restart or a cache.
"""

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from rucio.common.exception import RuleNotFound
from rucio.common.types import InternalScope
from rucio.core.account import has_account_attribute
from rucio.core.did import list_all_parent_dids
from rucio.core.permission import generic
from rucio.core.rse_expression_parser import parse_expression
from rucio.core.rule import get_rule
from rucio.db.sqla import models
from sqlalchemy import select

if TYPE_CHECKING:
    from rucio.common.types import InternalAccount
    from rucio.core.permission import PermissionResult
    from sqlalchemy.orm import Session

# What an owner may change on an own rule through update_replication_rule: its lifetime, and
# ``boost_rule`` (retry STUCK copies now rather than after Rucio's hours-long back-off).
OWNER_UPDATES = frozenset({"lifetime", "boost_rule"})

SECTION = "wp5_access"
SCOPE_ATTRIBUTE = "wp5.scope."
STEWARD = "steward"
# What a steward may change on any rule on their scope's data: end it now, copies included.
STEWARD_UPDATES = frozenset({"lifetime", "purge_replicas"})
DECISIONS = {"pending": {"granted", "denied"}, "granted": {"revoked"}}
# What a decision may change in a request record; everything else is the requester's.
DECIDED_FIELDS = frozenset({"status", "steward", "expires", "rses", "decided"})
_READ_ACTIONS = frozenset({"config_get", "config_items", "config_has_option", "config_has_section"})


def _refuse(message: str) -> "PermissionResult":
    # Imported here: Rucio imports this module while rucio.core.permission is half-initialised.
    from rucio.core.permission import PermissionResult

    return PermissionResult(False, message)


def _name(value: Any) -> str:
    """The external name of an InternalAccount/InternalScope, or the string itself."""
    return str(getattr(value, "external", value))


def _owns(issuer: "InternalAccount", rule_id: str, session: "Session") -> bool:
    try:
        return get_rule(rule_id, session=session)["account"] == issuer
    except RuleNotFound:
        return False


def _roles(scope: str, session: "Session") -> dict[str, str]:
    """``{account: "steward" | "member"}`` of a scope; empty when the scope is not protected."""
    rows = session.execute(
        select(models.AccountAttrAssociation.account, models.AccountAttrAssociation.value).where(
            models.AccountAttrAssociation.key == SCOPE_ATTRIBUTE + scope
        )
    )
    return {_name(account): str(value) for account, value in rows}


def _records(session: "Session") -> dict[str, dict[str, Any]]:
    rows = session.execute(
        select(models.Config.opt, models.Config.value).where(models.Config.section == SECTION)
    )
    records = {}
    for option, value in rows:
        try:
            records[option] = json.loads(value)
        except (TypeError, ValueError):
            continue
    return records


def _is_admin(issuer: "InternalAccount", session: "Session") -> bool:
    return _name(issuer) == "root" or has_account_attribute(
        account=issuer, key="admin", session=session
    )


def _expiry(record: dict[str, Any]) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(record["expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except (KeyError, TypeError, ValueError):
        return None


def _live_grant(issuer: str, dids: set[str], session: "Session") -> dict[str, Any] | None:
    now = dt.datetime.now(dt.UTC)
    for record in _records(session).values():
        expires = _expiry(record)
        if (
            record.get("status") == "granted"
            and record.get("requester") == issuer
            and record.get("did") in dids
            and expires is not None
            and expires > now
        ):
            return record
    return None


def _check_rule(
    issuer: "InternalAccount", kwargs: dict[str, Any], session: "Session"
) -> "PermissionResult | None":
    """A refusal when the rule touches a protected scope without a usable grant, else None."""
    account = _name(issuer)
    for did in kwargs.get("dids") or []:
        scope, name = _name(did["scope"]), did["name"]
        roles = _roles(scope, session)
        if not roles or account in roles:
            continue
        covering = {f"{scope}:{name}"} | {
            f"{_name(p['scope'])}:{p['name']}"
            for p in list_all_parent_dids(InternalScope(scope, vo=issuer.vo), name, session=session)
        }
        grant = _live_grant(account, covering, session)
        stewards = ", ".join(sorted(a for a, r in roles.items() if r == STEWARD)) or "none"
        if grant is None:
            return _refuse(
                f"no access grant for account {account} on {scope}:{name}: scope {scope} "
                f"belongs to a community; ask its steward ({stewards}) for access",
            )
        allowed = grant.get("rses") or []
        if allowed:
            targets = {
                r["rse"] for r in parse_expression(kwargs["rse_expression"], session=session)
            }
            if not targets <= set(allowed):
                return _refuse(
                    f"access grant {grant['id']} on {grant['did']} allows copies only at "
                    f"{', '.join(allowed)}",
                )
        left = int((_expiry(grant) - dt.datetime.now(dt.UTC)).total_seconds())
        lifetime = kwargs.get("lifetime")
        if lifetime is None or int(lifetime) > left:
            return _refuse(
                f"access grant {grant['id']} on {grant['did']} ends at {grant['expires']}: "
                f"give the rule a lifetime of at most {left} seconds",
            )
    return None


def _check_attach(
    issuer: "InternalAccount", kwargs: dict[str, Any], session: "Session"
) -> "PermissionResult | None":
    """A refusal when a non-member attaches a protected scope's data to a collection outside
    that scope (a rule on that collection would copy the data without a grant)."""
    account = _name(issuer)
    attachments = kwargs.get("attachments") or [
        {**kwargs["attachment"], "scope": kwargs["scope"], "name": kwargs["name"]}
    ]
    for attachment in attachments:
        parent = f"{_name(attachment['scope'])}:{attachment['name']}"
        for child in attachment.get("dids") or []:
            scope = _name(child["scope"])
            roles = {} if scope == _name(attachment["scope"]) else _roles(scope, session)
            if roles and account not in roles:
                return _refuse(
                    f"scope {scope} belongs to a community: account {account} may not attach "
                    f"{scope}:{child['name']} to {parent}"
                )
    return None


def _may_write_record(
    issuer: "InternalAccount", kwargs: dict[str, Any], session: "Session"
) -> bool:
    """A new record: only the requester's own, pending. A change: only a steward of the DID's
    scope, signing a decision the record's status allows, and changing nothing but the decision."""
    try:
        new = json.loads(kwargs["value"])
    except (TypeError, ValueError):
        return False
    if not isinstance(new, dict) or new.get("id") != kwargs["option"]:
        return False
    old = _records(session).get(kwargs["option"])
    account = _name(issuer)
    if old is None:
        return new.get("requester") == account and new.get("status") == "pending"
    scope = str(old.get("did", "")).split(":", 1)[0]
    if _roles(scope, session).get(account) != STEWARD:
        return False
    if new.get("status") not in DECISIONS.get(old.get("status"), set()):
        return False
    if new.get("steward") != account:
        return False
    unchanged = set(old) | set(new)
    return all(old.get(k) == new.get(k) for k in unchanged - DECIDED_FIELDS)


def _stewards_rule(issuer: "InternalAccount", rule_id: str, session: "Session") -> bool:
    try:
        scope = _name(get_rule(rule_id, session=session)["scope"])
    except RuleNotFound:
        return False
    return _roles(scope, session).get(_name(issuer)) == STEWARD


_COMMUNITY_CHECKS = {
    "add_rule": _check_rule,
    "attach_dids": _check_attach,
    "attach_dids_to_dids": _check_attach,
}


def has_permission(
    issuer: "InternalAccount", action: str, kwargs: dict[str, Any], session: "Session"
) -> "bool | PermissionResult":
    """The generic decision, with the owners' and the communities' changes above."""
    check = _COMMUNITY_CHECKS.get(action)
    if check is not None and not _is_admin(issuer, session):
        refusal = check(issuer, kwargs, session)
        if refusal is not None:
            return refusal
    if kwargs.get("section") == SECTION:
        if action in _READ_ACTIONS:
            return True
        if action == "config_set" and _may_write_record(issuer, kwargs, session):
            return True
    if generic.has_permission(issuer, action, kwargs, session=session):
        return True
    if action == "del_rule":
        return _owns(issuer, kwargs["rule_id"], session) or _stewards_rule(
            issuer, kwargs["rule_id"], session
        )
    if action == "update_rule":
        options = set(kwargs.get("options") or {})
        if options <= STEWARD_UPDATES and _stewards_rule(issuer, kwargs["rule_id"], session):
            return True
        return options <= OWNER_UPDATES and _owns(issuer, kwargs["rule_id"], session)
    return False
