"""The access service: request access to a community's data, and decide on requests.

Requests and decisions are records in Rucio (config section ``wp5_access``), written with the
caller's own Rucio account, so every server of every community sees the same ones and Rucio's
policy package both checks who may write them and enforces the grants on every rule (see
``playground/scripts/wp5_policy/permission.py``). The checks here come first so that users get a
precise message; they are not what keeps data safe.

Every event is also appended to the access ledger when one is configured (:class:`AccessLedger`).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from traitlets.config import LoggingConfigurable

from ..data.rucio_connection import RucioConnection
from ..models import DID, Conflict, Forbidden, InvalidRequest, NotFound, Wp5Error
from .config import Communities
from .ledger import AccessLedger
from .records import SECTION, AccessRecord, parse_stamp, utc_stamp

MAX_PURPOSE = 2000


@dataclass(frozen=True)
class Outcome:
    """A record after an event, where the event landed in the ledger, and what else happened."""

    record: AccessRecord
    ledger_index: int | None
    purpose_salt: str | None = None
    rules_removed: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the API."""
        data: dict[str, Any] = {"request": self.record.to_dict(), "ledger_index": self.ledger_index}
        if self.purpose_salt is not None:
            data["purpose_salt"] = self.purpose_salt
        if self.rules_removed:
            data["rules_removed"] = list(self.rules_removed)
        return data


