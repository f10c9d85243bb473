"""The dataset card (README.md): YAML ``configs`` for ``datasets`` plus human documentation.

Generated from the manifest, :data:`hwp_bench.data.schema.FIELD_DOCS` and Table II, so the
card always matches the files next to it. ``datasets`` reads only the YAML block; the rest is
for people browsing the folder or the Hub page.
"""

from __future__ import annotations

from typing import Any

import yaml

from hwp_bench.data.schema import FIELD_DOCS, SCHEMA_VERSION
from hwp_bench.data.splits import SPLITS
from hwp_bench.data.tags import CAPTURES, PERTURBATION_NAMES


def card_yaml(manifest: dict[str, Any]) -> dict[str, Any]:
    """The YAML header: one config per entry of ``manifest["configs"]``, ``all`` the default."""
    configs = []
    for cfg, caps in manifest["configs"].items():
        entry: dict[str, Any] = {"config_name": cfg}
        if cfg == "all":
            entry["default"] = True
        entry["data_files"] = []
        for s in SPLITS:
            # datasets refuses empty splits: list only captures with frames in this split.
            paths = [
                f"data/{c}/{s}-*.parquet"
                for c in caps
                if manifest["captures"][c].get("counts", {}).get(s, 0) > 0
            ]
            if paths:
                entry["data_files"].append({"split": s, "path": paths})
        configs.append(entry)
    return {
        "license": manifest.get("license") or "other",
        "pretty_name": manifest.get("pretty_name") or manifest.get("name", "hwp"),
        "tags": ["hands", "avatar", "gaussian-splatting", "video", "hwp-bench"],
        "task_categories": ["image-to-3d"],
        "size_categories": [_size_category(manifest)],
        "configs": configs,
    }


def _size_category(manifest: dict[str, Any]) -> str:
    n = sum(c["num_frames"] for c in manifest["captures"].values())
    return "n<1K" if n < 1000 else "1K<n<10K" if n < 10000 else "10K<n<100K"


def render_card(manifest: dict[str, Any]) -> str:
    """The full README.md text."""
    head = yaml.safe_dump(card_yaml(manifest), sort_keys=False, allow_unicode=True)
    name = manifest.get("pretty_name") or manifest.get("name", "hwp")
    lines = [f"---\n{head}---", "", f"# {name}", ""]
    if manifest.get("description"):
        lines += [manifest["description"].strip(), ""]
    lines += [
        f"Written by hwp-bench (dataset schema version {SCHEMA_VERSION}). One row per video frame.",
        "",
        "## Load",
        "",
        "```python",
        "import datasets, hwp_bench",
        'ds = datasets.load_dataset("<this folder or repo>", "inter", split="test")',
        'ds = hwp_bench.load_dataset("<this folder or repo>", "inter", split="test")',
        'frames = hwp_bench.data.load_frames("<this folder>", "capture04", "train")',
        "```",
        "",
        "Without `datasets`: `splits/<capture>.json` lists the frame indices of each split "
        "and the Parquet files that hold them.",
        "",
        "## Configs and splits",
        "",
        "Configs: `single` (single-hand captures), `inter` (interacting hands), `all`, and one "
        "per capture (`capture00` ... `capture10`). Splits per capture are contiguous by "
        "frame order: train = [0, floor(0.8N)), validation = [floor(0.8N), floor(0.9N)), "
        "test = [floor(0.9N), N), the clean test clip. Never train on validation or test.",
        "",
        "| capture | hand | action | device | frames | train | validation | test | perturbations |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for cap, info in manifest["captures"].items():
        t2 = CAPTURES.get(cap)
        counts = info.get("counts", {})
        missing = info.get("missing") or []
        frames = str(info["num_frames"]) + (f" ({len(missing)} missing)" if missing else "")
        lines.append(
            f"| {cap} | {info['hand_type']} | {t2.action if t2 else ''} | "
            f"{t2.device if t2 else ''} | {frames} | "
            + " | ".join(str(counts.get(s, 0)) for s in SPLITS)
            + f" | {', '.join(info.get('tags') or []) or '-'} |"
        )
    lines += [
        "",
        "Perturbation tags: "
        + "; ".join(f"`{k}` = {v}" for k, v in PERTURBATION_NAMES.items())
        + ".",
        "",
        "## Fields",
        "",
        "| field | meaning |",
        "|---|---|",
    ]
    lines += [f"| `{k}` | {v} |" for k, v in FIELD_DOCS.items()]
    lines += [
        "",
        "Camera: extrinsics are identity (camera space is world space), OpenCV convention "
        "(x right, y down, z forward). Hand parameters follow the MANO convention; the left "
        "hand is modelled as a mirrored right hand.",
        "",
    ]
    if manifest.get("notes"):
        lines += ["## Notes", "", manifest["notes"].strip(), ""]
    if manifest.get("citation"):
        lines += ["## Citation", "", manifest["citation"].strip(), ""]
    return "\n".join(lines)
