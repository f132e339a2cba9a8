"""Colab: every notebook carries the badge and the setup cell (as tools/colab_cells.py writes them), and the setup cell
does the right thing in a stand-in Colab (a fake `google.colab` module; pip is captured, nothing is installed)."""
import json, shutil, subprocess, sys, types
from pathlib import Path

import pytest

import regen_nb.colab as colab

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
import colab_cells


def test_every_notebook_has_the_badge_and_setup_cell():
    nbs = colab_cells.notebooks()
    assert len(nbs) >= 20 and any('exercises' in str(p) for p in nbs)
    for p in nbs:
        cells = json.loads(p.read_text())['cells']
        assert ''.join(cells[0]['source']).startswith('# '), f'{p.name}: the title cell comes first'
        rel = p.relative_to(ROOT).as_posix()
        assert ''.join(cells[1]['source']) == colab.badge_markdown(rel), f'{p.name}: no Colab badge after the title'
        assert ''.join(cells[2]['source']) == colab.setup_cell_source(), f'{p.name}: the Colab setup cell is not the first code cell'
        assert not any(c['cell_type'] == 'code' for c in cells[:2])
    assert colab_cells.update(check=True) == [], 'run `python3 tools/colab_cells.py` and `nbdev_clean`'


def test_script_is_idempotent_and_updates_old_cells(tmp_path):
    (tmp_path / 'nbs').mkdir()
    nb = tmp_path / 'nbs' / '50_new.ipynb'
    cells = [dict(cell_type='markdown', id='t', metadata={}, source=['# New chapter']),
             dict(cell_type='code', execution_count=None, id='c', metadata={}, outputs=[], source=['#| default_exp new'])]
    nb.write_text(json.dumps(dict(cells=cells, metadata={}, nbformat=4, nbformat_minor=5)))
    assert colab_cells.update(root=tmp_path) == [nb]
    first = nb.read_text()
    assert colab_cells.update(root=tmp_path) == [] and nb.read_text() == first
    got = json.loads(first)['cells']
    assert [c['id'] for c in got][::3] == ['t', 'c'] and colab.colab_url('nbs/50_new.ipynb') in ''.join(got[1]['source'])
    # an old setup cell somewhere else is replaced, not duplicated
    old = json.loads(first); old['cells'][2]['source'] = [colab.SETUP_MARK + ' old pins\n', 'pass']
    old['cells'].append(old['cells'].pop(2)); nb.write_text(json.dumps(old))
    assert colab_cells.update(root=tmp_path) == [nb] and nb.read_text() == first


@pytest.fixture
def fake_colab(monkeypatch):
    "A stand-in `google.colab` with an `output.enable_custom_widget_manager` that records its calls; pip captured."
    calls = {'widgets': 0, 'pip': []}
    mod = types.ModuleType('google.colab')
    mod.output = types.SimpleNamespace(enable_custom_widget_manager=lambda: calls.__setitem__('widgets', calls['widgets'] + 1))
    google = types.ModuleType('google'); google.colab = mod
    monkeypatch.setitem(sys.modules, 'google', google)
    monkeypatch.setitem(sys.modules, 'google.colab', mod)
    monkeypatch.setattr(subprocess, 'run', lambda args, **kw: calls['pip'].append(args))
    return calls


def _run_cell(): exec(colab.setup_cell_source(), {})


def test_setup_cell_in_colab_installs_pinned_widgets_and_enables_them(fake_colab, monkeypatch, capsys):
    monkeypatch.setattr(colab, '_version', {'ipywidgets': '7.7.1', 'ipycanvas': '0.13.2'}.get)
    _run_cell()
    (args,) = fake_colab['pip']
    assert args[:4] == [sys.executable, '-m', 'pip', 'install']
    assert colab.PACKAGE in args and 'ipycanvas==0.13.2' in args and 'ipywidgets>=7,<8' in args
    assert fake_colab['widgets'] == 1
    assert 'will render' in capsys.readouterr().out


@pytest.mark.parametrize('versions, reason', [({'ipywidgets': '8.1.5', 'ipycanvas': '0.13.2'}, 'ipywidgets 8.1.5'),
                                              ({'ipywidgets': '7.7.1', 'ipycanvas': '0.13.1'}, 'ipycanvas 0.13.1'),
                                              ({'ipywidgets': '7.7.1'}, 'ipycanvas is not installed')])
def test_setup_colab_says_why_widgets_may_not_render_and_what_to_do(fake_colab, monkeypatch, capsys, versions, reason):
    monkeypatch.setattr(colab, '_version', versions.get)
    assert colab.setup_colab() is False
    out = capsys.readouterr().out
    assert reason in out and 'ellipse_mask' in out and 'auto_mask' in out


def test_setup_colab_when_the_widget_manager_fails(fake_colab, monkeypatch, capsys):
    monkeypatch.setattr(colab, '_version', {'ipywidgets': '7.7.1', 'ipycanvas': '0.13.2'}.get)
    def broken(): raise RuntimeError('no frontend')
    monkeypatch.setattr(sys.modules['google.colab'].output, 'enable_custom_widget_manager', broken)
    assert colab.setup_colab() is False
    assert 'no frontend' in capsys.readouterr().out


def test_setup_cell_does_nothing_outside_colab(monkeypatch, capsys):
    monkeypatch.delitem(sys.modules, 'google.colab', raising=False)
    pip = []
    monkeypatch.setattr(subprocess, 'run', lambda *a, **k: pip.append(a))
    _run_cell()
    assert pip == [] and capsys.readouterr().out == '' and colab.setup_colab() is True
