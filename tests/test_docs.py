"""The documentation builder's parts (the full build runs in .ci/run: `python3 tools/build_docs.py`)."""
import ast, json, sys
from pathlib import Path

import pytest

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
    html = ('<img src="../../images/star.png"><a href="../10_decompose.ipynb#top">d</a><a href="https://x.org/a.ipynb">e</a>'
            f'<a href="{build_docs.SITE_URL}rewrite.html#rewrite_loss">r</a><a href="{build_docs.SITE_URL}">home</a>')
    assert build_docs._fix_links(html, src, page) == (
        '<img src="../images/star.png"><a href="../decompose.html#top">d</a><a href="https://x.org/a.ipynb">e</a>'
        '<a href="../rewrite.html#rewrite_loss">r</a><a href="../index.html">home</a>')


def test_nbdev_links_find_their_anchor(monkeypatch, tmp_path):
    "nbdev names both course notebooks course.html: its link goes to the page that has the anchor; `Class.method` anchors lose the dot."
    monkeypatch.setattr(build_docs, 'DOCS', tmp_path)
    build_docs._IDS.clear()
    (tmp_path / 'course.html').write_text('<h2 id="grading">Grading</h2>')
    (tmp_path / '95_course.html').write_text('<h3 id="check_semi_cycle">c</h3><h3 id="exerciseerrormessage">m</h3>')
    pages = {Path('course.html'): Path('course.ipynb'), Path('95_course.html'): Path('95_course.ipynb')}
    fix = lambda url: build_docs._fix_links(f'<a href="{build_docs.SITE_URL}{url}">x</a>', build_docs.NBS / 'course.ipynb',
                                            tmp_path / 'course.html', pages)
    assert fix('course.html#check_semi_cycle') == '<a href="95_course.html#check_semi_cycle">x</a>'
    assert fix('course.html#grading') == '<a href="course.html#grading">x</a>'
    assert fix('course.html#ExerciseError.message') == '<a href="95_course.html#exerciseerrormessage">x</a>'
    assert fix('course.html#_private_helper') == '<a href="course.html">x</a>'     # no heading of its own: the page


def test_page_names_follow_nbdev_and_never_clash():
    names = build_docs.page_names([Path('00_core.ipynb'), Path('course.ipynb'), Path('95_course.ipynb'),
                                   Path('exercises/20_semi_cycle.ipynb'), Path('index.ipynb')])
    assert names == {Path('00_core.ipynb'): Path('core.html'), Path('course.ipynb'): Path('course.html'),
                     Path('95_course.ipynb'): Path('95_course.html'),
                     Path('exercises/20_semi_cycle.ipynb'): Path('exercises/semi_cycle.html'), Path('index.ipynb'): Path('index.html')}
    with pytest.raises(SystemExit, match='share a page'): build_docs.page_names([Path('a/x.ipynb'), Path('a/X.ipynb')])


def test_reading_order():
    rels = [Path(p) for p in ['course.ipynb', 'exercises/10_memory_layers.ipynb', '31_rewrite.ipynb', 'index.ipynb', '00_core.ipynb']]
    assert [str(r) for r in build_docs.reading_order(rels)] == \
        ['index.ipynb', '00_core.ipynb', '31_rewrite.ipynb', 'exercises/10_memory_layers.ipynb', 'course.ipynb']


def test_remote_pictures_become_text():
    html = ('<a href="https://colab.research.google.com/x"><img alt="Open In Colab" src="https://colab.research.google.com/assets/colab-badge.svg"></a>'
            '<img src="images/a.png">')
    out = build_docs.without_remote_pictures(html)
    assert out == '<a href="https://colab.research.google.com/x"><span class="badge-text">Open In Colab</span></a><img src="images/a.png">'


