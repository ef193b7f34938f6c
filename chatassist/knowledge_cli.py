"""``chatassist knowledge import PATH|URL`` and ``chatassist knowledge eval`` (docs/knowledge.md)."""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chatassist.settings import Settings
from commands.application import ChatAssistApp
from commands.create_workspace import cmd as create_ws
from commands.create_workspace.defaults import DEFAULT_KNOWLEDGE
from commands.import_knowledge import cmd as importer
from commands.import_knowledge import crawl, files
from domain.errors import DomainError
from domain.knowledge import KnowledgeHit, builtin_article_id, check_language

EVAL_SET = Path(__file__).parent / "data" / "knowledge_eval.json"
HELDOUT_SET = Path(__file__).parent / "data" / "knowledge_heldout.json"  # measure on it, never tune on it
VISITORS_SET = Path(__file__).parent / "data" / "knowledge_visitors.json"  # paraphrases: measure, never tune
VISITORS2_SET = Path(__file__).parent / "data" / "knowledge_visitors2.json"  # written blind to the lexicon
VISITORS3_SET = Path(__file__).parent / "data" / "knowledge_visitors3.json"  # blind to the code and the other sets
Search = Callable[[uuid.UUID, str], list[KnowledgeHit]]


def add_parser(sub: Any) -> None:
    """The ``knowledge`` subcommands."""
    knowledge = sub.add_parser("knowledge", help="the knowledge base").add_subparsers(dest="action", required=True)
    imp = knowledge.add_parser("import", help=cmd_import.__doc__)
    imp.add_argument("source", metavar="PATH|URL", help="a .md/.html file, a ZIP, a directory, or a site's http(s) URL")
    imp.add_argument("--workspace", required=True, help="the workspace id")
    imp.add_argument(
        "--language",
        default="auto",
        help="auto (default: each document's declared language, HTML lang or front matter, else en) or a language"
        " code (en, es, ja...) for every document",
    )
    imp.add_argument("--max-pages", type=int, default=200, help="crawl: pages at most (default 200)")
    imp.add_argument("--max-depth", type=int, default=3, help="crawl: links deep from the start (default 3)")
    imp.add_argument("--overwrite-edited", action="store_true", help="also update articles edited since an import")
    imp.set_defaults(fn=cmd_import)
    ev = knowledge.add_parser("eval", help=cmd_eval.__doc__)
    ev.add_argument("--set", dest="set_path", default=str(EVAL_SET), help="the labelled set (JSON)")
    ev.add_argument("--min", type=float, default=0.9, help="fail below this hit@1 (default 0.9)")
    ev.set_defaults(fn=cmd_eval)


def path_documents(path: Path) -> tuple[list[files.Document], list[str]]:
    """The documents of a file, a ZIP or a directory tree (its Markdown/HTML files, keyed by relative path)."""
    if path.is_dir():
        docs: list[files.Document] = []
        skipped: list[str] = []
        for item in sorted(p for p in path.rglob("*") if p.is_file()):
            key = item.relative_to(path).as_posix()
            if not key.lower().endswith(files.MARKDOWN + files.HTML):
                skipped.append(key)
                continue
            found, more = files.documents(key, item.read_bytes())
            docs += found
            skipped += more
        return docs, skipped
    return files.documents(path.name, path.read_bytes())


def progress_bar(done: int, total: int, url: str) -> None:
    """One line on stderr, rewritten in place on a terminal."""
    width = 30
    filled = int(width * done / max(total, 1))
    line = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {url[:70]}"
    if sys.stderr.isatty():
        sys.stderr.write("\r" + line.ljust(120))
    else:
        sys.stderr.write(line + "\n")
    sys.stderr.flush()


