"""Build of the optional C dedup kernels; everything else is declared in pyproject.toml.

``optional=True``: without a C compiler the install still succeeds and the numpy kernels run instead
(dataflow/lib/dedup/_compiled.py says which is in use).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("dataflow.lib.dedup._kernels", ["dataflow/lib/dedup/_kernels.c"],
                             extra_compile_args=["-O3"], optional=True)])
