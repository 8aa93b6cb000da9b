"""Rows in: numpy arrays and pandas DataFrames as the C library takes them (float64, C order,
NaN for missing), copied only when they are not that already; DataFrame columns matched to the
model's feature names."""
import numpy as np

from ._native import InputError


def is_frame(X):
    return type(X).__module__.startswith("pandas") and hasattr(X, "columns")


def as_rows(X, feature_names=None):
    """(array, names): a 2-D float64 C-contiguous array and its column names (a DataFrame's,
    which name the features of a model without names of its own; None for arrays). A
    DataFrame's columns are taken by the model's feature names when it has them,
    in the model's order (extra columns are left out, missing ones are an error)."""
    if type(X) is np.ndarray and X.dtype == np.float64 and X.ndim == 2 and X.flags.c_contiguous:
        return X, None  # as the library takes it: lent as it is
    names = None
    if is_frame(X):
        columns = [str(c) for c in X.columns]
        wanted = [n for n in (feature_names or []) if n is not None]
        if wanted and len(wanted) == len(feature_names):
            missing = [n for n in wanted if n not in set(columns)]
            if missing:
                raise InputError("the data has no column%s %s (the model's features)"
                                 % ("s" if len(missing) > 1 else "", ", ".join(missing[:10])))
            if columns != wanted:
                X = X[[X.columns[columns.index(n)] for n in wanted]]
            names = list(wanted)
        else:
            names = columns
        X = X.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        X = np.asarray(X)
        if X.dtype == object:
            X = X.astype(np.float64)
    if X.ndim == 1:
        X = X.reshape(1, -1)
    if X.ndim != 2:
        raise InputError("rows must be a 2-D array (rows x features), not %d-D" % X.ndim)
    return np.ascontiguousarray(X, dtype=np.float64), names
