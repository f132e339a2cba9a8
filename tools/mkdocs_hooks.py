"""MkDocs hooks for the documentation site (listed in the `_proc/mkdocs.yml` that tools/build_docs.py writes).

mkdocs-jupyter builds a notebook page's table of contents from a Markdown copy of the notebook, whose heading slugs
differ from the ids of the page's headings wherever a heading holds code (`## The command line: `regen_nb train-gan``
gets `#the-command-line`, a heading that is only code gets `#_1`), and it leaves out nbdev's API reference headings.
Here the table of contents of a notebook page is made from the page's own headings (h1-h3), so every entry links to
an anchor that exists and the functions documented by `show_doc` are listed.

The search index (mkdocs-material's search plugin, which reads the page after these hooks) leaves out the headings'
permalink signs and the copy buttons' "Copied!" notices of notebook pages, as it does on Markdown pages."""
import html
import re

from mkdocs.structure.toc import get_toc

HEADING = re.compile(r'<h([1-3])\b[^>]*\bid="([^"]+)"[^>]*>(.*?)</h\1>', re.S)
TOC_DEPTH = 3


def _text(inner: str) -> str:
    "A heading's text: its tags and its permalink sign dropped."
    inner = re.sub(r'<a class="(?:anchor-link|headerlink)"[^>]*>.*?</a>', '', inner, flags=re.S)
    return html.escape(html.unescape(re.sub(r'<[^>]+>', '', inner)).strip())


def toc_tokens(page_html: str) -> list[dict]:
    "Nested table-of-contents tokens (as Python-Markdown's `toc` extension makes them) for the h1-h3 headings of `page_html`."
    roots, stack = [], []
    for level, hid, inner in HEADING.findall(page_html):
        token = {'level': int(level), 'id': html.unescape(hid), 'name': _text(inner), 'children': []}
        while stack and stack[-1]['level'] >= token['level']: stack.pop()
        (stack[-1]['children'] if stack else roots).append(token)
        stack.append(token)
    return roots


def for_search(page_html: str) -> str:
    "nbconvert's heading permalinks as mkdocs-material's (which its search skips); copy buttons' notices excluded from search."
    page_html = page_html.replace('<a class="anchor-link" href=', '<a class="headerlink" title="Permanent link" href=')
    return re.sub(r'<span class="notice" hidden(?:="")?>', '<span class="notice" hidden data-search-exclude>', page_html)


def on_page_content(page_html, page, config, files):
    if not page.file.src_uri.endswith('.ipynb'): return page_html
    page.toc = get_toc(toc_tokens(page_html))
    return for_search(page_html)
