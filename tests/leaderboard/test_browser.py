"""The ranking page in a real browser (headless Chromium through selenium and chromedriver).

Needs Debian's ``chromium`` and ``chromium-driver`` (CI: ``apt-get install -y chromium
chromium-driver``) and the ``browser`` extra (selenium); skips with the reason otherwise. Set
``HWP_LEADERBOARD_SCREENSHOT=docs/leaderboard.png`` to refresh the README's screenshot.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import httpx
import pytest
from hwp_leaderboard.database import Store
from hwp_leaderboard.groundtruth import DatasetGroundTruth
from hwp_leaderboard.pack import pack_submission
from hwp_leaderboard.server import Settings, create_app

from hwp_bench.data import load_frames
from hwp_bench.metrics.conventions import DEFAULT_PROTOCOL

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or (
    "/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None
)

try:
    import selenium  # noqa: F401

    HAVE_SELENIUM = True
except ImportError:
    HAVE_SELENIUM = False

pytestmark = [
    pytest.mark.skipif(
        not HAVE_SELENIUM, reason="selenium not installed (pip install 'hwp-bench[browser]')"
    ),
    pytest.mark.skipif(
        CHROMIUM is None or CHROMEDRIVER is None,
        reason="headless Chromium not installed (apt-get install -y chromium chromium-driver)",
    ),
]

METHODS = [  # demo entries: ground truth plus Gaussian noise (lower noise = better scores)
    ("demo: GT + noise 0.02", "team-a", 0.02, "https://example.org/paper-a"),
    ("demo: GT + noise 0.035", "team-b", 0.035, "https://example.org/paper-b"),
    ("demo: GT + noise 0.05", "team-c", 0.05, None),
    ("demo: GT + noise 0.12", "team-d", 0.12, None),
]


def _driver():  # noqa: ANN202
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        opts.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)


def _populate(url: str, store: Store, dataset_dir: Path, tmp: Path, lb) -> list[str]:  # noqa: ANN001
    import numpy as np

    ids = []
    frames = {
        c: load_frames(dataset_dir, c, "test") for c in ("capture00", "capture04", "capture07")
    }
    for k, (method, team, noise, paper) in enumerate(METHODS):
        store.create_team(team)
        auth = {"Authorization": f"Bearer {store.create_token(team)}"}
        for split, caps in (("single", ["capture00"]), ("inter", ["capture04", "capture07"])):
            run = tmp / f"run-{k}-{split}"
            rng = np.random.default_rng(k)
            for cap in caps:
                d = run / "renders" / cap
                d.mkdir(parents=True)
                for f in frames[cap]:
                    np.save(
                        d / f"{f.index:05d}.npy",
                        np.clip(f.image + rng.normal(0, noise, f.image.shape), 0, 1),
                    )
            man = {
                "method": method,
                "authors": ["A. Author"],
                "split": split,
                "hardware": "2 CPU cores",
                "fit_time_s": 600.0 * (k + 1),
                "code_url": "https://example.org/code",
                **({"paper_url": paper} if paper else {}),
            }
            sub = pack_submission(run, tmp / f"{k}-{split}.zip", man)
            r = httpx.post(
                f"{url}/api/submissions", content=sub.read_bytes(), headers=auth, timeout=30
            )
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
    deadline = time.monotonic() + 60
    while store.counts()["done"] < len(ids):
        assert time.monotonic() < deadline, store.counts()
        time.sleep(0.1)
    return ids


def test_page_sorts_and_opens_a_submission(dataset_dir, tmp_path, lb):
    from selenium.webdriver.common.by import By

    gt = DatasetGroundTruth(str(dataset_dir), dataset_id="tiny-hwp")
    settings = Settings(
        storage=tmp_path / "srv",
        quota_per_day=5,
        poll_s=0.1,
        title="hwp-bench leaderboard (demo data)",
    )
    app = create_app(settings, gt)
    with lb.LiveServer(app) as live:
        store = app.state.store
        _populate(live.url, store, dataset_dir, tmp_path, lb)
        driver = _driver()
        try:
            driver.get(live.url + "/")
            table = driver.find_element(By.ID, f"ranking-inter-{DEFAULT_PROTOCOL}-estimated")
            methods = [a.text for a in table.find_elements(By.CSS_SELECTOR, "tbody a.method")]
            assert methods == [m[0] for m in METHODS]  # ranked by PSNR
            headers = table.find_elements(By.CSS_SELECTOR, "thead th")
            labels = [h.text for h in headers]
            for col in (
                "PSNR ↑",
                "SSIM ↑",
                "LPIPS ↓",
                "HOI",
                "Blur",
                "Complex poses",
                "Illumination",
            ):
                assert col in labels, labels
            lp = headers[labels.index("LPIPS ↓")]
            lp.click()  # ascending LPIPS: best (lowest) first
            assert lp.get_attribute("aria-sort") == "ascending"
            asc = [a.text for a in table.find_elements(By.CSS_SELECTOR, "tbody a.method")]
            lp.click()  # descending: worst first
            desc = [a.text for a in table.find_elements(By.CSS_SELECTOR, "tbody a.method")]
            assert desc == asc[::-1] and desc[0] == METHODS[-1][0]
            vals = [
                float(td.get_attribute("data-value"))
                for td in table.find_elements(
                    By.CSS_SELECTOR, f"tbody td:nth-child({labels.index('LPIPS ↓') + 1})"
                )
            ]
            assert vals == sorted(vals, reverse=True)
            psnr = headers[labels.index("PSNR ↑")]
            psnr.click()
            psnr.click()  # back to descending PSNR for the screenshot
            assert [a.text for a in table.find_elements(By.CSS_SELECTOR, "tbody a.method")][
                0
            ] == METHODS[0][0]
            out = os.environ.get("HWP_LEADERBOARD_SCREENSHOT")
            shot = tmp_path / "leaderboard.png"
            driver.set_window_size(1400, 820)
            driver.save_screenshot(str(shot))
            assert shot.stat().st_size > 10_000
            if out:
                Path(out).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(shot, out)
            # open a submission: per-capture scores and its sample renders
            table.find_element(By.LINK_TEXT, METHODS[1][0]).click()
            assert driver.find_element(By.ID, "method").text == METHODS[1][0]
            caps = [
                td.text for td in driver.find_elements(By.CSS_SELECTOR, "#captures tbody td.text")
            ]
            assert caps[:2] == ["capture04", "capture07"]
            imgs = driver.find_elements(By.CSS_SELECTOR, ".samples img")
            assert len(imgs) == 2
            deadline = time.monotonic() + 10
            while not all(
                driver.execute_script(
                    "return arguments[0].complete && arguments[0].naturalWidth", i
                )
                for i in imgs
            ):
                assert time.monotonic() < deadline
                time.sleep(0.1)
            assert driver.execute_script("return arguments[0].naturalWidth", imgs[0]) == 48
            driver.find_element(By.LINK_TEXT, "← back to the ranking").click()
            assert driver.find_element(By.ID, f"ranking-single-{DEFAULT_PROTOCOL}-estimated")
            # the static export behaves the same from file:// (relative links, inline script)
            from hwp_leaderboard.site import build_site

            site = build_site(store, app.state.storage, tmp_path / "site")
            driver.get((site / "index.html").resolve().as_uri())
            table = driver.find_element(By.ID, f"ranking-inter-{DEFAULT_PROTOCOL}-estimated")
            heads = table.find_elements(By.CSS_SELECTOR, "thead th")
            heads[[h.text for h in heads].index("Method")].click()
            names = [a.text for a in table.find_elements(By.CSS_SELECTOR, "tbody a.method")]
            assert names == sorted(names)
            table.find_element(By.LINK_TEXT, METHODS[2][0]).click()
            assert driver.find_element(By.ID, "method").text == METHODS[2][0]
            img = driver.find_elements(By.CSS_SELECTOR, ".samples img")[0]
            deadline = time.monotonic() + 10
            while not driver.execute_script("return arguments[0].complete", img):
                assert time.monotonic() < deadline
                time.sleep(0.1)
            assert driver.execute_script("return arguments[0].naturalWidth", img) == 48
        finally:
            driver.quit()
