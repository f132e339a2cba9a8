"Run every notebook in `nbs/` and `nbs/exercises/` (with their solutions) the way `nbdev_test` does: one pytest test per notebook."
import os
from pathlib import Path

import pytest
from nbdev import test as nbdev_test

NBS = Path(__file__).resolve().parent.parent / 'nbs'
NOTEBOOKS = sorted(p for p in [*NBS.glob('*.ipynb'), *NBS.glob('exercises/*.ipynb')] if not p.name.startswith('_'))


@pytest.mark.parametrize('nb', NOTEBOOKS, ids=[str(p.relative_to(NBS).with_suffix('')) for p in NOTEBOOKS])
def test_notebook(nb, monkeypatch):
    monkeypatch.chdir(nb.parent)
    monkeypatch.setenv('IN_TEST', '1')
    ok, secs = nbdev_test.test_nb(nb, skip_flags=['slow', 'cuda'], basepath=NBS.parent, do_print=False)
    assert ok, f'{nb.name} failed (see the traceback above); it ran {secs:.1f}s'
