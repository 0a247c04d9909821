"""Build hook: record the checkout the package comes from, optionally bundle libctxmem.so.

At build time this writes ctxmem/_build_config.py with SOURCE_DIR, the
checkout root, so an installed package can find <checkout>/build/engine/
libctxmem.so. When the environment variable CTXMEM_BUNDLE_LIBRARY names a
built libctxmem.so, that file is copied into the package (and, when
CTXMEM_BUNDLE_TOKENIZERS names a directory, its *.tiktoken files too), so the
installed package needs nothing from the checkout.
"""
import glob
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


def _resolve(path, root):
    """An absolute path; a relative one is taken from the current or the checkout directory."""
    for base in (os.getcwd(), root):
        full = os.path.abspath(os.path.join(base, path))
        if os.path.exists(full):
            return full
    raise SystemExit(f"setup.py: {path} not found (give an absolute path)")


class BuildPy(build_py):
    def run(self):
        super().run()
        pkg = os.path.join(self.build_lib, "ctxmem")
        root = os.path.abspath(os.path.join(HERE, "..", ".."))
        with open(os.path.join(pkg, "_build_config.py"), "w", encoding="utf-8") as f:
            f.write('"""Written by setup.py at build time."""\n')
            f.write(f"SOURCE_DIR = {root!r}\n")
        lib = os.environ.get("CTXMEM_BUNDLE_LIBRARY")
        if lib:
            shutil.copy2(os.path.realpath(_resolve(lib, root)), os.path.join(pkg, "libctxmem.so"))
        toks = os.environ.get("CTXMEM_BUNDLE_TOKENIZERS")
        if toks:
            os.makedirs(os.path.join(pkg, "tokenizers"), exist_ok=True)
            for path in glob.glob(os.path.join(_resolve(toks, root), "*.tiktoken")):
                shutil.copy2(path, os.path.join(pkg, "tokenizers"))


setup(cmdclass={"build_py": BuildPy})
