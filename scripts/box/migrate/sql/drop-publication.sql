-- drop-publication: run by replicate_cutover() in lib/replicate.sh. psql variables: repl_name.
DROP PUBLICATION IF EXISTS :"repl_name";
