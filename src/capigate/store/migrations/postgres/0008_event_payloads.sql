-- Nothing to change here: the SQLite step of this number moves the payload out of the rows
-- that leasing and acknowledgements rewrite, because SQLite writes whole pages of them to its
-- WAL; PostgreSQL keeps a large payload out of line already (TOAST) and its updates leave it
-- there. The step exists so that both dialects keep the same numbered history.
SELECT 1;
