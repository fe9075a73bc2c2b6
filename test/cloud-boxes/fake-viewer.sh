#!/bin/sh
# A stand-in for remote-viewer: records its arguments, its pid and the .vv file it was given to the
# record file named by its first argument, then stays up like a viewer holding a desktop session.
record="$1"
shift
vv="$1"
{
  echo "pid=$$"
  echo "args=$*"
  cat "$vv"
} >"$record.tmp" && mv "$record.tmp" "$record"
exec sleep 3600
