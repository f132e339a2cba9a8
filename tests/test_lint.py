"""Lint of the exported library: ruff (unused imports, undefined names, syntax; settings in pyproject.toml) must be
clean, and lines stay within 120 characters.

Line length counts the library's own code: nbdev writes two kinds of line itself (the module docstring, from the
notebook's one-line description, and the `__all__` list) and they are skipped. A few older lines are still longer;
their number may only fall (`LONG_LINES_LEFT`), so no new long line gets in."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIB = ROOT / 'regen_nb'
WIDTH = 120
LONG_LINES_LEFT = 137   # lower it when you shorten lines; never raise it


def _ruff(*args) -> subprocess.CompletedProcess:
    exe = shutil.which('ruff') or [sys.executable, '-m', 'ruff']
    cmd = ([exe] if isinstance(exe, str) else exe) + list(args)
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)


@pytest.fixture(scope='module')
def ruff_available():
    if _ruff('--version').returncode != 0: pytest.skip('ruff is not installed (pip install -e ".[dev]")')


def test_ruff_clean(ruff_available):
    r = _ruff('check', 'regen_nb')
    assert r.returncode == 0, f"ruff found problems in the library (fix them in the notebooks, then nbdev_export):\n{r.stdout}"


def nbdev_lines(src: list[str]) -> set[int]:
    "Line numbers (1-based) that nbdev writes: the module docstring and the `__all__` list."
    skip = {1} if src and src[0].startswith('"""') else set()
    for i, line in enumerate(src):
        if line.startswith('__all__'):
            j = i
            while True:
                skip.add(j + 1)
                if src[j].rstrip().endswith(']'): break
                j += 1
    return skip


def long_lines() -> list[str]:
    out = []
    for f in sorted(LIB.glob('*.py')):
        if f.name == '_modidx.py': continue
        src = f.read_text(encoding='utf-8').split('\n')
        skip = nbdev_lines(src)
        out += [f'{f.name}:{i + 1}: {len(l)}' for i, l in enumerate(src) if len(l) > WIDTH and i + 1 not in skip]
    return out


def test_nbdev_lines_found():
    src = ['"""A module."""', '', '__all__ = [\'a\',', "           'b']", 'x = 1']
    assert nbdev_lines(src) == {1, 3, 4}


def test_line_length():
    long = long_lines()
    assert len(long) <= LONG_LINES_LEFT, (f"{len(long)} library lines are over {WIDTH} characters (at most {LONG_LINES_LEFT} "
                                          "older ones may remain): wrap the new ones in their notebooks\n" + '\n'.join(long))


if __name__ == '__main__':
    print(json.dumps(long_lines(), indent=1)); print(len(long_lines()))
