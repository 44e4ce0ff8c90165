-- drop-slot: run by replicate_abort() in lib/replicate.sh. psql variables: repl_name.
SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = :'repl_name' AND NOT active;
