-- drop-subscription: run by replicate_cutover() in lib/replicate.sh. psql variables: repl_name.
DROP SUBSCRIPTION :"repl_name";
