"""The outputs kept in `nbs/` come from the cells' current source, so that a chapter shows its pictures unrun.

`tools/run_chapters.py NAME` runs a chapter in full settings, writes its outputs into the notebook, stamps each cell
it ran with the hash of its source (cell metadata `regen_nb.source_sha`) and the notebook with the run
(`regen_nb_run`). A cell edited since then would show what its old code made: it fails here until the chapter is
run again. In a chapter that ran, every cell with outputs is stamped, apart from the cells the tool does not run
(`#| slow`, `#| cuda`, `#| eval: false`), which keep outputs made by hand.

Chapters not run yet keep whatever outputs they have; their number may only fall (`CHAPTERS_NOT_RUN`). No kernel
starts here: the test reads the notebooks."""
import base64
import io
import json
import sys
from configparser import ConfigParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
from run_chapters import (CELL_KEY, NB_KEY, NBS, bar_text, chapters, first_line, prune, runs,  # noqa: E402
                          smaller_png, source_sha)

CHAPTERS_NOT_RUN = 0   # lower it when you run a chapter with tools/run_chapters.py; never raise it
NOTEBOOKS = sorted(p for p in [*NBS.glob('*.ipynb'), *NBS.glob('exercises/*.ipynb')] if not p.name.startswith('_'))


def read(path: Path) -> dict: return json.loads(path.read_text(encoding='utf-8'))


def problems(path: Path) -> list[str]:
    "Cells of the notebook at `path` whose outputs do not come from their current source."
    nb, out = read(path), []
    ran = NB_KEY in nb['metadata']
    for i, c in enumerate(nb['cells']):
        if c['cell_type'] != 'code' or not c.get('outputs'): continue
        sha = c['metadata'].get(CELL_KEY, {}).get('source_sha')
        where = f"cell {i} (id {c.get('id')}, `{first_line(c)}`)"
        if sha is None and ran and runs(c): out.append(f'{where} has outputs the tool did not make')
        elif sha is not None and sha != source_sha(c['source']): out.append(f'{where} was edited since its outputs')
    return out


@pytest.mark.parametrize('path', NOTEBOOKS, ids=[str(p.relative_to(NBS).with_suffix('')) for p in NOTEBOOKS])
def test_outputs_match_source(path):
    bad = problems(path)
    assert not bad, (f"{path.relative_to(ROOT)}: " + '; '.join(bad) +
                     f".\nRun python tools/run_chapters.py {path.stem} (it runs the chapter and keeps its outputs)")


def test_chapters_not_run():
    left = [p.stem for p in chapters() if NB_KEY not in read(p)['metadata']]
    assert len(left) <= CHAPTERS_NOT_RUN, (
        f"{len(left)} chapters have not been run with tools/run_chapters.py, at most {CHAPTERS_NOT_RUN} may be: "
        f"run python tools/run_chapters.py NAME for one of them ({' '.join(left)})")


def test_nbdev_clean_keeps_the_stamps():
    cfg = ConfigParser(); cfg.read(ROOT / 'settings.ini')
    keys = cfg['DEFAULT']['allowed_cell_metadata_keys'].split()
    assert CELL_KEY in keys, "add regen_nb to allowed_cell_metadata_keys"
    assert NB_KEY in cfg['DEFAULT']['allowed_metadata_keys'].split(), "add regen_nb_run to allowed_metadata_keys"


def test_source_sha():
    assert source_sha(['a = 1\n', 'a']) == source_sha('a = 1\na') != source_sha('a = 2\na')
    assert len(source_sha('')) == 16


def test_runs():
    code = lambda src: dict(cell_type='code', source=src)
    assert runs(code('x = 1')) and runs(code('#| export\ndef f(): pass'))
    assert not runs(code('#| slow\ntrain()')) and not runs(code('#|cuda\nx')) and not runs(code('#| eval: false\nx'))
    assert not runs(code('import nbdev; nbdev.nbdev_export()')) and not runs(dict(cell_type='markdown', source='x'))
    assert runs(code('#| slow\ntrain()'), slow=True) and not runs(code('#| cuda\nx'), slow=True)


def test_prune():
    widget = {'application/vnd.jupyter.widget-view+json': {'model_id': 'abc'}, 'text/plain': 'HBox()'}
    outs = [dict(output_type='display_data', data={'image/png': 'P', 'image/jpeg': 'J', 'text/plain': 'im'}),
            dict(output_type='display_data', data=widget),
            dict(output_type='display_data', data={'application/vnd.jupyter.widget-view+json': {}}),
            dict(output_type='stream', name='stdout', text='hi'),
            dict(output_type='execute_result', data={'image/png': 'P', 'text/plain': 'im'}, execution_count=1)]
    assert prune(outs) == [dict(output_type='display_data', data={'image/png': 'P', 'text/plain': 'im'}),
                           dict(output_type='display_data', data={'text/plain': 'HBox()'}),
                           dict(output_type='stream', name='stdout', text='hi')]


def test_smaller_png_keeps_the_pixels():
    im = Image.fromarray(np.random.default_rng(0).integers(0, 4, (48, 48, 3), dtype=np.uint8) * 60)
    buf = io.BytesIO(); im.save(buf, 'PNG', compress_level=1)
    b64 = base64.b64encode(buf.getvalue()).decode()
    small = smaller_png(b64)
    assert len(small) < len(b64)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(base64.b64decode(small)))), np.asarray(im))
    assert smaller_png('not a picture') == 'not a picture'


def test_bar_text():
    widgets = {'box': dict(_model_name='HBoxModel', children=['IPY_MODEL_l', 'IPY_MODEL_p', 'IPY_MODEL_r']),
               'l': dict(_model_name='HTMLModel', value='fit:\u2007100%'),
               'p': dict(_model_name='FloatProgressModel', value=40, max=40),
               'r': dict(_model_name='HTMLModel', value='\u200740/40\u2007[00:02&lt;00:00]'),
               'painter': dict(_model_name='HBoxModel', children=['IPY_MODEL_l'])}
    assert bar_text(widgets, 'box') == 'fit: 100%|██████████| 40/40 [00:02<00:00]'
    assert bar_text(widgets, 'painter') is None and bar_text(widgets, 'gone') is None
    view = {'application/vnd.jupyter.widget-view+json': {'model_id': 'box'}, 'text/plain': 'fit:   0%|  | 0/40'}
    pruned = prune([dict(output_type='display_data', data=view)], widgets)
    assert pruned[0]['data'] == {'text/plain': bar_text(widgets, 'box')}
