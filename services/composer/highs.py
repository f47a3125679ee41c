"""HiGHS plumbing: a model in HiGHS's row-wise form, the deterministic solver options, and
warm starts. Every solve uses one thread and a fixed seed so the same input gives the same plan."""

from __future__ import annotations

import highspy
import numpy as np

from services.composer.model import PatternModel

__all__ = ["SEED", "model_lp", "new_highs", "set_start"]

SEED = 20240720


def new_highs(model: PatternModel, time_limit_s: float, node_limit: int) -> highspy.Highs:
    """A HiGHS instance holding ``model``, with the deterministic options."""
    highs = highspy.Highs()  # type: ignore[no-untyped-call]
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", 1)
    highs.setOptionValue("random_seed", SEED)
    highs.setOptionValue("time_limit", max(0.01, time_limit_s))
    highs.setOptionValue("mip_max_nodes", node_limit)
    highs.setOptionValue("mip_rel_gap", 0.0)
    highs.setOptionValue("mip_abs_gap", 0.99)  # the score is an integer
    highs.passModel(model_lp(model))
    return highs


def set_start(highs: highspy.Highs, values: list[float]) -> None:
    solution = highspy.HighsSolution()
    solution.col_value = values
    solution.value_valid = True
    highs.setSolution(solution)


def model_lp(model: PatternModel) -> highspy.HighsLp:
    """The model in HiGHS's row-wise form."""
    lp = highspy.HighsLp()
    column_count = len(model.cost)
    lp.num_col_ = column_count
    lp.num_row_ = len(model.rows)
    lp.col_cost_ = np.array(model.cost, dtype=np.float64)
    lp.col_lower_ = np.array(model.lower, dtype=np.float64)
    lp.col_upper_ = np.array(model.upper, dtype=np.float64)
    lp.row_lower_ = np.array([row.lower for row in model.rows], dtype=np.float64)
    lp.row_upper_ = np.array([row.upper for row in model.rows], dtype=np.float64)
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.integrality_ = [
        highspy.HighsVarType.kInteger if integer else highspy.HighsVarType.kContinuous
        for integer in model.integer
    ]
    starts = [0]
    index: list[int] = []
    value: list[float] = []
    for row in model.rows:
        index.extend(row.columns)
        value.extend(row.values)
        starts.append(len(index))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
    lp.a_matrix_.index_ = np.array(index, dtype=np.int32)
    lp.a_matrix_.value_ = np.array(value, dtype=np.float64)
    lp.a_matrix_.num_col_ = column_count
    lp.a_matrix_.num_row_ = len(model.rows)
    return lp
