"""The studio in a real browser: JupyterLab 4 and Jupyter Notebook 7 on localhost, headless Chromium driven by Playwright.

Paints a stroke with the mouse on a target face and on the source, presses Rewrite (2 steps) and then asks the
kernel itself whether the masks and the rewritten preview changed, once in each front end. Needs `jupyterlab` and
`notebook` (tests/browser-requirements.txt), `playwright` (the Python package; its own browser download is not
used) and a `chromium` binary (Debian: `apt-get install chromium`); a test is skipped, saying which is missing,
when one is not installed. Set `REGEN_NB_SCREENSHOT=path.png` to keep
a screenshot of the studio (the README's `images/studio.png` is made that way).
"""
import importlib.util
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = next((p for p in map(shutil.which, ('chromium', 'chromium-browser', 'google-chrome')) if p), None)
MISSING = [name for name, ok in [('chromium (apt-get install chromium)', CHROMIUM),
                                 ('playwright (pip install playwright)', importlib.util.find_spec('playwright')),
                                 ('ipykernel', importlib.util.find_spec('ipykernel'))] if not ok]
pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"browser test needs: {', '.join(MISSING)}")
# the front ends: the package each needs, the command that serves it, the address that opens a notebook in it
APPS = {'lab': ('jupyterlab', ['lab', '--LabApp.news_url=None', '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate'],
                '/lab/tree/{nb}?reset&token={token}'),
        'notebook': ('notebook', ['notebook'], '/notebooks/{nb}?token={token}')}

SETUP = """\
import torch
torch.set_num_threads(1)
from regen_nb.studio import RewriteStudio
studio = RewriteStudio(n_samples=4, steps=2, n_preview=2, source='sunglasses')
studio"""

