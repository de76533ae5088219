"""The individual matchers on small, readable cases (no model needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from podium.experts.schema_match.names import humanize, tokenize
from podium.experts.schema_match.signals import (
    name_similarity,
    numeric_similarity,
    token_similarity,
    type_compatibility,
    value_overlap,
)
from podium.experts.schema_match.tables import profile_frame


def test_tokenize_splits_snake_camel_and_digits() -> None:
    assert tokenize("Tumor_Size_cm") == ["tumor", "size", "cm"]
    assert tokenize("ageAtIndex") == ["age", "at", "index"]
    assert tokenize("Path_Stage_Reg_Lymph_Nodes-pN") == [
        "path",
        "stage",
        "reg",
        "lymph",
        "nodes",
        "p",
        "n",
    ]
    assert tokenize("BMI2020") == ["bmi", "2020"]


def test_humanize_reads_a_name_as_words_and_keeps_a_name_without_any() -> None:
    assert humanize("ageAtIndex") == "age at index"
    assert humanize("__") == "__"


def test_token_similarity_knows_abbreviations_and_stems() -> None:
    assert token_similarity("num", "number") == 1.0  # dictionary
    assert token_similarity("consum", "consumption") > 0.8  # prefix
    assert token_similarity("pathological", "pathologic") >= 0.8  # shared stem
    assert 0.5 <= token_similarity("yrs", "years") <= 1.0
    assert token_similarity("age", "gender") == 0.0
    assert token_similarity("2020", "2021") == 0.0


def _table(name: str, **cols: list) -> object:
    return profile_frame(pd.DataFrame(cols), name=name)


def test_name_similarity_ranks_the_right_column_first() -> None:
    src = _table("s", num_pack_years_sm=[1], alcohol_consum=[2], tumor_size_cm=[3])
    tgt = _table(
        "t",
        pack_years_smoked=[1],
        alcohol_intensity=[1],
        tumor_largest_dimension_diameter=[1],
        cigarettes_per_day=[1],
    )
    sim = name_similarity(src, tgt)
    assert sim.shape == (3, 4)
    assert list(sim.argmax(axis=1)) == [0, 1, 2]


def test_value_overlap_and_numeric_distribution() -> None:
    src = _table("s", sex=["Male", "Female", "male"], age=[50, 60, 70])
    tgt = _table(
        "t",
        gender=["female", "male", "unknown"],
        age_at_index=[52, 61, 69],
        year=[1990, 2000, 2010],
    )
    jac, cont = value_overlap(src, tgt)
    assert jac[0, 0] == np.float32(2 / 3)  # {male, female} vs {female, male, unknown}
    assert cont[0, 0] == 1.0
    num = numeric_similarity(src, tgt)
    assert num[1, 1] > 0.9 > num[1, 2]
    assert num[0, 0] == 0.0  # text columns have no distribution to compare


def test_type_compatibility() -> None:
    src = _table("s", a=[1, 2], b=["x", "y"])
    tgt = _table("t", c=[1.5, 2.5], d=["u", "v"], e=[3, 4])
    types = type_compatibility(src, tgt)
    assert types[0, 2] == 1.0  # integer / integer
    assert types[0, 0] == 0.75  # integer / float
    assert types[1, 1] == 1.0
    assert types[1, 0] < 0.5
