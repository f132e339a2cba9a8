"""The studio in a real browser under the closest offline stand-in for Colab's widget frontend: classic Jupyter
Notebook 6.5 with ipywidgets 7.8 and ipycanvas 0.13.2 (Colab's pins), headless Chromium driven by Playwright.

Picks a target and paints a stroke on its canvas with the mouse, uploads a PNG as the source through the upload
button's file input (ipywidgets 7's upload format, as in Colab), presses Rewrite (2 steps), then asks the kernel
whether the mask, the uploaded source and the rewritten preview are what the browser did. The server runs from the
classic-notebook folder (tests/classic-notebook.txt: notebook 6.5 needs jupyter_client 7), the kernel from the
Colab-pins folder (tests/colab-pins.txt: Colab's widget versions and, as in Colab, ipykernel 6); both are made with
`pip --target` if missing (tests/colab_pins.py).
Skipped, saying why, without chromium, playwright or those folders. Colab itself (its own widget manager, served
from Google) is not this: see nbs/99_colab.ipynb for what only a real Colab run shows.
"""
import json, os, secrets, subprocess, sys, time, urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_browser import MISSING, _free_port, _open_page, _kernel_client, _run_in_kernel, _stroke, _wait_kernel_idle
from colab_pins import ROOT, env_with, folder

pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"browser test needs: {', '.join(MISSING)}")

SETUP = """\
import torch
torch.set_num_threads(1)
from regen_nb.studio import RewriteStudio
studio = RewriteStudio(n_samples=4, steps=2, n_preview=2, source='sunglasses')
studio"""

CHECK = """\
import json, ipywidgets, ipycanvas, ipykernel
m = studio.source_painter.mask
print('RESULT ' + json.dumps(dict(
    versions=[ipywidgets.__version__, ipycanvas.__version__, ipykernel.__version__],
    targets=studio.targets,
    target_row=bool(studio.painters[1].mask[25, 20:45].all()) if 1 in studio.painters else False,
    source=studio.source_choice.value,
    upload_format=type(studio.upload.value).__name__,
    square=bool(m[16:48, 16:48].all()), outside=int(m.sum() - m[16:48, 16:48].sum()),
    source_pixel=list(studio.source_image.getpixel((30, 30))),
    rewritten=studio.model_new is not None, steps=len(studio.history),
    preview_change=float((studio.after_faces - studio.before_faces).abs().max()) if studio.model_new is not None else 0.0,
    message=studio.message.value)))"""


def _write(work: Path, picture: Path):
    import nbformat
    from PIL import Image
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP)]
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}
    nbformat.write(nb, work / 'studio.ipynb')
    im = Image.new('RGBA', (64, 64), (0, 0, 0, 0)); im.paste((0, 128, 255, 255), (16, 16, 48, 48))   # its alpha: a 32×32 mask
    im.save(picture)


