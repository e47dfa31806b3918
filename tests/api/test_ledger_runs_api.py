"""POST access/ledger/runs: what ``jupyter_wp5.run`` reports from a kernel when a run ends. The
server appends it to the playground's ledger as its own account; a malformed report is a 400 and
adds nothing."""

from __future__ import annotations

import asyncio

import awkward as ak
import pytest
from coffea import processor

import jupyter_wp5 as wp5
from jupyter_wp5.kernel.client import Wp5Client
from jupyter_wp5.kernel.rest import RestTransport
from jupyter_wp5.ledger import LedgerClient, verify, verify_checkpoint
from jupyter_wp5.playground.communities import LEONARDO_USER
from jupyter_wp5.run_record import RunResult, output_sha256
from tests import access_setup

from .contract import call

jp_server_config = access_setup.jp_server_config

RUN = {
    "inputs": [{"did": "space:debris_catalogue_2026.parquet", "adler32": "0a1b2c3d"}],
    "code_sha256": "1" * 64,
    "env_lock_sha256": "2" * 64,
    "output_sha256": "3" * 64,
}


def _size(playground) -> int:
    note = LedgerClient(playground.ledger.url).checkpoint()
    return verify_checkpoint(note, playground.ledger.verifier_keys)[0].size


async def test_a_run_is_recorded_as_the_servers_account(jp_fetch, playground):
    status, body = await call(jp_fetch, "POST", "access/ledger/runs", RUN)
    assert status == 201, body
    status, receipt = await call(jp_fetch, "GET", f"access/ledger/receipts/{body['ledger_index']}")
    assert status == 200, receipt
    entry = verify(receipt, trusted_keys=playground.ledger.verifier_keys).entry
    assert entry["event"] == "analysis_run" and entry["account"] == LEONARDO_USER
    assert {k: entry[k] for k in RUN} == RUN


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({**RUN, "code_sha256": "not a hash"}, "code_sha256"),
        ({**RUN, "inputs": [{"did": "nodid", "adler32": "0a1b2c3d"}]}, "inputs"),
        ({**RUN, "account": "inaf-steward"}, "account"),
        ({k: v for k, v in RUN.items() if k != "output_sha256"}, "output_sha256"),
    ],
)
async def test_a_malformed_run_is_refused_and_adds_nothing(jp_fetch, playground, body, words):
    before = _size(playground)
    status, answer = await call(jp_fetch, "POST", "access/ledger/runs", body)
    assert status == 400 and words in answer["message"], answer
    assert _size(playground) == before


class Muons(processor.ProcessorABC):
    def process(self, events):
        return {"events": len(events), "muons": int(ak.sum(ak.num(events.Muon)))}

    def postprocess(self, accumulator):
        return accumulator


async def test_jupyter_wp5_run_in_a_kernel_records_through_the_server(
    jp_serverapp, jp_fetch, playground
):
    """The kernel's REST client: the run reports itself and its receipt comes back."""
    server = jp_serverapp
    wp5.api.set_client(
        Wp5Client(RestTransport(server.connection_url, server.identity_provider.token))
    )

    def scenario() -> tuple[RunResult, dict]:
        out = wp5.run(Muons(), "cms:DYJetsToLL_M-50_NanoAODv9", rse="SITE-A", progress=False)
        return out, out.receipt()

    try:
        out, receipt = await asyncio.to_thread(scenario)
    finally:
        wp5.api.set_client(None)
    entry = verify(receipt, trusted_keys=playground.ledger.verifier_keys).entry
    assert entry["event"] == "analysis_run" and entry["account"] == LEONARDO_USER
    assert entry["output_sha256"] == output_sha256(dict(out)) and out["events"] > 0
    assert entry["inputs"] and all(i["did"].startswith("cms:") for i in entry["inputs"])
