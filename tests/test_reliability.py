"""Nothing lost from the command line either: atomic result folders, damaged weights refused, the inputs of the newer APIs
checked before work starts (issue 22). Kill tests reuse the fork-and-SIGKILL harness of test_bad_inputs, bounded in tries."""
import hashlib, json, os, random, shutil, signal, subprocess, sys, time, warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open

import regen_nb.core as core
from regen_nb.core import read_safetensors, recover_path, save_weights, write_safetensors
from test_bad_inputs import FORK, ON_LINUX, cli, one_line_error, ours, tiny_generator

torch.set_num_threads(1)
RULE = None


def error_after_progress(code, err, contains):
    "Like `one_line_error`, after the progress bar a long job draws on stderr (carriage returns, no newline)."
    assert code == 1 and err.count('\n') == 1 and 'Traceback' not in err and 'bug in regen_nb' not in err, err
    line = err.rsplit('\r', 1)[-1].lstrip()
    assert line.startswith('regen_nb: error: ') and contains in line, err
    return line


def shipped_rule():
    from regen_nb.rule import shipped_rule_path
    return str(shipped_rule_path())


# ---------------------------------------------------------------- 1. every command refuses an existing result folder

@pytest.mark.parametrize('model', ['generator', 'inpainter', 'translator'])
def test_cli_rewrite_keeps_the_users_files(tmp_path, model):
    out = tmp_path / 'mine'; out.mkdir()
    (out / 'metrics.json').write_text('my measures'); (out / 'before_after.png').write_bytes(b'my picture')
    rule = shipped_rule() if model == 'generator' else 'eyes_to_star'
    one_line_error(*cli('rewrite', rule, '--model', model, '-o', str(out), '--steps', '1', '--n-eval', '1'), 'pass --overwrite')
    # with --overwrite too: these files are the user's, not regen_nb's, so they are never replaced
    one_line_error(*cli('rewrite', rule, '--model', model, '-o', str(out), '--steps', '1', '--n-eval', '1', '--overwrite'),
                   'regen_nb did not write there')
    assert (out / 'metrics.json').read_text() == 'my measures' and (out / 'before_after.png').read_bytes() == b'my picture'
    assert sorted(p.name for p in out.iterdir()) == ['before_after.png', 'metrics.json']


def test_cli_rewrite_replaces_its_own_results_only_with_overwrite(tmp_path):
    out = tmp_path / 'res'
    assert cli('rewrite', shipped_rule(), '-o', str(out), '--steps', '1', '--n-eval', '1')[0] == 0
    assert sorted(p.name for p in out.iterdir()) == ['.regen_nb.json', 'before_after.png', 'generator.safetensors', 'metrics.json']
    one_line_error(*cli('rewrite', shipped_rule(), '-o', str(out), '--steps', '2', '--n-eval', '1'), 'pass --overwrite')
    assert json.loads((out / 'metrics.json').read_text())['config']['steps'] == 1
    assert cli('rewrite', shipped_rule(), '-o', str(out), '--steps', '2', '--n-eval', '1', '--overwrite')[0] == 0
    assert json.loads((out / 'metrics.json').read_text())['config']['steps'] == 2
    assert ours(tmp_path) == []


# ---------------------------------------------------------------- 2. a kill during `demo --overwrite`: old or new, never mixed

DEMO = ['--n-eval', '1', '-n', '1']


def _demo_forever(dest, ready):
    from regen_nb.cli import run
    import contextlib, io
    k = 0
    with contextlib.redirect_stderr(io.StringIO()):
        while True:
            run(['demo', '-o', str(dest), '--overwrite', '--steps', str(1 + k % 2)] + DEMO)
            ready.set(); k += 1


def _digest(p): return hashlib.sha1(p.read_bytes()).hexdigest()


