-- sequence-setvals: run by replicate_cutover() in lib/replicate.sh. psql variables: schemas.
SELECT format('SELECT setval(%L, %s, %L);', format('%I.%I', schemaname, sequencename), coalesce(last_value, (SELECT s.seqstart FROM pg_sequence s WHERE s.seqrelid = format('%I.%I', schemaname, sequencename)::regclass)), last_value IS NOT NULL)
  FROM pg_sequences WHERE schemaname = ANY(:schemas);
