"""--static answers from the pure model in spec.py; wherever it answers, it must equal real
Keras. Hypothesis draws random configurations over every layer, flag, merge mode and size."""

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rnnshape.rules.catalogue import LAYERS
from rnnshape.rules.options import MERGE_MODES
from rnnshape.rules.spec import make_spec
from rnnshape.runner import layer as layer_runner
from rnnshape.runner import stack as stack_runner

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow


@st.composite
def configurations(draw):
    bidirectional = draw(st.booleans())
    layer = draw(st.sampled_from(LAYERS))
    options = dict(
        layer=layer,
        reset_after=draw(st.sampled_from([None, True, False])) if layer == "gru" else None,
        units=draw(st.integers(1, 9)),
        timesteps=draw(st.integers(1, 7)),
        features=draw(st.integers(1, 6)),
        batch=draw(st.integers(1, 4)),
        return_sequences=draw(st.booleans()),
        return_state=draw(st.booleans()),
        stateful=draw(st.booleans()),
        go_backwards=draw(st.booleans()) and not bidirectional,  # Keras refuses Bidirectional(go_backwards)
        bidirectional=bidirectional,
        merge_mode=draw(st.sampled_from(MERGE_MODES)) if bidirectional else None,
    )
    spec = make_spec(**options)
    assume(spec.keras_refusal() is None)  # those are refused, tested below
    return spec


BATCHES = 30


@settings(max_examples=BATCHES, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(st.lists(configurations(), min_size=10, max_size=10))
def test_static_model_equals_keras_on_random_configurations(specs):
    # 30 examples x 10 configurations = 300 configurations, in batches so Keras is imported once.
    for spec, keras_says in zip(specs, layer_runner.keras_shapes(specs)):
        outputs = spec.outputs()
        assert keras_says["shapes"] == [t.shape for t in outputs], spec
        assert keras_says["symbolic"] == [t.shape for t in outputs], spec
        assert keras_says["dtypes"] == [t.dtype for t in outputs], spec
        assert keras_says["count_params"] == spec.param_total(), spec
        assert keras_says["weights"] == [(w.name, w.shape) for w in spec.weights()], spec


def test_static_refuses_what_keras_cannot_build_and_keras_really_fails(invoke):
    for flags in (["--go-backwards"], ["--stateful", "--return-state"]):
        static = invoke(["inspect", "--bidirectional", *flags, "--static"])
        assert static.exit_code == 2 and "drop --static" in static.stderr
        real = invoke(["inspect", "--bidirectional", *flags])
        assert real.exit_code == 3 and "Keras failed" in real.stderr


@st.composite
def stacks(draw):
    """Random token lists, compatible or not, as `rnnshape stack` takes them."""
    from rnnshape.rules.stack import parse_tokens

    words = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["lstm", "gru", "simplernn", "dense", "td", "repeat"]))
        n = draw(st.integers(1, 5))
        if kind in ("lstm", "gru", "simplernn"):
            bi, back = draw(st.booleans()), draw(st.booleans())
            noreset = kind == "gru" and draw(st.booleans())
            flags = [
                f
                for f, on in (
                    ("seq", draw(st.booleans())),
                    ("bi", bi),
                    ("back", back and not bi),
                    ("noreset", noreset),
                    ("nobias", draw(st.booleans())),
                    ("unroll", draw(st.booleans())),
                )
                if on
            ]
            if draw(st.booleans()):
                flags.append("act-" + draw(st.sampled_from(["relu", "sigmoid", "linear"])))
            words.append(":".join([kind, str(n), *flags]))
        else:
            words.append(f"{kind}:{n}")
    return parse_tokens(words)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(st.lists(stacks(), min_size=6, max_size=6), st.integers(1, 3), st.integers(1, 3), st.integers(1, 4))
def test_static_stack_model_equals_keras_on_random_stacks(token_lists, batch, features, timesteps):
    # 10 examples x 6 stacks = 60 random stacks, compatible or not, built as real keras Models.
    from rnnshape.rules.stack import plan_stack

    plans = [plan_stack(tokens, batch, timesteps, features) for tokens in token_lists]
    for plan, run in zip(plans, stack_runner.run_stacks([(plan, None) for plan in plans])):
        if plan.compatible:
            assert run.failed_index is None, (plan.command(), run.keras_message)
            assert [layer.output_shape for layer in plan.layers] == [r.output_shape for r in run.layers], plan.command()
            assert [layer.params for layer in plan.layers] == [r.params for r in run.layers], plan.command()
        else:
            assert run.failed_index == plan.problem.token.index, (plan.command(), run.keras_message)
