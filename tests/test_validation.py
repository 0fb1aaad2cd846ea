"""Parameter checks declared as data (``_validation.validate_params``)."""

import numpy as np
import pytest

from kmeanskit._validation import Interval, Kind, Names, Options, Rule, validate_params


def test_constraints_list_what_is_accepted():
    with pytest.raises(ValueError, match=r"^f: n must be an int in \[1, 5\] or one of 'auto'; got 7\.$"):
        validate_params({"n": 7}, {"n": [Interval(int, 1, 5), Options(("auto",))]}, "f")
    validate_params({"n": "auto"}, {"n": [Interval(int, 1, 5), Options(("auto",))]}, "f")
    validate_params({}, {"n": [Interval(int, 1, 5)]}, "f")  # absent names are skipped


def test_rules_carry_their_message_and_run_in_order():
    rules = {"a": Rule((Options(("x", "y")),), "a={a!r} is unknown; use 'x' or 'y' (b was {b})."),
             ("a", "b"): Rule((Kind(lambda v: not (v[0] == "x" and v[1]), "not both"),),
                              lambda values: f"a='x' takes no b, got b={values['b']}.")}
    with pytest.raises(ValueError, match=r"^a='z' is unknown; use 'x' or 'y' \(b was 1\)\.$"):
        validate_params({"a": "z", "b": 1}, rules, "f")
    with pytest.raises(ValueError, match=r"^a='x' takes no b, got b=1\.$"):
        validate_params({"a": "x", "b": 1}, rules, "f")
    validate_params({"a": "x", "b": 0}, rules, "f")


def test_names_follow_their_registry():
    registry = {"lloyd": 1}
    c = {"algorithm": [Names(registry, ("auto",))]}
    with pytest.raises(ValueError, match="one of 'auto', 'lloyd'; got 'fancy'"):
        validate_params({"algorithm": "fancy"}, c, "f")
    registry["fancy"] = 2
    validate_params({"algorithm": "fancy"}, c, "f")
    assert not Names(registry).accepts(np.float64(1.0))


def test_non_finite_input_names_the_problem_and_the_way_with_gaps():
    import kmeanskit
    from kmeanskit import KPrototypes

    X = np.random.default_rng(0).normal(size=(40, 3))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN; .*KPrototypes\(n_clusters, missing='ignore'\)"):
        kmeanskit.fit(X, 2, random_state=0)
    # the way out the message names works on the same rows
    assert KPrototypes(2, missing="ignore", random_state=0).fit(X).predict(X).shape == (40,)
    X[3, 1] = np.inf
    with pytest.raises(ValueError, match="X contains infinity; remove those rows"):
        kmeanskit.fit(X, 2, random_state=0)
