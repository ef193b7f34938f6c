-- Knowledge read model (projections/knowledge), issue 24.
-- 1. The chunks' full-text index leads with the workspace (btree_gin: a trusted contrib extension, in PostgreSQL 15's
--    contrib and in the embedded PostgreSQL 18): a turn's match reads the posting lists of its own workspace only, so a
--    word frequent in other customers' articles does not make it fetch and discard their rows as the store grows
--    (docs/performance.md, "Knowledge retrieval"). fastupdate off as before (every chat turn reads, imports are rare).
CREATE EXTENSION IF NOT EXISTS btree_gin;
CREATE INDEX IF NOT EXISTS knowledge_v1_chunks_ws_tsv ON knowledge_v1_chunks USING gin (workspace_id, tsv)
    WITH (fastupdate = off);
DROP INDEX IF EXISTS knowledge_v1_chunks_tsv;

-- 2. Why each question of a gap group was listed: the answer's support was low, the answer offered a person (low
--    confidence), or a rule handed the question to a person (docs/knowledge.md, "Knowledge gaps").
ALTER TABLE knowledge_v1_gaps
    ADD COLUMN IF NOT EXISTS low_support integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS offered integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS escalated integer NOT NULL DEFAULT 0;
UPDATE knowledge_v1_gaps SET low_support = count;

-- 3. The text search configurations each workspace's articles use: a question is parsed in those only (an article's
--    language may now be any ISO 639 code; a language PostgreSQL has no configuration for is indexed with simple).
ALTER TABLE knowledge_v1_workspaces ADD COLUMN IF NOT EXISTS configs regconfig[] NOT NULL DEFAULT '{}';
UPDATE knowledge_v1_workspaces w
SET configs = ARRAY(SELECT DISTINCT c.config FROM knowledge_v1_chunks c WHERE c.workspace_id = w.workspace_id);
