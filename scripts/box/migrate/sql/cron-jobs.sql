-- cron-jobs: run by preflight() in lib/preflight.sh.
SELECT count(*) FROM cron.job WHERE database = current_database();
