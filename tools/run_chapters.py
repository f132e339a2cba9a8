"""Run chapter notebooks in full settings and keep their outputs, so that a chapter shows its pictures unrun.

    python tools/run_chapters.py                        # every chapter of nbs/, in reading order
    python tools/run_chapters.py 00_core 40_paint       # some chapters
    python tools/run_chapters.py 03_train_gan --slow    # also the `#| slow` cells (minutes each)
    python tools/run_chapters.py --times                # seconds of every chapter's last run

Each chapter runs top to bottom in a fresh kernel: working folder `nbs/`, `IN_TEST` unset (full settings),
`OMP_NUM_THREADS=1`, this repository's `regen_nb` first on the path. Cells that `nbdev_test` skips (`#| slow`,
`#| cuda`, `#| eval: false`, `nbdev_export()`) are not run and keep the outputs they have; with `--slow` the
`#| slow` cells run too (their outputs are what the chapter's prose quotes). The outputs are written
back into the notebook, cleaned as `nbdev_clean` cleans them; every cell that ran records the hash of its source
(`regen_nb.source_sha`, which tests/test_chapter_outputs.py checks against the source) and the notebook records
the run (`regen_nb_run`: date, machine, torch threads, seconds, and the cells that took 5 seconds or more).

The seconds live in each notebook's `regen_nb_run`, not in a separate table: chapters are run one at a time, on
different branches, and one shared file would go stale and conflict; `--times` prints the table from the notebooks.

A chapter that fails, or runs past `--minutes`, is not written: its notebook stays as committed."""
import argparse
import base64
import datetime
import hashlib
import html
import io
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from execnb.nbio import nb2str
from fastcore.basics import AttrDict
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError
from nbdev.clean import clean_nb
from nbdev.config import get_config
from nbdev.process import extract_directives
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT / 'nbs'
CELL_KEY, NB_KEY = 'regen_nb', 'regen_nb_run'
SKIP_FLAGS = {'slow', 'cuda'}
WIDGET_MIME = 'application/vnd.jupyter.widget-view+json'
SLOW_CELL = 5   # seconds: cells this slow are listed in the notebook's `regen_nb_run`


class ChapterError(Exception): "A chapter failed or ran too long; its notebook was not written."


def chapters() -> list[Path]:
    "The chapter notebooks, in reading order (file names); exercises and `_` notebooks are not chapters."
    return sorted(p for p in NBS.glob('*.ipynb') if not p.name.startswith('_'))


def find_chapters(names) -> list[Path]:
    "The chapters called `names` (`31_rewrite`, `31_rewrite.ipynb` or `nbs/31_rewrite.ipynb`); all if none."
    every = {p.stem: p for p in chapters()}
    if not names: return list(every.values())
    stems = [Path(n).stem for n in names]
    unknown = [s for s in stems if s not in every]
    if unknown: raise SystemExit(f"No chapter called {', '.join(unknown)} in nbs/; chapters: {' '.join(every)}")
    return [every[s] for s in stems]


def source_sha(source) -> str:
    "First 16 hex digits of the sha256 of a cell's source (a string, or the list of lines of a saved notebook)."
    return hashlib.sha256(''.join(source).encode('utf-8')).hexdigest()[:16]


def runs(cell, slow: bool = False) -> bool:
    """Whether the tool runs `cell`: code that `nbdev_test` would run, apart from the `#| slow` (unless `slow`) and
    `#| cuda` cells."""
    if cell['cell_type'] != 'code': return False
    src = ''.join(cell['source'])
    if 'nbdev_export' + '(' in src: return False
    dirs = extract_directives(AttrDict(source=src), remove=False)
    skip = SKIP_FLAGS - {'slow'} if slow else SKIP_FLAGS
    return not (skip & dirs.keys() or dirs.get('eval:', [''])[0].lower() == 'false')


def first_line(cell) -> str:
    "The first line of code of `cell`, after its directives, to name it in messages."
    code = [l for l in ''.join(cell['source']).splitlines() if l.strip() and not l.startswith('#|')]
    return (code[0][:60] if code else '').strip()


def smaller_png(b64: str) -> str:
    "The base64 PNG `b64` compressed harder, without loss (the same pixels), if that makes it smaller."
    try: im = Image.open(io.BytesIO(base64.b64decode(b64)))
    except (OSError, ValueError): return b64
    buf = io.BytesIO(); im.save(buf, 'PNG', optimize=True)
    new = base64.b64encode(buf.getvalue()).decode()
    return new if len(new) < len(b64.strip()) else b64


