"""Folders of Colab's widget versions (tests/colab-pins.txt) and of classic Notebook 6.5 (tests/classic-notebook.txt),
each installed with `pip install --no-deps --target` beside the environment, never into it.

`folder(kind)` is the folder if it holds what its requirements file asks for, made with pip if it does not; a
test skips (saying why) if it cannot be made, or fails instead when REGEN_NB_REQUIRE_COLAB_PINS=1 (as .ci/run sets).
The folders are $REGEN_NB_COLAB_PINS and $REGEN_NB_CLASSIC_NB, by default under ~/.cache/regen_nb/."""
import os, subprocess, sys
from importlib import metadata
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
KINDS = {'pins': ('REGEN_NB_COLAB_PINS', 'colab-pins', HERE / 'colab-pins.txt'),
         'classic': ('REGEN_NB_CLASSIC_NB', 'classic-notebook', HERE / 'classic-notebook.txt')}


def requirements(kind: str) -> list[str]:
    "The requirement lines of `kind`'s file ('pins' or 'classic')."
    lines = (l.split('#')[0].strip() for l in KINDS[kind][2].read_text().splitlines())
    return [l for l in lines if l]


def path_of(kind: str) -> Path:
    env, name, _ = KINDS[kind]
    return Path(os.environ.get(env) or Path.home() / '.cache' / 'regen_nb' / name)


def missing(kind: str, where: Path) -> list[str]:
    "The requirements of `kind` that the folder `where` does not satisfy (all of them if it does not exist)."
    from packaging.requirements import Requirement
    dists = {d.metadata['Name'].lower().replace('-', '_'): d.version
             for d in metadata.distributions(path=[str(where)])} if where.is_dir() else {}
    out = []
    for line in requirements(kind):
        r = Requirement(line)
        v = dists.get(r.name.lower().replace('-', '_'))
        if v is None or not r.specifier.contains(v, prereleases=True): out.append(line)
    return out


def folder(kind: str) -> Path:
    "The folder of `kind`, installed with pip (no dependencies) if it is missing or incomplete; skips or fails if it cannot be."
    where = path_of(kind)
    if not missing(kind, where): return where
    cmd = [sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--upgrade', '--target', str(where), '-r', str(KINDS[kind][2])]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    left = missing(kind, where)
    if res.returncode or left:
        why = f"could not make {where} ({' '.join(cmd)}): {left} missing; pip said: {(res.stderr or res.stdout)[-1500:]}"
        if os.environ.get('REGEN_NB_REQUIRE_COLAB_PINS') == '1': pytest.fail(why)
        pytest.skip(why)
    return where


def env_with(*paths, **extra) -> dict:
    "This process's environment with `paths` (folders) first on PYTHONPATH, then the repository (its regen_nb, not an installed one)."
    old = os.environ.get('PYTHONPATH')
    pp = os.pathsep.join([*map(str, paths), str(ROOT), *([old] if old else [])])
    return dict(os.environ, PYTHONPATH=pp, OMP_NUM_THREADS='1', MPLBACKEND='Agg', **extra)
