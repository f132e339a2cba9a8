"""README.md is written from `nbs/index.ipynb`; this test fails when the two drift apart.

Regenerate it with `python3 tests/test_readme.py --write` after editing the notebook.
"""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INDEX, README = ROOT / 'nbs' / 'index.ipynb', ROOT / 'README.md'


def _is_directive(line: str) -> bool:
    return line.startswith('#|')


def readme_from_index(nb_path: Path = INDEX) -> str:
    "Markdown cells verbatim, code cells as python blocks (directives and hidden cells dropped)."
    cells, parts = json.loads(nb_path.read_text())['cells'], []
    for c in cells:
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown': parts.append(src.replace('](../images/', '](images/'))
        elif c['cell_type'] == 'code':
            lines = src.splitlines()
            if any(l.strip() in ('#| hide', '#|hide') for l in lines): continue
            code = '\n'.join(l for l in lines if not _is_directive(l)).strip()
            if code: parts.append(f'```python\n{code}\n```')
    return '\n\n'.join(parts).strip() + '\n'


def test_readme_is_written_from_index():
    assert README.read_text() == readme_from_index(), \
        'README.md is out of date: run `python3 tests/test_readme.py --write`'


def test_readme_has_the_two_commands():
    text = README.read_text()
    assert 'regen_nb demo' in text and 'python3 -m pytest -q tests' in text


if __name__ == '__main__' and '--write' in sys.argv:
    README.write_text(readme_from_index())
    print(f'wrote {README.relative_to(ROOT)}')
