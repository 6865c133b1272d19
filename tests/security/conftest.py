from tests.capture.conftest import face_jpeg  # noqa: F401  (shared fixture)
