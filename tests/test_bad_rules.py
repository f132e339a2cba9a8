"""Bad rules and bad rewrite settings: each fails before any training, with a message that says what to do,
and a rewrite that diverges stops without returning (or changing) anything."""
import json

import numpy as np
import pytest
import torch

from regen_nb.patterns import load_pattern
from regen_nb.rewrite import RewriteConfig, rewrite
from regen_nb.rule import Rule, load_example_rule
from regen_nb.stylegan import load_generator

torch.set_num_threads(1)


@pytest.fixture(scope='module')
def G(): return load_generator()


@pytest.fixture(scope='module')
def rule(): return load_example_rule()


@pytest.fixture
def rule_folder(tmp_path, rule):
    return rule.save(tmp_path / 'rule')


def _edit_json(folder, **changes):
    meta = json.loads((folder / 'rule.json').read_text())
    meta.update(changes)
    (folder / 'rule.json').write_text(json.dumps({k: v for k, v in meta.items() if v is not ...}))


def test_rule_json_that_is_not_json(rule_folder):
    (rule_folder / 'rule.json').write_text('{"format": "regen_nb.rule", "target_s')
    with pytest.raises(ValueError, match=r'rule\.json is not valid JSON'):
        Rule.load(rule_folder)


def test_rule_json_without_target_seeds(rule_folder):
    _edit_json(rule_folder, target_seeds=...)
    with pytest.raises(ValueError, match="lacks 'target_seeds'"):
        Rule.load(rule_folder)


def test_rule_version_from_the_future(rule_folder):
    _edit_json(rule_folder, version=99)
    with pytest.raises(ValueError, match='upgrade regen_nb'):
        Rule.load(rule_folder)


def test_fractional_seeds_are_refused(rule_folder, rule):
    _edit_json(rule_folder, target_seeds=[1.5, 2, 3])
    with pytest.raises(ValueError, match=r'must be an integer, got 1\.5'):
        Rule.load(rule_folder)
    with pytest.raises(ValueError, match=r'target_seeds\[0\] must be an integer'):
        Rule(rule.source, rule.source_mask, [2.7], rule.target_masks[:1])
    assert Rule(rule.source, rule.source_mask, [2.0], rule.target_masks[:1]).target_seeds == [2]


def test_masks_with_nan_are_refused(rule):
    bad = rule.target_masks[0].astype(float)
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match=r'target_masks\[0\] has NaN'):
        Rule(rule.source, rule.source_mask, [1], [bad])


def test_empty_layer_list(G, rule):
    with pytest.raises(ValueError, match='layers is empty'):
        rewrite(G, rule, layers=[])


@pytest.mark.parametrize('setting, message', [(dict(grow=0), 'grow=0'), (dict(steps=0), 'steps=0'),
                                              (dict(lr=float('nan')), 'finite'), (dict(method='cubic'), 'method'),
                                              (dict(objective='pixels'), 'objective'), (dict(n_auto=-1), 'n_auto=-1')])
def test_bad_settings_fail_before_work(setting, message):
    with pytest.raises(ValueError, match=message):
        RewriteConfig(**setting)


def test_diverging_rewrite_stops_and_changes_nothing(G, rule):
    before = {k: v.clone() for k, v in G.state_dict().items()}
    with pytest.raises(FloatingPointError, match='diverged.*nothing was changed'):
        rewrite(G, rule, lr=100, steps=40, n_auto=4, progress=False)
    assert all(torch.equal(v, before[k]) for k, v in G.state_dict().items())
