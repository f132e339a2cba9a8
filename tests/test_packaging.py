"The wheel carries the library and its package data (shipped weights), and nothing of the notebooks' scratch."
import subprocess, sys, zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_package_data(tmp_path):
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q',
                    '-w', str(tmp_path), str(ROOT)], check=True)
    wheel, = tmp_path.glob('regen_nb-*.whl')
    names = set(zipfile.ZipFile(wheel).namelist())
    assert 'regen_nb/core.py' in names and 'regen_nb/cli.py' in names
    assets = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / 'regen_nb' / 'assets').rglob('*') if p.is_file())
    assert assets, 'regen_nb/assets is empty: the shipped weights are missing'
    missing = [a for a in assets if a not in names]
    assert not missing, f'package data missing from the wheel: {missing}'
    meta = next(n for n in names if n.endswith('METADATA'))
    requires = [l for l in zipfile.ZipFile(wheel).read(meta).decode().splitlines() if l.startswith('Requires-Dist')]
    runtime = [r for r in requires if 'extra ==' not in r]
    assert not any('nbdev' in r or 'pytest' in r for r in runtime), f'dev tools leaked into runtime requirements: {runtime}'