def test_module_descriptions_are_whole():
    "nbdev reads only the first `> ` line of a title cell: each description is one line, and the module's docstring is all of it."
    import re
    for nb in sorted(build_docs.NBS.rglob('*.ipynb')):
        cells = json.loads(nb.read_text())['cells']
        lines = ''.join(cells[0]['source']).splitlines()
        quoted = [l for l in lines if l.startswith('>')]
        assert len(quoted) == 1, f'{nb.name}: write the description on one `> ` line (nbdev drops the others)'
        m = re.search(r'^#\|\s*default_exp\s+(\S+)', '\n'.join(''.join(c['source']) for c in cells), re.M)
        if m:
            module = ROOT / 'regen_nb' / f"{m.group(1).replace('.', '/')}.py"
            doc = ast.get_docstring(ast.parse(module.read_text()))
            assert doc == quoted[0][2:].strip(), f'{module.name}: docstring {doc!r} is not the description of {nb.name} (run nbdev_export)'


def test_api_page_has_whole_descriptions_and_every_module():
    order = build_docs.reading_order([p.relative_to(build_docs.NBS) for p in build_docs.NBS.rglob('*.ipynb')])
    md = build_docs.api_page(order, build_docs.page_names(order))
    assert 'the objective (measured in pictures by default), the updates (nonlinear, linear, rank-one), and the fitting loop.' in md
    assert f'[`rewrite_loss`]({build_docs.SITE_URL}rewrite.html#rewrite_loss)' in md
    assert f'Chapter: [95_course]({build_docs.SITE_URL}95_course.html)' in md
    modules = {p.stem for p in (ROOT / 'regen_nb').glob('*.py') if not p.stem.startswith('_')}
    assert {m for m in modules if f'## `regen_nb.{m}`' not in md} == set()


def test_table_of_contents_from_the_page_headings():
    sys.path.insert(0, str(ROOT / 'tools'))
    import mkdocs_hooks
    html = ('<h1 id="rewriting">Rewriting<a class="anchor-link" href="#rewriting">¶</a></h1>'
            '<h2 id="the-command-line-regen_nb-train-gan">The command line: <code>regen_nb train-gan</code></h2>'
            '<h3 id="rewrite_loss">rewrite_loss</h3><h2 id="fitting">Fitting</h2><h4 id="deep">deep</h4>')
    toc = mkdocs_hooks.toc_tokens(html)
    assert [(t['id'], t['name']) for t in toc] == [('rewriting', 'Rewriting')]
    assert [(t['id'], t['name'], [c['id'] for c in t['children']]) for t in toc[0]['children']] == \
        [('the-command-line-regen_nb-train-gan', 'The command line: regen_nb train-gan', ['rewrite_loss']), ('fitting', 'Fitting', [])]
    out = mkdocs_hooks.for_search(html + '<span class="notice" hidden="">Copied!</span>')
    assert '<a class="headerlink"' in out and 'anchor-link' not in out and 'hidden data-search-exclude>Copied!' in out


def test_broken_links_are_found(tmp_path):
    build_docs._IDS.clear()
    (tmp_path / 'images').mkdir(); (tmp_path / 'images' / 'a.png').write_bytes(b'')
    (tmp_path / 'q.html').write_text('<h2 id="top">t</h2>')
    (tmp_path / 'p.html').write_text('<h1 id="here">p</h1><img src="images/a.png"><img src="images/b.png"><a href="#here">x</a>'
                                      '<a href="#gone">y</a><a href="q.html#top">q</a><a href="q.html#nope">q</a><a href="r.html">r</a>'
                                      '<a href="https://x.org/r.html">w</a>')
    assert build_docs.broken_links(tmp_path) == ['p.html: images/b.png', 'p.html: #gone (no such anchor)',
                                                 'p.html: q.html#nope (no such anchor)', 'p.html: r.html']


def test_remote_pictures_are_found(tmp_path):
    (tmp_path / 'p.html').write_text('<img src="images/a.png"><img alt="b" src="https://x.org/b.svg">')
    assert build_docs.remote_pictures(tmp_path) == ['p.html: <img alt="b" src="https://x.org/b.svg">']


def test_readme_links_to_the_site():
    from configparser import ConfigParser
    cfg = ConfigParser(); cfg.read(ROOT / 'settings.ini')
    site = cfg['DEFAULT']['doc_host'] + cfg['DEFAULT']['doc_baseurl'] + '/'
    readme = (ROOT / 'README.md').read_text()
    assert f'<{site}>' in readme and f'({site}course.html)' in readme, f'README.md should link to the docs site {site}'
