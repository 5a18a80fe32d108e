#!/usr/bin/env bash
# End-to-end test of the blaze command line: real processes over real stores
# in a temporary directory. Usage: cli_test.sh PATH_TO_BLAZE
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 PATH_TO_BLAZE" >&2
  exit 2
fi
BLAZE=$(realpath "$1")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Cheap key derivation: these stores protect nothing.
export BLAZE_KDF_LOG2_N=10
export BLAZE_PASSWORD=correct-horse
export BLAZE_DB=$WORK/store
unset BLAZE_NEW_PASSWORD

passed=0
failed=0
status=0

pass() { passed=$((passed + 1)); }
fail() {
  failed=$((failed + 1))
  echo "FAIL: $1" >&2
  echo "  status: $status" >&2
  sed 's/^/  stdout: /' "$WORK/out" >&2
  sed 's/^/  stderr: /' "$WORK/err" >&2
}

# run CMD...: runs CMD, keeping its stdout, stderr and exit status.
run() {
  set +e
  "$@" >"$WORK/out" 2>"$WORK/err"
  status=$?
  set -e
}
blaze() { run "$BLAZE" "$@"; }

# Without a controlling terminal and without BLAZE_PASSWORD.
blaze_without_tty() { run env -u BLAZE_PASSWORD setsid -w "$BLAZE" "$@"; }

stdout() { cat "$WORK/out"; }

