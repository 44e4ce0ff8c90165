-- Compatibility functions for tables that came from Xata's PostgreSQL endpoint.
--
-- Xata (with pgroll) gives user tables the columns xata_id, xata_version, xata_createdat and
-- xata_updatedat. Their defaults and triggers call functions in Xata's internal schema `xata_private`,
-- which is NOT copied (it is provider-internal). Without these functions, the restored DDL would fail
-- ("schema xata_private does not exist") and new rows would get no xata_id.
--
-- scripts/box/migrate-db applies this file on the target only when an object in a copied schema references
-- one of the functions below, and it creates a function only when it does not already exist, so a real
-- Xata database (the rollback direction) keeps its own implementation.
--
-- Each `-- provides:` line names a function (as regprocedure text) that this file creates; migrate-db
-- reads them to decide whether every reference into an excluded schema is covered.
-- provides: xata_private.xid()
-- provides: xata_private.maintain_metadata_trigger_pgroll()

CREATE SCHEMA IF NOT EXISTS xata_private;

DO $compat$
BEGIN
  IF to_regprocedure('xata_private.xid()') IS NULL THEN
    CREATE SEQUENCE IF NOT EXISTS xata_private.xid_counter AS bigint CYCLE MAXVALUE 16777215;
    -- A globally unique, time-sortable id in the xid format (20 characters of base32hex, lower case):
    -- 4 bytes of Unix seconds, 5 random bytes, a 3-byte counter. Same length and alphabet as Xata's ids,
    -- so 'rec_' || xata_private.xid() keeps producing ids of the shape the application already stores.
    CREATE FUNCTION xata_private.xid() RETURNS text
      LANGUAGE plpgsql VOLATILE PARALLEL SAFE
      SET search_path = pg_catalog
    AS $fn$
    DECLARE
      secs bigint := floor(extract(epoch FROM clock_timestamp()))::bigint;
      rnd bytea := decode(replace(gen_random_uuid()::text, '-', ''), 'hex');
      ctr bigint := nextval('xata_private.xid_counter');
      raw bytea := '\x000000000000000000000000'::bytea;
      bits text := '';
      alphabet constant text := '0123456789abcdefghijklmnopqrstuv';
      result text := '';
      i int;
    BEGIN
      raw := set_byte(raw, 0, ((secs >> 24) & 255)::int);
      raw := set_byte(raw, 1, ((secs >> 16) & 255)::int);
      raw := set_byte(raw, 2, ((secs >> 8) & 255)::int);
      raw := set_byte(raw, 3, (secs & 255)::int);
      FOR i IN 0..4 LOOP
        raw := set_byte(raw, 4 + i, get_byte(rnd, i));
      END LOOP;
      raw := set_byte(raw, 9, ((ctr >> 16) & 255)::int);
      raw := set_byte(raw, 10, ((ctr >> 8) & 255)::int);
      raw := set_byte(raw, 11, (ctr & 255)::int);
      FOR i IN 0..11 LOOP
        bits := bits || get_byte(raw, i)::bit(8)::text;
      END LOOP;
      bits := bits || '0000';
      FOR i IN 0..19 LOOP
        result := result || substr(alphabet, substring(bits FROM i * 5 + 1 FOR 5)::bit(5)::int + 1, 1);
      END LOOP;
      RETURN result;
    END
    $fn$;
  END IF;

  IF to_regprocedure('xata_private.maintain_metadata_trigger_pgroll()') IS NULL THEN
    -- Keeps Xata's metadata columns meaningful after the move: on UPDATE, xata_updatedat becomes now(),
    -- xata_version is incremented and xata_id/xata_createdat keep their old values. Columns a table
    -- doesn't have are left alone. (Logical replication apply does not fire it: replica role.)
    CREATE FUNCTION xata_private.maintain_metadata_trigger_pgroll() RETURNS trigger
      LANGUAGE plpgsql
      SET search_path = pg_catalog
    AS $fn$
    DECLARE
      cols jsonb := to_jsonb(NEW);
      patch jsonb := '{}'::jsonb;
    BEGIN
      IF TG_OP = 'UPDATE' THEN
        IF cols ? 'xata_updatedat' THEN
          patch := patch || jsonb_build_object('xata_updatedat', now());
        END IF;
        IF cols ? 'xata_version' THEN
          patch := patch || jsonb_build_object('xata_version', coalesce((to_jsonb(OLD) ->> 'xata_version')::int, 0) + 1);
        END IF;
        IF cols ? 'xata_id' THEN
          patch := patch || jsonb_build_object('xata_id', to_jsonb(OLD) -> 'xata_id');
        END IF;
        IF cols ? 'xata_createdat' THEN
          patch := patch || jsonb_build_object('xata_createdat', to_jsonb(OLD) -> 'xata_createdat');
        END IF;
        NEW := jsonb_populate_record(NEW, patch);
      END IF;
      RETURN NEW;
    END
    $fn$;
  END IF;
END
$compat$;
