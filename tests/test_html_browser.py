"""The HTML view in a real browser (headless Chromium): labels visible in the rendered page, entity
boxes on their words, a screenshot that is not blank. `.ci/run` installs Chromium (Debian package)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from conftest import seed_texts

CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome") if shutil.which(name)),
                None)

# Runs in the page after layout: for every entity box, whether the box contains the rectangle of
# its own text, and the page's visible text; the result lands in a <pre id="probe"> for --dump-dom.
_PROBE = """<script>
window.addEventListener("load", () => {
  const boxes = [...document.querySelectorAll("mark.entity")].map(mark => {
    const range = document.createRange();
    range.selectNodeContents(mark.firstChild);
    const word = range.getBoundingClientRect(), box = mark.getBoundingClientRect();
    return {text: mark.firstChild.textContent, width: word.width,
            inside: word.left >= box.left - 1 && word.right <= box.right + 1 &&
                    word.top >= box.top - 1 && word.bottom <= box.bottom + 1};
  });
  const probe = document.createElement("pre");
  probe.id = "probe";
  probe.hidden = true;
  probe.textContent = JSON.stringify({boxes: boxes, visible: document.body.innerText});
  document.body.appendChild(probe);
});
</script>"""


def _chromium(*args: str) -> subprocess.CompletedProcess:
    assert CHROMIUM, "no Chromium on this machine: apt-get install chromium (see .ci/run)"
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--window-size=1200,2000", "--virtual-time-budget=3000", *args],
                          capture_output=True, text=True, timeout=120)


def test_the_rendered_page_shows_labels_and_boxes_sit_on_their_words(tmp_path, tiny_tagger_dir, tiny_classifier_dir):
    from libya_nlp import Annotator

    annotator = Annotator(tagger=tiny_tagger_dir, classifier=tiny_classifier_dir, events="rules", device="cpu",
                          precision="fp32")
    result = annotator.annotate(seed_texts()[0])
    assert result.entities and any(s.request_types for s in result.sentences), "the biased tiny models label things"
    page, probed = tmp_path / "seed.html", tmp_path / "seed_probed.html"
    page.write_text(result.to_html(full_page=True), encoding="utf-8")
    probed.write_text(result.to_html(full_page=True).replace("</body>", _PROBE + "</body>"), encoding="utf-8")

    dom = _chromium("--dump-dom", probed.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    probe = json.loads(re.search(r'<pre id="probe"[^>]*>(.*?)</pre>', dom.stdout, re.DOTALL).group(1)
                       .replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
    visible = probe["visible"]
    first = next(s for s in result.sentences if s.request_types)
    label = first.request_types[0]
    assert f"{label.label} {label.score:.2f}" in visible  # a badge, not a tooltip
    assert "requester → addressee: type" in visible  # the legend
    assert len(probe["boxes"]) == len(result.entities)
    assert all(box["inside"] and box["width"] > 0 for box in probe["boxes"]), probe["boxes"][:5]
    assert [box["text"] for box in probe["boxes"]] == [e.text for e in sorted(result.entities, key=lambda e: e.start)]

    shot = tmp_path / "seed.png"
    taken = _chromium(f"--screenshot={shot}", page.as_uri())
    assert taken.returncode == 0 and shot.stat().st_size > 20_000, taken.stderr[-2000:]
