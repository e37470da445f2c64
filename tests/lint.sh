#!/bin/sh
# The lint gate, in the spirit of curl's checksrc: banned calls, and MACs
# compared only in constant time (RELIABILITY B7). Prints each offence
# with file:line and fails when there is any.
set -u
root=${SOURCE_ROOT:-$(dirname "$0")/..}
cd "$root" || exit 1
status=0
banned='\b(sprintf|vsprintf|strcpy|strcat|strncpy|strtok|atoi|atol|gets|sscanf|system|popen)[[:space:]]*\('
if grep -nE "$banned" daemon/*.c include/*.h; then
	echo "lint: banned call above; use snprintf, buf_* or text_parse_int"
	status=1
fi
if grep -nE '\b(memcmp|strcmp|strncmp)\b' daemon/token.c; then
	echo "lint: token.c compares with memcmp/strcmp; use sodium_memcmp"
	status=1
fi
if [ "$status" -eq 0 ]; then
	echo "lint: ok"
fi
exit $status
