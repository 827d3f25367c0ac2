"""Small helpers shared by every stage: logging into the rule's log, JSON output, memory readings."""

from __future__ import annotations

import json
import logging
import os
import platform
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger("climatune")


def setup_logging(log_file: str | os.PathLike | None = None, level: int = logging.INFO) -> None:
    """Send climatune's log records to stderr and, when given, to the rule's log file.

    Snakemake keeps stderr of a job only in its own output; the rule's `log:` file is what users
    read afterwards, so both get every record.
    """
    fmt = logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
    root = logging.getLogger()
    root.setLevel(level)
    for h in list(root.handlers):
        root.removeHandler(h)
    err = logging.StreamHandler(sys.stderr)
    err.setFormatter(fmt)
    root.addHandler(err)
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(log_file, mode="a")
        fh.setFormatter(fmt)
        root.addHandler(fh)
    # Libraries that are chatty at INFO stay at WARNING (faiss.loader logs a harmless ModuleNotFoundError
    # while it picks its dynamically dispatched build).
    for name in ("httpx", "filelock", "urllib3", "matplotlib", "PIL", "faiss.loader", "sentence_transformers"):
        logging.getLogger(name).setLevel(logging.WARNING)


class UserError(RuntimeError):
    """A problem the user can fix (bad input, missing model, bad setting): reported without traceback."""


@contextmanager
def rule_log(log_file: str | os.PathLike | None):
    """Context of a Snakemake script: log into the rule's log file; a UserError becomes one clear
    line and exit status 1, anything else keeps its traceback in the log."""
    setup_logging(log_file)
    try:
        yield
    except UserError as e:
        log.error("%s", e)
        raise SystemExit(1) from None
    except Exception as e:
        why = storage_problem(e)
        if why:
            log.error("%s", why)
            raise SystemExit(1) from None
        log.exception("failed")
        raise


def check_writable(folder: str | os.PathLike = "results") -> None:
    """Refuse to start when the results folder (or, before it exists, the working directory) cannot take
    a file (read-only, immutable, full), before any job has run: a probe file is created and removed."""
    folder = Path(folder) if Path(folder).exists() else Path(".")  # a dry run creates nothing
    try:
        probe = folder / f".climatune-write-test-{os.getpid()}"
        probe.write_bytes(b"x" * 4096)
        probe.unlink()
    except OSError as e:
        raise UserError(storage_problem(e) or f"cannot write into {folder}: {e}") from None


def storage_problem(e: BaseException) -> str | None:
    """A clear sentence for a full disk or a folder that cannot be written (also when a library wrapped
    the OS error into its own exception), else None."""
    import errno
    import shutil

    text = f"{e}"
    full = getattr(e, "errno", None) == errno.ENOSPC or "No space left on device" in text
    denied = getattr(e, "errno", None) in (errno.EROFS, errno.EACCES, errno.EPERM) or "Read-only file system" in text
    if not (full or denied):
        return None
    where = Path(getattr(e, "filename", None) or "results")
    folder = next((p for p in [where, *where.parents] if p.exists()), Path("."))
    if full:
        free = shutil.disk_usage(folder).free / 1024**2
        return (f"no space left on the device holding {folder.resolve()} ({free:.0f} MiB free) while writing "
                f"{where}: free space there or run the workflow in a folder on a larger disk")
    return f"cannot write {where} ({e.strerror if hasattr(e, 'strerror') else text}): check its permissions"


@contextmanager
def figure(out_png: str | os.PathLike, ncols: int, figsize: tuple[float, float]):
    """A row of `ncols` matplotlib axes (headless backend), laid out and saved to `out_png` on exit."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, ncols, figsize=figsize)
    try:
        yield fig, ax
        fig.tight_layout()
        fig.savefig(out_png, dpi=120)
    finally:
        plt.close(fig)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write `obj` as indented JSON, atomically (a killed job never leaves half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")
    os.replace(tmp, path)


def read_json(path: str | os.PathLike) -> Any:
    return json.loads(Path(path).read_text())


def write_jsonl(path: str | os.PathLike, rows) -> None:
    """Write one JSON object per line, atomically like `write_json`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w") as f:
        for r in rows:
            f.write(json.dumps(r, default=_json_default) + "\n")
    os.replace(tmp, path)