@pytest.mark.skipif(not ON_LINUX, reason='SIGKILL and fork')
def test_cli_demo_overwrite_survives_sigkill(tmp_path):
    from regen_nb.cli import run
    dest, refs = tmp_path / 'demo', {}
    for steps in (1, 2):                                              # the two complete versions the killed process writes
        run(['demo', '-o', str(dest), '--overwrite', '--steps', str(steps)] + DEMO)
        refs[steps] = (_digest(dest / 'before_after.png'), _digest(dest / 'rule.png'))
    assert refs[1][0] != refs[2][0]                                   # the versions are told apart by their picture
    rng, tries, seen, litter = random.Random(22), 6, set(), 0
    t0 = time.perf_counter(); run(['demo', '-o', str(dest), '--overwrite', '--steps', '1'] + DEMO); one = time.perf_counter() - t0
    for t in range(tries):
        ready = FORK.Event()
        p = FORK.Process(target=_demo_forever, args=(dest, ready), daemon=True); p.start()
        assert ready.wait(120), 'the demo never finished'
        time.sleep(rng.uniform(0, 2 * one))
        os.kill(p.pid, signal.SIGKILL); p.join()
        litter += len(ours(tmp_path))
        recover_path(dest)
        files = sorted(f.name for f in dest.iterdir())
        assert files == ['.regen_nb.json', 'before_after.png', 'metrics.json', 'rule.png'], files
        steps = json.loads((dest / 'metrics.json').read_text())['config']['steps']
        assert (_digest(dest / 'before_after.png'), _digest(dest / 'rule.png')) == refs[steps], f'try {t}: a mixed folder'
        assert ours(tmp_path) == []
        seen.add(steps)
    print(f'demo --overwrite: {tries} kills (one run {one:.1f} s), versions seen {sorted(seen)}, {litter} temporaries cleaned')


def _rewrite_forever(dest, ready):
    from regen_nb.cli import run
    import contextlib, io
    k = 0
    with contextlib.redirect_stderr(io.StringIO()):
        while True:
            run(['rewrite', shipped_rule(), '-o', str(dest), '--overwrite', '--steps', str(1 + k % 2), '--n-eval', '1'])
            ready.set(); k += 1


def _rewrite_digest(d):
    "The picture and the weights (not the header, which holds the run's timing) of a `rewrite` result folder."
    with safe_open(str(d / 'generator.safetensors'), framework='pt') as f:
        w = hashlib.sha1(b''.join(f.get_tensor(k).numpy().tobytes() for k in sorted(f.keys()))).hexdigest()
    return _digest(d / 'before_after.png'), w


@pytest.mark.skipif(not ON_LINUX, reason='SIGKILL and fork')
def test_cli_rewrite_overwrite_survives_sigkill(tmp_path):
    "`rewrite -o DIR --overwrite` killed at random moments: DIR holds one complete version, read as it is (no recovery first)."
    from regen_nb.cli import run
    dest, refs, run_s = tmp_path / 'res', {}, 0.0
    for steps in (1, 2):
        t0 = time.perf_counter()
        run(['rewrite', shipped_rule(), '-o', str(dest), '--overwrite', '--steps', str(steps), '--n-eval', '1'])
        run_s = max(run_s, time.perf_counter() - t0); refs[steps] = _rewrite_digest(dest)
    assert refs[1] != refs[2]
    rng, seen = random.Random(7), set()
    for t in range(5):
        ready = FORK.Event()
        p = FORK.Process(target=_rewrite_forever, args=(dest, ready), daemon=True); p.start()
        assert ready.wait(120), 'the rewrite never finished'
        time.sleep(rng.uniform(0, 2 * run_s))
        os.kill(p.pid, signal.SIGKILL); p.join()
        assert sorted(f.name for f in dest.iterdir()) == ['.regen_nb.json', 'before_after.png', 'generator.safetensors', 'metrics.json']
        steps = json.loads((dest / 'metrics.json').read_text())['config']['steps']
        assert _rewrite_digest(dest) == refs[steps], f'try {t}: a mixed folder'
        seen.add(steps)
    code, err = cli('rewrite', shipped_rule(), '-o', str(dest), '--overwrite', '--steps', '1', '--n-eval', '1')
    assert code == 0, err
    assert ours(tmp_path) == []                                       # the next run cleared what the kills left
    print(f'rewrite --overwrite: 5 kills (one run {run_s:.1f} s), versions seen {sorted(seen)}')