def bar_text(widgets: dict, model_id: str) -> str | None:
    "The last text of the progress bar widget `model_id` (texts and a progress bar in a box, as tqdm draws it)."
    kids = [widgets.get(c.removeprefix('IPY_MODEL_'), {}) for c in widgets.get(model_id, {}).get('children', [])]
    def text(k):
        if not k.get('_model_name', '').endswith('ProgressModel'):
            return html.unescape(re.sub('<[^>]*>', '', str(k.get('value', '')))).replace('\u2007', ' ')
        n = round(10 * k.get('value', 0) / k['max']) if k.get('max') else 0
        return '|' + '█' * n + ' ' * (10 - n) + '|'
    is_bar = any(k.get('_model_name', '').endswith('ProgressModel') for k in kids)
    return ''.join(map(text, kids)) if is_bar else None


def prune(outputs: list, widgets: dict | None = None) -> list:
    """`outputs` without bulk: no JPEG copy beside a PNG, no repeat, nothing empty, and no widget view (the widgets'
    state is not kept): its text stays, a progress bar's as it ended (`widgets`: the widgets' state by model id)."""
    out, seen = [], []
    for o in outputs:
        if o['output_type'] in ('display_data', 'execute_result'):
            data = o['data']
            if 'image/png' in data: data.pop('image/jpeg', None); data['image/png'] = smaller_png(data['image/png'])
            view = data.pop(WIDGET_MIME, None)
            if view and (bar := bar_text(widgets or {}, view.get('model_id', ''))): data['text/plain'] = bar
            if not data or data in seen: continue   # a picture displayed and also returned: one is enough
            seen.append(data)
        out.append(o)
    return out


def machine() -> str:
    "CPU model and core count, e.g. `Intel(R) Xeon(R) Processor, 2 cores`."
    info = Path('/proc/cpuinfo')
    names = [l.split(':', 1)[1].strip() for l in info.read_text().splitlines() if l.startswith('model name')] \
        if info.exists() else []
    return f"{names[0] if names else platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def kernel_env() -> dict:
    "The kernel's environment: full settings, one thread, this repository's library, figures inline."
    env = {k: v for k, v in os.environ.items() if k not in ('IN_TEST', 'MPLBACKEND')}
    env.update(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [env.get('PYTHONPATH')])]))
    return env


def torch_threads(client, nb) -> int:
    "The number of threads torch uses in the kernel."
    probe = nbformat.v4.new_code_cell('import torch; print(torch.get_num_threads())')
    nb.cells.append(probe)
    try: client.execute_cell(probe, len(nb.cells) - 1)
    finally: nb.cells.pop()
    return int(probe.outputs[0]['text'].strip())


def too_long(path: Path, i: int, secs: dict, minutes: float) -> str:
    "Why the chapter at `path` stopped in cell `i`, with its slowest cells before it (`secs`: seconds by cell)."
    slow = ', '.join(f'cell {j} {s:.0f}s' for j, s in sorted(secs.items(), key=lambda o: -o[1])[:5])
    cell = nbformat.read(path, as_version=4).cells[i]
    return (f"{path.stem}: cell {i} (`{first_line(cell)}`) was still running after {minutes:g} minutes for the chapter "
            f"(slowest before it: {slow or 'none'}). Flag long cells `#| slow` or load a shipped result, "
            "or give --minutes")


