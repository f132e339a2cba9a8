#!/usr/bin/env python3
"""Write the "Open in Colab" badge and the Colab setup cell into every notebook (nbs/*.ipynb, nbs/exercises/*.ipynb).

    python3 tools/colab_cells.py          # insert or update them; run again after adding notebooks
    python3 tools/colab_cells.py --check  # change nothing; exit 1 and list the notebooks that are not up to date

Idempotent: the badge (a markdown cell with the Colab badge) and the setup cell (a code cell starting with
`regen_nb.colab.SETUP_MARK`) are found wherever they are, replaced by the current ones and put right after the
notebook's title cell, with cell ids derived from the notebook's name so that a second run changes nothing.
The cells' text comes from `regen_nb.colab` (`badge_markdown`, `setup_cell_source`)."""
import hashlib, json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from regen_nb.colab import BADGE_SVG, SETUP_MARK, badge_markdown, setup_cell_source


def notebooks(root: Path = ROOT) -> list[Path]:
    "Every chapter and exercise notebook (names starting with `_` are left out, as the tests do)."
    nbs = root / 'nbs'
    return sorted(p for p in [*nbs.glob('*.ipynb'), *nbs.glob('exercises/*.ipynb')] if not p.name.startswith('_'))


def _lines(text: str) -> list[str]:
    lines = text.split('\n')
    return [l + '\n' for l in lines[:-1]] + [lines[-1]]


def _cell_id(nb: Path, kind: str, root: Path) -> str:
    return hashlib.sha1(f'{nb.relative_to(root).as_posix()}:{kind}'.encode()).hexdigest()[:8]


def _is_ours(cell: dict) -> bool:
    src = ''.join(cell['source'])
    if cell['cell_type'] == 'markdown': return BADGE_SVG in src and src.strip().startswith('[![Open In Colab]')
    return cell['cell_type'] == 'code' and any(l.startswith(SETUP_MARK) for l in src.splitlines())


def with_colab_cells(nb: dict, path: Path, root: Path = ROOT) -> dict:
    "`nb` with its badge and setup cell (new or updated) right after its title cell."
    rel = path.relative_to(root).as_posix()
    badge = dict(cell_type='markdown', id=_cell_id(path, 'badge', root), metadata={}, source=_lines(badge_markdown(rel)))
    setup = dict(cell_type='code', execution_count=None, id=_cell_id(path, 'setup', root), metadata={}, outputs=[],
                 source=_lines(setup_cell_source()))
    kept = [c for c in nb['cells'] if _is_ours(c) and c['cell_type'] == 'code' and c['source'] == setup['source']]
    if kept: setup['metadata'] = kept[0].get('metadata', {})   # the chapter run's stamp of the same source stays valid
    cells = [c for c in nb['cells'] if not _is_ours(c)]
    at = 1 if cells and cells[0]['cell_type'] == 'markdown' and ''.join(cells[0]['source']).lstrip().startswith('# ') else 0
    return {**nb, 'cells': cells[:at] + [badge, setup] + cells[at:]}


def _dump(nb: dict) -> str:
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + '\n'


def update(paths=None, check: bool = False, root: Path = ROOT) -> list[Path]:
    "The notebooks whose cells were (with `check`: would be) changed."
    changed = []
    for p in paths or notebooks(root):
        old = p.read_text(encoding='utf-8')
        new = _dump(with_colab_cells(json.loads(old), p, root))
        if new != old:
            changed.append(p)
            if not check: p.write_text(new, encoding='utf-8')
    return changed


if __name__ == '__main__':
    check = '--check' in sys.argv
    changed = update(check=check)
    for p in changed: print(('not up to date: ' if check else 'updated: ') + str(p.relative_to(ROOT)))
    if check and changed: sys.exit('run `python3 tools/colab_cells.py` and then `nbdev_clean`')
