-- 0004_catalog_source_hash.sql: lets a file sync skip parsing the records
-- that have not changed.
--
-- Parsing and normalizing is what a catalog sync spends its time on
-- (~170 µs a procedure; tests/bench/RESULTS.md "Catalog sync"), and a
-- re-sync mostly reads records byte for byte as the last one stored them.
-- A sync now hashes each record's raw bytes first (no parse) and parses
-- only those whose hash no live procedure carries.
--
-- Invariant the sync relies on: a non-NULL source_hash is the BLAKE2b-256
-- of bytes that normalize to exactly the stored record. Raw bytes decide
-- their own validity and normalization, so equal bytes need no second look.
-- A migration that changes what normalization produces must therefore set
-- source_hash to NULL (NULL never matches: the next sync parses everything).
ALTER TABLE procedures ADD COLUMN source_hash bytea
    CHECK (source_hash IS NULL OR octet_length(source_hash) = 32);
COMMENT ON COLUMN procedures.source_hash IS
    'BLAKE2b-256 of the record''s bytes exactly as the last file sync read them (from ''{'' to '
    'its ''}''); NULL when unknown (the API source, or rows from before 0004).';
