"""The CMake flags `make install` builds llama-cpp-python with: this CPU's SIMD, never AMX.

    python3 scripts/llama_cmake_args.py        # prints e.g. -DGGML_NATIVE=OFF -DGGML_AVX=ON ... -DGGML_AVX512=ON

A native build (`-march=native`) uses AMX where the CPU advertises it, and some VMs trap AMX
("illegal instruction" on the first matrix multiply). A portable build (`-DGGML_NATIVE=OFF` alone)
runs anywhere but leaves AVX-512 unused, which reads prompts ~1.5x slower on CPUs that have it
(BENCHMARKS.md, "Local LLM speed"). So: portable, plus each x86 extension /proc/cpuinfo lists.
Elsewhere (macOS, ARM) only `-DGGML_NATIVE=OFF`. The wheel is built for the machine it runs on:
the Makefile keeps it in a directory keyed by the version and these flags, so another CPU gets its
own build.
"""

from __future__ import annotations

import sys
from pathlib import Path

# /proc/cpuinfo flag -> ggml CMake option (ggml/CMakeLists.txt). AMX is left out on purpose.
FLAGS = {
    "avx": "GGML_AVX", "avx2": "GGML_AVX2", "fma": "GGML_FMA", "f16c": "GGML_F16C", "avx_vnni": "GGML_AVX_VNNI",
    "avx512f": "GGML_AVX512", "avx512vbmi": "GGML_AVX512_VBMI", "avx512_vnni": "GGML_AVX512_VNNI",
    "avx512_bf16": "GGML_AVX512_BF16",
}


def cmake_args(cpu_flags: set[str]) -> list[str]:
    """The options for these CPU flags (AMX ignored).

    >>> cmake_args({"avx", "avx2", "fma", "avx512f", "amx_tile", "amx_int8"})
    ['-DGGML_NATIVE=OFF', '-DGGML_AVX=ON', '-DGGML_AVX2=ON', '-DGGML_FMA=ON', '-DGGML_AVX512=ON']
    >>> cmake_args(set())
    ['-DGGML_NATIVE=OFF']
    """
    return ["-DGGML_NATIVE=OFF"] + [f"-D{opt}=ON" for flag, opt in FLAGS.items() if flag in cpu_flags]


def cpu_flags(cpuinfo: str) -> set[str]:
    """The flags line of /proc/cpuinfo, as a set.

    >>> sorted(cpu_flags("processor : 0\\nflags\\t\\t: fpu avx avx2\\n"))
    ['avx', 'avx2', 'fpu']
    """
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return set(value.split())
    return set()


if __name__ == "__main__":
    info = Path("/proc/cpuinfo")
    flags = cpu_flags(info.read_text()) if sys.platform.startswith("linux") and info.is_file() else set()
    print(" ".join(cmake_args(flags)))
