"""The condition language: opsbook conditions and the PromQL subset, one parser, one evaluator.

`compile_condition` turns text into a checked `Compiled` expression (named metrics expanded,
units reconciled); `evaluate` runs it over a `SeriesSource` at an instant.
"""

from opsbook.alerts.language.check import Compiled, compile_condition
from opsbook.alerts.language.errors import ConditionError
from opsbook.alerts.language.evaluate import Outcome, evaluate

__all__ = ["Compiled", "ConditionError", "Outcome", "compile_condition", "evaluate"]
