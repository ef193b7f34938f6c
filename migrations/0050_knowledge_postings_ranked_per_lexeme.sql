-- Knowledge read model (projections/knowledge), issue 24: a turn's candidates come from a ranked postings table, not
-- from a bitmap scan of the GIN index (ADR 0066, docs/performance.md "Session 11: knowledge retrieval's postings").
-- One row per (chunk, lexeme) of a chunk's tsvector, with the lexeme's ts_rank in that chunk (the weights of
-- view.WEIGHTS, normalisation 1): ts_rank of an OR of n lexemes is the sum of their ranks divided by n, so a question's
-- cheap order is a sum over a few rows instead of ts_rank's decompression of up to 600 tsvectors. The btree
-- (workspace, lexeme, rank desc) of published postings gives a lexeme's best chunks by an index range scan that stops
-- at the budget, where the GIN bitmap built every match of a common word (thousands) before its LIMIT.
-- The ranks depend on view.WEIGHTS (0.3, 0.4, 0.6, 1.0): a change of those weights takes a rebuild of the knowledge
-- view (`chatassist projections rebuild knowledge`) or a migration recomputing this column.
CREATE TABLE IF NOT EXISTS knowledge_v1_postings (
    article_id uuid NOT NULL,
    chunk integer NOT NULL,
    lexeme text NOT NULL,
    workspace_id uuid NOT NULL,
    published boolean NOT NULL,
    rank real NOT NULL,
    PRIMARY KEY (article_id, chunk, lexeme)
);
INSERT INTO knowledge_v1_postings (article_id, chunk, lexeme, workspace_id, published, rank)
SELECT c.article_id, c.chunk, l.lexeme, c.workspace_id, c.published,
       ts_rank('{0.3,0.4,0.6,1.0}'::float4[], c.tsv, quote_literal(l.lexeme)::tsquery, 1)
FROM knowledge_v1_chunks c, unnest(tsvector_to_array(c.tsv)) AS l(lexeme)
WHERE l.lexeme !~ '[\\'']'
ON CONFLICT DO NOTHING;
CREATE INDEX IF NOT EXISTS knowledge_v1_postings_best ON knowledge_v1_postings
    (workspace_id, lexeme, rank DESC, article_id, chunk) WHERE published;
-- Nothing matches chunks by their tsvector any more (the postings do): the GIN index goes, and with it its cost on
-- every article write.
DROP INDEX IF EXISTS knowledge_v1_chunks_ws_tsv;
