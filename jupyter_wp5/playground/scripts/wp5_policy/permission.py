"""Permissions: Rucio's generic policy, except that a rule's owner may delete it, change its
lifetime and retry its stuck copies (as the CMS and ATLAS policies allow owners to manage their
rules). Generic allows all three to admins only.
"""

from typing import TYPE_CHECKING, Any

from rucio.common.exception import RuleNotFound
from rucio.core.permission import generic
from rucio.core.rule import get_rule

if TYPE_CHECKING:
    from rucio.common.types import InternalAccount
    from sqlalchemy.orm import Session

# What an owner may change on an own rule through update_replication_rule: its lifetime, and
# ``boost_rule`` (retry STUCK copies now rather than after Rucio's hours-long back-off).
OWNER_UPDATES = frozenset({"lifetime", "boost_rule"})


def _owns(issuer: "InternalAccount", rule_id: str, session: "Session") -> bool:
    try:
        return get_rule(rule_id, session=session)["account"] == issuer
    except RuleNotFound:
        return False


def has_permission(
    issuer: "InternalAccount", action: str, kwargs: dict[str, Any], session: "Session"
) -> bool:
    """The generic decision, widened for owners on ``del_rule`` and some ``update_rule``."""
    if generic.has_permission(issuer, action, kwargs, session=session):
        return True
    if action == "del_rule":
        return _owns(issuer, kwargs["rule_id"], session)
    if action == "update_rule":
        options = kwargs.get("options") or {}
        return set(options) <= OWNER_UPDATES and _owns(issuer, kwargs["rule_id"], session)
    return False