def read_jsonl(path: str | os.PathLike) -> list:
    """The objects of a JSON-lines file (blank lines skipped)."""
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def _json_default(o: Any) -> Any:
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def environment() -> dict:
    """What a measurement ran on: recorded next to every benchmark number."""
    info = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}
    try:
        import torch

        info["torch"] = torch.__version__
        info["threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
            info["gpus"] = torch.cuda.device_count()
    except ImportError:
        pass
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return info


def die_with_parent() -> None:
    """Have the kernel SIGKILL this process when its parent dies (Linux; elsewhere nothing). Used by
    the launcher's torchrun and by every rank: torchrun starts ranks in sessions of their own, so without
    it a killed launcher leaves ranks training on, and a rerun would race them for the same files."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return
    PR_SET_PDEATHSIG = 1
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the parent died before the call above: nothing would signal us
        os.kill(os.getpid(), signal.SIGKILL)


class Busy(UserError):
    """Another live process is writing the same outputs."""


@contextmanager
def writer_lock(folder: str | os.PathLike, what: str):
    """Hold folder/.lock (an exclusive flock, released by the kernel when the holder dies, also by
    kill -9) while writing `what` there. A second writer is refused with the holder's PID: a rerun
    started while an orphaned job still trains into the same folder must not race it."""
    import fcntl
    import time as _time

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ".lock"
    f = open(path, "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        holder = f.read().strip() or "unknown"
        f.close()
        raise Busy(f"another process ({holder}) is still writing {what} into {folder}: wait for it to finish or "
                   f"stop it (kill that PID), then run again") from None
    try:
        f.seek(0)
        f.truncate()
        f.write(f"PID {os.getpid()} on {platform.node()}, since {_time.strftime('%Y-%m-%d %H:%M:%S')}")
        f.flush()
        yield
    finally:
        fcntl.flock(f, fcntl.LOCK_UN)
        f.close()


# --- Snakemake's directory lock after a kill -------------------------------------------------------

OWNER = Path(".snakemake") / "climatune-owner"


def claim_workflow(workdir: str | os.PathLike = ".") -> None:
    """Record which process holds Snakemake's lock of this working directory (the workflow's onstart)."""
    (Path(workdir) / OWNER).parent.mkdir(parents=True, exist_ok=True)
    (Path(workdir) / OWNER).write_text(f"{os.getpid()} {platform.node()}\n")


def release_workflow(workdir: str | os.PathLike = ".") -> None:
    (Path(workdir) / OWNER).unlink(missing_ok=True)


def clear_stale_lock(workdir: str | os.PathLike = ".") -> str | None:
    """Snakemake leaves its directory lock behind when it is killed (kill -9, a lost node), and the same
    command then refuses to start until `--unlock`. When the lock's holder recorded by claim_workflow is
    a process of this host that no longer runs, remove the lock and say so; otherwise leave it alone (a
    live run, another host, or no record: Snakemake's own message stands). Returns what was done."""
    locks = Path(workdir) / ".snakemake" / "locks"
    owner = Path(workdir) / OWNER
    if not (locks.is_dir() and any(locks.iterdir()) and owner.exists()):
        return None
    try:
        pid, host = owner.read_text().split()
        pid = int(pid)
        if host != platform.node():
            return None
        os.kill(pid, 0)
        return None  # it still runs
    except ProcessLookupError:
        pass
    except (ValueError, PermissionError):  # no readable record, or alive as another user's process
        return None
    for f in locks.iterdir():
        f.unlink(missing_ok=True)
    owner.unlink(missing_ok=True)
    return (f"removed the lock left by a Snakemake that was killed (PID {pid} no longer runs); jobs it left "
            "incomplete are redone")


GIB = 1024**3
