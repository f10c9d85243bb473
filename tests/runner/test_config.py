"""Config resolution: defaults <- preset <- --set overrides, type checks, the config hash."""

from __future__ import annotations

import pytest

from hwp_bench.api import ConfigError, MethodInfo, config_hash, parse_overrides

INFO = MethodInfo(
    id="toy",
    name="Toy",
    default_config={
        "iterations": 100,
        "lr": 0.01,
        "name": "a",
        "flag": False,
        "net": {"width": 64, "depth": 2},
        "size": None,
    },
    presets={"quick": {"iterations": 10}, "paper": {"iterations": 1000, "net": {"width": 256}}},
)


def test_layers_apply_in_order():
    cfg = INFO.resolve_config("paper", ["lr=1", "net.depth=4", "flag=true", "name=b c"], seed=3)
    assert cfg == {
        "iterations": 1000,
        "lr": 1.0,
        "name": "b c",
        "flag": True,
        "net": {"width": 256, "depth": 4},
        "size": None,
        "seed": 3,
    }
    assert isinstance(cfg["lr"], float)
    assert INFO.resolve_config("quick")["iterations"] == 10
    assert INFO.resolve_config(None)["iterations"] == 100


def test_override_parsing():
    assert parse_overrides(["a.b=1", "c=[1, 2]", 'd="3"', "e=None", "f=x=y"]) == {
        "a": {"b": 1},
        "c": [1, 2],
        "d": "3",
        "e": None,
        "f": "x=y",
    }
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides(["novalue"])


@pytest.mark.parametrize(
    "override, message",
    [
        ("lr=fast", "expects float"),
        ("iterations=1.5", "expects int"),
        ("flag=1", "expects bool"),
        ("iteratons=5", "did you mean iterations"),
        ("net=3", "is a group"),
        ("net.widht=3", "unknown config key 'net.widht'"),
    ],
)
def test_bad_overrides_name_the_problem(override, message):
    with pytest.raises(ConfigError, match=message):
        INFO.resolve_config("quick", [override])


def test_unknown_preset():
    with pytest.raises(ConfigError, match="quick, paper"):
        INFO.resolve_config("huge")


def test_hash_ignores_seed_and_int_float_spelling():
    a = INFO.resolve_config("quick", ["lr=1"], seed=0)
    b = INFO.resolve_config("quick", ["lr=1.0"], seed=7)
    c = INFO.resolve_config("quick", ["lr=2"], seed=0)
    assert config_hash(a) == config_hash(b) != config_hash(c)
    assert len(config_hash(a)) == 64
    assert config_hash(a, extra={"method": "x"}) != config_hash(a, extra={"method": "y"})


def test_method_info_validates():
    with pytest.raises(ValueError, match="implementation_status"):
        MethodInfo(id="x", name="x", implementation_status="great")
    with pytest.raises(ValueError, match="hand_types"):
        MethodInfo(id="x", name="x", hand_types=("three",))


def test_an_option_at_its_neutral_value_leaves_the_run_identity_unchanged():
    """Adding an option whose default reproduces the old behaviour must not orphan finished
    runs: a config holding the neutral value hashes as if the option were absent."""
    from hwp_bench.methods.config import identity_config

    cfg = {"lr": 0.01, "colour_region": "frame", "iterations": 10}
    neutral = {"colour_region": "frame"}
    assert identity_config(cfg, neutral) == {"lr": 0.01, "iterations": 10}
    assert identity_config({**cfg, "colour_region": "hand"}, neutral) == {
        **cfg,
        "colour_region": "hand",
    }
    with pytest.raises(ValueError, match="not keys of default_config"):
        MethodInfo(id="x", name="X", default_config={"a": 1}, neutral_options={"b": 2})


def test_wildghands_run_names_did_not_move_when_colour_options_were_added():
    """The real case: ``colour_region`` ("frame" = the paper, the behaviour before the option)
    and ``colour_hand_from`` (1.0 = never) were added to WildGHand and every Gaussian
    baseline; a run at those values keeps the name it had before the options, a run that sets
    another gets its own. (Since the default moved to ``colour_hand_from=0.3``, the runs from
    before it are the ones made with ``--set colour_hand_from=1.0``.)"""
    from hwp_bench.methods.config import config_hash
    from hwp_bench.runner.job import Job, dataset_id

    for method in ("wildghand", "intergaussianhand", "robust-trimmed", "appearance-embedding"):
        job = Job(method=method, capture="capture00", dataset="/nonexistent/tiny",
                  overrides=("colour_hand_from=1.0",))  # fmt: skip
        info = job.method_class().method_info()
        assert info.neutral_options == {"colour_region": "frame", "colour_hand_from": 1.0}
        before = {
            k: v for k, v in job.config().items() if k not in ("colour_region", "colour_hand_from")
        }
        extra = {"method": info.id, "version": info.version, "dataset": dataset_id(job.dataset)}
        assert job.config_hash() == config_hash(before, extra=extra), method
        hand = Job(method=method, capture="capture00", dataset="/nonexistent/tiny",
                   overrides=("colour_region=hand",))  # fmt: skip
        assert hand.config_hash() != job.config_hash()
        assert hand.config()["colour_region"] == "hand"
        late = Job(method=method, capture="capture00", dataset="/nonexistent/tiny",
                   overrides=("colour_hand_from=0.6",))  # fmt: skip
        assert late.config_hash() not in (job.config_hash(), hand.config_hash())
        # the default (0.3) is a run identity of its own, the one `--set colour_hand_from=0.3`
        # had before the default moved (so those runs count as done)
        default = Job(method=method, capture="capture00", dataset="/nonexistent/tiny")
        assert default.config()["colour_hand_from"] == 0.3
        assert default.config_hash() == config_hash(
            {**before, "colour_hand_from": 0.3}, extra=extra
        )
