"""Multiply-accumulates per inference, read off a LiteRT/TFLite file.

Milliseconds depend on the host (the same net ran 0.5 ms on an AMX host and 5 ms on an
AVX2-only one); multiply-accumulates do not, so speed figures carry them. Counted from
the graph itself, so the same function measures our model and a peer's.
"""

from pathlib import Path

import numpy as np


def tflite_macs(path: str | Path) -> int:
    """MACs of one batch-1 inference: convolutions, depthwise convolutions and dense layers."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(
        model_path=str(path), experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    )
    interpreter.allocate_tensors()
    shapes = {t["index"]: tuple(int(v) for v in t["shape"]) for t in interpreter.get_tensor_details()}
    total = 0
    for op in interpreter._get_ops_details():  # public API has no op list; stable since TF 2.5
        name, inputs, outputs = op["op_name"], op["inputs"], op["outputs"]
        out = shapes.get(int(outputs[0]), ())
        if name == "CONV_2D":  # kernel (out_c, kh, kw, in_c)
            _, kh, kw, in_c = shapes[int(inputs[1])]
            total += int(np.prod(out[1:])) * kh * kw * in_c
        elif name == "DEPTHWISE_CONV_2D":  # kernel (1, kh, kw, out_c)
            _, kh, kw, _ = shapes[int(inputs[1])]
            total += int(np.prod(out[1:])) * kh * kw
        elif name == "FULLY_CONNECTED":  # weights (out, in)
            units, features = shapes[int(inputs[1])]
            total += units * features
    return total
