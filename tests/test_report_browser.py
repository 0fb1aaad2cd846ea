"""The HTML reports (#21) in a real browser: headless Chromium driven by
selenium opens the report of each bundled data set and checks that the page
loads with no console error and no network request, that every figure is
drawn, that the rows table sorts and filters, that a phone-width window does
not scroll sideways, and that the numbers the API computes are on the page.

Needs Chromium and its driver (Debian: ``apt-get install chromium
chromium-driver``; ``.ci/run`` installs them) and selenium (the ``test``
extra); skipped with the reason when one is missing. One browser session
serves the whole module.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil

import numpy as np
import pytest
from PIL import Image

import kmeanskit
from kmeanskit.anomaly import detect_outliers
from kmeanskit.cli.demo import demo_photo_path
from kmeanskit.datasets import WHOLESALE_SPENDING, load_wholesale_customers
from kmeanskit.image import dominant_colors

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")
DRIVERS = ("chromedriver",)


def _find(names, env):
    if os.environ.get(env):
        return os.environ[env]
    for n in names:
        p = shutil.which(n) or (f"/usr/lib/chromium/{n}" if os.path.exists(f"/usr/lib/chromium/{n}") else None)
        if p:
            return p
    return None


@pytest.fixture(scope="module")
def browser():
    binary, driver_path = _find(BROWSERS, "CHROMIUM_BIN"), _find(DRIVERS, "CHROMEDRIVER")
    if binary is None or driver_path is None:
        pytest.skip("no headless browser: install Chromium and its driver (Debian: "
                    "`apt-get install chromium chromium-driver`; .ci/run does) to run the HTML report tests")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1200,900", "--hide-scrollbars", "--disable-extensions",
                "--force-device-scale-factor=1"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    try:
        drv = webdriver.Chrome(options=opts, service=Service(driver_path))
    except Exception as exc:  # a browser that cannot start here (no display libraries, ...)
        pytest.skip(f"headless Chromium did not start: {str(exc).splitlines()[0]}")
    yield drv
    drv.quit()


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """The report of each bundled data set, with the API results they show."""
    d = tmp_path_factory.mktemp("reports")
    df = load_wholesale_customers(as_frame=True)
    seg = kmeanskit.segment(df, k="auto", columns=WHOLESALE_SPENDING, log=True, random_state=0)
    seg.to_html(d / "wholesale.html", source="wholesale_customers.csv")
    iris = kmeanskit.segment(_iris_frame(), k=3, random_state=0)
    iris.to_html(d / "iris.html", source="iris.csv")
    seg.sweep.to_html(d / "sweep.html", source="wholesale_customers.csv")
    with _photo() as photo:
        pal = dominant_colors(photo, k="auto", random_state=0)
        pal.to_html(d / "coffee.html", photo, quantized=kmeanskit.quantize(photo, pal))
    found = detect_outliers(seg.model, seg._Z, contamination=0.02)
    found.to_html(d / "outliers.html", frame=df, labels=seg.labels, source="wholesale_customers.csv")
    return {"dir": d, "wholesale": seg, "iris": iris, "palette": pal, "outliers": found}


def _iris_frame():
    import pandas as pd

    from kmeanskit.cli.demo import load_iris

    X, names, species = load_iris()
    frame = pd.DataFrame(X, columns=names)
    frame["species"] = species
    return frame


def _photo():
    from importlib import resources

    return resources.as_file(demo_photo_path())


def open_page(drv, path):
    """Load ``path`` and return its console messages and the URLs it
    requested (the page itself and its data: URIs left out)."""
    drv.get_log("browser")  # drop what an earlier page left
    drv.get_log("performance")
    drv.set_window_size(1200, 900)
    drv.get(path.as_uri())
    drv.execute_script("return document.readyState")
    return path.as_uri()


def problems(drv, page_uri):
    """Console errors/warnings and requests for anything but the page and
    data: URIs since the last call."""
    console = [e for e in drv.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    urls = []
    for entry in drv.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            url = msg["params"]["request"]["url"]
            if not url.startswith("data:") and url != page_uri:
                urls.append(url)
    return console, urls


def check_figures(drv):
    """Every figure decoded and drawn: a screenshot of its region is not blank."""
    from selenium.webdriver.common.by import By

    imgs = drv.find_elements(By.CSS_SELECTOR, "figure img")
    assert imgs
    for img in imgs:
        assert drv.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img) > 0
        drv.execute_script("arguments[0].scrollIntoView()", img)
        shot = np.asarray(Image.open(io.BytesIO(base64.b64decode(img.screenshot_as_base64))).convert("RGB"))
        assert shot.shape[0] > 20 and shot.shape[1] > 20
        assert shot.std() > 8 and len(np.unique(shot.reshape(-1, 3), axis=0)) > 8, img.get_attribute("alt")
    return len(imgs)


def check_phone_and_print(drv):
    """At a phone's width the page does not scroll sideways (wide tables
    scroll in their own box); it prints to a PDF."""
    drv.set_window_size(390, 844)
    assert drv.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    drv.set_window_size(1200, 900)
    from selenium.webdriver.common.print_page_options import PrintOptions

    pdf = base64.b64decode(drv.print_page(PrintOptions()))
    assert pdf.startswith(b"%PDF")


_COLUMN_JS = """
var t = document.getElementById(arguments[0]), j = arguments[1], out = [];
Array.prototype.forEach.call(t.tBodies[0].rows, function (r) {
  if (r.hidden) { return; }
  var c = r.cells[j], v = c.getAttribute("data-value");
  out.push(v !== null ? v : c.textContent.trim());
});
return out;
"""


def column_values(drv, table_id, index):
    """The sort values (data-value, else the text) of column ``index`` of
    the rows shown, top to bottom."""
    return drv.execute_script(_COLUMN_JS, table_id, index)


def header_index(drv, table_id, name):
    heads = drv.execute_script("return Array.prototype.map.call(document.getElementById(arguments[0]).tHead"
                               ".rows[0].cells, function (h) { return h.textContent.trim(); });", table_id)
    return heads.index(name)


def test_segmentation_report_in_browser(browser, reports):
    from selenium.webdriver.common.by import By

    seg = reports["wholesale"]
    uri = open_page(browser, reports["dir"] / "wholesale.html")
    assert check_figures(browser) == 3  # the sweep, the projection, the distributions
    body = browser.find_element(By.TAG_NAME, "body").text
    for c, row in seg.profile.iterrows():  # sizes and shares as the API computes them
        assert f"{int(row['size'])}" in body and f"{row['share']:.1%}" in body
    assert f"Recommended k = {seg.sweep.best_k}" in body and "All 440 rows" in body
    # sort the rows table by a column, both ways
    j = header_index(browser, "rows-table", "Fresh")
    head = browser.find_elements(By.CSS_SELECTOR, "#rows-table thead th")[j]
    head.click()
    vals = [float(v) for v in column_values(browser, "rows-table", j)]
    assert vals == sorted(vals) and vals[0] == seg._frame["Fresh"].min()
    assert head.get_attribute("aria-sort") == "ascending"
    head.click()
    vals = [float(v) for v in column_values(browser, "rows-table", j)]
    assert vals == sorted(vals, reverse=True) and vals[0] == seg._frame["Fresh"].max()
    # filter: column=value, then free text
    box = browser.find_element(By.ID, "rows-table-filter")
    box.send_keys("segment=1")
    seg_col = header_index(browser, "rows-table", "segment")
    shown = column_values(browser, "rows-table", seg_col)
    assert len(shown) == int((seg.labels == 1).sum()) and set(shown) == {"1"}
    assert browser.find_element(By.ID, "rows-table-count").text == str(len(shown))
    box.clear()
    box.send_keys(" ")  # clear() fires no input event; typing does
    assert len(column_values(browser, "rows-table", seg_col)) == 440
    # sort the profile table by size
    prof = browser.find_elements(By.CSS_SELECTOR, "#profile-table thead th")[1]
    prof.click()
    prof.click()
    sizes = [int(v) for v in column_values(browser, "profile-table", 1)]
    assert sizes == sorted(seg.sizes.tolist(), reverse=True)
    check_phone_and_print(browser)
    console, urls = problems(browser, uri)
    assert console == [] and urls == []


def test_iris_report_in_browser(browser, reports):
    from selenium.webdriver.common.by import By

    iris = reports["iris"]
    uri = open_page(browser, reports["dir"] / "iris.html")
    assert check_figures(browser) == 2  # k given: no sweep figure
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "k = 3 was given" in body
    for c, row in iris.profile.iterrows():
        assert f"{row['share']:.1%}" in body and f"{row['petal_length_cm mean']:.4g}" in body
    box = browser.find_element(By.ID, "rows-table-filter")
    box.send_keys("virginica")
    species = column_values(browser, "rows-table", header_index(browser, "rows-table", "species"))
    assert species == ["virginica"] * 50
    console, urls = problems(browser, uri)
    assert console == [] and urls == []


def test_sweep_report_in_browser(browser, reports):
    from selenium.webdriver.common.by import By

    sweep = reports["wholesale"].sweep
    uri = open_page(browser, reports["dir"] / "sweep.html")
    assert check_figures(browser) == 1
    body = browser.find_element(By.TAG_NAME, "body").text
    assert sweep.explain().splitlines()[0] in body
    ks = [int(v) for v in column_values(browser, "sweep-table", 0)]
    assert ks == sweep.k.tolist()
    browser.find_elements(By.CSS_SELECTOR, "#sweep-table thead th")[1].click()  # by inertia
    inertia = [float(v) for v in column_values(browser, "sweep-table", 1)]
    assert inertia == sorted(sweep.inertia.tolist())
    check_phone_and_print(browser)
    console, urls = problems(browser, uri)
    assert console == [] and urls == []


def test_palette_report_in_browser(browser, reports):
    from selenium.webdriver.common.by import By

    pal = reports["palette"]
    uri = open_page(browser, reports["dir"] / "coffee.html")
    assert check_figures(browser) == 4  # swatch, photo, quantized, elbow
    body = browser.find_element(By.TAG_NAME, "body").text
    for h, c, p in zip(pal.hex, pal.colors, pal.proportions):
        assert h in body and f"rgb({int(c[0])}, {int(c[1])}, {int(c[2])})" in body and f"{p:.1%}" in body
    buttons = browser.find_elements(By.CSS_SELECTOR, "button.copy")
    assert [b.get_attribute("data-copy") for b in buttons] == pal.hex
    buttons[0].click()
    # the label changes when the clipboard promise resolves, and back after 1.2 s: poll for it
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 5, poll_frequency=0.02).until(lambda b: buttons[0].text == "copied")
    chips = browser.execute_script("return Array.prototype.map.call(document.querySelectorAll('.swatches .chip'),"
                                   " function (e) { return getComputedStyle(e).backgroundColor; });")
    assert chips == [f"rgb({int(c[0])}, {int(c[1])}, {int(c[2])})" for c in pal.colors]
    check_phone_and_print(browser)
    console, urls = problems(browser, uri)
    assert console == [] and urls == []


def test_outliers_report_in_browser(browser, reports):
    from selenium.webdriver.common.by import By

    found = reports["outliers"]
    uri = open_page(browser, reports["dir"] / "outliers.html")
    assert check_figures(browser) == 1
    body = browser.find_element(By.TAG_NAME, "body").text
    assert f"{found.n_outliers} of 440 rows" in body
    rows = [int(v) for v in column_values(browser, "top-table", 0)]
    assert rows[:found.n_outliers] == found.indices.tolist()[:20]
    flagged = column_values(browser, "top-table", 2)
    assert flagged == ["yes" if found.mask[i] else "" for i in rows]
    scores = [float(v) for v in column_values(browser, "top-table", 1)]
    assert scores == pytest.approx(np.sort(found.scores)[::-1][:20].tolist())
    console, urls = problems(browser, uri)
    assert console == [] and urls == []


def test_a_network_request_would_be_seen(browser, tmp_path):
    """The network check can fail: a page that asks for a remote image is
    caught (blocked by the report's CSP, and logged)."""
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" "
                    "content=\"default-src 'none'\"></head><body><img src=\"http://192.0.2.1/x.png\">"
                    "</body></html>")
    uri = open_page(browser, page)
    console, urls = problems(browser, uri)
    assert console or urls
