"""Batched, seeded data augmentation for the tf.data training pipeline.

All random draws are stateless and derived from ``(seed, epoch, batch)``, so
a resumed run sees exactly the augmentations an uninterrupted run would.
Geometric changes (flip, rotation, zoom, shift) are fused into one
projective-transform op per batch, which keeps the pipeline cheap on CPU.
"""

import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from emotion.ml.conditions import random_degrade


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentation strengths; the defaults suit 48x48 FER2013 faces."""

    max_rotation_deg: float = 12.0
    max_zoom: float = 0.1
    max_shift_px: float = 4.0
    brightness: float = 0.15
    contrast: float = 0.25
    erase_prob: float = 0.5
    erase_min: int = 8
    erase_max: int = 20
    # Share of faces given webcam conditions (blur, small face, noise, JPEG, light; see
    # emotion.ml.conditions). 0 keeps the clean-face recipe the earlier models used.
    degrade_prob: float = 0.0


def _affine_transforms(u: tf.Tensor, size: int, cfg: AugmentConfig) -> tf.Tensor:
    """Per-sample output->input pixel maps for flip+rotation+zoom+shift."""
    flip = tf.where(u[:, 0] < 0.5, -1.0, 1.0)
    angle = (u[:, 1] * 2 - 1) * math.radians(cfg.max_rotation_deg)
    zoom = 1 + (u[:, 2] * 2 - 1) * cfg.max_zoom
    tx = (u[:, 3] * 2 - 1) * cfg.max_shift_px
    ty = (u[:, 4] * 2 - 1) * cfg.max_shift_px
    cos, sin = tf.cos(angle) / zoom, tf.sin(angle) / zoom
    a0, a1 = cos * flip, sin
    b0, b1 = -sin * flip, cos
    c = (size - 1) / 2
    a2 = c - a0 * c - a1 * c - tx
    b2 = c - b0 * c - b1 * c - ty
    zeros = tf.zeros_like(a0)
    return tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)


def augment_batch(images: tf.Tensor, seed: tf.Tensor, cfg: AugmentConfig) -> tf.Tensor:
    """Augment a float batch (B,H,W,1) in [0,1]; ``seed`` is a shape-(2,) int tensor."""
    batch = tf.shape(images)[0]
    size = images.shape[1]
    if cfg.degrade_prob > 0:
        images = _degrade(images, seed, cfg.degrade_prob)
    u = tf.random.stateless_uniform((batch, 12), seed=seed)
    images = tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=_affine_transforms(u, size, cfg),
        output_shape=tf.shape(images)[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="REFLECT",
    )
    mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    contrast = tf.reshape(1 + (u[:, 5] * 2 - 1) * cfg.contrast, (-1, 1, 1, 1))
    brightness = tf.reshape((u[:, 6] * 2 - 1) * cfg.brightness, (-1, 1, 1, 1))
    images = (images - mean) * contrast + mean + brightness

    # Random erasing: one rectangle per selected image, filled with its mean.
    span = cfg.erase_max - cfg.erase_min
    h = tf.reshape(cfg.erase_min + u[:, 7] * span, (-1, 1, 1, 1))
    w = tf.reshape(cfg.erase_min + u[:, 8] * span, (-1, 1, 1, 1))
    cy = tf.reshape(u[:, 9] * size, (-1, 1, 1, 1))
    cx = tf.reshape(u[:, 10] * size, (-1, 1, 1, 1))
    coords = tf.range(size, dtype=tf.float32)
    rows = tf.reshape(coords, (1, -1, 1, 1))
    cols = tf.reshape(coords, (1, 1, -1, 1))
    inside = (tf.abs(rows - cy) < h / 2) & (tf.abs(cols - cx) < w / 2)
    erase = tf.reshape(u[:, 11] < cfg.erase_prob, (-1, 1, 1, 1))
    images = tf.where(inside & erase, mean, images)
    return tf.clip_by_value(images, 0.0, 1.0)


def _degrade(images: tf.Tensor, seed: tf.Tensor, prob: float) -> tf.Tensor:
    """Webcam conditions, applied before the geometric changes as a camera would (on uint8 pixels)."""

    def run(batch: np.ndarray, batch_seed: np.ndarray) -> np.ndarray:
        faces = np.clip(np.rint(batch[..., 0] * 255), 0, 255).astype(np.uint8)
        return (random_degrade(faces, prob, batch_seed.astype(np.int64)).astype(np.float32) / 255)[..., None]

    out = tf.numpy_function(run, [images, seed], tf.float32, stateful=False)
    return tf.ensure_shape(out, images.shape)
