"""Charter's PEP 517 build backend: maturin's, except that it will not fetch Rust.

When cargo is missing, maturin's backend downloads a Rust toolchain (about
1 GB) into a temporary directory and builds with it, silently. Someone who
meets the sdist because no wheel fits their platform should instead learn
at once what the build needs. So every hook first checks that cargo is on
PATH and otherwise stops with a message saying so; setting
CHARTER_ALLOW_RUST_DOWNLOAD=1 restores maturin's download. With cargo on
PATH every hook is maturin's own, unchanged.
"""

from __future__ import annotations

import os
import shutil
from typing import Any, Mapping, Optional

import maturin

_MESSAGE = (
    "charter: building from source needs Rust 1.89 or newer (cargo on PATH), "
    "and none was found. No prebuilt wheel matched this platform (wheels "
    "cover Linux x86-64 with glibc 2.17 or newer). Install Rust from "
    "https://rustup.rs or your system's packages and retry, or set "
    "CHARTER_ALLOW_RUST_DOWNLOAD=1 to let maturin download a temporary "
    "toolchain (about 1 GB). See "
    "https://example.invalid/charter/blob/main/docs/INSTALL.md#python"
)

Settings = Optional[Mapping[str, Any]]


def _require_cargo() -> None:
    if shutil.which("cargo") is None and os.environ.get("CHARTER_ALLOW_RUST_DOWNLOAD") != "1":
        raise SystemExit(_MESSAGE)


def get_requires_for_build_wheel(config_settings: Settings = None) -> list[str]:
    _require_cargo()
    return maturin.get_requires_for_build_wheel(config_settings)


def get_requires_for_build_editable(config_settings: Settings = None) -> list[str]:
    _require_cargo()
    return maturin.get_requires_for_build_editable(config_settings)


def get_requires_for_build_sdist(config_settings: Settings = None) -> list[str]:
    _require_cargo()
    return maturin.get_requires_for_build_sdist(config_settings)


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: Settings = None) -> str:
    _require_cargo()
    return maturin.prepare_metadata_for_build_wheel(metadata_directory, config_settings)


def prepare_metadata_for_build_editable(metadata_directory: str, config_settings: Settings = None) -> str:
    _require_cargo()
    return maturin.prepare_metadata_for_build_editable(metadata_directory, config_settings)


def build_wheel(wheel_directory: str, config_settings: Settings = None, metadata_directory: Optional[str] = None) -> str:
    _require_cargo()
    return maturin.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(wheel_directory: str, config_settings: Settings = None, metadata_directory: Optional[str] = None) -> str:
    _require_cargo()
    return maturin.build_editable(wheel_directory, config_settings, metadata_directory)


def build_sdist(sdist_directory: str, config_settings: Settings = None) -> str:
    _require_cargo()
    return maturin.build_sdist(sdist_directory, config_settings)
