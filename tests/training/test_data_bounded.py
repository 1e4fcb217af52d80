"""Datasets read hostile files within bounded memory, and warn once in one line (issue 12)."""

from __future__ import annotations

import gzip
import math
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.training.conftest import peak_while
from training import data
from training.cli import main
from training.data import DatasetError, read_idx

MiB = 2**20


def idx_bytes(array: np.ndarray) -> bytes:
    array = np.ascontiguousarray(array, dtype=np.uint8)
    return bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def gzip_stream(head: bytes, zeros: int) -> bytes:
    """gzip of ``head`` followed by ``zeros`` zero bytes, compressed piece by piece (never all in memory)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [z.compress(head)]
    piece = bytes(MiB)
    for _ in range(zeros // MiB):
        parts.append(z.compress(piece))
    parts.append(z.compress(bytes(zeros % MiB)))
    parts.append(z.flush())
    return b"".join(parts)


def refused(path: Path, pattern: str):
    def run():
        with pytest.raises(DatasetError, match=pattern):
            read_idx(path)
    return run


def test_a_gzip_bomb_is_inflated_only_as_far_as_its_header_declares(tmp_path):
    # 10 images of 28x28 declared (7,840 bytes), then 256 MiB of zeros: a ~250 KB file
    path = tmp_path / "bomb-idx3-ubyte.gz"
    path.write_bytes(gzip_stream(bytes([0, 0, 8, 3]) + struct.pack(">3I", 10, 28, 28), 256 * MiB))
    assert path.stat().st_size < MiB
    peak = peak_while(refused(path, r"has more than 65,536 unexpected bytes after the data its header describes"))
    assert peak < 4 * MiB, f"refusing a gzip bomb peaked at {peak / MiB:.1f} MiB"


def test_a_small_file_declaring_gigabytes_is_refused_unread(tmp_path):
    path = tmp_path / "huge-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(bytes([0, 0, 8, 3]) + struct.pack(">3I", 60000, 2000, 2000) + bytes(100)))
    peak = peak_while(refused(path, r"promises 60000 items of shape \(2000, 2000\) .* more than the 2048 MiB limit"))
    assert peak < MiB


def test_a_large_declared_size_with_little_data_costs_only_the_data(tmp_path):
    # 1.5 GiB declared (under the cap) from a 42-byte file: refused unread, more than 200 times the file
    path = tmp_path / "short-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(bytes([0, 0, 8, 3]) + struct.pack(">3I", 30000, 256, 200) + bytes(1000)))
    peak = peak_while(refused(path, r"promises 30000 items .* more than 200 times its 42 compressed bytes"))
    assert peak < MiB, f"{peak / MiB:.1f} MiB"
    # 156,800 bytes declared, 1,000 random bytes present: the error comes after reading what is there
    noise = np.random.default_rng(0).integers(0, 256, 1000, dtype=np.uint8).tobytes()
    path.write_bytes(gzip.compress(bytes([0, 0, 8, 3]) + struct.pack(">3I", 200, 28, 28) + noise))
    peak = peak_while(refused(path, r"is truncated: .* but only 1000 bytes follow"))
    assert peak < 4 * MiB, f"{peak / MiB:.1f} MiB"


def _rss_of(code: str) -> tuple[str, int]:
    """(stdout's last line, peak RSS in bytes) of ``code`` run in a fresh interpreter. VmHWM, not ru_maxrss:
    Linux carries ru_maxrss over from the forking parent (this big test process) across exec."""
    import subprocess
    import sys

    probe = code + ("\nhwm = [x for x in open('/proc/self/status') if x.startswith('VmHWM')][0]"
                    "\nprint(int(hwm.split()[1]) * 1024)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    return done.stdout.strip().splitlines()[-2], int(done.stdout.strip().splitlines()[-1])


def test_an_idx_gzip_bomb_honestly_declaring_a_gigabyte_is_refused_unread(tmp_path):
    """1 GiB of zeros declared and present, in a 1 MB gzip file: refused before inflating (issue 23)."""
    path = tmp_path / "bomb-idx3-ubyte.gz"
    path.write_bytes(gzip_stream(bytes([0, 0, 8, 3]) + struct.pack(">3I", 16384, 256, 256), 1024 * MiB))
    assert path.stat().st_size < 2 * MiB
    code = (f"from training.data import DatasetError, read_idx\ntry:\n    read_idx({str(path)!r})\n"
            "except DatasetError as e:\n    print(e)\nelse:\n    print('read')")
    said, rss = _rss_of(code)
    assert re.search(r"more than 200 times its [\d,]+ compressed bytes \(a decompression bomb", said), said
    assert rss < 300 * MiB, f"peak RSS {rss / MiB:.0f} MiB"


def test_an_uncompressed_file_larger_than_declared_is_refused_before_reading(tmp_path):
    path = tmp_path / "long-idx3-ubyte"
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + struct.pack(">3I", 10, 28, 28))
        f.truncate(200 * MiB)  # sparse
    peak = peak_while(refused(path, r"has \d+ unexpected bytes after the data"))
    assert peak < MiB


def test_a_valid_file_peaks_near_its_size(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (2000, 28, 28), dtype=np.uint8)
    path = tmp_path / "ok-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(images)))
    out = {}
    peak = peak_while(lambda: out.setdefault("a", read_idx(path)))
    assert np.array_equal(out["a"], images) and not out["a"].flags.writeable
    assert peak < 3 * images.nbytes + 2 * MiB, f"reading {images.nbytes / MiB:.1f} MiB peaked at {peak / MiB:.1f} MiB"


_VALID = idx_bytes(np.arange(4 * 5 * 3).reshape(4, 5, 3))


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzzed_idx_files_give_an_array_or_one_sentence(tmp_path, data_):
    raw = bytearray(_VALID)
    for _ in range(data_.draw(st.integers(0, 4))):
        i = data_.draw(st.integers(0, len(raw) - 1))
        raw[i] = data_.draw(st.integers(0, 255))
    if data_.draw(st.booleans()):
        raw += bytes(data_.draw(st.integers(0, 100_000)))
    blob = gzip.compress(bytes(raw)) if data_.draw(st.booleans()) else bytes(raw)
    if data_.draw(st.booleans()):  # damage the gzip stream too
        cut = data_.draw(st.integers(0, len(blob)))
        blob = blob[:cut] + bytes(data_.draw(st.binary(max_size=8))) + blob[cut + 8:]
    path = tmp_path / "fuzz-idx"
    path.write_bytes(blob)
    try:
        array = read_idx(path)
    except DatasetError as e:
        assert str(path) in str(e) and "\n" not in str(e)  # noqa: PT017 - fuzzer: loaded (else:) is right too
    else:
        assert array.dtype == np.uint8 and array.size == math.prod(array.shape)


def test_pillows_decompression_bomb_guard_is_kept():
    assert Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS <= 2 * 89_478_485


def test_a_decompression_bomb_image_is_skipped_not_decoded(tmp_path, monkeypatch):
    root = tmp_path / "pics"
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        for i in range(4):
            Image.new("L", (8, 8), 40 * i).save(root / cls / f"{i}.png")
    Image.new("L", (3000, 3000)).save(root / "a" / "bomb.png")  # over the (lowered) limit below
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)  # > 2x this raises DecompressionBombError
    with pytest.warns(data.DatasetWarning, match="skipped 1 files"):
        dataset = data.load_dataset(f"folder:{root}", "all")
    assert len(dataset) == 8


def test_the_folder_warning_is_printed_once_in_one_line(tmp_path, capsys, monkeypatch):
    root = tmp_path / "pics"
    for cls in ("shirt", "shoe"):
        (root / cls).mkdir(parents=True)
        for i in range(6):
            Image.new("L", (8, 8), 40 * i).save(root / cls / f"{i}.png")
    (root / "shoe" / "notes.txt").write_text("not an image")
    monkeypatch.chdir(tmp_path)
    rc = main(["--dataset", f"folder:{root}", "--channels", "4,8", "--hidden", "8", "--epochs", "1", "--threads", "1",
               "--quiet", "--out", str(tmp_path / "m.safetensors")])
    err = capsys.readouterr().err
    assert rc == 0, err
    warned = [line for line in err.splitlines() if "skipped" in line]
    assert warned == [f"latent-train: warning: folder:{root}: skipped 1 files that are not readable images."], err
    assert not re.search(r"warnings\.warn|data\.py|UserWarning", err), err


def _npz_with_member(path: Path, name: str, header_array: np.ndarray, data_zeros: int, shape: tuple) -> None:
    """A .npz whose member ``name`` has a .npy header claiming ``shape`` of ``header_array``'s dtype, then
    ``data_zeros`` zero bytes, deflated piece by piece (small on disk)."""
    import io
    import zipfile

    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": np.lib.format.dtype_to_descr(header_array.dtype),
                                                "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open(name, "w", force_zip64=True) as member:
            member.write(head.getvalue())
            piece = bytes(MiB)
            for _ in range(data_zeros // MiB):
                member.write(piece)
            member.write(bytes(data_zeros % MiB))
        with archive.open("y.npy", "w") as member:
            np.lib.format.write_array(member, np.zeros(4, np.int64))


def test_an_npz_member_declaring_an_absurd_shape_is_one_sentence(tmp_path):
    path = tmp_path / "absurd.npz"
    _npz_with_member(path, "x.npy", np.zeros(0, np.uint8), 4 * 28 * 28, (1000000, 4096, 4096))
    def load():
        with pytest.raises(DatasetError, match=r"array x in .*absurd.npz declares shape \(1000000, 4096, 4096\) "
                                               r"of uint8 \([\d,]+ bytes\) but its member holds 3,136 bytes\.$"):
            data.load_dataset(f"npz:{path}", "all")

    peak = peak_while(load)
    assert peak < 4 * MiB, f"{peak / MiB:.1f} MiB"


def test_an_npz_zip_bomb_member_is_refused_before_inflating(tmp_path):
    """1 GiB of zeros, honestly declared, deflated to ~1 MB: refused from its header, in small memory."""
    path = tmp_path / "bomb.npz"
    _npz_with_member(path, "x.npy", np.zeros(0, np.uint8), 1024 * MiB, (16384, 256, 256))
    assert path.stat().st_size < 2 * MiB
    code = (f"from training.data import DatasetError, load_dataset\ntry:\n    load_dataset('npz:{path}', 'all')\n"
            "except DatasetError as e:\n    print(e)\nelse:\n    print('read')")
    said, rss = _rss_of(code)
    assert re.search(r"array x in .*bomb.npz declares shape \(16384, 256, 256\) of uint8 \(1,073,741,824 bytes\) "
                     r"from [\d,]+ compressed bytes, more than 200 times \(a decompression bomb", said), said
    assert rss < 300 * MiB, f"peak RSS {rss / MiB:.0f} MiB"


def test_fifos_and_looping_links_in_a_folder_are_counted_as_skipped(tmp_path):
    import os

    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.fromarray(np.full((8, 8), 40 * i, np.uint8)).save(tmp_path / cls / f"{i}.png")
    os.mkfifo(tmp_path / "a" / "pipe.png")  # opening it would block: it must only be counted
    (tmp_path / "b" / "loop.png").symlink_to(tmp_path / "b" / "loop.png")
    with pytest.warns(data.DatasetWarning, match=r"skipped 2 files that are not readable images \(2 of them not "
                                                 r"regular files: FIFOs, sockets, broken or looping links\)\."):
        ds = data.load_dataset(f"folder:{tmp_path}", "all")
    assert ds.skipped == 2 and len(ds) == 6
