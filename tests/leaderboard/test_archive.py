"""Submission validation: good archives pass, each attack or mistake fails with its reason."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
from hwp_leaderboard.archive import check_submission, inspect_archive, iter_renders
from hwp_leaderboard.errors import SubmissionError
from hwp_leaderboard.limits import Limits
from hwp_leaderboard.manifest import parse_manifest

from hwp_bench.metrics.conventions import DEFAULT_PROTOCOL


def test_packed_run_passes_and_decodes_to_the_quantised_render(tmp_path, frames, ground_truth, lb):
    sub = lb.pack(tmp_path, frames, "inter", noise=0.05)
    spec = ground_truth.spec("inter")
    index = check_submission(sub, spec=spec)
    assert index.manifest.split == "inter" and index.manifest.protocol == DEFAULT_PROTOCOL
    assert sorted(index.renders) == sorted((c, i) for c in spec.frames for i in spec.frames[c])
    # every decoded render equals the run's float render quantised to 8 bits
    run = tmp_path / "run-sub.zip" / "renders"
    n = 0
    for cap, idx, color, alpha in iter_renders(sub, index, spec):
        src = np.load(run / cap / f"{idx:05d}.npy")
        assert color.shape == (lb.H, lb.W, 3) and alpha is None
        np.testing.assert_array_equal(color, np.round(src * 255) / np.float32(255))
        n += 1
    assert n == spec.num_frames == 5
    # the same archive against a dict of specs (what the server passes) also passes
    inspect_archive(sub, spec={"inter": spec, "single": ground_truth.spec("single")})


def test_every_malicious_or_broken_archive_is_rejected_with_its_reason(
    tmp_path, frames, ground_truth, lb
):
    spec = {s: ground_truth.spec(s) for s in ("single", "inter")}
    cases = lb.malicious_zips(tmp_path, frames)
    assert len(cases) >= 15
    for label, (path, code) in cases.items():
        with pytest.raises(SubmissionError) as err:
            check_submission(path, spec=spec)
        assert err.value.code == code, (label, err.value.code, err.value.reason)
        assert len(err.value.reason) > 10


def test_zip_bomb_limits_are_the_configured_ones(tmp_path, frames, ground_truth, lb):
    sub = lb.pack(tmp_path, frames, "inter")
    spec = ground_truth.spec("inter")
    with pytest.raises(SubmissionError, match="limit is 3") as err:
        inspect_archive(sub, spec=spec, limits=Limits(max_files=3))
    assert err.value.code == "too-many-files"
    with pytest.raises(SubmissionError) as err:
        inspect_archive(sub, spec=spec, limits=Limits(max_total_uncompressed=2000))
    assert err.value.code == "zip-bomb"
    with pytest.raises(SubmissionError) as err:
        inspect_archive(sub, spec=spec, limits=Limits(max_upload_bytes=100))
    assert err.value.code == "too-large"
    with pytest.raises(SubmissionError) as err:
        inspect_archive(sub, spec=spec, limits=Limits(max_image_pixels=lb.H * lb.W - 1))
    assert err.value.code == "image-too-large"
    inspect_archive(sub, spec=spec, limits=Limits(max_files=6, max_image_pixels=lb.H * lb.W))


def test_lying_central_directory_never_inflates_past_the_declared_size(tmp_path, frames, lb):
    cases = lb.malicious_zips(tmp_path, frames)
    path, _ = cases["bomb-lying-size"]
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("renders/capture04/00036.png")
        assert info.file_size == 1000  # the lie
        with pytest.raises(zipfile.BadZipFile):
            with zf.open(info) as fh:
                fh.read(info.file_size + 1)


def test_without_a_spec_sizes_must_agree_within_a_capture(tmp_path, frames, lb):
    sub = lb.pack(tmp_path, frames, "inter")
    odd = lb.rewrite_zip(
        sub,
        tmp_path / "odd.zip",
        replace={"renders/capture05/00046.png": lb.png_bytes(np.zeros((8, 8, 3), np.uint8))},
    )
    check_submission(sub)
    with pytest.raises(SubmissionError) as err:
        check_submission(odd)
    assert err.value.code == "wrong-size"


@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"split": "both"}, "split"),
        ({"authors": []}, "authors"),
        ({"code_url": "file:///etc/passwd"}, "http"),
        ({"paper_url": 'https://x.org/"><script>'}, "quotes"),
        ({"method": "x" * 500}, "method"),
        ({"unknown_field": 1}, "unknown_field"),
        ({"fit_time_s": -1}, "fit_time_s"),
        ({"protocol": "../../etc"}, "protocol"),
    ],
)
def test_manifest_schema(change, fragment, lb):
    base = {**lb.MANIFEST, "split": "inter"}
    assert parse_manifest(base).method == "noisy-gt"
    with pytest.raises(SubmissionError) as err:
        parse_manifest({**base, **change})
    assert err.value.code == "bad-manifest" and fragment in err.value.reason


def test_protocol_and_dataset_must_match_the_server(tmp_path, frames, ground_truth, lb):
    sub = lb.pack(
        tmp_path, frames, "inter", protocol="made-up", dataset={"id": "other", "revision": "1"}
    )
    with pytest.raises(SubmissionError) as err:
        inspect_archive(sub, allowed_protocols=("hwp-v1",))
    assert err.value.code == "bad-protocol"
    with pytest.raises(SubmissionError) as err:
        inspect_archive(sub, dataset_id="tiny-test")
    assert err.value.code == "wrong-dataset"
