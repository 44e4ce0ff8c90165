/**
 * Runs in every ops test file before its tests.
 *
 * Timeout: the ops files start real servers and run scripts end to end, two files at once on a 2-core machine,
 * where jest's 5 s default is too tight. Each test gets 60 s unless its file sets more.
 *
 * PATH: on Debian, /usr/bin/psql, pg_dump and pg_restore are
 * pg_wrapper, a Perl script that chooses a client version and costs about 50 ms of CPU per call before the
 * real client starts (hyperfine: `psql --version` 58 ms through the wrapper). The scripts under test call the
 * clients hundreds of times, so the ops tests put the installed server's own bin directory (the same binaries
 * the wrapper would run) first on PATH, for themselves and every child process.
 */
import { pgBinDir } from "./postgres";

process.env.PATH = `${pgBinDir()}:${process.env.PATH ?? ""}`;

jest.setTimeout(60000);
