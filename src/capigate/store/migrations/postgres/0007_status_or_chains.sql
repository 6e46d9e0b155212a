-- Nothing to change here: the SQLite step of this number rewrites IN lists that SQLite
-- evaluates through a temporary table; PostgreSQL compares against an array in place. The
-- step exists so that both dialects keep the same numbered history.
SELECT 1;