def cmd_import(settings: Settings, args: argparse.Namespace) -> None:
    """Import Markdown/HTML files, a ZIP, a directory, or crawl a docs site into a workspace's knowledge base."""
    from chatassist.bootstrap import bootstrap

    container = bootstrap(settings)
    try:
        workspace_id = uuid.UUID(args.workspace)
        language = check_language(args.language, allow_auto=True)
        report = importer.ImportReport()
        source = str(args.source)
        if source.startswith(("http://", "https://")):
            limits = crawl.CrawlLimits(
                max_pages=args.max_pages, max_depth=args.max_depth, allow_private=settings.crawl_allow_private
            )
            found = crawl.crawl(source, limits, progress_bar)
            if sys.stderr.isatty():
                sys.stderr.write("\n")
            docs, report.failed, report.skipped, kind = found.documents, found.failed, found.skipped, "crawl"
        else:
            docs, report.skipped = path_documents(Path(source))
            kind = "upload"
        command = importer.ImportKnowledge(workspace_id, docs, kind, None, language, args.overwrite_edited)
        report = importer.execute(container.app, command, report)
    except (DomainError, ValueError, OSError) as err:
        raise SystemExit(f"knowledge import: {getattr(err, 'message', err)}") from None
    finally:
        container.close()
    print(json.dumps(report.to_dict(), indent=2))


def share(hits: dict[str, list[int]]) -> dict[str, float]:
    """The share of hits in each group."""
    return {k: round(sum(v) / len(v), 4) for k, v in sorted(hits.items())}


def evaluate(app: ChatAssistApp, search: Search, wait: Callable[[], None], set_path: Path) -> dict[str, Any]:
    """Load the labelled set into a new workspace, ask every question, and measure hit@1 (overall, per language and
    per ``set`` of questions): the share of questions whose best chunk comes from the labelled article."""
    labelled = json.loads(set_path.read_text())
    builtin = labelled.get("builtin") == "defaults"  # the built-in articles too, labelled ``builtin:<id>``
    workspace = create_ws.execute(
        app, create_ws.CreateWorkspace("Knowledge eval", knowledge=None if builtin else [], examples=[])
    )
    ids: dict[str, str] = {}
    if builtin:
        ids.update(
            {f"builtin:{k['id']}": str(builtin_article_id(workspace.workspace_id, k["id"])) for k in DEFAULT_KNOWLEDGE}
        )
    for language in sorted({a["language"] for a in labelled["articles"]}):
        articles = [a for a in labelled["articles"] if a["language"] == language]
        docs = [files.Document(a["key"], a["title"], a["body"], None, files.digest(a["body"])) for a in articles]
        report = importer.execute(app, importer.ImportKnowledge(workspace.workspace_id, docs, "upload", None, language))
        ids.update(zip((a["key"] for a in articles), report.created, strict=True))
    wait()
    misses: list[dict[str, str]] = []
    by_language: dict[str, list[int]] = {}
    by_set: dict[str, list[int]] = {}
    by_set_language: dict[str, dict[str, list[int]]] = {}
    timings: list[float] = []
    for q in labelled["questions"]:
        started = time.perf_counter()
        hits = search(workspace.workspace_id, q["question"])
        timings.append(time.perf_counter() - started)
        hit = bool(hits) and hits[0].article_id == ids[q["article"]]
        by_language.setdefault(q["language"], []).append(int(hit))
        by_set.setdefault(q.get("set", "all"), []).append(int(hit))
        by_set_language.setdefault(q.get("set", "all"), {}).setdefault(q["language"], []).append(int(hit))
        if not hit:
            got = next((k for k, v in ids.items() if hits and v == hits[0].article_id), None)
            misses.append({"question": q["question"], "expected": q["article"], "got": got or "nothing"})
    total = [h for hs in by_language.values() for h in hs]
    return {
        "questions": len(total),
        "hit_at_1": round(sum(total) / len(total), 4),
        "by_language": share(by_language),
        "by_set": share(by_set),
        "by_set_language": {k: share(v) for k, v in sorted(by_set_language.items())},
        "misses": misses,
        "median_ms": round(sorted(timings)[len(timings) // 2] * 1000, 3),
    }


def cmd_eval(settings: Settings, args: argparse.Namespace) -> None:
    """Measure retrieval hit@1 on the labelled question set (fails below --min)."""
    from chatassist.bootstrap import bootstrap

    container = bootstrap(settings)
    try:
        container.start_projections(["knowledge"])
        view = container.knowledge
        assert view is not None
        result = evaluate(container.app, view.search, container.wait_for_projections, Path(args.set_path))
    finally:
        container.close()
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if result["hit_at_1"] < args.min:
        raise SystemExit(f"hit@1 {result['hit_at_1']:.2%} is below {args.min:.0%}")
