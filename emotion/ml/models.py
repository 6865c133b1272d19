"""Candidate CNN architectures for 48x48 grayscale emotion classification.

Every model takes the full (48,48,1) face produced by
:func:`emotion.ml.preprocess.to_network_input` and centre-crops it to 44x44
as its first layer: training shifts the 48x48 input randomly, so the crop
acts as random-crop augmentation while inference needs no special handling.
"""

from collections.abc import Callable
from typing import Any

import keras
from keras import layers

from emotion.ml.labels import NUM_CLASSES
from emotion.ml.preprocess import FACE_SIZE

CROP = 2  # pixels removed per side by the first layer (48 -> 44)


def _conv(filters: int, kernel: int = 3, stride: int = 1) -> layers.Conv2D:
    # No bias: every convolution is followed by BatchNorm. Weight decay is
    # applied by the optimizer (AdamW), not by kernel regularisers.
    return layers.Conv2D(filters, kernel, stride, padding="same", use_bias=False, kernel_initializer="he_normal")


def _conv_bn_relu(x: keras.KerasTensor, filters: int) -> keras.KerasTensor:
    x = _conv(filters)(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(x)


def _head(x: keras.KerasTensor, dropout: float) -> keras.KerasTensor:
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(256, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Dropout(dropout)(x)
    return layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name="probs")(x)


def _input() -> tuple[keras.KerasTensor, keras.KerasTensor]:
    inputs = keras.Input((FACE_SIZE, FACE_SIZE, 1), name="face")
    return inputs, layers.Cropping2D(CROP)(inputs)


def build_vgg(dropout: float = 0.4, name: str = "vgg", widths: tuple[int, ...] = (48, 96, 192, 256)) -> keras.Model:
    """VGG-style net: four double-conv stages with BatchNorm (1.75M params, 187M MACs per face).

    Plain stacked 3x3 convolutions are the strongest simple baseline on
    FER2013 and run fast on CPU thanks to oneDNN.
    """
    inputs, x = _input()
    for stage, filters in enumerate(widths):
        x = _conv_bn_relu(x, filters)
        x = _conv_bn_relu(x, filters)
        if stage < 3:
            x = layers.MaxPooling2D()(x)
        x = layers.SpatialDropout2D(0.1 * (stage + 1) / 2)(x)
    return keras.Model(inputs, _head(x, dropout), name=name)


def _residual_block(x: keras.KerasTensor, filters: int, stride: int) -> keras.KerasTensor:
    shortcut = x
    y = _conv(filters, stride=stride)(x)
    y = layers.BatchNormalization()(y)
    y = layers.ReLU()(y)
    y = _conv(filters)(y)
    # Zero-initialised last BN makes each block start as identity.
    y = layers.BatchNormalization(gamma_initializer="zeros")(y)
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.BatchNormalization()(_conv(filters, 1, stride)(x))
    return layers.ReLU()(layers.Add()([shortcut, y]))


def build_resnet(dropout: float = 0.3, name: str = "resnet") -> keras.Model:
    """Small ResNet: one basic block per stage after the stem (1.84M params).

    Residual shortcuts train reliably with short schedules, which makes it the
    natural second candidate for the model-card comparison.
    """
    inputs, x = _input()
    x = _conv_bn_relu(x, 32)
    for filters, stride in ((48, 1), (96, 2), (192, 2), (256, 2)):
        x = _residual_block(x, filters, stride)
    return keras.Model(inputs, _head(x, dropout), name=name)


def build_vgg_small(dropout: float = 0.3, name: str = "vgg_small") -> keras.Model:
    """The VGG net at half its widths (53.1M MACs per face, 0.71M params): the fast student.

    Cost falls with the square of the width, so half the channels is about a quarter of the
    multiply-accumulates (under the 60M budget of a host without AVX-512), with the same
    layers, so it distils from the full net's soft labels directly.
    """
    return build_vgg(dropout, name, widths=(24, 48, 96, 192))


ARCHITECTURES: dict[str, Callable[..., keras.Model]] = {
    "vgg": build_vgg,
    "vgg_small": build_vgg_small,
    "resnet": build_resnet,
}


def build_model(arch: str, **kwargs: Any) -> keras.Model:
    """Build the architecture registered under ``arch``."""
    try:
        builder = ARCHITECTURES[arch]
    except KeyError:
        raise ValueError(f"Unknown architecture {arch!r}; choose from {sorted(ARCHITECTURES)}") from None
    return builder(**kwargs)
