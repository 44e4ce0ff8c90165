-- data-directory: run by preflight() in lib/preflight.sh.
SELECT current_setting('data_directory');
