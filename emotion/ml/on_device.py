"""What the on-device mode (``EMOTION_INFERENCE=browser``) needs from the shipped models.

The browser runs the very files the worker serves, through LiteRT.js. LiteRT.js 2.5.3 compiles
static shapes only, and the emotion model's batch dimension is dynamic (its shape signature says
-1, so the worker can classify several faces at once): the page classifies one face at a time,
so it gets the same file with each -1 of a shape signature set to the tensor's static size (1).
Weights, operators and every other byte are unchanged (a test checks it), so both runtimes
compute the same network.
"""

import numpy as np
from ai_edge_litert import schema_py_generated as schema


def fixed_batch_model(model: bytes) -> bytes:
    """The TFLite flatbuffer with every dynamic (-1) dimension of its shape signatures made static."""
    patched = bytearray(model)
    root = schema.Model.GetRootAsModel(patched, 0)
    for g in range(root.SubgraphsLength()):
        graph = root.Subgraphs(g)
        for i in range(graph.TensorsLength()):
            tensor = graph.Tensors(i)
            signature = tensor.ShapeSignatureAsNumpy()  # a writable view into ``patched``
            if isinstance(signature, np.ndarray) and (signature == -1).any():
                dynamic = signature == -1
                signature[dynamic] = tensor.ShapeAsNumpy()[dynamic]
    return bytes(patched)
