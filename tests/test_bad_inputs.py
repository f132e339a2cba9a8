"""Bad inputs and hostile conditions: saves that must never lose what the user made, and errors that say what is wrong.

The kill and race cases run saves in forked child processes (cheap: the parent has imported torch already) and
kill them with SIGKILL at random moments, or start two of them at once; each runs a bounded number of tries.
"""
import contextlib, io, json, math, multiprocessing as mp, os, random, signal, subprocess, sys, time, warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

import regen_nb.core as core
from regen_nb.core import atomic_folder, atomic_write, get_device, load_image, recover_path, write_checkpoint
from regen_nb.stylegan import Generator, generator_metadata, load_generator, save_generator

torch.set_num_threads(1)
FORK = mp.get_context('fork')
ON_LINUX = sys.platform.startswith('linux')


def tiny_generator(seed=0, size=16):
    "A small random generator (a few hundred kB), enough to exercise the checkpoint code."
    torch.manual_seed(seed)
    return Generator(size, style_dim=32, n_mlp=2, channels={r: 32 for r in (4, 8, 16, 32)})


def ours(folder):
    "The library's hidden temporaries in `folder`."
    return [p.name for p in Path(folder).iterdir() if core._TMP_RE.match(p.name)]


# ---------------------------------------------------------------- 1. overwrite replaces only the library's own work

@pytest.mark.parametrize('where', ['', '.', '..', 'HOME', '/'])
def test_folder_overwrite_never_replaces_cwd_home_or_root(tmp_path, monkeypatch, where):
    (tmp_path / 'work').mkdir(); monkeypatch.chdir(tmp_path / 'work')
    Path('thesis.tex').write_text('years of work')
    where = str(Path.home()) if where == 'HOME' else where
    with pytest.raises(ValueError, match='refusing to save a folder'):
        atomic_folder(where, lambda tmp: (tmp / 'rule.json').write_text('{}'), overwrite=True)
    assert Path('thesis.tex').read_text() == 'years of work'


def test_folder_overwrite_never_replaces_foreign_content(tmp_path):
    user = tmp_path / 'photos'; user.mkdir(); (user / 'cat.jpg').write_bytes(b'meow')
    with pytest.raises(FileExistsError, match=r'did not write there \(cat.jpg\)'):
        atomic_folder(user, lambda tmp: (tmp / 'rule.json').write_text('{}'), overwrite=True)
    assert (user / 'cat.jpg').read_bytes() == b'meow'
    rule = atomic_folder(tmp_path / 'rule', lambda tmp: (tmp / 'rule.json').write_text('v1'))
    (rule / 'notes.txt').write_text('mine')                      # a file added to a folder the library wrote
    with pytest.raises(FileExistsError, match='notes.txt'):
        atomic_folder(rule, lambda tmp: (tmp / 'rule.json').write_text('v2'), overwrite=True)
    assert (rule / 'notes.txt').read_text() == 'mine' and (rule / 'rule.json').read_text() == 'v1'
    (rule / 'notes.txt').unlink()
    atomic_folder(rule, lambda tmp: (tmp / 'rule.json').write_text('v2'), overwrite=True)
    assert (rule / 'rule.json').read_text() == 'v2'
    assert ours(tmp_path) == []


