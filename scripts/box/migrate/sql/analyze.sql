-- analyze: run after a dump-mode copy (migrate-db), so the planner has statistics before the API uses the target.
ANALYZE;
