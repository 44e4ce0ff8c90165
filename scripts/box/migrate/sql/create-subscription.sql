-- create-subscription: run by replicate_start() in lib/replicate.sh. psql variables: conninfo, repl_name.
CREATE SUBSCRIPTION :"repl_name" CONNECTION :'conninfo' PUBLICATION :"repl_name" WITH (copy_data = true);
