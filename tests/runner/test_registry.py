"""Registry discovery through real entry points (a dist-info on sys.path) and HWP_BENCH_METHODS."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest

from hwp_bench.api import Method, MethodNotFound, MethodUnavailable, get_method, list_methods

PLUGIN = textwrap.dedent(
    """
    import numpy as np
    from hwp_bench.api import MethodBase, MethodInfo

    class Toy(MethodBase):
        @classmethod
        def method_info(cls):
            return MethodInfo(id="toy-plugin", name="Toy", hand_types=("single",),
                              default_config={"iterations": 2, "value": 0.5},
                              implementation_status="trivial")

        def train_iteration(self, step):
            return {"loss": 1.0 / (step + 1)}

        def render(self, frame):
            c = np.full((frame.height, frame.width, 3), self.config["value"], np.float32)
            return {"color": c, "alpha": np.ones(c.shape[:2], np.float32)}

        def state_dict(self):
            return {}

        def load_state_dict(self, state):
            pass

    class NeedsLicence(Toy):
        @classmethod
        def method_info(cls):
            return MethodInfo(id="needs-licence", name="N")

        @classmethod
        def check_requirements(cls):
            return "needs the MANO model: run `hwp-bench hand mano-setup`"
    """
)


@pytest.fixture
def plugin_dist(tmp_path, monkeypatch):
    """An installed-looking distribution: package + dist-info with entry_points.txt."""
    pkg = tmp_path / "hwp_toyplugin"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(PLUGIN)
    info = tmp_path / "hwp_toyplugin-1.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hwp-toyplugin\nVersion: 1.2\n")
    (info / "entry_points.txt").write_text(
        "[hwp_bench.methods]\n"
        "toy-plugin = hwp_toyplugin:Toy\n"
        "needs-licence = hwp_toyplugin:NeedsLicence\n"
        "misnamed = hwp_toyplugin:Toy\n"
        "missing-module = hwp_toyplugin_not_there.mod:Cls\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("HWP_BENCH_METHODS", raising=False)
    yield tmp_path
    sys.modules.pop("hwp_toyplugin", None)


def test_entry_point_plugin_is_found_and_runs(plugin_dist):
    cls = get_method("toy-plugin")
    assert cls.__module__ == "hwp_toyplugin"
    m = cls(config=cls.method_info().resolve_config(None, ["value=0.25"]))
    assert isinstance(m, Method)
    from hwp_bench.data import Frame

    frame = Frame(
        image=np.zeros((4, 5, 3), np.float32),
        capture="capture00",
        index=0,
        num_frames=1,
        K=np.eye(3, dtype=np.float32),
        hands={},
    )
    out = m.render(frame.without_pixels())
    assert out["color"].shape == (4, 5, 3) and float(out["color"][0, 0, 0]) == 0.25


def test_listing_reports_each_problem_and_keeps_going(plugin_dist):
    rows = {r.id: r for r in list_methods()}
    assert rows["toy-plugin"].available and rows["toy-plugin"].info.hand_types == ("single",)
    assert "hwp-toyplugin 1.2" in rows["toy-plugin"].source
    assert not rows["needs-licence"].available
    assert "mano-setup" in rows["needs-licence"].reason
    assert "method_info().id is 'toy-plugin'" in rows["misnamed"].reason
    assert "cannot import hwp_toyplugin_not_there.mod" in rows["missing-module"].reason
    # The project's own registrations are listed too (whether or not they are importable yet).
    assert {"mean-color", "wildghand"} <= set(rows)
    with pytest.raises(MethodUnavailable, match="mano-setup"):
        get_method("needs-licence")
    with pytest.raises(MethodNotFound, match="Did you mean toy-plugin"):
        get_method("toy-plugn")


def test_env_var_file_plugin_shadows_entry_point(plugin_dist, tmp_path, monkeypatch):
    local = tmp_path / "local_plugin.py"
    local.write_text(PLUGIN.replace('id="toy-plugin", name="Toy"', 'id="toy-plugin", name="Local"'))
    monkeypatch.setenv("HWP_BENCH_METHODS", f"{local}:Toy, other={local}:NoSuchClass")
    rows = {r.id: r for r in list_methods()}
    assert rows["toy-plugin"].source == "HWP_BENCH_METHODS"
    assert get_method("toy-plugin").method_info().name == "Local"
    assert "has no attribute 'NoSuchClass'" in rows["other"].reason
