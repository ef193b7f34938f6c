"""``chatassist docs generate|build|serve``: the documentation site (mkdocs.yml, docs/) and its generated pages."""

from __future__ import annotations

import argparse
import subprocess
import sys
from typing import Any

from chatassist.docs_gen import ROOT, generate


def cmd_docs(_: Any, args: argparse.Namespace) -> None:
    """generate: rewrite the pages generated from the code (--check: exit 1 if any differs); build: the static
    site into site/ (strict); serve: the site with live reload on 127.0.0.1:8001."""
    if args.action == "generate":
        changed = generate(check=args.check)
        if args.openapi:
            import httpx

            from chatassist.docs_gen import API_PAGE, write_api_reference

            document = httpx.get(args.openapi, timeout=30).raise_for_status().json()
            if write_api_reference(document):
                changed.append(API_PAGE)
        for rel in changed:
            print(f"{'differs' if args.check else 'rewrote'}: {rel}")
        if args.check and changed:
            raise SystemExit(1)
        return
    try:
        import mkdocs  # noqa: F401
    except ImportError:
        raise SystemExit("The documentation site needs MkDocs: pip install -e '.[docs]'") from None
    command = [sys.executable, "-m", "mkdocs", args.action, "--config-file", str(ROOT / "mkdocs.yml")]
    if args.action == "serve":
        command += ["--dev-addr", args.address]
    raise SystemExit(subprocess.call(command, cwd=ROOT))


def add_parser(sub: Any) -> None:
    """Register ``docs`` on the root parser's subparsers."""
    docs = sub.add_parser("docs", help="the documentation site").add_subparsers(dest="action", required=True)
    gen = docs.add_parser("generate", help="rewrite docs/errors.md, docs/events.md and the generated tables")
    gen.add_argument("--check", action="store_true", help="only say which generated pages differ (exit 1)")
    gen.add_argument(
        "--openapi",
        metavar="URL",
        help="also rewrite docs/api-reference.md from a running server's document, "
        "e.g. http://127.0.0.1:8000/schema/openapi.json",
    )
    gen.set_defaults(fn=cmd_docs)
    docs.add_parser("build", help="build the site into site/ (strict)").set_defaults(fn=cmd_docs)
    serve = docs.add_parser("serve", help="serve the site with live reload")
    serve.add_argument("--address", default="127.0.0.1:8001", help="host:port (default 127.0.0.1:8001)")
    serve.set_defaults(fn=cmd_docs)
