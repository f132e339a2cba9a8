#!/usr/bin/env python3
"""Build the documentation site into `_docs/` from the notebooks (pictures and API reference), without running them.

    python3 tools/build_docs.py            # Quarto if it is on PATH (as nbdev_docs does), else the offline builder
    python3 tools/build_docs.py --offline  # never Quarto

Both ways start with nbdev's own processing of the notebooks (`proc_nbs` into `_proc/`: directives applied, an API
reference cell (`show_doc`) after every exported function, executed). Only the cells that reference needs are run:
exported cells, `show_doc` cells and cells that only import. (nbdev would also run cells that mix imports with other
code, which in these notebooks need a trained model; `nbdev_docs` itself fails on them.)
Then, with `quarto` on PATH, `quarto render` (what `nbdev_docs` does; README.md is left alone: tests/test_readme.py
writes it). Without Quarto: nbconvert renders every processed notebook to HTML with a page list, and the pictures
in images/ are copied. The `quarto-cli` package on PyPI downloads Quarto from GitHub while it installs, so it cannot
be installed offline; the offline builder is what runs here and in CI.

The build fails (exit 1) when a notebook does not process or convert, or a local link or picture points nowhere."""
import ast, html, json, os, re, shutil, subprocess, sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
DOCS, PROC, NBS, IMAGES = ROOT / '_docs', ROOT / '_proc', ROOT / 'nbs', ROOT / 'images'


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


def quarto_build():
    "What `nbdev_docs` does after processing, without rewriting README.md."
    from nbdev.config import get_config
    from nbdev.quarto import nbdev_sidebar, refresh_quarto_yml
    refresh_quarto_yml(); nbdev_sidebar.__wrapped__(path=str(NBS))
    cache = process()
    subprocess.run(['quarto', 'render', '--no-cache'], cwd=cache, check=True)
    shutil.rmtree(DOCS, ignore_errors=True)
    shutil.move(str(cache / get_config().doc_path.name), str(DOCS))


def _front(src: str) -> dict:
    "The YAML front matter of a raw cell (`---` ... `---`) that nbdev's processing writes."
    import yaml
    return yaml.safe_load(src.strip().strip('-')) or {}


def for_html(nb, fallback: str):
    "The processed notebook `nb` made ready for nbconvert (front matter → title and summary; cell directives dropped, `echo: false` inputs hidden); its title."
    title, cells = fallback, []
    for c in nb.cells:
        if c.cell_type == 'raw' and c.source.startswith('---'):
            front = _front(c.source)
            title, desc = front.get('title') or fallback, front.get('description')
            if desc: cells.append(nbformat.v4.new_markdown_cell(f'*{desc}*'))
            continue
        if c.cell_type == 'code':
            lines = c.source.splitlines()
            if any(re.match(r'#\|\s*echo:\s*false', l) for l in lines): c.metadata.setdefault('tags', []).append('remove_input')
            c.source = '\n'.join(l for l in lines if not l.startswith('#|')).strip()
            if not c.source and not c.get('outputs'): continue
        cells.append(c)
    nb.cells = cells
    return nb, title


def _rel(target: Path, page: Path) -> str:
    return os.path.relpath(target, page.parent).replace(os.sep, '/')


def _fix_links(text: str, src: Path, page: Path) -> str:
    "Links as the notebooks write them (../images/x.png, 10_decompose.ipynb) rewritten for the page `page` of the site."
    def fix(m):
        attr, url = m.group(1), html.unescape(m.group(2))
        if re.match(r'^([a-z]+:|#|/)', url): return m.group(0)
        path, _, frag = url.partition('#')
        target = (src.parent / path).resolve()
        if target.suffix == '.ipynb' and NBS in target.parents: new = _rel(DOCS / target.relative_to(NBS).with_suffix('.html'), page)
        elif IMAGES in target.parents or target == IMAGES: new = _rel(DOCS / 'images' / target.relative_to(IMAGES), page)
        else: return m.group(0)
        return f'{attr}="{new}{"#" + frag if frag else ""}"'
    return re.sub(r'\b(href|src)="([^"]*)"', fix, text)


def offline_build():
    "Render the processed notebooks with nbconvert, add a page list, copy the pictures."
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    cache = process()
    shutil.rmtree(DOCS, ignore_errors=True); DOCS.mkdir()
    shutil.copytree(IMAGES, DOCS / 'images')
    nbs = sorted(cache.rglob('*.ipynb'), key=lambda p: (p.parent != cache, p.stem != 'index', str(p)))
    pages = []
    for p in nbs:
        nb, title = for_html(nbformat.reads(p.read_text(encoding='utf-8'), as_version=4), p.stem)
        pages.append((p.relative_to(cache), title, nb))
    exporter = HTMLExporter(template_name='lab', exclude_input_prompt=True, exclude_output_prompt=True)
    exporter.register_preprocessor(TagRemovePreprocessor(remove_input_tags={'remove_input'}), enabled=True)
    for rel, title, nb in pages:
        page = DOCS / rel.with_suffix('.html')
        page.parent.mkdir(parents=True, exist_ok=True)
        nav = ''.join(f'<li><a href="{_rel(DOCS / r.with_suffix(".html"), page)}">{html.escape(t)}</a></li>' for r, t, _ in pages)
        body, _ = exporter.from_notebook_node(nb)
        body = body.replace('<title>Notebook</title>', f'<title>{html.escape(title)} – regen_nb</title>')
        body = re.sub(r'(<body[^>]*>)', r'\1' + f'<nav style="padding:0.5em 2em;font-size:90%"><strong>regen_nb</strong><ul style="columns:4">{nav}</ul></nav>'
                      f'<h1 style="padding:0 1em">{html.escape(title)}</h1>', body, count=1)
        body = re.sub(r'\{target="_blank"[^}]*\}', '', body)             # Quarto's link attributes in show_doc output
        page.write_text(_fix_links(body, NBS / rel, page), encoding='utf-8')
    return [DOCS / rel.with_suffix('.html') for rel, _, _ in pages]


def broken_links(site: Path = DOCS) -> list[str]:
    "Local links and pictures in the site's pages that point to no file."
    bad = []
    for page in site.rglob('*.html'):
        for url in re.findall(r'\b(?:href|src)="([^"]*)"', page.read_text(encoding='utf-8')):
            url = html.unescape(url)
            if not url or re.match(r'^([a-z]+:|#|/)', url): continue
            if not (page.parent / url.partition('#')[0].partition('?')[0]).exists(): bad.append(f'{page.relative_to(site)}: {url}')
    return bad


def main(offline: bool = False) -> int:
    use_quarto = not offline and shutil.which('quarto')
    (quarto_build if use_quarto else offline_build)()
    pages = sorted(DOCS.rglob('*.html'))
    expected = [p for p in NBS.rglob('*.ipynb') if not p.name.startswith('_') and '.ipynb_checkpoints' not in p.parts]
    missing = [str(p.relative_to(NBS)) for p in expected if not (DOCS / p.relative_to(NBS).with_suffix('.html')).exists()]
    bad = broken_links()
    for m in missing: print(f'no page for {m}', file=sys.stderr)
    for b in bad: print(f'broken link {b}', file=sys.stderr)
    print(f"{'quarto' if use_quarto else 'offline'} build: {len(pages)} pages in {DOCS.relative_to(ROOT)}/, "
          f"{len(missing)} missing, {len(bad)} broken links")
    return 1 if missing or bad else 0


if __name__ == '__main__':
    sys.exit(main(offline='--offline' in sys.argv))
