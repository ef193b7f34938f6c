-- Views of the knowledge_v1 projection (projections/knowledge). Disposable: rebuilt from the event store.
-- Articles (the list an admin sees), their chunks with a tsvector in the article's text search configuration
-- (retrieval, docs/knowledge.md), the workspace version each workspace's rows reflect (read-your-writes for the
-- next chat turn), and the knowledge gaps (questions with low retrieval support; the example is personal data).
CREATE TABLE IF NOT EXISTS knowledge_v1_articles (
    id uuid PRIMARY KEY,
    workspace_id uuid NOT NULL,
    title text NOT NULL,
    body text NOT NULL,
    url text,
    tags text[] NOT NULL DEFAULT '{}',
    language text NOT NULL,
    published boolean NOT NULL,
    source text NOT NULL,                -- manual, upload, crawl, builtin
    source_hash text,                    -- the imported page's hash; null once a person edited the article
    adopted boolean NOT NULL DEFAULT false,  -- a built-in article with a stream of its own
    version integer NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS knowledge_v1_articles_workspace ON knowledge_v1_articles (workspace_id, updated_at DESC, id);

CREATE TABLE IF NOT EXISTS knowledge_v1_chunks (
    article_id uuid NOT NULL,
    chunk integer NOT NULL,
    workspace_id uuid NOT NULL,
    published boolean NOT NULL,
    config regconfig NOT NULL,
    heading text NOT NULL,
    text text NOT NULL,
    tsv tsvector NOT NULL,
    PRIMARY KEY (article_id, chunk)
);
-- fastupdate off: an insert updates the index at once instead of a pending list that every query would scan until the
-- next vacuum (writes are admin edits and imports: rare; reads are every chat turn). No btree on workspace_id: a
-- query finds its chunks through the GIN index only, whatever the statistics say.
CREATE INDEX IF NOT EXISTS knowledge_v1_chunks_tsv ON knowledge_v1_chunks USING gin (tsv) WITH (fastupdate = off);

CREATE TABLE IF NOT EXISTS knowledge_v1_workspaces (
    workspace_id uuid PRIMARY KEY,
    version integer NOT NULL
);

CREATE TABLE IF NOT EXISTS knowledge_v1_gaps (
    workspace_id uuid NOT NULL,
    key text NOT NULL,                   -- the question's content words, normalised and sorted (domain/knowledge.py)
    example text NOT NULL,               -- the latest question of the group (personal data)
    count integer NOT NULL,
    best_support double precision NOT NULL,
    first_seen timestamptz NOT NULL,
    last_seen timestamptz NOT NULL,
    conversations uuid[] NOT NULL,       -- the latest few conversations that asked it
    PRIMARY KEY (workspace_id, key)
);
CREATE INDEX IF NOT EXISTS knowledge_v1_gaps_recent ON knowledge_v1_gaps (workspace_id, count DESC, last_seen DESC);

-- The articles each AI reply cited (joined into the transcript API's messages).
CREATE TABLE IF NOT EXISTS knowledge_v1_citations (
    conversation_id uuid NOT NULL,
    message_id text NOT NULL,
    citations jsonb NOT NULL,
    PRIMARY KEY (conversation_id, message_id)
);

-- How many chunks of the workspace contain each lexeme (any configuration): a query ranks only the chunks that hold
-- its rarest words, so a common word ("settings") never makes a turn rank the whole knowledge base.
CREATE TABLE IF NOT EXISTS knowledge_v1_terms (
    workspace_id uuid NOT NULL,
    lexeme text NOT NULL,
    chunks integer NOT NULL,
    PRIMARY KEY (workspace_id, lexeme)
);