class AccessService(LoggingConfigurable):
    """Access requests and grants between communities, acting as this server's Rucio account."""

    def __init__(
        self,
        connection: RucioConnection,
        communities: Communities,
        ledger: AccessLedger,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.connection = connection
        self.communities = communities
        self.ledger = ledger
        self._account: str | None = None

    async def account(self) -> str:
        """This server's Rucio account (asked once)."""
        if self._account is None:
            self._account = await self.connection.run(lambda c: c.whoami()["account"])
        return self._account

    # -- reading ---------------------------------------------------------------------------

    async def _records(self) -> dict[str, AccessRecord]:
        from rucio.common.exception import ConfigNotFound

        def read(client: Any) -> dict[str, Any]:
            try:
                return client.get_config(section=SECTION)
            except ConfigNotFound:
                return {}

        records = {}
        for option, value in (await self.connection.run(read)).items():
            try:
                records[option] = AccessRecord.from_stored(str(value))
            except (TypeError, ValueError):
                self.log.warning("ignoring a malformed access record %s", option)
        return records

    async def get(self, request_id: str) -> AccessRecord:
        """One record; 404 if unknown, 403 unless the caller asked for it or stewards it."""
        record = (await self._records()).get(request_id)
        if record is None:
            raise NotFound(f"no access request {request_id}")
        me = await self.account()
        if me != record.requester and not self._stewards(me, record.scope):
            raise Forbidden(f"access request {request_id} is neither yours nor for your data")
        return record

    async def overview(self) -> dict[str, Any]:
        """The caller's requests, and the requests on the scopes the caller stewards."""
        me = await self.account()
        records = sorted((await self._records()).values(), key=lambda r: r.requested)
        return {
            "account": me,
            "communities": [c.name for c in self.communities.of_account(me)],
            "mine": [r.to_dict() for r in records if r.requester == me],
            "stewarded": [r.to_dict() for r in records if self._stewards(me, r.scope)],
        }

    def _stewards(self, account: str, scope: str) -> bool:
        owner = self.communities.owner_of(scope)
        return owner is not None and account in owner.stewards

    async def checkpoint(self) -> dict[str, Any]:
        """The access ledger's latest cosigned checkpoint and the keys that sign it."""
        return await self.ledger.checkpoint()

    async def receipt(self, index: int) -> dict[str, Any]:
        """The ledger receipt of the entry at ``index`` (an outcome's ``ledger_index``)."""
        if index < 0:
            raise InvalidRequest(f"a ledger index is a whole number, not {index}")
        return await self.ledger.receipt(index)

    # -- events ----------------------------------------------------------------------------

    async def request(self, did: DID, purpose: str) -> Outcome:
        """Ask for access to ``did`` of another community, for ``purpose``."""
        purpose = purpose.strip()
        if not purpose:
            raise InvalidRequest("say what the data is for (purpose)")
        if len(purpose) > MAX_PURPOSE:
            raise InvalidRequest(f"the purpose is longer than {MAX_PURPOSE} characters")
        owner = self.communities.owner_of(did.scope)
        if owner is None:
            raise InvalidRequest(f"scope {did.scope} belongs to no community: no grant is needed")
        me = await self.account()
        if me in owner.members:
            raise Conflict(f"{me} is in community {owner.name}, which owns {did}: no grant needed")
        await self.connection.run(lambda c: c.get_did(did.scope, did.name))
        from ..ledger import commit_text

        digest, salt = commit_text(purpose)
        record = AccessRecord(
            id=secrets.token_hex(8),
            requester=me,
            did=str(did),
            purpose_hmac=digest,
            requested=utc_stamp(dt.datetime.now(dt.UTC)),
        )
        await self._store(record)
        index = await self.ledger.record(
            "access_request",
            request_id=record.id,
            requester=me,
            did=record.did,
            purpose_hmac=digest,
        )
        return Outcome(record, index, purpose_salt=salt)

    async def grant(self, request_id: str, expires: str, rses: list[str] | None = None) -> Outcome:
        """Grant a pending request until ``expires`` (RFC 3339), optionally only at ``rses``."""
        try:
            until = parse_stamp(expires)
        except (TypeError, ValueError, AttributeError):
            raise InvalidRequest(f"expires {expires!r} is not an RFC 3339 time") from None
        if until <= dt.datetime.now(dt.UTC):
            raise InvalidRequest(f"expires {expires} is in the past")
        rses = list(rses or [])
        for rse in rses:
            await self._check_rse(rse)
        record = await self._decidable(request_id, "pending")
        me = await self.account()
        decided = record.decide("granted", me, expires=utc_stamp(until), rses=rses)
        await self._store(decided)
        fields: dict[str, Any] = {"rses": rses} if rses else {}
        index = await self.ledger.record(
            "grant",
            request_id=record.id,
            steward=me,
            grantee=record.requester,
            did=record.did,
            expires=decided.expires,
            **fields,
        )
        return Outcome(decided, index)

    async def deny(self, request_id: str, reason: str = "") -> Outcome:
        """Deny a pending request."""
        return await self._close(request_id, "pending", "denied", "deny", reason)

    async def revoke(self, request_id: str, reason: str = "") -> Outcome:
        """Revoke a grant and remove the rules its grantee made on the data under it."""
        outcome = await self._close(request_id, "granted", "revoked", "revoke", reason)
        removed = await self._remove_rules(outcome.record)
        return Outcome(outcome.record, outcome.ledger_index, rules_removed=tuple(removed))

    async def rule_created(self, rule_id: str, did: DID, rse_expression: str) -> int | None:
        """Log this account's new rule (with the grant it used, on a community's data); the
        ledger index, or None without a ledger."""
        if not self.ledger.enabled:
            return None
        try:
            account = await self.account()
            records = await self._records() if self.communities.owner_of(did.scope) else {}
        except Wp5Error as err:
            # The rule exists already; a failed look-up must not turn its creation into an error.
            self.log.error("rule %s made, but not logged to the ledger: %s", rule_id, err)
            return None
        grant = next(
            (
                r
                for r in records.values()
                if r.requester == account and r.did == str(did) and r.live()
            ),
            None,
        )
        extra = {"request_id": grant.id} if grant else {}
        return await self.ledger.record(
            "rule_created",
            rule_id=rule_id,
            account=account,
            did=str(did),
            rse=rse_expression,
            **extra,
        )

    async def replica_ready(self, rule_id: str, did: DID, rse_expression: str) -> int | None:
        """Log that a rule's copies are all complete; the ledger index, or None."""
        if not self.ledger.enabled:
            return None
        return await self.ledger.record(
            "replica_ready", rule_id=rule_id, did=str(did), rse=rse_expression
        )

    async def downloaded(self, did: DID, file: dict[str, Any]) -> int | None:
        """Log one file of ``did`` downloaded by this account (Rucio's file listing: ``scope``,
        ``name``, ``adler32``, ``bytes``); the ledger index, or None."""
        if not self.ledger.enabled:
            return None
        digest = {
            "did": f"{file['scope']}:{file['name']}",
            "adler32": str(file.get("adler32") or ""),
            "bytes": int(file.get("bytes") or 0),
        }
        return await self._record_as_me("download", did=str(did), files=[digest])

    async def analysis_run(
        self,
        inputs: list[dict[str, Any]],
        code_sha256: str,
        env_lock_sha256: str,
        output_sha256: str,
    ) -> int | None:
        """Log an analysis run by this account: its inputs (``did``, ``adler32``), and the
        SHA-256 of its code, of its environment's lock and of its output; the ledger index, or
        None when the append failed. A malformed field is a 400, before anything is logged;
        without a ledger, a 404."""
        if not self.ledger.enabled:
            raise NotFound("this server reports to no access ledger (set AccessLedger.url)")
        from ..ledger import EntryError, make_entry

        fields = {
            "inputs": inputs,
            "code_sha256": code_sha256,
            "env_lock_sha256": env_lock_sha256,
            "output_sha256": output_sha256,
        }
        try:
            make_entry("analysis_run", account=await self.account(), **fields)
        except EntryError as err:
            raise InvalidRequest(str(err)) from None
        return await self._record_as_me("analysis_run", **fields)

    async def _record_as_me(self, event: str, **fields: Any) -> int | None:
        try:
            account = await self.account()
        except Wp5Error as err:
            self.log.error("a %s event was not logged to the ledger: %s", event, err)
            return None
        return await self.ledger.record(event, account=account, **fields)

    async def check_download(self, did: DID) -> None:
        """Refuse (403, naming the missing grant) a download of a community's data without a
        live grant that allows downloads (one not limited to storage elements).

        Rucio's permission layer does not see reads from storage, so this check is ours alone;
        rules, which Rucio does see, are refused by Rucio itself.
        """
        owner = self.communities.owner_of(did.scope)
        if owner is None:
            return
        me = await self.account()
        if me in owner.members:
            return
        parents = await self.connection.run(lambda c: list(c.list_parent_dids(did.scope, did.name)))
        covering = {str(did)} | {f"{p['scope']}:{p['name']}" for p in parents}
        grants = [
            r
            for r in (await self._records()).values()
            if r.requester == me and r.did in covering and r.live()
        ]
        if not grants:
            raise Forbidden(
                f"no access grant for account {me} on {did}: scope {did.scope} belongs to "
                f"community {owner.name}; ask its steward ({', '.join(owner.stewards)}) for access"
            )
        if all(g.rses for g in grants):
            raise Forbidden(
                f"access grant {grants[0].id} on {grants[0].did} allows copies only at "
                f"{', '.join(grants[0].rses)}, not downloads"
            )

    # -- helpers ---------------------------------------------------------------------------

    async def _close(
        self, request_id: str, before: str, after: str, event: str, reason: str
    ) -> Outcome:
        record = await self._decidable(request_id, before)
        me = await self.account()
        decided = record.decide(after, me)
        await self._store(decided)
        fields: dict[str, Any] = {}
        if reason.strip():
            from ..ledger import commit_text

            fields["reason_hmac"] = commit_text(reason.strip())[0]
        index = await self.ledger.record(
            event,
            request_id=record.id,
            steward=me,
            grantee=record.requester,
            did=record.did,
            **fields,
        )
        return Outcome(decided, index)

    async def _decidable(self, request_id: str, status: str) -> AccessRecord:
        record = (await self._records()).get(request_id)
        if record is None:
            raise NotFound(f"no access request {request_id}")
        me = await self.account()
        if not self._stewards(me, record.scope):
            owner = self.communities.owner_of(record.scope)
            who = ", ".join(owner.stewards) if owner else "nobody"
            raise Forbidden(
                f"{me} is not a steward of scope {record.scope}: only {who} may decide on "
                f"request {request_id}"
            )
        if record.status != status:
            raise Conflict(f"access request {request_id} is {record.status}, not {status}")
        return record

    async def _check_rse(self, rse: str) -> None:
        try:
            await self.connection.run(lambda c: c.get_rse(rse))
        except NotFound:
            raise InvalidRequest(f"unknown storage element {rse}") from None

    async def _store(self, record: AccessRecord) -> None:
        value = record.stored()
        await self.connection.run(lambda c: c.set_config_option(SECTION, record.id, value))

    async def _remove_rules(self, record: AccessRecord) -> list[str]:
        scope, name = record.did.split(":", 1)

        def remove(client: Any) -> list[str]:
            names = {name} | {c["name"] for c in client.list_content(scope, name)}
            rules = client.list_replication_rules({"account": record.requester, "scope": scope})
            doomed = [r["id"] for r in rules if r["name"] in names]
            for rule_id in doomed:
                # A delete would keep the copy for another hour; this ends rule and copy now.
                client.update_replication_rule(rule_id, {"lifetime": 1, "purge_replicas": True})
            return doomed

        try:
            return await self.connection.run(remove)
        except Wp5Error as err:
            # The revoke stands (Rucio refuses new rules already); say what is left behind.
            self.log.error("revoked %s but could not remove its rules: %s", record.id, err)
            return []
