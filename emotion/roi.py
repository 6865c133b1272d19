"""The region of interest: a crop around the shopper's face, so that a face far from the
camera still fills the pixels the worker's detector and classifier see.

The page draws the whole camera picture into 320 px wide. BlazeFace (short range) sees it at
128 px and misses faces under about 45 px there: a shopper 70 cm or more from a laptop's
camera (``benchmarks/bench_face_size.py``). So the frames API's answer names the region of
the picture (fractions of its width and height) the page should send next, cut from a camera
opened at up to 1280x720 and scaled to at most 320 px wide: the same bytes, up to four times
the face pixels. Each frame's query says which region it shows, so the worker maps the face
it finds back onto the whole picture:

- a face found: next, ``ROI_SCALE`` times its box around its centre (the region follows it);
- no face in the whole picture: next, the picture's central half (``SEARCH_REGION``), where a
  shopper sitting back usually is, at twice the zoom;
- no face in a region: next, the whole picture again;
- several faces, or ``WHOLE_PICTURE_EVERY`` frames in a row showing a region: the whole
  picture, so that nobody beside the shopper escapes the several-faces rule.

Without a frame for ``FACE_TTL_SECONDS`` the page returns to the whole picture. Only the
face's position is kept, on the frame's observation (``shown_region``, ``face_region``):
never a pixel of the frame.
"""

from dataclasses import dataclass

CAPTURE_WIDTH, CAPTURE_HEIGHT = 320, 240  # what the page sends of the whole picture
ROI_CAMERA_WIDTH = 1280  # the camera width the page asks for, so a region has pixels to give
ROI_SCALE = 2.5  # the region around the face box, in box sizes: room for the head to move between frames
MIN_REGION_SIDE = 0.2  # never zoom in further than a fifth of the picture
MAX_REGION_SIDE = 0.8  # a region this large gains little over the whole picture
FACE_TTL_SECONDS = 3.0
# At least one frame in this many shows the whole picture, so that the several-faces rule
# still sees anyone beside the shopper (4 s at 2 frames/s).
WHOLE_PICTURE_EVERY = 8


@dataclass(frozen=True)
class Region:
    """A rectangle of the whole camera picture, in fractions of its width and height."""

    x: float
    y: float
    w: float
    h: float

    @classmethod
    def parse(cls, text: str) -> "Region":
        """From the frames API's ``roi=x,y,w,h`` query parameter; ValueError when it is not one."""
        parts = text.split(",")
        if len(parts) != 4:
            raise ValueError("roi must be four numbers: x,y,w,h")
        x, y, w, h = (float(part) for part in parts)
        if not (0 <= x < 1 and 0 <= y < 1 and 0 < w <= 1 - x + 1e-6 and 0 < h <= 1 - y + 1e-6):
            raise ValueError("roi must lie within the picture: 0 <= x, y and x + w, y + h <= 1")
        return cls(x, y, w, h)

    def as_dict(self) -> dict[str, float]:
        return {"x": round(self.x, 4), "y": round(self.y, 4), "w": round(self.w, 4), "h": round(self.h, 4)}

    @classmethod
    def from_dict(cls, value: dict[str, float] | None) -> "Region | None":
        return cls(**value) if value else None


def face_in_picture(box: tuple[int, int, int, int], width: int, height: int, shown: Region | None) -> Region:
    """The face box found in a ``width`` x ``height`` frame, on the whole picture (the frame shows ``shown``)."""
    x, y, w, h = box
    region = shown or Region(0.0, 0.0, 1.0, 1.0)
    return Region(
        region.x + x / width * region.w,
        region.y + y / height * region.h,
        w / width * region.w,
        h / height * region.h,
    )


def region_around(face: Region) -> Region | None:
    """The region to send next: ``ROI_SCALE`` times the face around its centre; None for the whole picture."""
    w = min(1.0, max(MIN_REGION_SIDE, face.w * ROI_SCALE))
    h = min(1.0, max(MIN_REGION_SIDE, face.h * ROI_SCALE))
    if w >= MAX_REGION_SIDE or h >= MAX_REGION_SIDE:
        return None
    cx, cy = face.x + face.w / 2, face.y + face.h / 2
    return Region(min(max(0.0, cx - w / 2), 1.0 - w), min(max(0.0, cy - h / 2), 1.0 - h), w, h)


SEARCH_REGION = Region(0.25, 0.25, 0.5, 0.5)


def next_after(face: Region | None, shown: Region | None) -> Region | None:
    """The region to send after a frame that showed ``shown`` (None: the whole picture) and found ``face``."""
    if face is not None:
        return region_around(face)
    return SEARCH_REGION if shown is None else None
