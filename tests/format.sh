#!/bin/sh
# Every C file is formatted with the repository's .clang-format.
set -u
cd "${SOURCE_ROOT:?}" || exit 1
bad=""
for f in daemon/*.c include/*.h tests/unit/*.c; do
	if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
		bad="$bad $f"
	fi
done
if [ -n "$bad" ]; then
	echo "format: run clang-format -i on:$bad"
	exit 1
fi
echo "format: ok"
