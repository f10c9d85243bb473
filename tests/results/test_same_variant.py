"""hwp_bench.results.collect.same_variant: a typed variant against a run's label."""

from __future__ import annotations

import pytest

from hwp_bench.results.collect import same_variant, variant_of


@pytest.mark.parametrize(
    "label, typed",
    [
        ("full", "full"),
        ("dpd_dropout=0.0", "dpd_dropout=0"),
        ("pao_beta=1000.0", "pao_beta=1e3"),
        ("dpd=off,pao=binary", "pao=binary,dpd=off"),
        ("subdivision=1", "subdivision=1.0"),
    ],
)
def test_same_variant_matches(label, typed):
    assert same_variant(label, typed)


@pytest.mark.parametrize(
    "label, typed",
    [
        ("full", "dpd=off"),
        ("dpd_dropout=0.0", "dpd_dropout=0.1"),
        ("dpd=off,pao=binary", "dpd=off"),
        ("pao=binary", "pao=off"),
        ("colour_region=hand", "colour_region=hands"),
    ],
)
def test_same_variant_tells_variants_apart(label, typed):
    assert not same_variant(label, typed)


def test_a_float_override_is_labelled_as_the_config_holds_it():
    # why same_variant exists: --set dpd_dropout=0 is stored as 0.0 and labelled so
    label = variant_of({"dpd_dropout": 0.0}, "wildghand", overrides=["dpd_dropout=0"])
    assert label == "dpd_dropout=0.0"
    assert same_variant(label, "dpd_dropout=0")
