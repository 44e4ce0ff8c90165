-- database-size: run by preflight() in lib/preflight.sh.
SELECT pg_database_size(current_database());
