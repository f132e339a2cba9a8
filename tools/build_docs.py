#!/usr/bin/env python3
"""Build the documentation site into `_docs/` from the notebooks, without running them.

    python3 -m pip install -c constraints.txt -r docs-requirements.txt   # mkdocs-material, mkdocs-jupyter (pinned)
    python3 tools/build_docs.py

1. nbdev's own processing of the notebooks (`proc_nbs` into `_proc/`): directives applied, the title cell turned into
   front matter, an API reference cell (`show_doc`) after every exported function, doc links to the API. Only the
   cells that reference needs are run: exported cells, `show_doc` cells and cells that only import. (nbdev would also
   run cells that mix imports with other code, which in these notebooks need a trained model.) Every other cell keeps
   the output committed in the notebook. The exercises lose their solutions, as `nbgrader generate_assignment` does.
2. Each processed notebook is staged in `_proc/docs/` under the name nbdev gives its page (`00_core.ipynb` →
   `core.html`, the address nbdev's doc links use) with its title and whole description on top, nbdev's directives
   dropped and `#| echo: false` inputs hidden; the pictures in `images/` are copied beside them and an API index page
   (every module, its description and its functions, from `regen_nb/_modidx.py`) is written.
3. mkdocs-material with mkdocs-jupyter renders them (`mkdocs.yml`; `_proc/mkdocs.yml` adds the sidebar in the
   course's reading order: home, chapters 00-99, exercises, the teachers' page, the API index), with full-text search
   that runs in the browser from the site's own index: no network needed, but the site must be served over HTTP
   (`python3 -m http.server -d _docs`; opened as files, the browser does not let the search load its index).
4. Links as the notebooks write them (`10_decompose.ipynb`, `../images/x.png`, nbdev's absolute doc links) are
   pointed at the site's pages, and pictures from other hosts (the Colab badge) become text links, so that the site
   shows nothing broken without a network.

The build fails (exit 1) when a notebook does not process or render, a notebook has no page, a local link, anchor
or picture points nowhere, or a page still shows a picture from another host."""
import ast, html, json, os, re, shutil, subprocess, sys, time
from configparser import ConfigParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS, PROC, NBS, IMAGES = ROOT / '_docs', ROOT / '_proc', ROOT / 'nbs', ROOT / 'images'
STAGE = PROC / 'docs'
_cfg = ConfigParser(); _cfg.read(ROOT / 'settings.ini')
SITE_URL = _cfg['DEFAULT']['doc_host'] + _cfg['DEFAULT']['doc_baseurl'] + '/'    # where deploy.yml publishes it
LIB = _cfg['DEFAULT']['lib_name']


def _only_what_docs_need():
    "Make nbdev run only exported, `show_doc` and import-only cells while it processes notebooks."
    import warnings
    import nbdev.processors as P
    warnings.filterwarnings('ignore', message='Found cells containing imports and other code')   # those cells are skipped
    original = P._do_eval
    def do_eval(cell):
        if not original(cell): return None
        if cell.directives_.keys() & {'export', 'exports', 'exporti', 'exec_doc'}: return True
        body = cell.parsed_() or []
        return all(isinstance(t, (ast.Import, ast.ImportFrom)) for t in body) or P._show_docs(body)
    P._do_eval = do_eval


def process() -> Path:
    "nbdev's processing of every notebook into `_proc/`, in this process (so the cell filter above applies)."
    os.chdir(ROOT)
    _only_what_docs_need()
    from nbdev.serve import proc_nbs
    shutil.rmtree(PROC, ignore_errors=True)
    cache = proc_nbs(str(NBS), n_workers=0, force=True)
    for p in cache.rglob('*.ipynb'): p.write_text(without_solutions(p.read_text(encoding='utf-8')), encoding='utf-8')
    return cache


SOLUTION = re.compile(r'^([ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION[ \t]*$', re.M | re.S)

def without_solutions(nb_text: str) -> str:
    "A notebook's JSON with every exercise solution replaced as `nbgrader generate_assignment` does: the site shows the student's version."
    nb = json.loads(nb_text)
    for c in nb['cells']:
        src = ''.join(c['source'])
        if '### BEGIN SOLUTION' in src:
            c['source'] = SOLUTION.sub(lambda m: f'{m.group(1)}# YOUR CODE HERE\n{m.group(1)}raise NotImplementedError()', src)
    return json.dumps(nb, indent=1, ensure_ascii=False)


def _front(src: str) -> dict:
    "The YAML front matter of a raw cell (`---` ... `---`) that nbdev's processing writes."
    import yaml
    return yaml.safe_load(src.strip().strip('-')) or {}


