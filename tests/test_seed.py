"""COURSE_SEED moves every seed of the course, so a rerun under another value checks that the
notebooks' claims hold on any seed; unset, the stored outputs' seeds are used unchanged."""

import numpy as np
import pytest
import torch

from utils import course_seed, numpy_rng, set_seed, torch_generator


def test_unset_keeps_the_course_seeds(monkeypatch):
    monkeypatch.delenv("COURSE_SEED", raising=False)
    assert [course_seed(s) for s in (0, 1, 42)] == [0, 1, 42]


def test_set_moves_every_seed_and_keeps_them_distinct(monkeypatch):
    monkeypatch.setenv("COURSE_SEED", "3")
    moved = [course_seed(s) for s in range(50)]
    assert len(set(moved)) == 50 and moved != list(range(50))
    assert moved == [course_seed(s) for s in range(50)], "the same COURSE_SEED gives the same seeds"
    monkeypatch.setenv("COURSE_SEED", "4")
    assert [course_seed(s) for s in range(50)] != moved


def test_all_generators_follow_it(monkeypatch):
    draws = {}
    for value in ("", "7"):
        monkeypatch.setenv("COURSE_SEED", value)
        set_seed(42)
        draws[value] = (
            torch.rand(3),
            np.random.rand(3),
            torch.rand(3, generator=torch_generator(0)),
            numpy_rng(0).random(3),
        )
    for a, b in zip(draws[""], draws["7"], strict=True):
        assert not np.allclose(np.asarray(a), np.asarray(b))


def test_bad_value_is_named(monkeypatch):
    monkeypatch.setenv("COURSE_SEED", "abc")
    with pytest.raises(ValueError, match="COURSE_SEED='abc' is not a whole number"):
        set_seed(0)
