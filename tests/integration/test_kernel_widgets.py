"""The notebook controls (ipywidgets) driven by clicks against real LocalClusters, through the
in-process services a kernel without a Jupyter server uses."""

from __future__ import annotations

import ipywidgets
import pytest
from IPython.core.interactiveshell import InteractiveShell

import jupyter_wp5 as wp5
from jupyter_wp5 import api
from jupyter_wp5.kernel.client import Wp5Client
from jupyter_wp5.kernel.inprocess import InProcessTransport
from jupyter_wp5.kernel.widgets import ClusterControl

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def client():
    made = Wp5Client(InProcessTransport())
    api.set_client(made)
    yield made
    api.set_client(None)  # closes every cluster the test left open


def test_create_scale_adapt_close_by_clicks(client):
    control = wp5.cluster_control()
    assert isinstance(control, ClusterControl) and control.box.children[0] is control.create_box
    # Servable profiles are offered; the others are listed with the reason.
    assert "cpu" in [value for _, value in control.profile.options]
    # (No host has FPGA workers for the local backend, whatever its architecture.)
    assert "fpga" not in [value for _, value in control.profile.options]
    assert "<b>fpga</b>: profile &#x27;fpga&#x27; needs an FPGA" in control.profile_note.value

    control.profile.value = "cpu"
    control.workers.value = 1
    control.create_button.click()
    assert control.message.value == ""
    [info] = client.clusters()
    assert info.workers == 1 and control.cluster is not None and control.cluster.id == info.id
    assert control.box.children[0] is control.cluster_box
    assert "1 workers" in control.status.value
    # In-process there is no Jupyter server to proxy the dashboard: a direct link.
    assert '<a href="http://127.0.0.1:' in control.dashboard.value

    control.scale.value = 2
    control.apply_button.click()
    assert client.cluster(info.id).workers == 2 and "2 workers" in control.status.value

    control.adapt_minimum.value, control.adapt_maximum.value = 1, 3
    control.adapt_button.click()
    adapted = client.cluster(info.id)
    assert (adapted.adaptive_minimum, adapted.adaptive_maximum) == (1, 3)
    assert "adaptive 1..3" in control.status.value

    control.close_button.click()
    assert client.clusters() == []
    assert control.box.children[0] is control.create_box and "closed" in control.message.value
    control.close()


def test_magic_attaches_to_an_open_cluster_and_refreshes(client):
    cluster = wp5.new_cluster("cpu", workers=1, name="w1")
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "jupyter_wp5")
    control = shell.run_line_magic("wp5", "cluster widget w1")
    try:
        assert control.cluster.id == cluster.id and "<b>w1</b>" in control.status.value
        cluster.scale(2)  # changed elsewhere: Refresh shows it
        control.refresh_button.click()
        assert "2 workers" in control.status.value
        assert control._timer is not None and control._timer.is_alive()
    finally:
        control.close()
    assert control._timer is None
    # The widgets are gone, the cluster stays.
    assert control.box.comm is None and client.cluster("w1").workers == 2


def test_a_refusal_shows_in_the_control(client):
    control = ClusterControl(client, refresh_interval=None)
    control.workers.max = 1000  # past the profile's limit: the service says so
    control.workers.value = 1000
    control.create_button.click()
    assert "at most" in control.message.value and client.clusters() == []
    assert isinstance(control.box, ipywidgets.VBox)
