-- Knowledge read model (projections/knowledge), issue 24: the typo step's nearest-lexeme search on a table that is
-- written only when a workspace meets a new word (ADR 0063).
-- knowledge_v1_terms counts, per workspace, the chunks holding each lexeme: every article written updates its rows,
-- and an import of many articles updates the same rows thousands of times in a few transactions. Its trigram GiST
-- index (migration 0042) took a new entry for each update that could not stay on its page, and a GiST index never
-- narrows the keys of its inner pages again, so the nearest-neighbour probe of an unknown word read most of a bloated
-- index (400 buffers at the median, up to 2,214, 12 ms, on the benchmark's 10,000 articles: docs/performance.md).
-- knowledge_v1_lexicon holds the same (workspace, lexeme) pairs, inserted once (ON CONFLICT DO NOTHING) and never
-- updated; the probe searches its index and joins the counts for "still in a chunk" (chunks > 0).
-- siglen=64: the trigram signature of the index's inner pages is 64 bytes instead of 12, so a page of lexemes that
-- share no trigram with the word is skipped (35 buffers at the median against 88 with 12 bytes, 52 with 256).
CREATE TABLE IF NOT EXISTS knowledge_v1_lexicon (
    workspace_id uuid NOT NULL,
    lexeme text NOT NULL,
    PRIMARY KEY (workspace_id, lexeme)
);
INSERT INTO knowledge_v1_lexicon (workspace_id, lexeme)
SELECT workspace_id, lexeme FROM knowledge_v1_terms
ON CONFLICT DO NOTHING;
CREATE INDEX IF NOT EXISTS knowledge_v1_lexicon_trgm ON knowledge_v1_lexicon
    USING gist (workspace_id, lexeme gist_trgm_ops (siglen = 64));
DROP INDEX IF EXISTS knowledge_v1_terms_trgm;