CHECK = """\
import json
from regen_nb.patterns import load_pattern
from regen_nb.display import png_bytes
_src0 = load_pattern('sunglasses', studio.size)[1]
print('RESULT ' + json.dumps(dict(
    targets=studio.targets,
    target_pixels=[int(studio.painters[s].mask.sum()) for s in studio.targets],
    target_row=bool(studio.painters[1].mask[25, 20:45].all()) if 1 in studio.painters else False,
    target_box=[[int(i.min()), int(i.max())] for i in studio.painters[1].mask.nonzero()] if 1 in studio.painters else None,
    source_box=[[int(i.min()), int(i.max())] for i in (studio.source_painter.mask & ~_src0).nonzero()],
    source_changed=int((studio.source_painter.mask != _src0).sum()),
    source_corner=bool(studio.source_painter.mask[5, 6:19].all()),
    rewritten=studio.model_new is not None,
    steps=len(studio.history),
    preview_change=float((studio.after_faces - studio.before_faces).abs().max()) if studio.model_new is not None else 0.0,
    view=studio.view.value,
    preview_is_after=bool(studio.results) and studio.preview.value == png_bytes(studio.results['after']),
    message=studio.message.value)))"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _write_notebook(path: Path):
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP)]
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}
    nbformat.write(nb, path)


@pytest.fixture(params=list(APPS))
def lab(request, tmp_path):
    "A JupyterLab 4 or Notebook 7 server on a free localhost port, in `tmp_path`, with the studio notebook; yields (url, token, runtime dir, app)."
    app = request.param
    package, command, _ = APPS[app]
    if not importlib.util.find_spec(package): pytest.skip(f'{app} needs {package} (pip install -r tests/browser-requirements.txt)')
    work, runtime, settings = tmp_path / 'work', tmp_path / 'runtime', tmp_path / 'settings'
    work.mkdir(); runtime.mkdir()
    notification = settings / '@jupyterlab' / 'apputils-extension' / 'notification.jupyterlab-settings'
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({'fetchNews': 'false', 'checkForUpdates': False}))   # no "news?" toast
    _write_notebook(work / 'studio.ipynb')
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(runtime), JUPYTER_CONFIG_DIR=str(tmp_path / 'config'),
               JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / 'ws'),
               OMP_NUM_THREADS='1', MPLBACKEND='Agg')
    env.pop('IN_TEST', None)
    log = open(tmp_path / 'lab.log', 'wb')
    proc = subprocess.Popen(
        [sys.executable, '-m', 'jupyter', *command, '--no-browser', '--allow-root', '--ServerApp.ip=127.0.0.1',
         f'--ServerApp.port={port}', '--ServerApp.port_retries=0', f'--IdentityProvider.token={token}',
         f'--ServerApp.root_dir={work}'],
        cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f'http://127.0.0.1:{port}'
    try:
        for _ in range(120):
            if proc.poll() is not None: break
            try:
                urllib.request.urlopen(f'{url}/api/status?token={token}', timeout=2)
                break
            except OSError: time.sleep(0.5)
        else: pytest.fail(f'{app} did not start in 60 s:\n' + (tmp_path / 'lab.log').read_text()[-3000:])
        if proc.poll() is not None: pytest.fail(f'{app} exited:\n' + (tmp_path / 'lab.log').read_text()[-3000:])
        yield url, token, runtime, app
    finally:
        try: urllib.request.urlopen(urllib.request.Request(f'{url}/api/shutdown?token={token}', method='POST'), timeout=5)
        except OSError: pass
        try: proc.wait(timeout=20)
        except subprocess.TimeoutExpired: proc.kill(); proc.wait()
        log.close()


def _wait_kernel_idle(url: str, token: str, timeout: float = 120):
    "Wait until the notebook's kernel is started and idle (as the server sees it)."
    end = time.time() + timeout
    while time.time() < end:
        sessions = json.load(urllib.request.urlopen(f'{url}/api/sessions?token={token}', timeout=10))
        if sessions and sessions[0]['kernel'].get('execution_state') == 'idle': return
        time.sleep(0.5)
    pytest.fail(f'the kernel did not start in {timeout} s: {sessions}')


def _kernel_client(url: str, token: str, runtime: Path):
    "A client of the kernel the browser started (found through the server's sessions)."
    from jupyter_client import BlockingKernelClient
    sessions = json.load(urllib.request.urlopen(f'{url}/api/sessions?token={token}', timeout=10))
    assert len(sessions) == 1, sessions
    kc = BlockingKernelClient(connection_file=str(runtime / f"kernel-{sessions[0]['kernel']['id']}.json"))
    kc.load_connection_file()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    return kc


def _run_in_kernel(kc, code: str) -> dict:
    "Run `code` in the kernel; return the JSON it prints after 'RESULT '."
    out, errors = [], []
    def hook(msg):
        if msg['msg_type'] == 'stream': out.append(msg['content']['text'])
        if msg['msg_type'] == 'error': errors.append('\n'.join(msg['content']['traceback']))
    reply = kc.execute_interactive(code, output_hook=hook, timeout=120)
    assert reply['content']['status'] == 'ok', '\n'.join(errors)
    line = next(l for l in ''.join(out).splitlines() if l.startswith('RESULT '))
    return json.loads(line[len('RESULT '):])


def _stroke(page, canvas, points, steps=8):
    "Drag the mouse through `points` (canvas pixels) over the element `canvas`."
    box = canvas.bounding_box()
    xy = [(box['x'] + x, box['y'] + y) for x, y in points]
    page.mouse.move(*xy[0]); page.mouse.down()
    for p in xy[1:]: page.mouse.move(*p, steps=steps)
    page.mouse.up()


def _screenshot_rule(page, studio, steps: int):
    "For the README's picture: a second target, the parser's eyes on both, the star as source, more steps; Rewrite again."
    page.get_by_role('button', name='seed 2', exact=True).click()
    page.locator('.regen-target-painter canvas').nth(-1).wait_for()
    studio.locator('select').first.select_option('star')                        # one pattern per eye
    page.wait_for_timeout(2000)
    page.get_by_role('button', name='all eyes').click()
    page.get_by_text("loaded the parser's eyes").first.wait_for(timeout=60_000)
    steps_box = studio.locator('.widget-text', has_text='steps').locator('input')
    steps_box.fill(str(steps)); steps_box.press('Enter')
    page.get_by_role('button', name='Rewrite').click()
    page.get_by_text(f'({steps} steps)').first.wait_for(timeout=600_000)


def _open_page(p, console: list):
    "Debian's chromium and one page tall enough that the whole studio is on screen (the mouse can only paint what it\n    can reach); browser errors and warnings go into `console`."
    browser = p.chromium.launch(executable_path=CHROMIUM, args=['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'])
    page = browser.new_page(viewport={'width': 1900, 'height': 3000})
    page.on('console', lambda m: console.append(f'{m.type}: {m.text}') if m.type in ('error', 'warning') else None)
    return browser, page


def _run_notebook_cell(page, url: str, token: str, app: str, nb: str):
    "Open notebook `nb` in the front end `app`, wait for its kernel, and run its first cell with Shift+Enter."
    page.goto(url + APPS[app][2].format(nb=nb, token=token), timeout=120_000)
    cell = page.locator('.jp-Notebook .jp-Cell .cm-content').first
    cell.wait_for(timeout=120_000)
    _wait_kernel_idle(url, token)
    page.wait_for_timeout(1000)
    cell.click()
    page.keyboard.press('Shift+Enter')


def test_studio_in_browser(lab, tmp_path):
    from playwright.sync_api import sync_playwright
    url, token, runtime, app = lab
    console = []
    with sync_playwright() as p:
        browser, page = _open_page(p, console)
        try:
            _run_notebook_cell(page, url, token, app, 'studio.ipynb')
            studio = page.locator('.regen-studio')
            try: studio.wait_for(timeout=180_000)
            except Exception:
                page.screenshot(path=str(tmp_path / 'failure.png'))
                outputs = page.locator('.jp-OutputArea-output').all_inner_texts()
                pytest.fail(f"the studio did not render (screenshot: {tmp_path / 'failure.png'}); cell output: {outputs}; "
                            "browser console:\n" + '\n'.join(console[-30:]))
            page.get_by_role('button', name='seed 1', exact=True).click()
            target = page.locator('.regen-target-painter canvas').last
            target.wait_for(timeout=60_000)
            target.scroll_into_view_if_needed()
            # canvas pixels = image pixels × 4: a stroke across image row 25 from x=15 to x=49
            _stroke(page, target, [(60, 101), (196, 101)])
            source = page.locator('.regen-source-painter canvas').last
            source.scroll_into_view_if_needed()
            _stroke(page, source, [(24, 22), (76, 22)])      # image row 5, x 6..19: outside the sunglasses
            page.get_by_role('button', name='Rewrite').click()
            try: page.get_by_text('Rewritten in').first.wait_for(timeout=300_000)
            except Exception:
                page.screenshot(path=str(tmp_path / 'failure.png'))
                pytest.fail(f'no "Rewritten in" message; studio says: {studio.locator(".widget-html").all_inner_texts()}'[:3000])

            kc = _kernel_client(url, token, runtime)
            try: res = _run_in_kernel(kc, CHECK)
            finally: kc.stop_channels()
            assert res['targets'] == [1], res
            assert res['target_pixels'][0] > 0 and res['target_row'], res    # the mouse stroke reached the target's mask
            assert res['source_changed'] > 0 and res['source_corner'], res  # and the source's
            assert res['rewritten'] and res['steps'] == 2, res
            assert res['preview_change'] > 0, res                            # the rewritten generator's faces differ
            assert res['view'] == 'after' and res['preview_is_after'], res     # and the preview shows them

            if os.environ.get('REGEN_NB_SCREENSHOT') and app == 'lab':
                _screenshot_rule(page, studio, int(os.environ.get('REGEN_NB_SCREENSHOT_STEPS', '600')))
                box = studio.bounding_box()
                page.screenshot(path=str(tmp_path / 'studio.png'),
                                clip={'x': box['x'], 'y': box['y'], 'width': min(box['width'], 1700), 'height': box['height']})
                from PIL import Image      # 256 colours: a third of the size, no visible loss on this picture
                with Image.open(tmp_path / 'studio.png') as im:
                    im.convert('RGB').quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
                        os.environ['REGEN_NB_SCREENSHOT'], optimize=True)
        finally:
            browser.close()


WIDGETS = """\
import torch
torch.set_num_threads(1)
from regen_nb.toyfaces import toy_face, HELDOUT_SEED, part_mask
from regen_nb.local_edit import grow
from regen_nb.paint import MaskPainter
from regen_nb.local_editor import LocalEditor
from regen_nb.edit_widget import LocalEditWidget
from IPython.display import display
f = toy_face(HELDOUT_SEED + 21)
painter = MaskPainter(f.image, mask=part_mask(f.parts, 'eyes'), title='paint on the face')
painter.add_class('regen-shot-painter')
w = LocalEditWidget(LocalEditor(), f.image)
w.add_class('regen-shot-edit')
w.painter.load(grow(part_mask(f.parts, 'hair'), 2)); w.caption.value = 'red hair'; w.edit()
w.painter.clear()                                  # the edited face without the mask's tint
display(painter); display(w)"""


def _write_widgets_notebook(path: Path):
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(WIDGETS)]
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}
    nbformat.write(nb, path)


def _shot(page, element, path: Path):
    "A screenshot of `element`, its blank margin cut, quantized to 256 colours (a third of the size, no visible loss)."
    from PIL import Image, ImageOps
    box = element.bounding_box()
    page.screenshot(path=str(path), clip={'x': box['x'], 'y': box['y'], 'width': min(box['width'], 1700), 'height': box['height']})
    with Image.open(path) as im:
        im = im.convert('RGB')
        im = im.crop(ImageOps.invert(im.convert('L')).point(lambda v: 255 if v > 8 else 0).getbbox())   # no blank margin
        im.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)


def test_widgets_in_browser(lab, tmp_path):
    """The mask painter and the local-edit widget (after one scripted edit) render their canvases in the front end;
    with `REGEN_NB_WIDGET_SHOTS=folder`, JupyterLab's screenshots of both go there (the chapters show them)."""
    from playwright.sync_api import sync_playwright
    url, token, runtime, app = lab
    _write_widgets_notebook(tmp_path / 'work' / 'widgets.ipynb')
    console = []
    with sync_playwright() as p:
        browser, page = _open_page(p, console)
        try:
            _run_notebook_cell(page, url, token, app, 'widgets.ipynb')
            shots = {'painter': page.locator('.regen-shot-painter'), 'local_edit_widget': page.locator('.regen-shot-edit')}
            for name, el in shots.items():
                try: el.locator('canvas').first.wait_for(timeout=240_000)
                except Exception:
                    page.screenshot(path=str(tmp_path / 'failure.png'))
                    pytest.fail(f"the {name} did not render (screenshot: {tmp_path / 'failure.png'}); cell output: "
                                f"{page.locator('.jp-OutputArea-output').all_inner_texts()}; console:\n" + '\n'.join(console[-30:]))
            page.get_by_text('1 edit(s)').first.wait_for(timeout=60_000)        # the scripted edit reached the view
            page.wait_for_timeout(1500)
            if os.environ.get('REGEN_NB_WIDGET_SHOTS') and app == 'lab':
                folder = Path(os.environ['REGEN_NB_WIDGET_SHOTS']); folder.mkdir(parents=True, exist_ok=True)
                for name, el in shots.items(): _shot(page, el, folder / f'{name}.png')
        finally:
            browser.close()
