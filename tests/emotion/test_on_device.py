"""The emotion model as the browser gets it: its batch dimension made static, nothing else changed."""

import numpy as np
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter

from emotion.ml.inference import MODEL_DIR
from emotion.ml.on_device import fixed_batch_model

MODEL = (MODEL_DIR / "emotion.tflite").read_bytes()


def signatures(model: bytes) -> list[list[int]]:
    graph = schema.Model.GetRootAsModel(model, 0).Subgraphs(0)
    found = (graph.Tensors(i).ShapeSignatureAsNumpy() for i in range(graph.TensorsLength()))
    return [s.tolist() if isinstance(s, np.ndarray) else [] for s in found]  # 0: a tensor without one


def test_only_the_dynamic_dimensions_change():
    fixed = fixed_batch_model(MODEL)
    assert len(fixed) == len(MODEL)
    changed = [i for i, (a, b) in enumerate(zip(MODEL, fixed, strict=True)) if a != b]
    assert changed, "the shipped model has a dynamic batch dimension"
    before, after = signatures(MODEL), signatures(fixed)
    assert any(-1 in s for s in before) and not any(-1 in s for s in after)
    assert [[1 if d == -1 else d for d in s] for s in before] == after
    # Each changed byte lies in a -1 (0xffffffff) that became 1: 4 bytes per dynamic dimension.
    assert len(changed) <= 4 * sum(s.count(-1) for s in before)


def test_the_fixed_model_computes_the_same_probabilities():
    faces = np.random.default_rng(0).random((8, 1, 48, 48, 1), dtype=np.float32)

    def run(model: bytes) -> np.ndarray:
        interpreter = Interpreter(model_content=model)
        interpreter.allocate_tensors()
        index, out = interpreter.get_input_details()[0]["index"], interpreter.get_output_details()[0]["index"]
        results = []
        for face in faces:
            interpreter.set_tensor(index, face)
            interpreter.invoke()
            results.append(interpreter.get_tensor(out).copy())
        return np.concatenate(results)

    np.testing.assert_array_equal(run(MODEL), run(fixed_batch_model(MODEL)))
