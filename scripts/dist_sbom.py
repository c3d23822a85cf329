"""Writes the CycloneDX 1.6 SBOM of one release artifact (scripts/dist.sh).

usage: dist_sbom.py ARTIFACT CRATE PURL OUT

Every artifact in dist/ ships code compiled from one workspace crate
(charter-capi, charter-python or charter-node) and nothing else: the wheel
and the npm package have no runtime dependencies of their own. So the SBOM
is that crate's dependency tree as cargo itself resolves it for the
release target (`cargo tree -e normal`, which applies feature unification
exactly as the build does), with each crate's licence, repository and the
SHA-256 that Cargo.lock pins. Proc-macro crates, and what only they pull
in, run at build time and are not linked: they are listed with scope
"excluded". The artifact is the BOM's subject, with its own SHA-256.

The document is built and serialised by cyclonedx-python-lib, CycloneDX's
own library, and validated against the 1.6 JSON schema before it is written.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tomllib
from pathlib import Path

from cyclonedx.model import ExternalReference, ExternalReferenceType, HashAlgorithm, HashType, XsUri
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentScope, ComponentType
from cyclonedx.model.license import LicenseExpression
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL

ROOT = Path(__file__).resolve().parent.parent
TARGET = "x86_64-unknown-linux-gnu"


def lock_checksums() -> dict[tuple[str, str], str]:
    """(name, version) -> the SHA-256 that Cargo.lock pins for registry crates."""
    lock = tomllib.loads((ROOT / "Cargo.lock").read_text(encoding="utf-8"))
    return {
        (p["name"], p["version"]): p["checksum"] for p in lock.get("package", []) if "checksum" in p
    }


def crate_tree(crate: str) -> list[tuple[int, str, str, str, str, bool]]:
    """(depth, name, version, licence, repository, proc-macro) per line of `cargo tree`."""
    out = subprocess.run(
        ["cargo", "tree", "--locked", "-p", crate, "-e", "normal", "--target", TARGET,
         "--prefix", "depth", "-f", "{p}|{l}|{r}"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    rows = []
    for line in out.splitlines():
        digits = len(line) - len(line.lstrip("0123456789"))
        depth, rest = int(line[:digits]), line[digits:]
        package, licence, repository = rest.split("|", 2)
        name, version = package.split(" ")[:2]
        rows.append((depth, name, version.lstrip("v"), licence, repository.removesuffix(" (*)").strip(),
                     "(proc-macro)" in package))
    return rows


def build_bom(artifact: Path, crate: str, purl: str) -> Bom:
    checksums = lock_checksums()
    subject_purl = PackageURL.from_string(purl)
    subject = Component(
        name=subject_purl.name, version=subject_purl.version, type=ComponentType.LIBRARY,
        purl=subject_purl, bom_ref=purl, licenses=[LicenseExpression("MIT OR Apache-2.0")],
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=hashlib.sha256(artifact.read_bytes()).hexdigest())],
        description=artifact.name,
    )
    bom = Bom()
    bom.metadata.component = subject
    components: dict[str, Component] = {}
    linked: set[str] = set()
    edges: dict[str, set[str]] = {}
    parents: list[tuple[str, bool]] = []  # (bom-ref, reached only through a proc-macro)
    for depth, name, version, licence, repository, proc_macro in crate_tree(crate):
        ref = f"pkg:cargo/{name}@{version}"
        del parents[depth:]
        build_time = proc_macro or (bool(parents) and parents[-1][1])
        if depth > 0:
            edges.setdefault(parents[-1][0], set()).add(ref)
        parents.append((ref, build_time))
        if not build_time:
            linked.add(ref)
        if ref in components:
            continue
        checksum = checksums.get((name, version))
        components[ref] = Component(
            name=name, version=version, type=ComponentType.LIBRARY, bom_ref=ref,
            purl=PackageURL(type="cargo", name=name, version=version),
            licenses=[LicenseExpression(licence)] if licence else [],
            hashes=[HashType(alg=HashAlgorithm.SHA_256, content=checksum)] if checksum else [],
            external_references=[ExternalReference(type=ExternalReferenceType.VCS, url=XsUri(repository))]
            if repository else [],
        )
    for ref, component in components.items():
        component.scope = ComponentScope.REQUIRED if ref in linked else ComponentScope.EXCLUDED
        bom.components.add(component)
    root_ref = f"pkg:cargo/{crate}@{subject.version}"
    bom.register_dependency(subject, [components[root_ref]])
    for parent, children in edges.items():
        bom.register_dependency(components[parent], [components[c] for c in sorted(children)])
    return bom


def main() -> None:
    artifact, crate, purl, out = Path(sys.argv[1]), sys.argv[2], sys.argv[3], Path(sys.argv[4])
    text = JsonV1Dot6(build_bom(artifact, crate, purl)).output_as_string(indent=2)
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    if error is not None:
        raise SystemExit(f"dist_sbom: {out.name} is not valid CycloneDX 1.6: {error}")
    out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
