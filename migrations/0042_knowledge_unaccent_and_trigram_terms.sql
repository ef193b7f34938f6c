-- Knowledge read model (projections/knowledge), issue 24: retrieval in the visitor's own words (ADR 0045).
-- 1. Accents: chunks are indexed, and questions parsed, with their accents removed (unaccent, a trusted contrib
--    extension in PostgreSQL 15's contrib and the embedded PostgreSQL 18), so "codigo" finds "código" and "telephone"
--    finds "téléphone". The chunks already indexed are indexed again here, and the lexeme counts recounted.
-- 2. Typos: a trigram GiST index on the workspace's lexemes (pg_trgm and btree_gist, same), so a question word the
--    workspace does not know ("pasword", "calender") is matched on its nearest known lexeme by a nearest-neighbour
--    search (ORDER BY lexeme <-> word LIMIT 1) within the workspace's own lexemes.
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gist;

UPDATE knowledge_v1_chunks c
SET tsv = setweight(to_tsvector(c.config, unaccent(concat_ws(' ', a.title, array_to_string(a.tags, ' ')))), 'A')
    || setweight(to_tsvector(c.config, unaccent(c.heading)), 'B')
    || to_tsvector(c.config, unaccent(c.text))
FROM knowledge_v1_articles a
WHERE a.id = c.article_id;

DELETE FROM knowledge_v1_terms;
INSERT INTO knowledge_v1_terms (workspace_id, lexeme, chunks)
SELECT c.workspace_id, l.lexeme, count(*)
FROM knowledge_v1_chunks c, unnest(tsvector_to_array(c.tsv)) AS l(lexeme)
GROUP BY 1, 2;

CREATE INDEX IF NOT EXISTS knowledge_v1_terms_trgm ON knowledge_v1_terms USING gist (workspace_id, lexeme gist_trgm_ops);