QUARTO_ATTRS = re.compile(r'\{target="_blank"[^}]*\}')     # Quarto's link attributes in show_doc output

def for_site(nb, fallback: str):
    """The processed notebook `nb` made ready for mkdocs-jupyter: nbdev's front matter → a title cell with the whole
    description; directives dropped; `#| echo: false` inputs tagged `remove_input`. Returns (nb, front matter)."""
    import nbformat
    front, cells = {'title': fallback}, []
    for c in nb.cells:
        if c.cell_type == 'raw' and c.source.startswith('---'):
            front.update(_front(c.source))
            continue
        if c.cell_type == 'markdown' and c.source.strip() == '<!-- WARNING: THIS FILE WAS AUTOGENERATED! DO NOT EDIT! -->': continue
        if c.cell_type == 'code':
            lines = c.source.splitlines()
            if any(re.match(r'#\|\s*echo:\s*false', l) for l in lines): c.metadata.setdefault('tags', []).append('remove_input')
            c.source = '\n'.join(l for l in lines if not l.startswith('#|')).strip()
            if not c.source and not c.get('outputs'): continue
            for o in c.get('outputs', []):
                md = o.get('data', {}).get('text/markdown')
                if md: o['data']['text/markdown'] = QUARTO_ATTRS.sub('', ''.join(md))
        cells.append(c)
    head = f"# {front['title']}"
    if front.get('description'): head += f"\n\n> {front['description']}"
    nb.cells = [nbformat.v4.new_markdown_cell(head)] + cells
    nb.metadata.pop('widgets', None)
    return nb, front


def page_name(rel: Path) -> Path:
    "The page nbdev gives notebook `rel` (relative to nbs/): `00_core.ipynb` → `core.html`, `exercises/20_semi_cycle.ipynb` → `exercises/semi_cycle.html`."
    from nbdev.doclinks import _nbpath2html
    return _nbpath2html(rel)


def page_names(rels: list[Path]) -> dict[Path, Path]:
    """{notebook: page} for notebooks `rel` (relative to nbs/): nbdev's names, except where two notebooks would share
    one (`course.ipynb`, the teachers' page, and `95_course.ipynb` are both `course.html` for nbdev): there the
    numbered notebook keeps its number (`95_course.html`)."""
    names = {r: page_name(r) for r in rels}
    shared = {n for n in names.values() if list(names.values()).count(n) > 1}
    names = {r: r.with_suffix('.html') if n in shared and re.match(r'^\d', r.name) else n for r, n in names.items()}
    clash = {n for n in names.values() if list(names.values()).count(n) > 1}
    if clash: raise SystemExit(f'notebooks that would share a page: {sorted(map(str, clash))}')
    return names


def reading_order(rels: list[Path]) -> list[Path]:
    "The course's reading order: the home page, chapters 00-99, the exercises, the teachers' page."
    def key(r: Path):
        group = 0 if r.stem == 'index' else 1 if r.parent == Path('.') and r.stem[:1].isdigit() else 2 if r.parent != Path('.') else 3
        return group, str(r)
    return sorted(rels, key=key)


def _label(rel: Path, title: str) -> str:
    num = re.match(r'^(\d+[a-z]?)_', rel.name)
    return f'{num.group(1)} {title}' if num else title


def api_page(order: list[Path], names: dict[Path, Path]) -> str:
    """Markdown for the API index: each module of the library, its whole description, its chapter and its public names
    (from nbdev's `_modidx.py`). Links are nbdev's, to the published site; `finish` points them at the pages."""
    import importlib
    modidx = importlib.import_module(f'{LIB}._modidx').d['syms']
    chapters = {}
    for rel in order:
        src = '\n'.join(''.join(c['source']) for c in json.loads((NBS / rel).read_text(encoding='utf-8'))['cells'])
        m = re.search(r'^#\|\s*default_exp\s+(\S+)', src, re.M)
        if m: chapters[f'{LIB}.{m.group(1)}'] = rel
    out = ['# API reference', '',
           "Every module of the library, with the chapter that writes it and explains it. Each name links to its "
           "reference (signature, parameters, docstring) in that chapter, made by nbdev's `show_doc`."]
    for mod in sorted(modidx, key=lambda m: str(chapters.get(m, m))):
        path = ROOT / Path(*mod.split('.')).with_suffix('.py')
        doc = ast.get_docstring(ast.parse(path.read_text(encoding='utf-8'))) or ''
        out += ['', f'## `{mod}`', '', doc]
        if mod in chapters: out += ['', f'Chapter: [{chapters[mod].stem}]({SITE_URL}{names[chapters[mod]].as_posix()})']
        syms = [(s.rsplit('.', 1)[-1], url) for s, (url, _) in modidx[mod].items() if s.count('.') == mod.count('.') + 1
                 and not s.rsplit('.', 1)[-1].startswith('_')]
        if syms: out += ['', ', '.join(f'[`{n}`]({SITE_URL}{url})' for n, url in sorted(syms, key=lambda t: t[0].lower()))]
    return '\n'.join(out) + '\n'


