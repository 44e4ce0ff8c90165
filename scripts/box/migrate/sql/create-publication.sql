-- create-publication: run by replicate_start() in lib/replicate.sh. psql variables: repl_name, tables.
CREATE PUBLICATION :"repl_name" FOR TABLE :tables;