@pytest.fixture
def classic(tmp_path):
    "Classic Notebook 6.5 on a free localhost port; its python3 kernel imports Colab's widget versions first. Yields (url, token, runtime)."
    pins, nb65 = folder('pins'), folder('classic')
    work, runtime, data = tmp_path / 'work', tmp_path / 'runtime', tmp_path / 'data'
    spec = data / 'kernels' / 'python3'
    for d in (work, runtime, spec): d.mkdir(parents=True)
    # the kernel: this python, Colab's widget versions and this repository's regen_nb first, not the server's jupyter_client 7
    kernel_env = env_with(pins)
    spec.joinpath('kernel.json').write_text(json.dumps(dict(
        argv=[sys.executable, '-m', 'ipykernel_launcher', '-f', '{connection_file}'], display_name='Python 3', language='python',
        env={'PYTHONPATH': kernel_env['PYTHONPATH'], 'OMP_NUM_THREADS': '1', 'MPLBACKEND': 'Agg'})))
    _write(work, tmp_path / 'square.png')
    port, token = _free_port(), secrets.token_hex(16)
    # the server: notebook 6.5 from its folder; the widget nbextensions (ipywidgets 7, ipycanvas 0.13.2) from the pins folder
    env = env_with(nb65, pins, JUPYTER_RUNTIME_DIR=str(runtime), JUPYTER_CONFIG_DIR=str(tmp_path / 'config'),
                   JUPYTER_PATH=os.pathsep.join([str(data), str(pins / 'share' / 'jupyter')]),
                   JUPYTER_CONFIG_PATH=str(pins / 'etc' / 'jupyter'))
    env.pop('IN_TEST', None)
    log = open(tmp_path / 'server.log', 'wb')
    proc = subprocess.Popen([sys.executable, '-m', 'notebook', '--no-browser', '--allow-root', '--NotebookApp.ip=127.0.0.1',
                             f'--NotebookApp.port={port}', '--NotebookApp.port_retries=0', f'--NotebookApp.token={token}',
                             f'--NotebookApp.notebook_dir={work}', '--NotebookApp.nbserver_extensions={}'],
                            cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f'http://127.0.0.1:{port}'
    try:
        for _ in range(120):
            if proc.poll() is not None: break
            try: urllib.request.urlopen(f'{url}/api/status?token={token}', timeout=2); break
            except OSError: time.sleep(0.5)
        else: pytest.fail('classic notebook did not start in 60 s:\n' + (tmp_path / 'server.log').read_text()[-3000:])
        if proc.poll() is not None: pytest.fail('classic notebook exited:\n' + (tmp_path / 'server.log').read_text()[-3000:])
        version = json.load(urllib.request.urlopen(f'{url}/api?token={token}', timeout=5))['version']
        assert version.startswith('6.5'), version
        yield url, token, runtime, tmp_path / 'square.png'
    finally:
        proc.terminate()
        try: proc.wait(timeout=20)
        except subprocess.TimeoutExpired: proc.kill(); proc.wait()
        log.close()


def test_studio_in_classic_notebook_with_colab_pins(classic, tmp_path):
    from playwright.sync_api import sync_playwright
    url, token, runtime, picture = classic
    console = []
    with sync_playwright() as p:
        browser, page = _open_page(p, console)
        try:
            page.goto(f'{url}/notebooks/studio.ipynb?token={token}', timeout=120_000)
            page.wait_for_function('() => window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel', timeout=120_000)
            _wait_kernel_idle(url, token)
            page.wait_for_function('() => Jupyter.notebook.kernel.is_connected()', timeout=60_000)
            page.evaluate('() => Jupyter.notebook.execute_all_cells()')
            studio = page.locator('.regen-studio')
            try: studio.wait_for(timeout=180_000)
            except Exception:
                page.screenshot(path=str(tmp_path / 'failure.png'))
                pytest.fail(f"the studio did not render (screenshot: {tmp_path / 'failure.png'}); cell output: "
                            f"{page.locator('.output_area').all_inner_texts()}; console:\n" + '\n'.join(console[-30:]))
            page.get_by_role('button', name='seed 1', exact=True).click()
            target = page.locator('.regen-target-painter canvas').last
            target.wait_for(timeout=60_000)
            target.scroll_into_view_if_needed()
            _stroke(page, target, [(60, 101), (196, 101)])          # image row 25, x 15..49 (zoom 4)
            with page.expect_file_chooser(timeout=30_000) as chooser:     # what choosing a file in the upload button does
                studio.locator('.widget-upload').first.click()
            chooser.value.set_files(str(picture))
            try: page.get_by_text('source: square.png').first.wait_for(timeout=60_000)
            except Exception:
                pytest.fail(f'the upload was not taken; studio says: {studio.locator(".widget-html").all_inner_texts()}'[:3000])
            page.get_by_role('button', name='Rewrite').click()
            try: page.get_by_text('Rewritten in').first.wait_for(timeout=300_000)
            except Exception:
                page.screenshot(path=str(tmp_path / 'failure.png'))
                pytest.fail(f'no "Rewritten in" message; studio says: {studio.locator(".widget-html").all_inner_texts()}'[:3000])
            if os.environ.get('REGEN_NB_SCREENSHOT_CLASSIC'): page.screenshot(path=os.environ['REGEN_NB_SCREENSHOT_CLASSIC'])
            kc = _kernel_client(url, token, runtime)
            try: res = _run_in_kernel(kc, CHECK)
            finally: kc.stop_channels()
        finally:
            browser.close()
    widgets, canvas, kernel = res['versions']
    assert widgets.startswith('7.') and canvas == '0.13.2' and kernel.startswith('6.'), res   # Colab's pins
    assert res['targets'] == [1] and res['target_row'], res          # the mouse stroke reached the target's mask
    assert res['upload_format'] == 'dict', res                        # ipywidgets 7's upload value, read by uploaded_files
    assert res['source'] == 'upload: square.png' and res['source_pixel'] == [0, 128, 255], res
    assert res['square'] and res['outside'] == 0, res                 # the PNG's alpha became the source mask
    assert res['rewritten'] and res['steps'] == 2 and res['preview_change'] > 0, res
