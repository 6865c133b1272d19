"""The model in the repository is the one its card describes, intact and served as measured."""

import json
from pathlib import Path

import keras
import numpy as np
from django.conf import settings

from emotion.ml.calibrate import apply_temperature
from emotion.ml.export import reference_faces
from emotion.ml.inference import EmotionClassifier
from emotion.ml.preprocess import to_network_input

MODEL_DIR = Path(settings.EMOTION_MODEL_DIR)


def test_shipped_model_reproduces_its_cards_export_check() -> None:
    card = json.loads((MODEL_DIR / "model_card.json").read_text())
    reference = card["tflite_agreement"]["reference"]
    model = keras.models.load_model(MODEL_DIR / "emotion.keras", compile=False)
    keras_probs = model.predict(to_network_input(reference_faces()), verbose=0)
    np.testing.assert_allclose(keras_probs, reference["keras"], atol=1e-4)

    classifier = EmotionClassifier(MODEL_DIR, tta=False)  # the worker's path: the LiteRT export, calibrated
    assert classifier.model_version == card["model_version"]
    expected = apply_temperature(np.array(reference["tflite"]), card.get("calibration", {}).get("temperature", 1.0))
    np.testing.assert_allclose(classifier.classify_faces(reference_faces()), expected, atol=1e-4)


def test_shipped_report_belongs_to_the_shipped_model() -> None:
    card = json.loads((MODEL_DIR / "model_card.json").read_text())
    report = json.loads((MODEL_DIR / "eval_publictest.json").read_text())
    assert report["model_version"].removesuffix("+tta") == card["model_version"]
    assert report["n"] == 3589 and card["test_data"]["file"] == "fer2013_val.npz"
