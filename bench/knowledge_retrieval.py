"""Benchmark: knowledge retrieval (one PostgreSQL full-text query per chat turn) on 10,000 articles (target: p99 under
3 ms).

    .venv/bin/python -m bench.knowledge_retrieval --articles 10000 --queries 2000

1. On a throwaway database of the PostgreSQL server in CHATASSIST_TEST_DATABASE_URL (default
   postgresql://postgres@127.0.0.1:5432/postgres), create a workspace and import --articles synthetic help articles
   through the real import command (500 per transaction): a help-centre vocabulary where every article names a
   product area (rare words), its features (less rare) and the common words of any help centre ("settings",
   "account", "click"...), 80 to 400 words, a third of them with sections (several chunks each). A second workspace
   gets --other articles, so the index is shared as in production.
2. The knowledge projection's runner applies every event (chunks, tsvectors, ranked postings, lexeme counts); then
   ANALYZE, as autovacuum does after a bulk import.
3. Measure: --queries visitor-like questions (two to six words: one or two rare or feature words, common words,
   stopwords; three in ten with two letters of their longest word swapped, a typo; three in ten naming a support
   concept in a visitor's word such as "quit" or "is down", whose terms the articles use), each through
   ``KnowledgeView.search`` exactly as a chat turn calls it (pool checkout, the one query, rows decoded);
   p50 / p99 / max. Then each again under EXPLAIN ANALYZE (TIMING OFF): the execution time inside
   PostgreSQL, which a busy machine's run queue does not inflate; and the plan of the slowest.
4. With --copies N: the store grows as it does with many customers: the read model's rows of the
   measured workspace are copied N times under other workspace ids (same vocabulary: the worst case for an index
   shared by every workspace, each rare word of the workspace is as frequent in every other one); ANALYZE; the same
   questions measured again the same two ways.
"""

from __future__ import annotations

import argparse
import os
import random
import time
import uuid

import psycopg

from bench.chat_turns import pct
from chatassist.bootstrap import bootstrap
from chatassist.settings import Settings
from commands.create_workspace import cmd as create_ws
from commands.import_knowledge import cmd as importer
from commands.import_knowledge.files import Document, digest
from tests.support.services import throwaway_database

COMMON = (
    "settings account click page open select workspace team project task user admin button menu email change "
    "create update save delete view list option enable disable add remove link file app data access"
).split()
STOP = "how do i can my the to a in is what where why you".split()
# Words help articles use for the support concepts (projections/knowledge/concepts.py), and visitors' words naming them
CONCEPT_TERMS = "cancel subscription invoice receipt refund plan upgrade password status outage export webhook".split()
VISITOR_WORDS = ["quit", "money back", "is down", "cheaper", "bill", "notify", "download", "locked out", "coworker"]
SYLLABLES = (
    "ba be bi bo bu ca ce ci co cu da de di do du fa fe fi fo ga ge go ka ke ki ko la le li lo lu ma me mi mo".split()
)


def word(rng: random.Random, syllables: int) -> str:
    """A pseudo-word (stems like any other word)."""
    return "".join(rng.choice(SYLLABLES) for _ in range(syllables)) + rng.choice(["", "r", "n", "x", "t"])


def vocabulary(rng: random.Random) -> tuple[list[str], list[str]]:
    """Product areas (rare: one per ~20 articles) and features (less rare: one per ~200)."""
    areas = list({word(rng, 3) for _ in range(600)})
    features = list({word(rng, 2) for _ in range(300)})
    return areas, features


def article(rng: random.Random, n: int, areas: list[str], features: list[str]) -> Document:
    """A synthetic help article."""
    area = areas[n % len(areas)]
    own = rng.sample(features, 4)
    length = rng.randint(80, 400)
    body_words = [rng.choice(COMMON + own + [area] + STOP * 2 + CONCEPT_TERMS[n % 4 :: 4]) for _ in range(length)]
    sections = rng.random() < 0.33
    text = " ".join(body_words)
    if sections:
        cut = len(text) // 2
        text = f"{text[:cut]}\n\n## {own[0]} {area}\n\n{text[cut:]}"
    title = f"{rng.choice(COMMON).title()} {area} {own[0]}"
    return Document(f"bench/{n}", title, text, None, digest(text))