def stage(cache: Path) -> dict[Path, Path]:
    "Write the site's sources into `_proc/docs/` and the page list into `_proc/mkdocs.yml`; returns {page (relative to the site): source notebook (relative to nbs/)}."
    import nbformat, yaml
    shutil.rmtree(STAGE, ignore_errors=True); STAGE.mkdir(parents=True)
    shutil.copytree(IMAGES, STAGE / 'images')
    shutil.copy(ROOT / 'tools' / 'docs_site.css', STAGE / 'site.css')
    rels = reading_order([p.relative_to(cache) for p in cache.rglob('*.ipynb') if STAGE not in p.parents])
    pages, labels, names = {}, {}, page_names(rels)
    for rel in rels:
        nb, front = for_site(nbformat.reads((cache / rel).read_text(encoding='utf-8'), as_version=4), rel.stem)
        page = names[rel]
        pages[page], labels[page] = rel, _label(rel, front['title'])
        (STAGE / page).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, STAGE / page.with_suffix('.ipynb'))
    (STAGE / 'api.md').write_text(api_page(rels, names), encoding='utf-8')
    ipynb = lambda p: p.with_suffix('.ipynb').as_posix()
    groups = {'Chapters': [p for p in pages if pages[p].parent == Path('.') and pages[p].stem[:1].isdigit()],
              'Exercises': [p for p in pages if pages[p].parent != Path('.')],
              'Teaching': [p for p in pages if pages[p].parent == Path('.') and not pages[p].stem[:1].isdigit()
                           and pages[p].stem != 'index']}
    nav = [{'Home': 'index.ipynb'}] + [{g: [{labels[p]: ipynb(p)} for p in ps]} for g, ps in groups.items() if ps] \
          + [{'API reference': 'api.md'}]
    config = {'INHERIT': '../mkdocs.yml', 'docs_dir': 'docs', 'site_dir': '../_docs',
              'hooks': ['../tools/mkdocs_hooks.py'], 'nav': nav}
    (PROC / 'mkdocs.yml').write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding='utf-8')
    pages[Path('api.html')] = Path('api.md')
    return pages


def _rel(target: Path, page: Path) -> str:
    return os.path.relpath(target, page.parent).replace(os.sep, '/')


_ID = re.compile(r'\bid="([^"]*)"')
_IDS: dict[Path, set[str]] = {}

def anchors(page: Path) -> set[str]:
    "The ids in the HTML file `page` (empty when there is no such file)."
    if page not in _IDS: _IDS[page] = {html.unescape(i) for i in _ID.findall(page.read_text(encoding='utf-8'))} if page.exists() else set()
    return _IDS[page]


def _slug(anchor: str) -> str:
    "The id mkdocs-jupyter gives the heading nbdev's anchor `anchor` names (`projectortrainer.train_step` → `projectortrainertrain_step`)."
    return re.sub(r'[^\w-]', '', anchor.lower())


_SRC_OF_HTML = re.compile(r'\b(href|src)="([^"]*)"')

def _fix_links(text: str, src: Path, page: Path, pages: dict[Path, Path] | None = None) -> str:
    """Links as notebook `src` (a path under nbs/) writes them, rewritten for `page` (a path under _docs/): other
    notebooks (`10_decompose.ipynb#x`) and nbdev's absolute links to the published site become their pages,
    `../images/x.png` the site's copy. `pages` maps a page (relative to the site) to its notebook (relative to nbs/).
    nbdev's links name the page (`course.html#check_semi_cycle`) by a rule that gives `course.ipynb` and `95_course.ipynb`
    the same name: the link goes to the one of them that has the anchor (nbdev's `Class.method` anchors are
    `classmethod` here); and a link to a name that has no heading of
    its own (a method or private helper mentioned in prose) goes to the top of its chapter."""
    page_of = {nb: pg for pg, nb in (pages or {}).items()}
    def fix(m):
        attr, url = m.group(1), html.unescape(m.group(2))
        path, _, frag = url.partition('#')
        if url.startswith(SITE_URL) and attr == 'href':
            name = Path(path[len(SITE_URL):] or 'index.html')
            candidates = [pg for pg, nb in (pages or {}).items() if page_name(nb) == name] or [name]
            if frag and not any(frag in anchors(DOCS / pg) for pg in candidates): frag = _slug(frag)
            with_anchor = [pg for pg in candidates if frag and frag in anchors(DOCS / pg)]
            target = (with_anchor or sorted(candidates, key=lambda pg: pg != name))[0]
            if frag and not with_anchor and anchors(DOCS / target): frag = ''   # a name without a heading of its own: its chapter
            new = _rel(DOCS / target, page)
        elif re.match(r'^([a-z]+:|#|/)', url): return m.group(0)
        else:
            target = (src.parent / path).resolve()
            if target.suffix == '.ipynb' and NBS in target.parents:
                rel = target.relative_to(NBS)
                new = _rel(DOCS / page_of.get(rel, page_name(rel)), page)
            elif IMAGES in target.parents or target == IMAGES: new = _rel(DOCS / 'images' / target.relative_to(IMAGES), page)
            else: return m.group(0)
        return f'{attr}="{html.escape(new)}{"#" + html.escape(frag) if frag else ""}"'
    return _SRC_OF_HTML.sub(fix, text)


