#!/usr/bin/env python3
"""Check what `python -m build` made before it is published (.github/workflows/release.yml; .ci/run runs the same):

    python3 -m build                 # dist/regen_nb-X.Y.Z-py3-none-any.whl and dist/regen_nb-X.Y.Z.tar.gz
    python3 tools/check_dist.py dist [--tag vX.Y.Z]

Exactly one wheel and one sdist of the version in settings.ini; both carry the library and every shipped file of
regen_nb/assets (the trained weights and rules that `pip install regen_nb` promises to work without a download); with
`--tag`, the tag names that version. Exit 1 with the list of what is wrong."""
import argparse, sys, tarfile, zipfile
from configparser import ConfigParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def settings() -> dict:
    cfg = ConfigParser(); cfg.read(ROOT / 'settings.ini')
    return dict(cfg['DEFAULT'])


def shipped(root: Path = ROOT, lib: str = 'regen_nb') -> list[str]:
    "The package's files that must be in every distribution: its modules and everything under its assets/ folder."
    pkg = root / lib
    return sorted(p.relative_to(root).as_posix() for p in [*pkg.glob('*.py'), *(pkg / 'assets').rglob('*')]
                  if p.is_file() and '__pycache__' not in p.parts)


def problems(dist: Path, version: str, lib: str = 'regen_nb', root: Path = ROOT, tag: str | None = None) -> list[str]:
    "What is wrong with the distributions in `dist` (empty when nothing is)."
    wheels, sdists = sorted(dist.glob(f'{lib}-*.whl')), sorted(dist.glob(f'{lib}-*.tar.gz'))
    bad = []
    if tag is not None and tag.removeprefix('v') != version: bad.append(f'tag {tag} does not name version {version} (settings.ini)')
    if len(wheels) != 1 or len(sdists) != 1:
        return bad + [f'expected one wheel and one sdist in {dist}, found {[p.name for p in wheels + sdists]}']
    wheel, sdist = wheels[0], sdists[0]
    for p in (wheel, sdist):
        if not p.name.startswith(f'{lib}-{version}'): bad.append(f'{p.name} is not version {version}')
    need = shipped(root, lib)
    if not any('/assets/' in n for n in need): bad.append(f'{lib}/assets holds no file: the shipped weights are missing')
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    bad += [f'{wheel.name} lacks {n}' for n in need if n not in in_wheel]
    with tarfile.open(sdist) as t: in_sdist = {n.split('/', 1)[1] for n in t.getnames() if '/' in n}
    bad += [f'{sdist.name} lacks {n}' for n in need if n not in in_sdist]
    return bad


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('dist', type=Path, nargs='?', default=ROOT / 'dist')
    ap.add_argument('--tag', help='the git tag being released (vX.Y.Z)')
    args = ap.parse_args(argv)
    cfg = settings()
    bad = problems(args.dist, cfg['version'], cfg['lib_name'], tag=args.tag)
    for b in bad: print(b, file=sys.stderr)
    if not bad:
        sizes = ', '.join(f'{p.name} {p.stat().st_size / 2**20:.1f} MiB' for p in sorted(args.dist.glob(f"{cfg['lib_name']}-*")))
        print(f"distributions ok: {len(shipped())} shipped files in each of {sizes}")
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