def question(rng: random.Random, areas: list[str], features: list[str]) -> str:
    """A visitor-like question."""
    parts = [rng.choice(STOP), rng.choice(STOP)]
    parts += rng.sample(COMMON, rng.randint(0, 2))
    parts += [rng.choice(areas)] if rng.random() < 0.8 else []
    parts += rng.sample(features, rng.randint(0, 2))
    rng.shuffle(parts)
    if rng.random() < 0.3:  # a typo: the word the workspace does not know goes through the trigram match (ADR 0045)
        i = max(range(len(parts)), key=lambda j: len(parts[j]))
        w = parts[i]
        if len(w) > 4:
            k = rng.randrange(1, len(w) - 2)
            parts[i] = w[:k] + w[k + 1] + w[k] + w[k + 2 :]
    if rng.random() < 0.3:  # in other words: a support concept's terms are searched too (ADR 0060)
        parts.append(rng.choice(VISITOR_WORDS))
    return " ".join(parts) + "?"


def fill(app: object, workspace_id: uuid.UUID, docs: list[Document], batch: int = 500) -> None:
    """Import ``docs`` through the real command, ``batch`` per transaction."""
    for i in range(0, len(docs), batch):
        importer.execute(app, importer.ImportKnowledge(workspace_id, docs[i : i + batch], "upload"))  # type: ignore[arg-type]


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--other", type=int, default=2_000, help="articles of a second workspace")
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=24)
    parser.add_argument("--copies", type=int, default=0, help="then copy the workspace's chunks N times (big store)")
    args = parser.parse_args()
    server = os.environ.get("CHATASSIST_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("CHATASSIST_TEST_REDIS_URL", "redis://127.0.0.1:6379/4")
    rng = random.Random(args.seed)
    areas, features = vocabulary(rng)
    with throwaway_database(server) as database_url:
        container = bootstrap(Settings(database_url=database_url, redis_url=redis_url, secret_key="x" * 40))
        try:
            started = time.perf_counter()
            main_ws = create_ws.execute(container.app, create_ws.CreateWorkspace("Bench", knowledge=[], examples=[]))
            other_ws = create_ws.execute(container.app, create_ws.CreateWorkspace("Other", knowledge=[], examples=[]))
            fill(container.app, main_ws.workspace_id, [article(rng, n, areas, features) for n in range(args.articles)])
            fill(container.app, other_ws.workspace_id, [article(rng, n, areas, features) for n in range(args.other)])
            written = time.perf_counter() - started
            container.start_projections(["knowledge"])
            container.wait_for_projections(timeout=3600)
            projected = time.perf_counter() - started - written
            view = container.knowledge
            assert view is not None
            with psycopg.connect(database_url, autocommit=True) as conn:  # what autovacuum does after a bulk import
                conn.execute("ANALYZE knowledge_v1_chunks")
                conn.execute("ANALYZE knowledge_v1_terms")
                conn.execute("ANALYZE knowledge_v1_postings")
            chunks = view.query("SELECT count(*) AS n FROM knowledge_v1_chunks WHERE workspace_id = %(ws)s",
                                {"ws": main_ws.workspace_id})[0]["n"]  # fmt: skip
            questions = [question(rng, areas, features) for _ in range(args.queries)]
            rounds = [measure(view, main_ws.workspace_id, questions)]
            total = view.query("SELECT count(*) AS n FROM knowledge_v1_chunks", {})[0]["n"]
            sizes = [total]
            if args.copies:
                copy_workspace(database_url, main_ws.workspace_id, args.copies)
                sizes.append(view.query("SELECT count(*) AS n FROM knowledge_v1_chunks", {})[0]["n"])
                rounds.append(measure(view, main_ws.workspace_id, questions))
        finally:
            container.close()
    print(f"articles: {args.articles} (+{args.other} in another workspace), chunks of the workspace: {chunks}")
    print(f"import: {written:.1f} s, projection: {projected:.1f} s")
    for size, (timings, server, found, slowest, plan) in zip(sizes, rounds, strict=True):
        print(f"\n== store of {size} chunks in all ==")
        print(f"queries: {len(timings)}, with hits: {found}")
        print(f"search ms: p50 {pct(timings, 50):.3f}  p99 {pct(timings, 99):.3f}  max {max(timings):.3f}")
        print(f"inside PostgreSQL, ms: p50 {pct(server, 50):.3f}  p99 {pct(server, 99):.3f}  max {max(server):.3f}")
        print("slowest:", [(round(t, 2), q) for t, q in slowest])
        print("plan of the slowest query (inside PostgreSQL), run again:")
        print("\n".join("  " + next(iter(row.values())) for row in plan))


def measure(view: object, workspace_id: uuid.UUID, questions: list[str]) -> tuple:
    """Each question through ``search`` as a turn runs it (after 200 warm-up ones), then under EXPLAIN ANALYZE."""
    for q in questions[:200]:  # warm-up: the pool, prepared statements, the index pages in memory
        view.search(workspace_id, q)  # type: ignore[attr-defined]
    timings, found = [], 0
    for q in questions:
        t0 = time.perf_counter()
        hits = view.search(workspace_id, q)  # type: ignore[attr-defined]
        timings.append((time.perf_counter() - t0) * 1000)
        found += bool(hits)
    server: list[float] = []  # the same queries' execution time inside PostgreSQL (without the machine's queue)
    explain = "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + _explainable()
    for q in questions:
        plan_json = view.query(explain, _params(workspace_id, q))[0]["QUERY PLAN"][0]  # type: ignore[attr-defined]
        server.append(plan_json["Execution Time"])
    slowest_server = max(zip(server, questions, strict=True))[1]
    plan = view.query("EXPLAIN (ANALYZE, BUFFERS) " + _explainable(), _params(workspace_id, slowest_server))  # type: ignore[attr-defined]
    slowest = sorted(zip(timings, questions, strict=True), reverse=True)[:5]
    return timings, server, found, slowest, plan


def copy_workspace(database_url: str, workspace_id: uuid.UUID, copies: int) -> None:
    """Copy the workspace's chunks, articles and lexeme counts ``copies`` times under new workspace ids."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        for _ in range(copies):
            params = {"ws": workspace_id, "new": uuid.uuid4()}
            with conn.transaction():
                conn.execute(
                    "CREATE TEMP TABLE ids ON COMMIT DROP AS SELECT id, gen_random_uuid() AS new_id"
                    " FROM knowledge_v1_articles WHERE workspace_id = %(ws)s",
                    params,
                )
                conn.execute(
                    "INSERT INTO knowledge_v1_articles (id, workspace_id, title, body, url, tags, language, published,"
                    " source, source_hash, adopted, version, created_at, updated_at) SELECT i.new_id, %(new)s, title,"
                    " body, url, tags, language, published, source, source_hash, adopted, version, created_at,"
                    " updated_at FROM knowledge_v1_articles a JOIN ids i ON i.id = a.id",
                    params,
                )
                conn.execute(
                    "INSERT INTO knowledge_v1_chunks (article_id, chunk, workspace_id, published, config, heading,"
                    " text, tsv) SELECT i.new_id, chunk, %(new)s, published, config, heading, text, tsv"
                    " FROM knowledge_v1_chunks c JOIN ids i ON i.id = c.article_id",
                    params,
                )
                conn.execute(
                    "INSERT INTO knowledge_v1_postings (article_id, chunk, lexeme, workspace_id, published, rank)"
                    " SELECT i.new_id, chunk, lexeme, %(new)s, published, rank"
                    " FROM knowledge_v1_postings p JOIN ids i ON i.id = p.article_id",
                    params,
                )
                conn.execute(
                    "INSERT INTO knowledge_v1_terms (workspace_id, lexeme, chunks) SELECT %(new)s, lexeme, chunks"
                    " FROM knowledge_v1_terms WHERE workspace_id = %(ws)s",
                    params,
                )
        conn.execute("ANALYZE knowledge_v1_chunks")
        conn.execute("ANALYZE knowledge_v1_terms")
        conn.execute("ANALYZE knowledge_v1_articles")
        conn.execute("ANALYZE knowledge_v1_postings")


def _explainable() -> str:
    from projections.knowledge.view import SEARCH_SQL

    return SEARCH_SQL


def _params(workspace_id: uuid.UUID, q: str) -> dict[str, object]:
    from projections.knowledge.view import search_params

    return search_params(workspace_id, q)


if __name__ == "__main__":
    main()