_REMOTE_IMG = re.compile(r'<img\b[^>]*\bsrc="https?://[^"]*"[^>]*>')

def without_remote_pictures(text: str) -> str:
    "Pictures from other hosts (the Colab badge) replaced by their alt text, so that a link around one stays a readable link offline."
    def text_of(m):
        alt = re.search(r'\balt="([^"]*)"', m.group(0))
        return f'<span class="badge-text">{alt.group(1) if alt else "link"}</span>'
    return _REMOTE_IMG.sub(text_of, text)


def finish(pages: dict[Path, Path]):
    "Point every page's links at the site (see `_fix_links`) and drop pictures from other hosts."
    _IDS.clear()
    for page, rel in pages.items():
        out = DOCS / page
        text = out.read_text(encoding='utf-8')
        out.write_text(without_remote_pictures(_fix_links(text, NBS / rel, out, pages)), encoding='utf-8')


def broken_links(site: Path = DOCS) -> list[str]:
    "Local links and pictures in the site's pages that point to no file, or to an anchor that the page they point to lacks."
    bad = []
    _IDS.clear()
    for page in sorted(site.rglob('*.html')):
        for url in re.findall(r'\b(?:href|src)="([^"]*)"', page.read_text(encoding='utf-8')):
            url = html.unescape(url)
            if not url or re.match(r'^([a-z]+:|/)', url): continue
            path, _, frag = url.partition('#')
            target = page if not path else page.parent / path.partition('?')[0]
            if not target.exists(): bad.append(f'{page.relative_to(site)}: {url}')
            elif frag and target.suffix == '.html' and frag not in anchors(target): bad.append(f'{page.relative_to(site)}: {url} (no such anchor)')
    return bad


def remote_pictures(site: Path = DOCS) -> list[str]:
    "Pictures in the site's pages that would be fetched from another host (broken offline)."
    return [f'{p.relative_to(site)}: {m}' for p in sorted(site.rglob('*.html')) for m in _REMOTE_IMG.findall(p.read_text(encoding='utf-8'))]


def main() -> int:
    start = time.time()
    cache = process()
    pages = stage(cache)
    processed = time.time()
    shutil.rmtree(DOCS, ignore_errors=True)
    run = subprocess.run([sys.executable, '-m', 'mkdocs', 'build', '--quiet', '-f', str(PROC / 'mkdocs.yml')], cwd=ROOT,
                         env=dict(os.environ, NO_MKDOCS_2_WARNING='1'))
    if run.returncode: print('mkdocs build failed', file=sys.stderr); return 1
    finish(pages)
    expected = [p.relative_to(NBS) for p in NBS.rglob('*.ipynb') if not p.name.startswith('_') and '.ipynb_checkpoints' not in p.parts]
    names = page_names(expected)
    missing = [str(r) for r in expected if not (DOCS / names[r]).exists()]
    bad, remote = broken_links(), remote_pictures()
    for m in missing: print(f'no page for {m}', file=sys.stderr)
    for b in bad: print(f'broken link {b}', file=sys.stderr)
    for r in remote: print(f'picture from another host {r}', file=sys.stderr)
    print(f'mkdocs build: {len(pages)} pages in {DOCS.relative_to(ROOT)}/ in {time.time() - start:.0f} s '
          f'(nbdev processing {processed - start:.0f} s, mkdocs and checks {time.time() - processed:.0f} s), '
          f'{len(missing)} missing, {len(bad)} broken links, {len(remote)} pictures from other hosts')
    return 1 if missing or bad or remote else 0


if __name__ == '__main__':
    sys.exit(main())
