"""MatrixCompletion in pandas pipelines: feature names out and ``set_output`` (issue #24)."""

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from numsolve.completion import MatrixCompletion, make_low_rank

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def frame():
    problem = make_low_rank(50, 8, 2, density=0.6, random_state=0)
    X = problem.observed_dense()
    columns = [f"item{j}" for j in range(X.shape[1])]
    return pd.DataFrame(X, columns=columns, index=[f"user{i}" for i in range(X.shape[0])])


def test_feature_names_out_are_the_input_columns(frame):
    model = MatrixCompletion(rank=2, random_state=0).fit(frame)
    np.testing.assert_array_equal(model.feature_names_in_, frame.columns)
    np.testing.assert_array_equal(model.get_feature_names_out(), frame.columns)
    unnamed = MatrixCompletion(rank=2, random_state=0).fit(frame.to_numpy())
    assert unnamed.get_feature_names_out().tolist() == [f"x{j}" for j in range(8)]
    with pytest.raises(ValueError, match="input_features"):
        model.get_feature_names_out(["a", "b"])


def test_set_output_pandas_keeps_columns_index_and_values(frame):
    plain = MatrixCompletion(rank=2, random_state=0).fit(frame.to_numpy())
    model = MatrixCompletion(rank=2, random_state=0).set_output(transform="pandas")
    filled = model.fit_transform(frame)
    assert isinstance(filled, pd.DataFrame)
    assert filled.columns.tolist() == frame.columns.tolist()
    assert filled.index.tolist() == frame.index.tolist()
    np.testing.assert_allclose(filled.to_numpy(), plain.transform(frame.to_numpy()), rtol=1e-12)
    observed = frame.notna().to_numpy()
    np.testing.assert_array_equal(filled.to_numpy()[observed], frame.to_numpy()[observed])


def test_pipeline_and_column_transformer_give_named_complete_frames(frame):
    pipeline = make_pipeline(MatrixCompletion(rank=2, random_state=0), StandardScaler())
    out = pipeline.set_output(transform="pandas").fit_transform(frame)
    assert out.columns.tolist() == frame.columns.tolist()
    np.testing.assert_allclose(out.mean().to_numpy(), 0.0, atol=1e-12)

    table = frame.assign(label=np.arange(len(frame)) % 3)
    items = frame.columns.tolist()
    columns = ColumnTransformer([("fill", MatrixCompletion(rank=2, random_state=0), items)],
                                remainder="passthrough")
    out = columns.set_output(transform="pandas").fit_transform(table)
    assert out.columns.tolist() == [f"fill__{c}" for c in items] + ["remainder__label"]
    assert not out.isna().to_numpy().any()
    np.testing.assert_array_equal(out["remainder__label"], table["label"])
