"""Which packages the wheel holds (the rest of the configuration is in pyproject.toml).

Here rather than in pyproject.toml because the shipped data lives in the top-level ``assets/`` folder (the design's
layout) yet installs as ``pgssl_core/assets`` (``pgssl_core/shipped.py`` finds it there): a package mapped to
another folder (``package_dir``) must be listed by name, which pyproject.toml's ``packages.find`` cannot do
alongside the packages it finds. Sub-folders of ``assets/`` are listed too, so setuptools installs them as
package data without a deprecation warning.
"""

from setuptools import find_namespace_packages, find_packages, setup

ASSETS = ["pgssl_core.assets", *(f"pgssl_core.assets.{name}" for name in find_namespace_packages(where="assets"))]

setup(packages=[*find_packages(include=["pgssl_core*", "app"]), *ASSETS], package_dir={"pgssl_core.assets": "assets"})