# ---------------------------------------------------------------- 3. a full disk: the old folder survives, the error says so

@pytest.fixture
def small_disk(tmp_path):
    if not ON_LINUX or os.geteuid() != 0: pytest.skip('needs root to mount a small tmpfs')
    mnt = tmp_path / 'disk'; mnt.mkdir()
    if subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', str(mnt)], capture_output=True).returncode:
        pytest.skip('cannot mount a tmpfs here')
    yield mnt
    subprocess.run(['umount', '-l', str(mnt)])


def test_cli_demo_on_a_full_disk_keeps_the_old_folder(small_disk):
    out = small_disk / 'demo'
    assert cli('demo', '-o', str(out), '--steps', '1', *DEMO)[0] == 0
    before = {f.name: f.read_bytes() for f in out.iterdir()}
    filler, free = small_disk / 'filler', shutil.disk_usage(small_disk).free
    filler.write_bytes(b'\0' * max(0, free - 8192))                  # leave 8 kB: too little for the new pictures
    code, err = cli('demo', '-o', str(out), '--overwrite', '--steps', '2', *DEMO)
    print(error_after_progress(code, err, 'the disk is full'), end='')
    assert {f.name: f.read_bytes() for f in out.iterdir()} == before  # old folder, complete and unchanged
    assert ours(small_disk) == []


# ---------------------------------------------------------------- 4. weights: no safetensors temporaries, normal permissions

def _save_weights_forever(path, ready):
    t = {'w': torch.randn(1 << 20)}                                  # 4 MB, so that kills land inside the write
    while True:
        save_weights(t, path, {'format': 'regen_nb.test/1'}, overwrite=True); ready.set()


@pytest.mark.skipif(not ON_LINUX, reason='SIGKILL and fork')
def test_killed_weight_saves_leave_nothing_behind(tmp_path):
    path, rng, left = tmp_path / 'w.safetensors', random.Random(4), 0
    for t in range(15):
        ready = FORK.Event()
        p = FORK.Process(target=_save_weights_forever, args=(path, ready), daemon=True); p.start()
        assert ready.wait(60); time.sleep(rng.uniform(0, 0.1))
        os.kill(p.pid, signal.SIGKILL); p.join()
        left += len(ours(tmp_path))
        recover_path(path)
        assert sorted(f.name for f in tmp_path.iterdir()) == ['w.safetensors'], list(tmp_path.iterdir())   # no .tmpXXXXXX
        assert read_safetensors(path)[1]['w'].shape == (1 << 20,)
    print(f'save_weights: 15 kills, {left} of the library\'s own temporaries cleaned, none of any other kind')


@pytest.mark.parametrize('umask', [0o022, 0o002, 0o077])
def test_saved_weights_have_normal_permissions(tmp_path, umask):
    from regen_nb.stylegan import save_generator
    old = os.umask(umask)
    try:
        paths = [save_weights({'w': torch.ones(2)}, tmp_path / 'a.safetensors', {'format': 'x'}),
                 save_generator(tiny_generator(), tmp_path / 'g.safetensors')]
        (tmp_path / 'plain.txt').write_text('x')
    finally: os.umask(old)
    want = (tmp_path / 'plain.txt').stat().st_mode & 0o777
    assert want == 0o666 & ~umask
    for p in paths: assert p.stat().st_mode & 0o777 == want, (p, oct(p.stat().st_mode))


# ---------------------------------------------------------------- damaged or hostile weight files

