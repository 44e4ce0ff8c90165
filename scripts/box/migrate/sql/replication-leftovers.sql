-- replication-leftovers: run by preflight_replicate() in lib/preflight.sh. psql variables: repl_name.
SELECT concat_ws(' ', (SELECT 'publication' FROM pg_publication WHERE pubname = :'repl_name'), (SELECT 'slot' FROM pg_replication_slots WHERE slot_name = :'repl_name'));
