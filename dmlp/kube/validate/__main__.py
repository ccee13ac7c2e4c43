"""The command ``python -m dmlp.kube.validate PATH...``: flags, then :func:`dmlp.kube.validate.main`
(exit 0: valid, 1: problems found, 2: bad usage such as a path that does not exist)."""

from __future__ import annotations

import argparse
import sys

from dmlp.example.errors import UsageError
from dmlp.kube import validate


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dmlp.kube.validate",
        description=validate.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", help="directories, kustomizations or files")
    parser.add_argument("--kubernetes-version", default=validate.KUBERNETES_VERSION)
    parser.add_argument("--renderer", choices=("auto", "kubectl", "python"), default="auto")
    args = parser.parse_args(argv)
    try:
        return validate.main(args.paths, args.kubernetes_version, args.renderer)
    except UsageError as err:
        parser.error(str(err))  # exits 2 with usage and the one line


if __name__ == "__main__":
    sys.exit(run())