# expect_ok NAME [EXPECTED_STDOUT]: exit 0, nothing on stderr, and the
# exact output when given.
expect_ok() {
  if [[ $status -ne 0 || -s $WORK/err ]]; then
    fail "$1"
  elif [[ $# -ge 2 && "$(stdout)" != "$2" ]]; then
    echo "  expected: $2" >&2
    fail "$1"
  else
    pass
  fi
}

# expect_error NAME CODE PATTERN: exit CODE and exactly one stderr line
# "blaze: ..." matching the extended regex PATTERN.
expect_error() {
  local lines
  lines=$(wc -l <"$WORK/err")
  if [[ $status -ne $2 || $lines -ne 1 ]] || ! grep -Eq "^blaze: .*($3)" "$WORK/err"; then
    echo "  expected: exit $2, one line matching /$3/" >&2
    fail "$1"
  else
    pass
  fi
}

# expect_same NAME FILE_A FILE_B
expect_same() {
  if cmp -s "$2" "$3"; then
    pass
  else
    diff "$2" "$3" >&2 || true
    fail "$1"
  fi
}

# --- init -------------------------------------------------------------------
blaze init
expect_ok "init creates a store"
grep -q "created store 'store'" "$WORK/out" && pass || fail "init names the store after its directory"

blaze init
expect_error "init refuses an existing store" 1 "already exists"

run env BLAZE_KDF_LOG2_N=abc "$BLAZE" init --db "$WORK/other"
expect_error "init rejects a malformed BLAZE_KDF_LOG2_N" 1 "BLAZE_KDF_LOG2_N"

blaze init --db "$WORK/named" --name inventory
expect_ok "init takes --name after the subcommand"
blaze --db "$WORK/named" --name inventory info
expect_ok "open with the matching name"
blaze --db "$WORK/named" --name wrong info
expect_error "open with another name fails" 1 "name"

# --- put / get --------------------------------------------------------------
blaze put users alice name=Alice age=30 score=1.5 active=true note=null code='"42"' \
  --json '{"avatar":{"$bytes":"AAEC/w=="}}'
expect_ok "put typed values"
blaze get users alice
expect_ok "get prints the record" \
  '{"_id":"alice","active":true,"age":30,"avatar":{"$bytes":"AAEC/w=="},"code":"42","name":"Alice","note":null,"score":1.5}'

blaze put users alice city='New York' age=31
blaze get users alice
expect_ok "put merges fields" \
  '{"_id":"alice","active":true,"age":31,"avatar":{"$bytes":"AAEC/w=="},"city":"New York","code":"42","name":"Alice","note":null,"score":1.5}'

blaze put users bob name=Bob age=17
blaze put users carol name=Carol age=45 ratio=1e3
blaze get users carol
expect_ok "an exponent is a double" '{"_id":"carol","age":45,"name":"Carol","ratio":1000.0}'

blaze get users nobody
expect_error "get of a missing record" 1 "not found: users/nobody$"

blaze put users dave --json '{"address":{"street":"x"}}'
expect_error "nested objects are refused" 1 "nested objects are not supported"
blaze put users dave --json '{"tags":[1,2]}'
expect_error "arrays are refused" 1 "arrays are not supported"
blaze put users dave big=99999999999999999999
expect_error "an integer beyond int64 is refused" 1 "out of the int64 range"
blaze put users dave _secret=1
expect_error "reserved field names are refused" 1 "_secret"
blaze put users dave
expect_error "put without fields is a usage error" 2 "nothing to put"
blaze get users dave
expect_error "refused puts write nothing" 1 "not found: users/dave"

blaze get users alice extra
expect_error "extra arguments are a usage error" 2 "not expected|extra"
blaze
expect_error "a subcommand is required" 2 "subcommand"
run env -u BLAZE_DB "$BLAZE" get users alice
expect_error "a store path is required" 2 "--db"
blaze --db "$WORK/missing" get users alice
expect_error "a missing store is reported" 1 "no store at"

# --- query / list / collections ---------------------------------------------
blaze query users --where 'age>=18' --order age
expect_ok "query with a range and an order" "$(printf '%s\n' \
  '{"_id":"alice","active":true,"age":31,"avatar":{"$bytes":"AAEC/w=="},"city":"New York","code":"42","name":"Alice","note":null,"score":1.5}' \
  '{"_id":"carol","age":45,"name":"Carol","ratio":1000.0}')"
blaze query users --where 'age >= 18' --order age --desc --limit 1
expect_ok "query descending with a limit" '{"_id":"carol","age":45,"name":"Carol","ratio":1000.0}'
blaze query users --where 'name=Bob'
expect_ok "query by equality on a plain string" '{"_id":"bob","age":17,"name":"Bob"}'
blaze query users --where '_id!=alice' --where 'age<40'
expect_ok "query with two conditions, one on _id" '{"_id":"bob","age":17,"name":"Bob"}'
blaze query users --count
expect_ok "count a collection" "3"
blaze query users --where 'age>18' --count
expect_ok "count matches" "2"
blaze query users --where 'age~18'
expect_error "a condition without an operator" 2 "operator"

blaze put orders o1 total=12.5 user=alice
blaze list users --limit 2
expect_ok "list with a limit" "$(printf '%s\n' \
  '{"_id":"alice","active":true,"age":31,"avatar":{"$bytes":"AAEC/w=="},"city":"New York","code":"42","name":"Alice","note":null,"score":1.5}' \
  '{"_id":"bob","age":17,"name":"Bob"}')"
blaze collections
expect_ok "collections" "$(printf 'orders\nusers')"

# --- unset / delete ---------------------------------------------------------
blaze unset users alice note code
blaze get users alice
expect_ok "unset removes fields" \
  '{"_id":"alice","active":true,"age":31,"avatar":{"$bytes":"AAEC/w=="},"city":"New York","name":"Alice","score":1.5}'
blaze unset users nobody name
expect_error "unset on a missing record" 1 "not found: users/nobody$"

blaze put users temp x=1
blaze delete users temp
expect_ok "delete"
blaze get users temp
expect_error "a deleted record is gone" 1 "not found: users/temp"
blaze delete users temp
expect_error "deleting twice" 1 "not found: users/temp$"

# --- export / import --------------------------------------------------------
blaze export -o "$WORK/all.jsonl"
expect_ok "export to a file" "exported 4 records to $WORK/all.jsonl"
blaze export
stdout >"$WORK/all-stdout.jsonl"
expect_same "export to stdout matches the file" "$WORK/all.jsonl" "$WORK/all-stdout.jsonl"
head -n 1 "$WORK/all.jsonl" | grep -q '^{"_collection":"orders","_id":"o1",' \
  && pass || fail "export lines start with _collection and _id"
blaze export users
[[ $(stdout | wc -l) -eq 3 ]] && pass || fail "export of one collection"

blaze init --db "$WORK/copy"
blaze import --db "$WORK/copy" -i "$WORK/all.jsonl"
expect_ok "import a file" "imported 4 records"
blaze export --db "$WORK/copy"
stdout >"$WORK/copy.jsonl"
expect_same "export, import, export round-trips" "$WORK/all.jsonl" "$WORK/copy.jsonl"

blaze init --db "$WORK/piped"
run "$BLAZE" import --db "$WORK/piped" -i - <"$WORK/all.jsonl"
expect_ok "import from stdin" "imported 4 records"

{
  echo '{"_collection":"users","_id":"eve","name":"Eve"}'
  echo '{"_collection":"users","_id":"frank","name":"Frank"}'
  echo '{"_collection":"users","_id":"gina","name":'
  echo '{"_collection":"users","_id":"hal","name":"Hal"}'
} >"$WORK/bad-json.jsonl"
blaze ops
stdout >"$WORK/ops-before"
blaze import -i "$WORK/bad-json.jsonl"
expect_error "malformed JSON names its line" 1 "line 3"
blaze export
stdout >"$WORK/after-bad.jsonl"
expect_same "a bad import leaves the records unchanged" "$WORK/all.jsonl" "$WORK/after-bad.jsonl"
blaze ops
stdout >"$WORK/ops-after"
expect_same "a bad import leaves the op log unchanged" "$WORK/ops-before" "$WORK/ops-after"

printf '%s\n' '{"_collection":"users","_id":"eve","name":"Eve"}' \
  '{"_collection":"users","name":"no id"}' >"$WORK/no-id.jsonl"
blaze import -i "$WORK/no-id.jsonl"
expect_error "a line without _id" 1 "line 2.*_id"
printf '%s\n' '{"_collection":"users","_id":"eve","name":"Eve"}' \
  '{"_collection":"bad name!","_id":"x"}' >"$WORK/bad-collection.jsonl"
blaze import -i "$WORK/bad-collection.jsonl"
expect_error "a line with an invalid collection name" 1 "line 2.*collection"
blaze get users eve
expect_error "nothing from bad files was stored" 1 "not found: users/eve"

# --- ops --------------------------------------------------------------------
blaze ops
[[ $(stdout | wc -l) -eq 8 ]] && pass || fail "ops lists every change"
node=$("$BLAZE" info | jq -r .node)
stdout | head -n 1 | jq -e --arg node "$node" \
  '.origin == $node and .seq == 1 and .kind == "set" and .collection == "users"
   and .id == "alice" and .fields.age == 30 and (.hlc | type) == "number"' >/dev/null \
  && pass || fail "an op line has origin, seq, hlc, kind and fields"
stdout | grep '"kind":"erase"' | jq -e '.id == "temp" and .fields == {}' >/dev/null \
  && pass || fail "deletes appear as erase ops"
stdout | jq -se 'map(select(.id == "alice" and (.removed | sort) == ["code", "note"])) | length == 1' \
  >/dev/null \
  && pass || fail "unset appears as removed fields"
blaze ops --limit 2
[[ $(stdout | wc -l) -eq 2 ]] && pass || fail "ops --limit"
blaze ops --since-json "{\"$node\":6}"
[[ $(stdout | wc -l) -eq 2 ]] && stdout | head -n 1 | jq -e '.seq == 7' >/dev/null \
  && pass || fail "ops --since-json"
blaze ops --since-json '{"zz":1}'
expect_error "a bad version vector" 1 "hexadecimal"

# --- info -------------------------------------------------------------------
blaze info
jq -e --arg node "$node" --arg path "$WORK/store" \
  '.name == "store" and .node == $node and .path == $path
   and .version[$node] == 8 and .collections == {"orders": 1, "users": 3}' \
  "$WORK/out" >/dev/null && pass || fail "info"

# --- passwords --------------------------------------------------------------
run env BLAZE_PASSWORD=wrong "$BLAZE" get users alice
expect_error "a wrong password" 1 "wrong password"

blaze_without_tty get users alice </dev/null
expect_error "no password and no terminal" 1 "no password: set BLAZE_PASSWORD"

blaze_without_tty init --db "$WORK/never" </dev/null
expect_error "init without a password" 1 "no password"
[[ ! -e $WORK/never || -z $(ls -A "$WORK/never") ]] && pass || fail "init without a password creates nothing"

run env BLAZE_NEW_PASSWORD=battery-staple "$BLAZE" passwd
expect_ok "passwd" "password changed for $WORK/store"
blaze get users bob
expect_error "the old password no longer opens the store" 1 "wrong password"
run env BLAZE_PASSWORD=battery-staple "$BLAZE" get users bob
expect_ok "the new password opens the store" '{"_id":"bob","age":17,"name":"Bob"}'
run env BLAZE_PASSWORD=wrong BLAZE_NEW_PASSWORD=other "$BLAZE" passwd
expect_error "passwd with a wrong old password" 1 "wrong password"
run env -u BLAZE_NEW_PASSWORD BLAZE_PASSWORD=battery-staple setsid -w "$BLAZE" passwd </dev/null
expect_error "passwd without a new password and no terminal" 1 "BLAZE_NEW_PASSWORD"
run env BLAZE_PASSWORD=battery-staple "$BLAZE" export
stdout >"$WORK/after-passwd.jsonl"
expect_same "records survive a password change" "$WORK/all.jsonl" "$WORK/after-passwd.jsonl"

# --- topology ---------------------------------------------------------------
for s in t1 t2 t3; do
  blaze init --db "$WORK/$s"
  blaze put --db "$WORK/$s" notes "from-$s" n=1
done
blaze topology "$WORK/t1" "$WORK/t2" "$WORK/t3" --mode read_only
if [[ $status -eq 0 && $(grep -c 'read_only  in-process  running  lag 0' "$WORK/out") -eq 2 ]]; then
  pass
else
  fail "topology links a read_only chain and syncs it"
fi
blaze get --db "$WORK/t3" notes from-t1
expect_ok "topology carried ops down the chain" '{"_id":"from-t1","n":1}'
blaze get --db "$WORK/t1" notes from-t3
expect_error "read_only never carries ops back up" 1 "not found"
blaze topology "$WORK/t1" "$WORK/t2" --dot
if [[ $status -eq 0 ]] && head -1 "$WORK/out" | grep -q '^digraph' \
    && grep -q '"t1" -> "t2" .*dir=both' "$WORK/out"; then
  pass
else
  fail "topology --dot prints a bidirectional DOT graph"
fi
blaze topology "$WORK/t1" "$WORK/t2" --json
if [[ $status -eq 0 ]] && grep -q '"state": "running"' "$WORK/out"; then pass; else fail "topology --json"; fi
if command -v dot >/dev/null; then
  blaze topology "$WORK/t1" "$WORK/t2" --png "$WORK/graph.png"
  if [[ $status -eq 0 ]] && head -c 8 "$WORK/graph.png" | grep -q PNG; then
    pass
  else
    fail "topology --png draws with dot"
  fi
fi
run env PATH=/nonexistent "$BLAZE" topology "$WORK/t1" --png "$WORK/never.png"
expect_error "topology --png without graphviz" 1 "dot"
blaze topology "$WORK/t1" "$WORK/t2" --mode sideways
expect_error "topology with an unknown mode" 2 "unknown link mode"

# --- share / shared: cross-app sharing --------------------------------------
export BLAZE_DB=$WORK/exporter
blaze init
blaze put notes n1 title=hello secret=shh
blaze put private p1 title=hidden
"$BLAZE" share --group g1 --group-dir "$WORK/group" --collections notes --fields title \
  >"$WORK/share.out" 2>&1 &
share_pid=$!
for _ in $(seq 1 100); do [[ -S $WORK/group/exporter.sock ]] && break; sleep 0.1; done
blaze shared --group g1 --group-dir "$WORK/group"
if [[ $status -eq 0 ]] && grep -q '"database":"exporter","live":true,"read_only":true' "$WORK/out"; then
  pass
else
  fail "shared lists the group's exports"
fi
blaze shared --group g1 --group-dir "$WORK/group" --database exporter
expect_ok "shared prints the exported fields only" '{"_collection":"notes","_id":"n1","title":"hello"}'
blaze shared --group g1 --group-dir "$WORK/group" --database nope
expect_error "shared names a missing export" 1 "exports 'nope'"
blaze share --group g1 --group-dir "$WORK/group"
expect_error "share without collections" 2 "collections"
kill -TERM "$share_pid"
wait "$share_pid" || true
if [[ ! -e $WORK/group/exporter.sock ]] && ! grep -q exporter "$WORK/group/manifest.json"; then
  pass
else
  fail "share withdraws its socket and manifest entry on SIGTERM"
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
