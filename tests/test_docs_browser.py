"""The documentation site in a real browser: `_docs/` served on localhost, headless Chromium driven by Playwright.

A chapter page shows its pictures (the outputs committed in the notebook and the pictures of images/), the search
finds "projector", and every link of the sidebar opens. The site is built first (`python3 tools/build_docs.py`,
about half a minute) when `_docs/` has none; .ci/run builds it before the tests. Skipped, saying what is missing,
without `chromium` or `playwright` (see tests/test_browser.py) or without the site's generator
(`pip install -c constraints.txt -r docs-requirements.txt`). Set `REGEN_NB_DOCS_SCREENSHOTS=images` to keep the
screenshots of a chapter page and of a search (`docs_chapter.png`, `docs_search.png`) there.
"""
import re
import functools
import http.server
import importlib.util
import os
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urljoin

import pytest

from test_browser import CHROMIUM

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / '_docs'
MISSING = [name for name, ok in [('chromium (apt-get install chromium)', CHROMIUM),
                                 ('playwright (pip install playwright)', importlib.util.find_spec('playwright')),
                                 ('mkdocs-material (pip install -r docs-requirements.txt)', importlib.util.find_spec('material'))]
           if not ok]
pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"docs browser test needs: {', '.join(MISSING)}")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass


@pytest.fixture(scope='module')
def site():
    "The built site served on a free localhost port; yields its address."
    if not (SITE / 'index.html').exists():
        run = subprocess.run([sys.executable, 'tools/build_docs.py'], cwd=ROOT, capture_output=True, text=True)
        assert run.returncode == 0, f'tools/build_docs.py failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}'
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(_Quiet, directory=str(SITE)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try: yield f'http://127.0.0.1:{server.server_address[1]}/'
    finally: server.shutdown(); server.server_close()


@pytest.fixture(scope='module')
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'])
        try: yield b
        finally: b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={'width': 1400, 'height': 1000})
    page = context.new_page()
    yield page
    context.close()


def _shots(tmp_path) -> Path:
    keep = os.environ.get('REGEN_NB_DOCS_SCREENSHOTS')
    return (ROOT / keep) if keep else tmp_path


BROKEN_IMAGES = "[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 80))"


def test_chapter_shows_its_pictures(site, page, tmp_path):
    "The projector chapter (20) shows the pictures its notebook carries (PNG outputs) and those it links from images/; none is broken."
    requests_elsewhere = []
    page.on('request', lambda r: requests_elsewhere.append(r.url) if not r.url.startswith((site, 'data:')) else None)
    response = page.goto(urljoin(site, 'projector.html'), wait_until='load')
    assert response.status == 200
    assert page.locator('article h1').first.inner_text().strip(' ¶\n') == 'Backward projector'
    images = page.evaluate("[...document.querySelectorAll('article img')].map(i => [i.src.slice(0, 60), i.naturalWidth])")
    outputs = [w for src, w in images if src.startswith('data:image/png')]
    files = [w for src, w in images if src.startswith(site)]
    assert outputs and min(outputs) > 0, f'no committed output picture shown: {images}'
    assert files and min(files) > 0, f'no picture from images/ shown: {images}'
    assert page.evaluate(BROKEN_IMAGES) == [], 'broken pictures on the page'
    assert page.get_by_role('link', name='Open In Colab').count() == 1     # the badge, as a text link offline
    assert requests_elsewhere == [], f'the page fetched from other hosts: {requests_elsewhere}'
    page.evaluate("[...document.querySelectorAll('article img')].reduce((a, b) => a.height >= b.height ? a : b)"
                  ".scrollIntoView({block: 'center'})")     # the page's tallest picture
    page.wait_for_timeout(600)                                  # the header's title fades to the page's on scrolling
    page.screenshot(path=str(_shots(tmp_path) / 'docs_chapter.png'))


def test_search_finds_projector(site, page, tmp_path):
    page.goto(urljoin(site, 'index.html'), wait_until='load')
    page.locator('label.md-search__icon, .md-search__input').first.click()
    page.locator('input.md-search__input').fill('projector')
    results = page.locator('.md-search-result__item')
    results.first.wait_for(timeout=240_000)          # the index is built in a web worker: minutes on a loaded 2-core machine
    meta = page.locator('.md-search-result__meta').inner_text()
    links = page.eval_on_selector_all('.md-search-result__item a', 'els => els.map(e => e.getAttribute("href"))')
    assert int(meta.split()[0]) >= 5, meta
    assert any(l.startswith(urljoin(site, 'projector.html')) for l in links), f'no result on the projector chapter: {meta}, {links[:10]}'
    page.screenshot(path=str(_shots(tmp_path) / 'docs_search.png'))
    page.locator('.md-search-result__item a').first.click()
    page.wait_for_url('**/projector.html*')
    assert page.locator('article h1').first.inner_text().strip(' ¶\n') == 'Backward projector'
    assert page.locator('article mark').count() > 0         # the search term highlighted on the page


def test_every_sidebar_link_opens(site, page):
    "The sidebar lists the pages in reading order (home, chapters 00-99, exercises, teachers' page, API), and each opens."
    page.goto(urljoin(site, 'index.html'), wait_until='load')
    hrefs = page.eval_on_selector_all('nav.md-nav--primary a.md-nav__link[href]', 'els => els.map(e => e.getAttribute("href"))')
    labels = page.eval_on_selector_all('nav.md-nav--primary a.md-nav__link[href]', 'els => els.map(e => e.innerText.trim())')
    pages = list(dict.fromkeys(h.split('#')[0] for h in hrefs if not h.startswith('http')))
    chapters = [l for h, l in zip(hrefs, labels) if l[:2].isdigit() and not h.startswith('exercises/')]
    number = lambda l: (int(re.match(r'\d+', l)[0]), l.split()[0])           # 00, 00a, 00b, 01, ...
    assert chapters == sorted(chapters, key=number) and len(chapters) >= 25, chapters
    assert pages[0] == 'index.html' and pages[-1] == 'api.html', pages
    assert 'course.html' in pages and sum(p.startswith('exercises/') for p in pages) >= 7, pages
    for href in pages:
        response = page.goto(urljoin(site, href), wait_until='domcontentloaded')
        assert response.status == 200, f'{href}: HTTP {response.status}'
        assert page.locator('article h1').count() >= 1, f'{href} shows no page'
