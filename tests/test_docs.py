"""The documentation builder's parts (the full build runs in .ci/run: `python3 tools/build_docs.py`)."""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
import build_docs


def test_site_shows_exercises_without_solutions():
    nb = (ROOT / 'nbs' / 'exercises' / '20_semi_cycle.ipynb').read_text()
    out = json.loads(build_docs.without_solutions(nb))
    src = '\n'.join(''.join(c['source']) for c in out['cells'])
    assert 'BEGIN SOLUTION' not in src and 'raise NotImplementedError()' in src and 'def semi_cycle(' in src
    assert '(1 - ssim(recon, images))' not in src


def test_links_point_into_the_site(monkeypatch, tmp_path):
    monkeypatch.setattr(build_docs, 'DOCS', tmp_path)
    page = tmp_path / 'exercises' / 'x.html'
    src = build_docs.NBS / 'exercises' / 'x.ipynb'
    html = '<img src="../../images/star.png"><a href="../10_decompose.ipynb#top">d</a><a href="https://x.org/a.ipynb">e</a>'
    assert build_docs._fix_links(html, src, page) == \
        '<img src="../images/star.png"><a href="../10_decompose.html#top">d</a><a href="https://x.org/a.ipynb">e</a>'


def test_broken_links_are_found(tmp_path):
    (tmp_path / 'images').mkdir(); (tmp_path / 'images' / 'a.png').write_bytes(b'')
    (tmp_path / 'p.html').write_text('<img src="images/a.png"><img src="images/b.png"><a href="#x">x</a><a href="q.html">q</a>')
    assert build_docs.broken_links(tmp_path) == ['p.html: images/b.png', 'p.html: q.html']


def test_readme_links_to_the_site():
    from configparser import ConfigParser
    cfg = ConfigParser(); cfg.read(ROOT / 'settings.ini')
    site = cfg['DEFAULT']['doc_host'] + cfg['DEFAULT']['doc_baseurl'] + '/'
    readme = (ROOT / 'README.md').read_text()
    assert f'<{site}>' in readme and f'({site}course.html)' in readme, f'README.md should link to the docs site {site}'
