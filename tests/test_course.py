"""The exercises in `nbs/exercises/`: each solution passes its check, and the student's version a teacher hands out
(the solution stripped as `nbgrader generate_assignment` strips it) fails that check with a message that says why.

Stripping follows nbgrader's documented convention: the lines from `### BEGIN SOLUTION` to `### END SOLUTION` in a
cell whose metadata has `nbgrader.solution = true` are replaced by `raise NotImplementedError()`. Besides that, each
check must also reject an answer that runs but is trivially wrong (an empty body, or zeros)."""
import json, re
from pathlib import Path

import pytest

from regen_nb.course import ExerciseError

EXERCISES = sorted((Path(__file__).resolve().parent.parent / 'nbs' / 'exercises').glob('*.ipynb'))
SOLUTION = re.compile(r'^([ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION[ \t]*$', re.M | re.S)

# a trivially wrong answer per exercise: it runs, returns something of about the right kind, and is not the method
TRIVIAL = {'memory_layers': 'return []', 'semi_cycle': 'return torch.zeros(())', 'target_box': 'return np.zeros_like(mask)',
           'paste_values': 'return torch.zeros_like(value)', 'weighted_loss': 'return torch.zeros(())',
           'outside_psnr': 'return torch.zeros(len(before))', 'invert_face': 'return start'}
STRIPPED = {'raise': (lambda gid: 'raise NotImplementedError()', 'not written yet'),
            'pass': (lambda gid: 'pass', 'returned None'),
            'trivial': (lambda gid: TRIVIAL[gid], None)}


def strip_solution(src: str, body: str) -> str:
    "`src` with each solution region replaced by `body` at the region's indentation."
    out, n = SOLUTION.subn(lambda m: f'{m.group(1)}# YOUR CODE HERE\n{m.group(1)}{body}', src)
    assert n, 'no ### BEGIN SOLUTION / ### END SOLUTION region in a solution cell'
    return out


def _cells(nb: Path) -> list[dict]:
    return [c for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code']


def _grader(c: dict) -> dict: return c.get('metadata', {}).get('nbgrader', {})


def run_exercise(nb: Path, body: str | None = None) -> dict:
    "Run `nb`'s code cells up to its last check cell, with the solutions replaced by `body` (None: kept); its namespace."
    cells = _cells(nb)
    last = max(i for i, c in enumerate(cells) if _grader(c).get('grade'))
    ns = {'__name__': '__exercise__'}
    for c in cells[:last + 1]:
        src = ''.join(c['source'])
        if body is not None and _grader(c).get('solution'): src = strip_solution(src, body)
        exec(compile(src, f'{nb.name}', 'exec'), ns)
    return ns


def test_there_are_six_exercises_with_student_and_check_cells():
    assert len(EXERCISES) >= 6
    for nb in EXERCISES:
        cells = _cells(nb)
        sols = [c for c in cells if _grader(c).get('solution')]
        checks = [c for c in cells if _grader(c).get('grade')]
        assert len(sols) == 1 and SOLUTION.search(''.join(sols[0]['source'])), f'{nb.name}: one student cell with a solution region'
        assert checks and all('regen_nb.course' in ''.join(cells[0]['source']) + ''.join(c['source']) or 'check_' in ''.join(c['source']) for c in checks)
        ids = [_grader(c)['grade_id'] for c in sols + checks]
        assert len(ids) == len(set(ids)), f'{nb.name}: nbgrader grade_ids must be unique'
        assert _grader(sols[0])['grade_id'] in TRIVIAL, f'{nb.name}: add a trivially wrong answer for it to TRIVIAL'


@pytest.mark.parametrize('nb', EXERCISES, ids=[p.stem for p in EXERCISES])
def test_solution_passes(nb, capsys):
    run_exercise(nb)
    assert '✓' in capsys.readouterr().out


@pytest.mark.parametrize('how', list(STRIPPED))
@pytest.mark.parametrize('nb', EXERCISES, ids=[p.stem for p in EXERCISES])
def test_stripped_exercise_fails_with_a_reason(nb, how):
    gid = _grader(next(c for c in _cells(nb) if _grader(c).get('solution')))['grade_id']
    body, expect = STRIPPED[how]
    with pytest.raises(ExerciseError) as e: run_exercise(nb, body(gid))
    msg = str(e.value)
    assert f'`{gid}' in msg and len(msg) > 40, f'the message should name the function and say what is wrong: {msg!r}'
    if expect: assert expect in msg, msg
    print(f'{nb.stem} [{how}]: {msg}')


def test_strip_solution_like_nbgrader():
    src = 'def f(x):\n    "doc"\n    ### BEGIN SOLUTION\n    y = x + 1\n    return y\n    ### END SOLUTION\n'
    assert strip_solution(src, 'raise NotImplementedError()') == \
        'def f(x):\n    "doc"\n    # YOUR CODE HERE\n    raise NotImplementedError()\n'
