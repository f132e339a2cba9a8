"""The widget chapters again, under Colab's widget versions: ipywidgets 7.8 and ipycanvas 0.13.2 (tests/colab-pins.txt,
regen_nb.colab.COLAB_PINS), from a folder first on PYTHONPATH, in a subprocess.

The main run tests them under the environment's ipywidgets 8; this one fails where only ipywidgets 7 breaks
(an API that only 8 has, an upload in 8's format only, display through a hook 7 does not use). It makes the folder
with pip (no dependencies) if it is missing, and skips saying why if that cannot be done (fails under .ci/run)."""
import json, subprocess, sys, time

import pytest

from colab_pins import ROOT, env_with, folder

# the widget chapters (40_paint, 41_studio, 63_edit_widget, 99_colab) and the widget tests outside notebooks
NOTEBOOKS = ('40_paint', '41_studio', '63_edit_widget', '99_colab')
TESTS = ('tests/test_colab.py',)


@pytest.fixture(scope='module')
def pins():
    return folder('pins')


def _py(code: str, env: dict) -> str:
    res = subprocess.run([sys.executable, '-c', code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout


def test_pins_folder_gives_colab_versions(pins):
    "The subprocess imports Colab's versions (the folder really comes first) and regen_nb from this repository."
    import regen_nb.colab as colab
    got = json.loads(_py("import json, ipywidgets, ipycanvas, regen_nb, regen_nb.colab as c; print(json.dumps(dict("
                         "ipywidgets=ipywidgets.__version__, ipycanvas=ipycanvas.__version__, regen_nb=regen_nb.__file__, "
                         "problems=c.widget_problems())))", env_with(pins)))
    assert got['ipywidgets'].startswith('7.8') and got['ipycanvas'] == '0.13.2', got
    assert got['regen_nb'].startswith(str(ROOT / 'regen_nb')), got
    assert got['problems'] == [], got          # what setup_colab checks in Colab: these are the versions it asks for
    assert colab.COLAB_PINS == ('ipywidgets>=7,<8', 'ipycanvas==0.13.2'), 'the pins changed: update tests/colab-pins.txt'


def test_widget_chapters_under_colab_pins(pins):
    "40_paint, 41_studio, 63_edit_widget and 99_colab (and tests/test_colab.py) pass under ipywidgets 7.8 + ipycanvas 0.13.2."
    cmd = [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'tests/test_notebooks.py', *TESTS,
           '-k', ' or '.join(NOTEBOOKS + ('test_colab',))]
    start = time.perf_counter()
    res = subprocess.run(cmd, env=env_with(pins, IN_TEST='1'), cwd=ROOT, capture_output=True, text=True, timeout=900)
    out = res.stdout + res.stderr
    assert res.returncode == 0, f'under Colab\'s widget versions ({pins}):\n{out[-6000:]}'
    passed = int(out.rsplit(' passed', 1)[0].split()[-1])
    assert passed >= len(NOTEBOOKS) + 3, out[-2000:]      # the four notebooks and test_colab.py's tests all ran
    print(f'{passed} passed under Colab pins in {time.perf_counter() - start:.0f} s')