def test_checkpoints_remove_only_their_own_folders(tmp_path):
    (tmp_path / 'ckpt-mine').mkdir(); (tmp_path / 'ckpt-mine' / 'x').write_text('keep')
    for step in range(1, 5): write_checkpoint(tmp_path, step, lambda tmp: (tmp / 'w').write_text('x'), keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['ckpt-0000003', 'ckpt-0000004', 'ckpt-mine', 'latest']


# ---------------------------------------------------------------- 2. atomic overwrite under SIGKILL; 4. no litter

N_FILES, FILE_BYTES = 4, 1 << 18


def _write_version(v):
    def write(tmp):
        for i in range(N_FILES): (tmp / f'part{i}.bin').write_bytes(bytes([v % 251]) * FILE_BYTES)
        (tmp / 'version.txt').write_text(str(v))
    return write


def _complete_version(folder):
    "The version held by `folder` if it is complete and consistent, else raise AssertionError."
    v = int((folder / 'version.txt').read_text())
    for i in range(N_FILES):
        data = (folder / f'part{i}.bin').read_bytes()
        assert data == bytes([v % 251]) * FILE_BYTES, f'part{i}.bin of version {v} is partial'
    assert json.loads((folder / core.MARKER).read_text())['files'] == sorted([f'part{i}.bin' for i in range(N_FILES)] + ['version.txt'])
    return v


def _save_folder_forever(dest, start, native, ready):
    if not native: core._RENAMEAT2 = None
    v = start
    while True:
        atomic_folder(dest, _write_version(v), overwrite=True)
        ready.set(); v += 1


def _kill_saves(dest, tries, native, seed):
    "Kill a process that keeps overwriting `dest` at random moments, `tries` times; check `dest` after each kill."
    rng, seen, missing_before_recovery, litter = random.Random(seed), set(), 0, 0
    atomic_folder(dest, _write_version(0))
    for t in range(tries):
        ready = FORK.Event()
        p = FORK.Process(target=_save_folder_forever, args=(dest, 1000 * (t + 1), native, ready), daemon=True)
        p.start()
        assert ready.wait(60), 'the saving process never finished a save'
        time.sleep(rng.uniform(0, 0.15))
        os.kill(p.pid, signal.SIGKILL); p.join()
        if native: assert dest.is_dir(), f'try {t}: the folder is missing after a kill'
        elif not dest.exists(): missing_before_recovery += 1
        litter += len(ours(dest.parent))
        recover_path(dest)                                      # what the next load or save does first
        seen.add(_complete_version(dest))                       # old or new, never missing, never partial
        assert ours(dest.parent) == [], 'stale temporaries of a dead writer were left behind'
    return seen, missing_before_recovery, litter


@pytest.mark.skipif(not ON_LINUX, reason='SIGKILL and fork')
@pytest.mark.parametrize('native', [True, False], ids=['exchange', 'aside-and-back'])
def test_folder_overwrite_survives_sigkill(tmp_path, native):
    if native and core._RENAMEAT2 is None: pytest.skip('no renameat2 here')
    tries = 25
    seen, missing, litter = _kill_saves(tmp_path / 'rule', tries, native, seed=int(native))
    print(f'{"exchange" if native else "aside"}: {tries} kills, {len(seen)} distinct complete versions seen, '
          f'{missing} kills left only the aside copy (recovered), {litter} temporaries cleaned')
    assert len(seen) > 1                                        # the kills did land between saves of new versions


def _die_right_after_moving_aside(dest):
    "Overwrite `dest` the portable way and get SIGKILLed at the worst moment: old folder aside, new one not yet in."
    core._RENAMEAT2 = None
    real = os.rename
    def rename(a, b):
        real(a, b)
        if str(b).endswith('.old'): os.kill(os.getpid(), signal.SIGKILL)
    os.rename = rename
    atomic_folder(dest, _write_version(7), overwrite=True)


@pytest.mark.skipif(not ON_LINUX, reason='SIGKILL and fork')
def test_kill_between_aside_and_rename_in_is_recovered(tmp_path):
    dest = tmp_path / 'rule'
    for recover in (lambda: recover_path(dest),                                      # a load
                    lambda: pytest.raises(FileExistsError, atomic_folder, dest, _write_version(8))):  # a save
        atomic_folder(dest, _write_version(0), overwrite=True)
        p = FORK.Process(target=_die_right_after_moving_aside, args=(dest,)); p.start(); p.join()
        assert p.exitcode == -signal.SIGKILL and not dest.exists() and len(ours(tmp_path)) == 2   # the aside copy and the new one
        recover()
        assert _complete_version(dest) == 0 and ours(tmp_path) == []


def _save_generator_forever(path, ready):
    G = tiny_generator(1, size=32)
    step = 0
    while True:
        step += 1
        with torch.no_grad(): G.input.input.fill_(step)
        save_generator(G, path, metadata={'step': step}, overwrite=True)
        ready.set()


@pytest.mark.skipif(not ON_LINUX, reason='SIGKILL and fork')
def test_generator_save_survives_sigkill(tmp_path):
    path, rng, steps, litter = tmp_path / 'g.safetensors', random.Random(2), set(), 0
    for t in range(20):
        ready = FORK.Event()
        p = FORK.Process(target=_save_generator_forever, args=(path, ready), daemon=True)
        p.start(); assert ready.wait(60)
        time.sleep(rng.uniform(0, 0.1))
        os.kill(p.pid, signal.SIGKILL); p.join()
        litter += len(ours(tmp_path))
        G = load_generator(path, device='cpu')                  # complete, and it cleans what the kill left
        step = generator_metadata(path)['metadata']['step']
        assert torch.all(G.input.input == step)
        assert ours(tmp_path) == []
        steps.add(step)
    print(f'generator: 20 kills, {len(steps)} distinct complete versions, {litter} temporaries cleaned on load')


def test_stale_temporaries_cleaned_but_never_a_live_writers(tmp_path):
    dead = subprocess.Popen([sys.executable, '-c', 'pass']); dead.wait()
    host = core._host_tag()
    stale = tmp_path / f'.g.safetensors.regen_nb-{host}-{dead.pid}-ab.tmp'; stale.write_bytes(b'x' * 1000)
    live = tmp_path / f'.g.safetensors.regen_nb-{host}-{os.getpid()}-cd.tmp'; live.write_bytes(b'y')
    other = tmp_path / '.g.safetensors.12345.tmp'; other.write_bytes(b'z')   # not our naming: never touched
    save_generator(tiny_generator(), tmp_path / 'g.safetensors')
    assert not stale.exists() and live.exists() and other.exists()


# ---------------------------------------------------------------- 3. overwrite=False under concurrency

def _race(target, args, native):
    "Start two processes at the same instant; return their outcomes."
    barrier, results = FORK.Barrier(2), FORK.Queue()
    def run(who):
        if not native: core._RENAMEAT2 = None
        barrier.wait()
        try: target(who, *args); results.put((who, 'ok'))
        except FileExistsError as e: results.put((who, 'raced' if 'meanwhile' in str(e) else 'exists'))
        except BaseException as e: results.put((who, f'{type(e).__name__}: {e}'))
    procs = [FORK.Process(target=run, args=(who,)) for who in (1, 2)]
    for p in procs: p.start()
    for p in procs: p.join(60)
    return dict(results.get(timeout=5) for _ in procs)


def _save_folder_slowly(who, dest):
    def write(tmp):
        time.sleep(0.05); (tmp / 'who.txt').write_text(str(who))
    atomic_folder(dest, write)


def _save_generator_slowly(who, path):
    real = core.write_safetensors                  # what save_generator writes with (through core.save_weights)
    def slow(*a, **k): time.sleep(0.05); return real(*a, **k)
    core.write_safetensors = slow
    save_generator(tiny_generator(who), path, metadata={'who': who})


@pytest.mark.skipif(not ON_LINUX, reason='fork')
@pytest.mark.parametrize('native', [True, False], ids=['renameat2', 'link-mkdir'])
@pytest.mark.parametrize('kind', ['folder', 'generator'])
def test_two_savers_one_wins(tmp_path, native, kind):
    if native and core._RENAMEAT2 is None: pytest.skip('no renameat2 here')
    races, raced = 10, 0
    for r in range(races):
        dest = tmp_path / (f'rule{r}' if kind == 'folder' else f'g{r}.safetensors')
        target = _save_folder_slowly if kind == 'folder' else _save_generator_slowly
        out = _race(target, (dest,), native)
        winners = [w for w, res in out.items() if res == 'ok']
        assert len(winners) == 1 and set(out.values()) - {'ok'} <= {'raced', 'exists'}, out
        raced += 'raced' in out.values()
        if kind == 'folder': assert (dest / 'who.txt').read_text() == str(winners[0])
        else: assert generator_metadata(dest)['metadata']['who'] == winners[0]
        assert ours(tmp_path) == []
    print(f'{kind} ({"renameat2" if native else "link/mkdir"}): {races} races, exactly one winner each; '
          f'{raced} decided at the final rename')
    assert raced > 0


# ---------------------------------------------------------------- images

def test_16bit_image_is_scaled_by_depth_not_stretched(tmp_path):
    Image.fromarray(np.full((4, 4), 32768, dtype=np.uint16)).save(tmp_path / 'grey.png')
    assert load_image(tmp_path / 'grey.png').getpixel((0, 0)) == (128, 128, 128)
    Image.fromarray(np.array([[0, 65535]], dtype=np.uint16)).save(tmp_path / 'ramp.png')
    assert load_image(tmp_path / 'ramp.png').getpixel((1, 0)) == (255, 255, 255)


def test_animated_gif_uses_first_frame_and_says_so(tmp_path):
    frames = [Image.new('RGB', (8, 8), c) for c in ('red', 'lime', 'blue')]
    frames[0].save(tmp_path / 'a.gif', save_all=True, append_images=frames[1:])
    with pytest.warns(UserWarning, match='has 3 frames.*using the first frame'):
        img = load_image(tmp_path / 'a.gif')
    assert img.getpixel((0, 0)) == (255, 0, 0)


def test_non_image_files_get_errors_naming_them(tmp_path):
    from regen_nb.patterns import load_pattern
    (tmp_path / 'notes.png').write_text('hello')
    with pytest.raises(ValueError, match='notes.png is not an image file'): load_image(tmp_path / 'notes.png')
    with pytest.raises(ValueError, match='notes.png is not an image file'): load_pattern(tmp_path / 'notes.png')
    with pytest.raises(IsADirectoryError, match='is a folder'): load_image(tmp_path)


# ---------------------------------------------------------------- checkpoints

def test_empty_pt(tmp_path):
    (tmp_path / 'g.pt').write_bytes(b'')
    with pytest.raises(ValueError, match=r'g.pt is empty \(0 bytes\)'): load_generator(tmp_path / 'g.pt')


def test_missing_last_to_rgb_key_is_named():
    sd = tiny_generator().state_dict()
    sd = {k: v for k, v in sd.items() if not k.startswith('to_rgbs.1.')}
    with pytest.raises(ValueError, match=r'missing to_rgbs\.1\.conv\.weight'): load_generator(sd)


def test_regen_nb_header_not_json(tmp_path):
    sd = {k: v.contiguous() for k, v in tiny_generator().state_dict().items()}
    save_file(sd, str(tmp_path / 'g.safetensors'), metadata={'regen_nb': "{'format': oops"})
    with pytest.raises(ValueError, match='regen_nb header that is not JSON'): load_generator(tmp_path / 'g.safetensors')
    with pytest.raises(ValueError, match='regen_nb header that is not JSON'): generator_metadata(tmp_path / 'g.safetensors')


@pytest.mark.parametrize('source', [5, 2.5, ['g.pt']])
def test_load_generator_wrong_type(source):
    with pytest.raises(TypeError, match='source must be None'): load_generator(source)


@pytest.mark.parametrize('bad', [float('nan'), float('inf')])
def test_non_finite_weights_refused(tmp_path, bad):
    G = tiny_generator()
    with torch.no_grad(): G.convs[1].conv.weight[0, 0, 0, 0, 0] = bad
    path = save_generator(G, tmp_path / 'g.safetensors')
    with pytest.raises(ValueError, match=r'NaN or infinite weights \(convs\.1\.conv\.weight\)'): load_generator(path)


def test_cuda_without_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(ValueError, match="device='cuda' asks for a CUDA GPU"): get_device('cuda')
    with pytest.raises(ValueError, match='finds no CUDA GPU'): load_generator(tiny_generator().state_dict(), device='cuda')
    monkeypatch.setenv('REGEN_NB_DEVICE', 'cuda:0')
    with pytest.raises(ValueError, match=r'\$REGEN_NB_DEVICE'): get_device()


def test_projector_without_config(tmp_path):
    from regen_nb.projector import PROJECTOR_FORMAT, load_projector
    save_file({'w': torch.zeros(1)}, str(tmp_path / 'b.safetensors'),
              metadata={'regen_nb': json.dumps({'format': PROJECTOR_FORMAT, 'version': 1})})
    with pytest.raises(ValueError, match='without its config'): load_projector(tmp_path / 'b.safetensors')


# ---------------------------------------------------------------- the command line

def cli(*argv):
    "Run `regen_nb ARGV` in this process; return (exit code, stderr)."
    from regen_nb.cli import main
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try: main(list(argv)); code = 0
        except SystemExit as e: code = e.code
    return code, err.getvalue()


def one_line_error(code, err, contains):
    assert code not in (0, None), err
    assert err.startswith('regen_nb: error: ') and err.count('\n') == 1 and 'Traceback' not in err, err
    assert contains in err, err


@pytest.mark.parametrize('argv,contains', [
    (['sample', 'toy', '-n', '-5'], '-n=-5 is out of range'),
    (['sample', 'toy', '--truncation', 'nan'], '--truncation=nan is not a finite number'),
    (['sample', 'toy', '-n', 'five'], "invalid int value: 'five'"),
    (['sample', 'missing.pt', '-o', 'x.png'], 'no checkpoint file at missing.pt'),
    (['demo', '--steps', '0'], '--steps=0 is out of range'),
    (['rewrite', 'rule', '-o', 'out', '--steps', '0'], '--steps=0 is out of range'),
    (['bench'], 'the following arguments are required: what'),
])
def test_cli_user_errors_are_one_line(tmp_path, monkeypatch, argv, contains):
    monkeypatch.chdir(tmp_path)
    one_line_error(*cli(*argv), contains)
    assert list(tmp_path.iterdir()) == []                       # nothing written, no empty output folder


def test_cli_device_cuda_without_gpu(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path); monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    one_line_error(*cli('sample', 'toy', '--device', 'cuda'), 'finds no CUDA GPU')
    one_line_error(*cli('demo', '--device', 'cuda'), 'finds no CUDA GPU')


def test_cli_demo_and_sample_keep_existing_output(tmp_path):
    out = tmp_path / 'mine'; out.mkdir(); (out / 'before_after.png').write_bytes(b'my picture')
    one_line_error(*cli('demo', '-o', str(out), '--steps', '1'), 'pass --overwrite')
    assert (out / 'before_after.png').read_bytes() == b'my picture'
    grid = tmp_path / 'grid.png'; grid.write_bytes(b'my grid')
    one_line_error(*cli('sample', 'toy', '-n', '2', '-o', str(grid)), 'pass --overwrite')
    assert grid.read_bytes() == b'my grid'
    assert cli('sample', 'toy', '-n', '2', '-o', str(grid), '--overwrite')[0] == 0
    assert Image.open(grid).size[0] > 16


def test_cli_real_process_one_line_and_debug(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    cmd = [sys.executable, '-c', 'from regen_nb.cli import main; main()', 'sample', 'toy', '-n', '-5']
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert (r.returncode, r.stderr) == (1, 'regen_nb: error: -n=-5 is out of range; allowed: integers in [1, 10000]\n')
    r = subprocess.run(cmd + ['--debug'], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert r.returncode == 1 and 'Traceback' in r.stderr and 'ValueError: -n=-5' in r.stderr
