"""scripts/fidelity_figure.py: which runs become the figure's columns."""

from __future__ import annotations

import pytest

from hwp_bench.results.collect import ResultRecord


@pytest.fixture
def script(load_script):
    return load_script("fidelity_figure")


def _rec(method, variant="full", *, seed=0, capture="capture07", path=""):
    return ResultRecord(
        method=method,
        variant=variant,
        preset="quick",
        dataset="synth",
        capture=capture,
        seed=seed,
        protocol="hwp-v3",
        means={"psnr": 30.0},
        path=path or f"{method}-{variant}-{seed}-{capture}",
        track="aligned",
    )


RECORDS = [
    _rec("mean-color"),
    _rec("wildghand"),
    _rec("wildghand", "subdivision=1"),
    _rec("wildghand", "pao=binary"),
    _rec("wildghand", "subdivision=1", seed=1),
    _rec("perfect-avatar"),
    _rec("handy"),
    _rec("handy", capture="capture00"),
    _rec("zeta-method"),
]
WHERE = dict(capture="capture07", track="aligned", protocol="hwp-v3", dataset="synth")


def test_default_columns_are_the_full_variants_in_order(script):
    cols = script.choose_columns(RECORDS, **WHERE)
    assert [label for label, _ in cols] == [
        "perfect-avatar", "wildghand", "handy", "mean-color", "zeta-method",
    ]  # fmt: skip
    assert all(rec.variant == "full" and rec.seed == 0 for _, rec in cols)


def test_extra_adds_the_variant_right_after_its_method(script):
    cols = script.choose_columns(
        RECORDS, **WHERE, extras=["wildghand:subdivision=1", "wildghand:pao=binary"]
    )
    labels = [label for label, _ in cols]
    assert labels[:4] == [
        "perfect-avatar", "wildghand", "wildghand [subdivision=1]", "wildghand [pao=binary]",
    ]  # fmt: skip
    by_label = dict(cols)
    assert by_label["wildghand"].variant == "full"
    assert by_label["wildghand [subdivision=1]"].variant == "subdivision=1"
    assert by_label["wildghand [subdivision=1]"].seed == 0  # never the seed-1 run


def test_variant_replaces_the_method_column_and_is_starred(script):
    cols = script.choose_columns(RECORDS, **WHERE, variant="pao=binary")
    by_label = dict(cols)
    assert by_label["wildghand *"].variant == "pao=binary"
    assert by_label["handy"].variant == "full"  # no such variant: its full run, no star


@pytest.mark.parametrize(
    "extras, message",
    [
        (
            ["wildghand:dpd=off"],
            "no seed-0 results of wildghand with dpd=off .*variants there: full, pao=binary, "
            "subdivision=1$",
        ),
        (["wildghand"], "METHOD:VARIANT"),
        (["uhm:full"], "no column: uhm"),
    ],
)
def test_an_extra_that_cannot_be_drawn_is_an_error(extras, message, script):
    with pytest.raises(LookupError, match=message):
        script.choose_columns(RECORDS, **WHERE, extras=extras)


def test_no_results_is_an_error(script):
    with pytest.raises(LookupError, match="no results for capture09"):
        script.choose_columns(RECORDS, **{**WHERE, "capture": "capture09"})


def test_a_float_option_matches_however_it_was_typed(script):
    # a run made with --set dpd_dropout=0 is labelled as its config holds it: dpd_dropout=0.0
    records = RECORDS + [_rec("wildghand", "dpd_dropout=0.0")]
    cols = script.choose_columns(records, **WHERE, extras=["wildghand:dpd_dropout=0"])
    assert dict(cols)["wildghand [dpd_dropout=0]"].variant == "dpd_dropout=0.0"
    cols = script.choose_columns(records, **WHERE, variant="dpd_dropout=0")
    assert dict(cols)["wildghand *"].variant == "dpd_dropout=0.0"
