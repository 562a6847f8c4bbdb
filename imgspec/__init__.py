"""imgspec: the Image Record Format and Images API 2.0, as schemas and the code that reads them.

    >>> import imgspec
    >>> imgspec.validate(record)            # raises InvalidInput (a ProblemError) naming pointer and rule
    >>> imgspec.validator("image", "2.2")   # a jsonschema validator, local references only
"""
from imgspec.format.validation import check, detect_version, validate, validator
from imgspec.problems import InvalidInput, Problem, ProblemError, UnusableInput
from imgspec.spec import Spec

__version__ = "0.1.0"
__all__ = ["InvalidInput", "Problem", "ProblemError", "Spec", "UnusableInput", "check", "detect_version", "validate",
           "validator", "__version__"]
