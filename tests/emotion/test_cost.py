"""Multiply-accumulates counted from a LiteRT file match the layers' arithmetic."""

from pathlib import Path

import keras
import tensorflow as tf
from keras import layers

from emotion.ml.cost import tflite_macs


def test_macs_of_conv_depthwise_and_dense(tmp_path: Path) -> None:
    inputs = keras.Input((16, 16, 1))
    x = layers.Conv2D(8, 3, padding="same")(inputs)  # 16*16*8 outputs x 3*3*1
    x = layers.DepthwiseConv2D(3, padding="same")(x)  # 16*16*8 outputs x 3*3
    x = layers.Conv2D(4, 1, strides=2)(x)  # 8*8*4 outputs x 1*1*8
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(7, activation="softmax")(x)  # 4*7
    model = keras.Model(inputs, outputs)
    path = tmp_path / "tiny.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    expected = 16 * 16 * 8 * 9 + 16 * 16 * 8 * 9 + 8 * 8 * 4 * 8 + 4 * 7
    assert tflite_macs(path) == expected


def test_shipped_model_cost() -> None:
    shipped = Path(__file__).resolve().parents[2] / "emotion" / "model" / "emotion.tflite"
    assert 150e6 < tflite_macs(shipped) < 200e6  # the VGG net: 187M at 44x44


def test_the_fast_student_fits_the_60m_budget(tmp_path: Path) -> None:
    from emotion.ml.models import build_model

    path = tmp_path / "small.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(build_model("vgg_small")).convert())
    assert 45e6 < tflite_macs(path) <= 60e6  # half the widths of the VGG net: about a quarter of its cost