def execute(path: Path, minutes: float, slow: bool = False) -> tuple:
    """Run the chapter at `path` in a fresh kernel (its `#| slow` cells too if `slow`); its notebook node with
    outputs, and seconds per cell run."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name='python3', resources={'metadata': {'path': str(NBS)}},
                            store_widget_state=True, coalesce_streams=True, record_timing=False,
                            interrupt_on_timeout=True)   # a cell past the time is interrupted, then reported
    start, secs = time.time(), {}
    todo = [i for i, c in enumerate(nb.cells) if runs(c, slow)]
    with client.setup_kernel(env=kernel_env()):
        for n, i in enumerate(todo):
            cell, t = nb.cells[i], time.time()
            client.timeout = max(1, int(minutes * 60 - (t - start)))
            try: client.execute_cell(cell, i)
            except (CellTimeoutError, CellExecutionError) as e:   # past the time, the cell was interrupted
                if isinstance(e, CellTimeoutError) or time.time() - start >= minutes * 60:
                    raise ChapterError(too_long(path, i, secs, minutes)) from None
                msg = re.sub(r'\x1b\[[0-9;]*m', '', str(e))   # the traceback without its terminal colours
                raise ChapterError(f"{path.stem}: cell {i} (`{first_line(cell)}`) failed:\n{msg}") from None
            secs[i] = time.time() - t
            cell.metadata[CELL_KEY] = {'source_sha': source_sha(cell.source)}
            cell.outputs = prune(cell.outputs, client.widget_state)
            if secs[i] >= 1: print(f'  [{n + 1}/{len(todo)}] cell {i} {secs[i]:.1f}s  {first_line(cell)}', flush=True)
        threads = torch_threads(client, nb)
    nb.metadata.pop('widgets', None)
    nb.metadata[NB_KEY] = dict(when=datetime.date.today().isoformat(), machine=machine(), torch_threads=threads,
                               seconds=round(time.time() - start, 1), slow_cells_run=slow,
                               cell_seconds={nb.cells[i].id: round(s, 1) for i, s in secs.items() if s >= SLOW_CELL})
    return nb, secs


def cleaned(nb) -> str:
    "The notebook's text as `nbdev_clean` writes it (so that CI's check leaves it unchanged)."
    cfg, d = get_config(path=ROOT), json.loads(nbformat.writes(nb))
    clean_nb(d, cfg.clear_all, cfg.get('allowed_metadata_keys').split(), cfg.get('allowed_cell_metadata_keys').split(),
             cfg.clean_ids)
    return nb2str(d)


def check_settings():
    "Stop unless settings.ini tells `nbdev_clean` to keep the run's metadata."
    cfg = get_config(path=ROOT)
    for key, setting in ((CELL_KEY, 'allowed_cell_metadata_keys'), (NB_KEY, 'allowed_metadata_keys')):
        if key not in cfg.get(setting).split():
            raise SystemExit(f"settings.ini does not keep `{key}` (nbdev_clean would drop it): add it to {setting}")


def git_changes() -> set[str]:
    "Files that `git status` shows as changed or new."
    r = subprocess.run(['git', 'status', '--porcelain'], cwd=ROOT, capture_output=True, text=True)
    return set(r.stdout.splitlines()) if r.returncode == 0 else set()


def run_chapter(path: Path, minutes: float, slow: bool = False) -> dict:
    "Run one chapter (with its `#| slow` cells if `slow`) and write its outputs into its notebook; seconds and sizes."
    print(f'{path.stem}: running', flush=True)
    before, changes = path.stat().st_size, git_changes()
    nb, _ = execute(path, minutes, slow)
    path.write_text(cleaned(nb), encoding='utf-8')
    wrote = sorted(o[3:] for o in git_changes() - changes if o[3:] != str(path.relative_to(ROOT)))
    if wrote: print(f"{path.stem}: the run also wrote {' '.join(wrote)}: commit or `git checkout` them", flush=True)
    row = dict(chapter=path.stem, seconds=nb.metadata[NB_KEY]['seconds'], kb=round(path.stat().st_size / 1024),
               kb_added=round((path.stat().st_size - before) / 1024))
    print(f"{path.stem}: {row['seconds']:.0f}s, {row['kb']} KB ({row['kb_added']:+} KB)", flush=True)
    return row


def last_runs() -> list[dict]:
    "Every chapter's last run, from its notebook (`regen_nb_run`); `None` seconds for chapters not run yet."
    def row(p):
        run = json.loads(p.read_text(encoding='utf-8'))['metadata'].get(NB_KEY, {})
        return dict(chapter=p.stem, seconds=run.get('seconds'), when=run.get('when'), kb=round(p.stat().st_size / 1024))
    return [row(p) for p in chapters()]


def show_table(rows: list[dict]):
    cols = list(rows[0])
    print('| ' + ' | '.join(cols) + ' |\n|' + '---|' * len(cols))
    for r in rows: print('| ' + ' | '.join('' if r[c] is None else str(r[c]) for c in cols) + ' |')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('names', nargs='*', help='chapters to run, e.g. 00_core 40_paint (default: every chapter)')
    p.add_argument('--minutes', type=float, default=15, help='stop a chapter that runs longer (default 15)')
    p.add_argument('--slow', action='store_true', help='also run the `#| slow` cells (give --minutes to match)')
    p.add_argument('--times', action='store_true', help="print every chapter's last run and stop")
    a = p.parse_args(argv)
    if a.times: return show_table(last_runs())
    check_settings()
    todo, rows, failed = find_chapters(a.names), [], []
    for path in todo:
        try: rows.append(run_chapter(path, a.minutes, a.slow))
        except ChapterError as e:
            print(f'{e}\n{path.stem}: not written, the notebook is unchanged', file=sys.stderr, flush=True)
            failed.append(path.stem)
    if rows: show_table(rows)
    if failed: raise SystemExit(f"{len(failed)} of {len(todo)} chapters failed, not written: {' '.join(failed)}")


if __name__ == '__main__': main()
