"""The pure rules of stateful --fit/--windows/--save-load, and their usage errors (no TensorFlow)."""

import pytest
from click.testing import CliRunner

from rnnshape.cli import cli
from rnnshape.errors import UsageError
from rnnshape.rules import stateful_loops as loops


def test_one_loop_at_a_time_and_the_fit_only_flags():
    assert loops.chosen_loop(None, None, False, False, False) is None
    assert loops.chosen_loop(3, None, False, True, True) == "fit"
    assert loops.chosen_loop(None, 4, False, False, False) == "windows"
    assert loops.chosen_loop(None, None, True, False, False) == "save_load"
    with pytest.raises(UsageError, match="--windows: choose one of --fit, --windows and --save-load"):
        loops.chosen_loop(2, 3, False, False, False)
    with pytest.raises(UsageError, match="--shuffle: it changes the training loop of --fit"):
        loops.chosen_loop(None, None, True, True, False)
    with pytest.raises(UsageError, match="--fit: 0 is not a number of epochs"):
        loops.chosen_loop(0, None, False, False, False)


def test_fit_chunks_and_the_arrangement():
    assert loops.fit_chunk(200, None) == 20
    assert loops.fit_chunk(30, None) == 15
    assert loops.fit_chunk(7, None) == 1  # a prime: chunks of one step
    assert loops.fit_chunk(12, (4, 4, 4)) == 4
    with pytest.raises(UsageError, match="same length"):
        loops.fit_chunk(6, (2, 4))
    plan = loops.FitPlan(series=2, chunks=3, chunk=5, epochs=1, shuffle=False, reset=True)
    assert [plan.sample(i) for i in range(6)] == [(0, 0), (1, 0), (0, 1), (1, 1), (0, 2), (1, 2)]
    assert plan.steps(2) == (10, 15)
    assert plan.keras_loop() == (
        "for epoch in range(1): layer.reset_state(); model.fit(X, y, epochs=1, batch_size=2, shuffle=False)"
    )


def test_what_a_row_has_read_is_merged_where_it_continues():
    assert loops.history_text([]) == "nothing (zeros)"
    assert loops.history_text([(0, 0, 20), (0, 20, 40)]) == "series 1 steps 1..40"
    assert loops.history_text([(0, 0, 20), (1, 40, 60)]) == "series 1 steps 1..20, series 2 steps 41..60"
    assert loops.window_read_steps(2, 3) == [1, 2, 3, 2, 3, 4]
    assert loops.window_count(8, 3) == 6
    with pytest.raises(UsageError, match="look_back 9 is longer than the series"):
        loops.window_count(8, 9)


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--fit", "2", "--windows", "3"], "choose one of --fit, --windows and --save-load"),
        (["--no-reset"], "--no-reset: it changes the training loop of --fit EPOCHS only"),
        (["--fit", "2", "--backend", "torch"], "--backend: torch: Keras on torch cannot train a stateful layer"),
        (["--fit", "2", "--bidirectional"], "--bidirectional: --fit runs a forward layer"),
        (["--fit", "2", "--dropout", "0.2"], "--dropout"),
        (["--fit", "2", "--timesteps", "12", "--split", "4,8"], "--split: --fit feeds model.fit one array"),
        (["--windows", "9", "--timesteps", "8"], "look_back 9 is longer than the series (8 steps)"),
        (["--save-load", "--timesteps", "1"], "--save-load feeds one chunk before saving"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args, needle):
    result = CliRunner().invoke(cli, ["stateful", *args])
    assert result.exit_code == 2, result.output
    assert needle in result.output and len(result.output.strip().splitlines()) == 1
