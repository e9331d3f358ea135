#!/bin/sh
# A CSV table (header + rows, no quoted commas) as a Markdown table.
#   sh to_markdown.sh IN.csv OUT.md
set -eu
{
  echo "# Mean SO2 by year (simulated demo data)"
  echo
  head -n 1 "$1" | awk -F, '{ s = "|"; d = "|"; for (i = 1; i <= NF; i++) { s = s " " $i " |"; d = d " ---: |" } print s; print d }'
  tail -n +2 "$1" | awk -F, '{ s = "|"; for (i = 1; i <= NF; i++) s = s " " $i " |"; print s }'
} > "$2"
echo "wrote $(($(wc -l < "$1") - 1)) rows" >&2
