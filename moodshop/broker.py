"""The embedded broker: kombu's filesystem transport, kept private and in memory.

Queued frames are sealed (``emotion.sealing``), but the embedded queue is still treated as
the camera data it carries: each checkout gets its own folder under ``/dev/shm`` (never
a shared one), the folder is 0700 and each message file 0600, and the worker empties
it when it shuts down. A folder that is not on a memory filesystem (no ``/dev/shm``, as
on macOS, or an ``EMBEDDED_BROKER_DIR`` on a disk) still carries the shop's background
tasks, but camera capture is then refused with ``capture_problem``'s message: frames
never reach a disk.

No Django import: the settings module uses this.
"""

import hashlib
import os
import uuid
from contextlib import suppress
from pathlib import Path
from queue import Empty
from time import monotonic_ns

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

MEMORY_FILESYSTEMS = frozenset({"tmpfs", "ramfs"})
SHM = Path("/dev/shm")


def memory_backed(path: Path, mounts: Path = Path("/proc/self/mounts")) -> bool:
    """Whether ``path`` (or, if it does not exist yet, its nearest existing parent) is on a RAM filesystem."""
    try:
        table = mounts.read_text()
    except OSError:  # no /proc (macOS): nothing proves the folder is in memory
        return False
    existing = path.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    existing = existing.resolve()
    best, fstype = "", ""
    for line in table.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        mount = fields[1].replace("\\040", " ")
        if (existing == Path(mount) or Path(mount) in existing.parents) and len(mount) >= len(best):
            best, fstype = mount, fields[2]
    return fstype in MEMORY_FILESYSTEMS


def default_folder(base_dir: Path) -> Path | None:
    """This checkout's own folder in /dev/shm (per user and per checkout path); None without /dev/shm."""
    if not SHM.is_dir():
        return None
    checkout = hashlib.sha256(str(base_dir.resolve()).encode()).hexdigest()[:12]
    return SHM / f"moodshop-broker-{os.getuid()}-{checkout}"


def capture_problem(folder: Path | None) -> str:
    """Why camera frames may not go through this embedded broker folder; empty when they may."""
    if folder is not None and memory_backed(folder):
        return ""
    where = f"{folder} is not on a memory filesystem" if folder is not None else "there is no /dev/shm"
    return (
        f"Camera capture is off: the embedded broker would keep frames on a disk ({where}). "
        "Set REDIS_URL to use Redis, or EMBEDDED_BROKER_DIR to a folder on a tmpfs."
    )


def prepare(folder: Path) -> None:
    """Create the folder 0700 (tightening an existing one); refuse one that another user owns."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = folder.lstat()
    if folder.is_symlink() or info.st_uid != os.getuid():
        raise PermissionError(f"{folder} is not a folder of this user: refusing to queue camera frames there")
    os.chmod(folder, 0o700)


def empty(folder: Path) -> int:
    """Delete every queued, half-written or in-flight message file under ``folder``; how many there were."""
    removed = 0
    for message in folder.rglob("*"):
        if not (message.name.endswith(".msg") or message.name.startswith(("writing-", "taken-"))):
            continue
        try:
            message.unlink()
            removed += 1
        except FileNotFoundError:  # taken by another process meanwhile
            continue
    return removed


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: dict, **kwargs: object) -> None:
        """kombu's ``_put``, with the message file created 0600 (kombu's open() gives 0644) and
        published whole: written under a name no reader takes, then renamed (atomic).

        kombu's reader takes any file with the queue's name without locking it, so a file still
        being written was read empty and the worker died on the JSON error.
        """
        # Nanoseconds, zero-padded: names sort in publishing order even within one millisecond.
        name = f"{monotonic_ns():020d}_{uuid.uuid4()}.{queue}.msg"
        path = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f"writing-{uuid.uuid4()}")
        try:
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb", buffering=0) as file:
                file.write(str_to_bytes(dumps(payload)))
            os.rename(partial, path)
        except OSError as exc:
            with suppress(OSError):
                os.unlink(partial)
            raise ChannelError(f"Cannot add file {path!r} to directory") from exc

    def _get(self, queue: str) -> dict:
        """The oldest message of ``queue``, taken by renaming it inside the broker folder.

        kombu's own ``_get`` moves the file to the system temporary folder (often a disk)
        before reading it; here it never leaves the memory-backed folder. A rename is atomic,
        so two workers never take the same message.
        """
        suffix = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != suffix:
                continue
            taken = os.path.join(self.data_folder_in, f"taken-{uuid.uuid4()}")
            try:
                os.rename(os.path.join(self.data_folder_in, name), taken)
            except OSError:  # taken by another worker meanwhile
                continue
            try:
                with open(taken, "rb") as file:
                    payload = file.read()
                os.remove(taken)
            except OSError as exc:
                raise ChannelError(f"Cannot read file {taken!r} from queue.") from exc
            return loads(bytes_to_str(payload))
        raise Empty()


class Transport(filesystem.Transport):
    Channel = Channel
