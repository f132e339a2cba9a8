"""tools/check_dist.py, the check that release.yml (and .ci/run) runs on what `python -m build` made, on small fake distributions."""
import io, sys, tarfile, zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
import check_dist


def _package(root: Path):
    (root / 'pkg' / 'assets' / 'rules').mkdir(parents=True)
    for f in ['pkg/__init__.py', 'pkg/core.py', 'pkg/assets/g.safetensors', 'pkg/assets/rules/star.json']: (root / f).write_text('x')
    return check_dist.shipped(root, 'pkg')


def _dists(dist: Path, names: list[str], version='1.2.0'):
    dist.mkdir(exist_ok=True)
    with zipfile.ZipFile(dist / f'pkg-{version}-py3-none-any.whl', 'w') as z:
        for n in names: z.writestr(n, 'x')
    with tarfile.open(dist / f'pkg-{version}.tar.gz', 'w:gz') as t:
        for n in names:
            info = tarfile.TarInfo(f'pkg-{version}/{n}'); info.size = 1
            t.addfile(info, io.BytesIO(b'x'))


def test_shipped_lists_modules_and_assets(tmp_path):
    assert _package(tmp_path) == ['pkg/__init__.py', 'pkg/assets/g.safetensors', 'pkg/assets/rules/star.json', 'pkg/core.py']


def test_complete_distributions_pass(tmp_path):
    _dists(tmp_path / 'dist', _package(tmp_path))
    assert check_dist.problems(tmp_path / 'dist', '1.2.0', 'pkg', tmp_path, tag='v1.2.0') == []


def test_missing_weights_wrong_version_and_tag_fail(tmp_path):
    need = _package(tmp_path)
    _dists(tmp_path / 'dist', [n for n in need if not n.endswith('.safetensors')])
    bad = check_dist.problems(tmp_path / 'dist', '1.2.0', 'pkg', tmp_path, tag='v1.3.0')
    assert bad == ['tag v1.3.0 does not name version 1.2.0 (settings.ini)',
                   'pkg-1.2.0-py3-none-any.whl lacks pkg/assets/g.safetensors', 'pkg-1.2.0.tar.gz lacks pkg/assets/g.safetensors']
    assert check_dist.problems(tmp_path / 'dist', '1.2.1', 'pkg', tmp_path)[:2] == \
        ['pkg-1.2.0-py3-none-any.whl is not version 1.2.1', 'pkg-1.2.0.tar.gz is not version 1.2.1']
    assert 'expected one wheel and one sdist' in check_dist.problems(tmp_path / 'nothing', '1.2.0', 'pkg', tmp_path)[0]


WORKFLOWS = ROOT / '.github' / 'workflows'


def _workflow(name: str) -> dict:
    import yaml
    return yaml.safe_load((WORKFLOWS / name).read_text())


def _steps(wf: dict) -> list[dict]:
    return [s for job in wf['jobs'].values() for s in job.get('steps', [])]


def test_workflow_commands_are_those_of_ci_run():
    "Every command a workflow runs is one .ci/run runs too (release.yml adds only the tag to check), so CI exercises them."
    ci = {l.strip() for l in (ROOT / '.ci' / 'run').read_text().splitlines()}
    commands = [(f.name, l.strip()) for f in sorted(WORKFLOWS.glob('*.yml')) for s in _steps(_workflow(f.name))
                for l in s.get('run', '').splitlines() if l.strip()]
    assert ('test.yml', 'bash .ci/run') in commands
    others = [(f, c.replace(' --tag "${GITHUB_REF_NAME}"', '')) for f, c in commands if c != 'bash .ci/run']
    assert len(others) >= 5 and [c for c in others if c[1] not in ci] == []


def test_workflows_publish_the_ecosystem_way():
    deploy, release = _workflow('deploy.yml'), _workflow('release.yml')
    uses = lambda wf: [s['uses'].split('@')[0] for s in _steps(wf) if 'uses' in s]
    assert {'actions/upload-pages-artifact', 'actions/deploy-pages'} <= set(uses(deploy))
    assert next(s for s in _steps(deploy) if s.get('uses', '').startswith('actions/upload-pages-artifact'))['with']['path'] == '_docs'
    assert deploy['permissions']['pages'] == 'write' and deploy['permissions']['id-token'] == 'write'
    assert release[True]['push']['tags'] == ['v*']                         # YAML reads the key `on` as True
    assert 'pypa/gh-action-pypi-publish' in uses(release)
    assert release['jobs']['publish']['permissions'] == {'id-token': 'write'}   # trusted publishing, no stored token


def test_readme_badges_name_the_workflows():
    import re
    readme = (ROOT / 'README.md').read_text()
    badges = re.findall(r'actions/workflows/([\w-]+\.yml)/badge\.svg', readme)
    assert sorted(set(badges)) == ['deploy.yml', 'test.yml'], badges
    assert all((WORKFLOWS / b).exists() for b in badges)
    assert 'https://pypi.org/project/regen_nb/' in readme
