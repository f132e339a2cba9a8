"""Two gloo processes under torchrun train the same as one process running the same shards (tolerance: 1e-5 absolute on
every weight, from the order of floating-point sums in the all-reduce), for the GAN (with a resume in between) and the projector;
and a mean over held-out items sharded over them equals the one-process mean (tolerance 1e-6)."""
import json, os, subprocess, sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from regen_nb.distributed import gan_main, projector_main
from regen_nb.projector import load_projector
from regen_nb.stylegan import Generator, save_generator
from regen_nb.train_gan import preset_channels

ROOT = Path(__file__).resolve().parent.parent
TOL = 1e-5
GAN_ARGS = ['--size', '16', '--channels', 'tiny', '--style-dim', '32', '--n-mlp', '2', '--batch', '4', '--path-regularize', '2',
            '--seed', '3', '--device', 'cpu', '--ckpt-every', '100', '--sample-every', '0', '--log-every', '1', '--no-progress']
PROJ_ARGS = ['--batch-size', '4', '--device', 'cpu', '--no-progress',
             '--config', json.dumps(dict(scale_samples=8, base_channels=8, max_channels=16, n_blocks=1, disc_width=8))]


def torchrun(args, tmp, target=('-m', 'regen_nb.distributed')):
    "Run `python -m regen_nb.distributed ARGS` (or another `target`) in 2 gloo processes on the CPU; return its output."
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get('PYTHONPATH', ''), OMP_NUM_THREADS='1')
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2', *target, *args]
    r = subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout


def ckpt(run: Path) -> Path: return run / (run / 'latest').read_text().strip()


def max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)


def test_gan_two_processes_equal_one(tmp_path):
    out2 = tmp_path / 'two'
    log = torchrun(['gan', '--out', str(out2), '--steps', '2', *GAN_ARGS], tmp_path)
    assert 'effective batch 4 = 2 process(es) x 1 shard(s) x 2 images' in log
    torchrun(['gan', '--out', str(out2), '--steps', '5', '--resume', *GAN_ARGS], tmp_path)      # R1 at 0, path length at 0 and 4
    one = gan_main(['--out', str(tmp_path / 'one'), '--steps', '5', '--shards', '2', *GAN_ARGS])
    assert one['step'] == 5
    w1, w2 = (load_file(ckpt(p) / 'weights.safetensors') for p in (tmp_path / 'one', out2))
    d = max_diff(w1, w2)
    print('GAN: largest weight difference, 2 processes vs 1:', d)
    assert d < TOL
    m1, m2 = (json.loads((ckpt(p) / 'meta.json').read_text()) for p in (tmp_path / 'one', out2))
    assert m1['step'] == m2['step'] == 5
    assert abs(m1['mean_path_length'] - m2['mean_path_length']) < TOL and m1['mean_path_length'] > 0
    assert any('path' in h for h in m2['history']) and any('r1' in h for h in m2['history'])


def test_projector_two_processes_equal_one(tmp_path):
    torch.manual_seed(0)
    G = Generator(16, 32, 2, channels=preset_channels('tiny', 16)).eval()
    gen = save_generator(G, tmp_path / 'tiny.safetensors')
    common = ['--generator', str(gen), '--memory', 'convs.0', 'convs.1', '--steps', '3', *PROJ_ARGS]
    log = torchrun(['projector', '--out', str(tmp_path / 'two'), '--export', str(tmp_path / 'two.safetensors'), *common], tmp_path)
    assert 'effective batch 4 = 2 process(es) x 1 shard(s) x 2 samples' in log
    projector_main(['--out', str(tmp_path / 'one'), '--shards', '2', '--export', str(tmp_path / 'one.safetensors'), *common])
    B1, B2 = load_projector(tmp_path / 'one.safetensors'), load_projector(tmp_path / 'two.safetensors')
    d = max_diff(B1.state_dict(), B2.state_dict())
    print('projector: largest weight difference, 2 processes vs 1:', d)
    assert d < TOL
    assert B2.metadata['training']['distributed'] == {'processes': 2, 'shards': 2}
    assert B1.metadata['training']['steps'] == B2.metadata['training']['steps'] == 3


EVAL_SCRIPT = """
import json, torch
from regen_nb.distributed import end_distributed, init_distributed, item_latents, sharded_mean
from regen_nb.stylegan import Generator
from regen_nb.train_gan import preset_channels
torch.set_num_threads(1)
ctx = init_distributed('cpu')
torch.manual_seed(0); G = Generator(16, 32, 2, channels=preset_channels('tiny', 16)).eval()
with torch.no_grad():
    m = sharded_mean(lambda items: {'mean': G([item_latents(G, items, 100)], noise='fixed')[0].mean((1, 2, 3))}, 7, ctx)
if ctx.is_main: print('RESULT', json.dumps(m))
end_distributed()
"""


def test_sharded_mean_two_processes_equal_one(tmp_path):
    from regen_nb.distributed import DistContext, item_latents, sharded_mean
    script = tmp_path / 'evaluate.py'; script.write_text(EVAL_SCRIPT)
    out = torchrun([], tmp_path, target=(str(script),))
    two = json.loads(next(l for l in out.splitlines() if l.startswith('RESULT'))[len('RESULT'):])
    torch.manual_seed(0); G = Generator(16, 32, 2, channels=preset_channels('tiny', 16)).eval()
    with torch.no_grad():
        one = sharded_mean(lambda items: {'mean': G([item_latents(G, items, 100)], noise='fixed')[0].mean((1, 2, 3))}, 7, DistContext())
    assert abs(one['mean'] - two['mean']) < 1e-6, (one, two)
