"""Weight averaging and BatchNorm re-estimation (emotion.ml.swa)."""

from pathlib import Path

import keras
import numpy as np

from emotion.ml.swa import WeightAverage, recompute_batchnorm


def small_net(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4, 4, 1))
    x = keras.layers.Conv2D(3, 3, padding="same", use_bias=False)(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Conv2D(2, 3, padding="same", use_bias=False)(keras.layers.ReLU()(x))
    x = keras.layers.BatchNormalization()(x)
    return keras.Model(inputs, x)


def test_running_mean_survives_save_and_load(tmp_path: Path) -> None:
    nets = [small_net(seed) for seed in (1, 2, 3)]
    average = WeightAverage()
    for net in nets:
        average.update(net)
        average.save(tmp_path)
        average.prune(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["swa-3.npz"]

    loaded = WeightAverage.load(tmp_path, 3)
    assert loaded.count == 3
    for got, *each in zip(loaded.weights, *(net.get_weights() for net in nets), strict=True):
        np.testing.assert_allclose(got, np.mean(each, axis=0), rtol=1e-6)
    assert WeightAverage.load(tmp_path, 0).weights == []


def test_batchnorm_statistics_match_the_data_the_net_sees() -> None:
    net = small_net(4)
    x = np.random.default_rng(0).normal(2.0, 3.0, (50, 4, 4, 1)).astype(np.float32)
    recompute_batchnorm(net, x, batch_size=16)  # uneven batches on purpose

    first, second = (layer for layer in net.layers if isinstance(layer, keras.layers.BatchNormalization))
    pre_first = np.asarray(net.layers[1](x)).reshape(-1, 3)
    np.testing.assert_allclose(first.moving_mean, pre_first.mean(0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(first.moving_variance, pre_first.var(0), rtol=1e-4)
    # The second layer is measured after the first one's new statistics.
    pre_second = np.asarray(keras.Model(net.input, second.input)(x, training=False)).reshape(-1, 2)
    np.testing.assert_allclose(second.moving_mean, pre_second.mean(0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(second.moving_variance, pre_second.var(0), rtol=1e-4)
    normalised = np.asarray(net(x, training=False)).reshape(-1, 2)
    np.testing.assert_allclose(normalised.mean(0), 0, atol=1e-3)
