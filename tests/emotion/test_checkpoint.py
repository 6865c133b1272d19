from pathlib import Path

import keras
import numpy as np

from emotion.ml import checkpoint


def compiled_model() -> keras.Model:
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.AdamW(1e-2), loss="mse")
    return model


def test_restore_brings_back_weights_and_optimizer_state(tmp_path: Path) -> None:
    trained = compiled_model()
    trained.fit(np.ones((8, 3)), np.zeros((8, 2)), batch_size=4, epochs=2, verbose=0)
    checkpoint.save(tmp_path, trained, {"epoch": 2}, is_best=True)

    resumed = compiled_model()
    checkpoint.restore(tmp_path, resumed)
    assert int(resumed.optimizer.iterations) == 4
    for saved, loaded in zip(trained.optimizer.variables, resumed.optimizer.variables, strict=True):
        np.testing.assert_array_equal(saved.numpy(), loaded.numpy())
    np.testing.assert_array_equal(trained.get_weights()[0], resumed.get_weights()[0])
    assert checkpoint.load_state(tmp_path) == {"epoch": 2}
    assert (tmp_path / checkpoint.BEST_WEIGHTS).exists()
    assert checkpoint.load_state(tmp_path / "missing") is None