def _loaders():
    from regen_nb.core import shipped_path
    from regen_nb.edit_style import load_attributes_text, load_latent_warp
    from regen_nb.encoder import load_encoder
    from regen_nb.inpaint import load_inpainter
    from regen_nb.local_edit import load_local_editor
    from regen_nb.parts import load_part_parser
    from regen_nb.projector import load_projector
    from regen_nb.stylegan import load_generator
    from regen_nb.translate import load_translator
    return {'generator': (load_generator, shipped_path('generator')), 'projector': (load_projector, shipped_path('projector')),
            'encoder': (load_encoder, shipped_path('encoder')), 'inpainter': (load_inpainter, shipped_path('inpainter')),
            'translator': (load_translator, shipped_path('translator')), 'local editor': (load_local_editor, shipped_path('local_editor')),
            'attributes/text': (load_attributes_text, shipped_path('attributes_text')), 'latent warp': (load_latent_warp, shipped_path('latent_warp')),
            'part parser': (load_part_parser, shipped_path('part_parser'))}

LOADERS = ['generator', 'projector', 'encoder', 'inpainter', 'translator', 'local editor', 'attributes/text', 'latent warp', 'part parser']


def _damaged_copy(src: Path, dst: Path, how: str) -> str:
    "Copy the weight file `src` to `dst` with its largest floating tensor damaged (`nan`, `inf` or random bytes); return its name."
    with safe_open(str(src), framework='pt') as f: meta, t = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    name = max((k for k in t if t[k].is_floating_point()), key=lambda k: t[k].numel())
    v = t[name].clone()
    if how == 'random bytes':
        raw = np.random.default_rng(0).integers(0, 256, v.numel() * v.element_size(), dtype=np.uint8)
        v = torch.from_numpy(raw.view({2: np.float16, 4: np.float32}[v.element_size()]).copy()).to(v.dtype).view(v.shape)
    else: v.view(-1)[v.numel() // 2] = float(how)
    write_safetensors(dict(t, **{name: v}), dst, meta)
    return name


@pytest.mark.parametrize('how', ['nan', 'inf', 'random bytes'])
@pytest.mark.parametrize('what', LOADERS)
def test_every_loader_refuses_damaged_weights(tmp_path, what, how):
    load, src = _loaders()[what]
    if not src.exists(): pytest.skip(f'{src.name} is not shipped')
    bad = tmp_path / src.name
    name = _damaged_copy(src, bad, how)
    with pytest.raises(ValueError, match='NaN or infinite weights') as e: load(bad)
    assert str(bad) in str(e.value) and name in str(e.value), str(e.value)


@pytest.mark.parametrize('what', LOADERS)
def test_every_loader_names_a_file_with_a_tensor_missing(tmp_path, what):
    "A file that lost a tensor is a ValueError naming it in all nine loaders (not torch's RuntimeError, not a KeyError)."
    load, src = _loaders()[what]
    if not src.exists(): pytest.skip(f'{src.name} is not shipped')
    with safe_open(str(src), framework='pt') as f: meta, t = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    bad = tmp_path / src.name
    write_safetensors({k: v for k, v in t.items() if k != sorted(t)[0]}, bad, meta)
    with pytest.raises(ValueError) as e: load(bad)
    assert str(bad) in str(e.value), str(e.value)


# ---------------------------------------------------------------- the four resumers

def _checkpoints(tmp_path):
    "One checkpoint folder per resumer (written at step 0, no training), and how each resumes."
    from regen_nb.decompose import decompose
    from regen_nb.distill import DistillConfig, DistillTrainer
    from regen_nb.encoder import EncoderConfig, EncoderTrainer, load_encoder
    from regen_nb.local_edit import LocalEditConfig, LocalEditTrainer
    load_local = LocalEditTrainer.load_checkpoint
    from regen_nb.projector import ProjectorConfig, ProjectorTrainer
    from regen_nb.stylegan import load_generator
    from regen_nb.train_gan import GANTrainConfig, GANTrainer
    net = decompose(load_generator(device='cpu'))
    made = {'gan': (GANTrainer(GANTrainConfig(batch=2), device='cpu'), lambda d: GANTrainer.load_checkpoint(d, device='cpu')),
            'projector': (ProjectorTrainer(net, ProjectorConfig(batch_size=2), 'cpu'), lambda d: ProjectorTrainer.load_checkpoint(net, d, 'cpu')),
            'encoder': (EncoderTrainer(net, EncoderConfig(), 'cpu'), lambda d: EncoderTrainer.load_checkpoint(net, d, 'cpu')),
            'local edit': (LocalEditTrainer(net, load_encoder(G=net), LocalEditConfig(batch_size=2)), lambda d: load_local(net, load_encoder(G=net), d)),
            # the distillation trainer inherits GANTrainer.load_checkpoint: its checks must hold there too
            'distill': (DistillTrainer(DistillConfig(batch=2, stats_faces=50), device='cpu'), lambda d: DistillTrainer.load_checkpoint(d, device='cpu'))}
    out = {}
    for k, (tr, resume) in made.items():
        tr.save_checkpoint(tmp_path / k.replace(' ', '_')); out[k] = (tmp_path / k.replace(' ', '_'), resume)
    return out


def test_resumers_refuse_damaged_weights_and_a_crafted_latest(tmp_path):
    "The four resumers and DistillTrainer's (inherited) one: NaN weights named, `latest` may not lead out of the run folder."
    ckpts = _checkpoints(tmp_path)
    assert len(ckpts) == 5
    (tmp_path / 'elsewhere').mkdir()
    for what, (run_dir, resume) in ckpts.items():
        resume(run_dir)                                                    # the checkpoint as written resumes
        ckpt = run_dir / (run_dir / 'latest').read_text()
        w = ckpt / 'weights.safetensors'
        good = w.read_bytes()
        name = _damaged_copy(w, w, 'nan')
        with pytest.raises(ValueError, match='NaN or infinite weights') as e: resume(run_dir)
        assert str(w) in str(e.value) and name in str(e.value), (what, str(e.value))
        w.write_bytes(good)
        shutil.copytree(ckpt, tmp_path / 'elsewhere' / what)                # a checkpoint outside the run folder
        (run_dir / 'ckpt-0000009').symlink_to(tmp_path / 'elsewhere' / what)   # a ckpt-* name inside that leads outside
        for crafted in (f'../elsewhere/{what}', str(tmp_path / 'elsewhere' / what), 'ckpt-9999999', f'{ckpt.name}/../../elsewhere/{what}',
                        'ckpt-0000009'):
            (run_dir / 'latest').write_text(crafted)
            with pytest.raises(ValueError, match='not a checkpoint folder'): resume(run_dir)


# ---------------------------------------------------------------- LocalEditor.edit inputs

@pytest.fixture(scope='module')
def editor():
    from regen_nb.edit_style import load_attributes_text
    from regen_nb.local_editor import LocalEditor
    attrs, text = load_attributes_text()
    return LocalEditor(attributes=attrs, text=text)


@pytest.fixture(scope='module')
def face():
    from regen_nb.toyfaces import toy_face
    from regen_nb.core import to_tensor
    f = toy_face(3)
    mask = torch.zeros(64, 64, dtype=torch.bool); mask[36:50, 20:44] = True
    return f, to_tensor(f.image), mask


def test_edit_changes_only_inside_a_hard_mask_and_takes_pil(editor, face):
    from regen_nb.core import to_tensor
    from regen_nb.toyfaces import toy_face
    f, img, mask = face
    a = editor.edit(img, mask, caption='a face with blonde hair')
    b = editor.edit(f.image, mask, caption='a face with blonde hair')      # a PIL image works too
    torch.testing.assert_close(a, b)
    assert torch.equal(a[0][:, ~mask], img[:, ~mask])
    other = toy_face(5)                                                     # guides as PIL images: the colour map and a sketch
    c = editor.edit(img, mask, colour=to_tensor(other.image), sketch=torch.from_numpy(other.sketch > 127))
    d = editor.edit(f.image, mask, colour=other.image, sketch=Image.fromarray(other.sketch))
    torch.testing.assert_close(c, d)
    assert torch.equal(d[0][:, ~mask], img[:, ~mask])


@pytest.mark.parametrize('case, match', [
    ('soft mask', 'only 0 and 1'), ('nan mask', 'NaN or infinite'), ('nan pixel', 'NaN or infinite'),
    ('nan colour guide', 'NaN or infinite'), ('nan exemplar', 'NaN or infinite'), ('nan attribute', 'finite numbers'),
    ('unknown caption', 'does not know: zzz, qqq'), ('0..255 image', 'in \\[-1, 1\\]'),
    ('0..255 colour guide', 'colour has values up to .* in \\[-1, 1\\]')])
def test_edit_refuses_bad_inputs(editor, face, case, match):
    f, img, mask = face
    kw = dict(image=img, mask=mask)
    nan_img = img.clone(); nan_img[0, 5, 5] = float('nan')
    if case == 'soft mask': kw['mask'] = mask.float() * 0.3
    if case == 'nan mask': kw['mask'] = torch.where(mask, torch.tensor(float('nan')), torch.tensor(0.))
    if case == 'nan pixel': kw['image'] = nan_img
    if case == 'nan colour guide': kw['colour'] = nan_img
    if case == 'nan exemplar': kw['exemplar'] = nan_img
    if case == 'nan attribute': kw['attributes'] = {'smile': float('nan')}
    if case == 'unknown caption': kw['caption'] = 'zzz qqq'
    if case == '0..255 image': kw['image'] = (img + 1) * 127.5
    if case == '0..255 colour guide': kw['colour'] = (img + 1) * 127.5
    with pytest.raises(ValueError, match=match): editor.edit(**kw)


# ---------------------------------------------------------------- inversion

@pytest.fixture(scope='module')
def net():
    from regen_nb.decompose import decompose
    from regen_nb.stylegan import load_generator
    return decompose(load_generator(device='cpu'))


def test_inversion_refuses_non_finite_pictures(net, face):
    from regen_nb.encoder import invert_encoder, invert_image
    from regen_nb.invert import invert, invert_multicode
    for bad in (float('nan'), float('inf')):
        x = face[1].clone()[None]; x[0, 1, 2, 3] = bad
        for call in (lambda: invert(net, x, steps=1, progress=False), lambda: invert_multicode(net, x, steps=1, progress=False),
                     lambda: invert_encoder(net, x), lambda: invert_image(net, x, 'in-domain', steps=1, progress=False)):
            with pytest.raises(ValueError, match='NaN or infinite pixel values'): call()


@pytest.mark.parametrize('lr', [1e30, 5e37])
def test_diverging_inversion_stops_with_a_message(net, face, lr):
    from regen_nb.invert import invert, invert_multicode
    for call in (invert, invert_multicode):
        with pytest.raises(FloatingPointError, match=r'inversion diverged.*Lower lr'):
            call(net, face[1][None], steps=5, lr=lr, progress=False)


def test_invert_hole_of_another_size_is_an_error(tmp_path):
    Image.new('RGB', (64, 64), 'white').save(tmp_path / 'face.png'); Image.new('L', (32, 32), 255).save(tmp_path / 'hole.png')
    one_line_error(*cli('invert', str(tmp_path / 'face.png'), '-o', str(tmp_path / 'out'), '--task', 'inpaint',
                        '--hole', str(tmp_path / 'hole.png'), '--steps', '1'), 'is 32×32 but the image is 64×64')
    assert not (tmp_path / 'out').exists()


def test_known_mask_says_when_it_resizes_a_hole():
    from regen_nb.invert import known_mask
    with pytest.warns(UserWarning, match='resizing the 32×32 hole to 64×64'): known_mask(torch.ones(32, 32).tril(), 1, 64)


def test_tiny_pattern_warns():
    from regen_nb.patterns import load_pattern
    with pytest.warns(UserWarning, match='only 1×1 pixels'): load_pattern(Image.new('RGB', (1, 1), 'red'), 64)
    with warnings.catch_warnings():
        warnings.simplefilter('error'); load_pattern(Image.new('RGB', (40, 40), 'red'), 64)   # mild enlargement: quiet


# ---------------------------------------------------------------- rewriting: no ruined model comes out

def test_rewrite_with_absurd_lr_stops_and_changes_nothing():
    from regen_nb.rewrite import rewrite
    from regen_nb.rule import load_example_rule
    from regen_nb.stylegan import load_generator
    G, rule = load_generator(device='cpu'), load_example_rule()
    before = {k: v.clone() for k, v in G.state_dict().items()}
    for lr in (1e20, 5e37):
        with pytest.raises(FloatingPointError, match='diverged.*nothing was changed'):
            rewrite(G, rule, lr=lr, steps=3, n_auto=2, progress=False)
    assert all(torch.equal(v, before[k]) for k, v in G.state_dict().items())


@pytest.mark.parametrize('argv', [['--model', 'translator', '--lr', '1e30'], ['--lr', '5e37'], ['--lr', '1e20']])
def test_cli_rewrite_never_writes_a_ruined_model(tmp_path, argv):
    rule = 'eyes_to_star' if 'translator' in argv else shipped_rule()
    code, err = cli('rewrite', rule, '-o', str(tmp_path / 'out'), '--steps', '3', '--n-eval', '1', *argv)
    error_after_progress(code, err, 'regen_nb: error: the rewrite diverged')
    assert not (tmp_path / 'out').exists() and ours(tmp_path) == []


def test_cli_holes_only_with_inpaint(tmp_path):
    one_line_error(*cli('rewrite', 'eyes_to_star', '--model', 'translator', '--holes', 'nose', '-o', str(tmp_path / 'o')),
                   '--holes is only used with --model inpainter')
    assert not (tmp_path / 'o').exists()


# ---------------------------------------------------------------- files and pictures

def test_projector_without_metadata_is_refused_at_load(tmp_path):
    from regen_nb.projector import load_projector, save_projector
    B = load_projector(); B.metadata = {}
    with pytest.raises(ValueError, match='without its metadata'): load_projector(save_projector(B, tmp_path / 'b.safetensors'))


def test_8bit_pictures_held_as_I_or_I16_keep_their_brightness():
    from regen_nb.core import load_image
    grey = Image.new('L', (4, 4), 200)
    for mode in ('I', 'I;16'): assert load_image(grey.convert(mode)).getpixel((0, 0)) == (200, 200, 200), mode
    assert load_image(Image.fromarray(np.full((4, 4), 51400, dtype=np.uint16))).getpixel((0, 0)) == (200, 200, 200)


def test_float_pictures_with_nan_are_refused(tmp_path):
    "A float ('F') TIFF can hold NaN: it is an error, in load_image and in `regen_nb invert`, not a black pixel."
    from regen_nb.core import load_image
    a = np.full((64, 64), 0.5, np.float32); a[3, 3] = np.nan
    Image.fromarray(a, 'F').save(tmp_path / 'nan.tif')
    with pytest.raises(ValueError, match='NaN or infinite pixel values'): load_image(tmp_path / 'nan.tif')
    a[3, 3] = np.inf
    with pytest.raises(ValueError, match='NaN or infinite pixel values'): load_image(Image.fromarray(a, 'F'))
    a[3, 3] = 0.5
    assert load_image(Image.fromarray(a, 'F')).getpixel((3, 3)) == (128, 128, 128)
    one_line_error(*cli('invert', str(tmp_path / 'nan.tif'), '-o', str(tmp_path / 'out'), '--steps', '1'), 'NaN or infinite pixel values')
    assert not (tmp_path / 'out').exists()


def test_torch_pickle_protocol_warning_is_not_printed(tmp_path):
    from regen_nb.stylegan import load_generator
    sd = tiny_generator().state_dict()
    torch.save({'g_ema': sd}, tmp_path / 'p2.pt')
    torch.save({'g_ema': sd}, tmp_path / 'p4.pt', pickle_protocol=4)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        load_generator(tmp_path / 'p2.pt')
        with pytest.raises(ValueError, match='pickle protocol 4'): load_generator(tmp_path / 'p4.pt')
    code, err = cli('sample', str(tmp_path / 'p4.pt'), '-o', str(tmp_path / 'g.png'))
    one_line_error(code, err, 'pickle protocol 4')
    assert 'warning' not in err
