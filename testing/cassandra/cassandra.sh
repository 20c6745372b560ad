#!/usr/bin/env bash
# cassandra.sh: throwaway Apache Cassandra for cqlseq's integration tests: one node on 127.0.0.1,
# and a small local cluster on 127.0.0.2, .3, ... for tests that need replicas and node failures.
#
#   cassandra.sh start | stop | restart | status | pid | logs [N] | nodetool ARGS... | wipe
#   cassandra.sh cluster start | stop | restart | status | hosts | wipe | add-node
#   cassandra.sh cluster pid I | kill I [KILL|STOP|CONT] | start-node I | stop-node I | restart-node I
#   cassandra.sh cluster remove-node I
#   cassandra.sh cluster logs I [N] | nodetool I ARGS...
#
# There is no Docker and no download site here, only Maven Central, so Cassandra is run straight from
# its Maven jars (cassandra-all + runtime dependencies) as child JVMs on JDK 17. Everything a node
# needs or writes lives in its own state directory outside the source tree; the jars are fetched
# once, into the single node's state directory, and used by every node. See README.md for the
# details and for which start-up facts were verified.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/cqlseq

# Shared by the single node and the cluster.
VERSION=${CQLSEQ_CASSANDRA_VERSION:-5.0.8}
START_TIMEOUT=${CQLSEQ_CASSANDRA_START_TIMEOUT:-180}
STOP_TIMEOUT=${CQLSEQ_CASSANDRA_STOP_TIMEOUT:-30}
MAVEN_REPO=${CQLSEQ_MAVEN_REPO:-}

# The single node on 127.0.0.1.
SINGLE_DIR=${CQLSEQ_CASSANDRA_DIR:-$CACHE/cassandra}
SINGLE_NATIVE_PORT=${CQLSEQ_CASSANDRA_PORT:-9042}
SINGLE_STORAGE_PORT=${CQLSEQ_CASSANDRA_STORAGE_PORT:-7000}
# JMX only serves nodetool (flush/compact in tests). Cassandra opens it only when
# cassandra.jmx.local.port is set; 0 leaves it off so no JMX port can ever clash.
SINGLE_JMX_PORT=${CQLSEQ_CASSANDRA_JMX_PORT:-7199}
SINGLE_HEAP=${CQLSEQ_CASSANDRA_HEAP:-1g}
SINGLE_JVM_OPTS=${CQLSEQ_CASSANDRA_JVM_OPTS:-}

# The cluster: node I (1..N) listens on 127.0.0.(I+1) (all of 127/8 is loopback on Linux), each with
# the standard ports on its own address. Local JMX always binds 127.0.0.1, so node I gets JMX port
# base+I (7201, 7202, ...); base 0 turns JMX off. A second cluster can live beside it with its own
# state dir, another CQLSEQ_CLUSTER_NET (127.0.1 gives 127.0.1.2, ...) and other JMX ports.
CLUSTER_DIR=${CQLSEQ_CLUSTER_DIR:-$CACHE/cluster}
CLUSTER_NODES=${CQLSEQ_CLUSTER_NODES:-3}
CLUSTER_NET=${CQLSEQ_CLUSTER_NET:-127.0.0}
CLUSTER_NATIVE_PORT=${CQLSEQ_CLUSTER_PORT:-9042}
CLUSTER_STORAGE_PORT=${CQLSEQ_CLUSTER_STORAGE_PORT:-7000}
CLUSTER_JMX_BASE=${CQLSEQ_CLUSTER_JMX_PORT:-7200}
CLUSTER_HEAP=${CQLSEQ_CLUSTER_HEAP:-768m}
CLUSTER_JVM_OPTS=${CQLSEQ_CLUSTER_JVM_OPTS:-}
CLUSTER_MAX_NODES=20

# One copy of the jars for every node.
JAR_ROOT=$SINGLE_DIR/lib
LIB_DIR=$JAR_ROOT/$VERSION
READY_LINE="Starting listening for CQL clients"

say() { printf 'cassandra.sh: %s\n' "$*"; }
# Messages are built from several arguments; "\n" in them starts a new line (without the joining space).
err() {
	local msg="$*"
	printf 'cassandra.sh: ERROR: %b\n' "${msg//\\n /\\n}" >&2
}
die() { err "$*"; exit 1; }

now() { printf '%s' "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1fs", b - a }'; }

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

# ---------------------------------------------------------------- the current node
#
# Everything from here to "commands" acts on the current node, described by the globals that
# use_single or use_cluster_node set: its address, ports, heap, state directory and lock.

set_node_dir() {
	NODE_DIR=$1
	CONF_DIR=$NODE_DIR/conf
	DATA_DIR=$NODE_DIR/data
	LOG_DIR=$NODE_DIR/logs
	TMP_DIR=$NODE_DIR/tmp
	PID_FILE=$NODE_DIR/cassandra.pid
	RUN_FILE=$NODE_DIR/run.env
	SYSTEM_LOG=$LOG_DIR/system.log
	STDOUT_LOG=$LOG_DIR/stdout.log
}

use_single() {
	MODE=single
	NODE_ID=
	PFX= # message prefix
	ADDR=127.0.0.1
	NATIVE_PORT=$SINGLE_NATIVE_PORT
	STORAGE_PORT=$SINGLE_STORAGE_PORT
	JMX_PORT=$SINGLE_JMX_PORT
	HEAP=$SINGLE_HEAP
	EXTRA_JVM_OPTS=$SINGLE_JVM_OPTS
	NATIVE_VAR=CQLSEQ_CASSANDRA_PORT
	STORAGE_VAR=CQLSEQ_CASSANDRA_STORAGE_PORT
	JMX_VAR=CQLSEQ_CASSANDRA_JMX_PORT
	JMX_HINT=" (0 turns JMX off)"
	START_CMD="$0 start"
	RESTART_CMD="$0 restart"
	STOP_CMD="$0 stop"
	set_node_dir "$SINGLE_DIR"
	LOCK_FILE=$SINGLE_DIR/lock
	LOCK_WHAT="this node"
}

use_cluster_node() {
	MODE=cluster
	NODE_ID=$1
	ADDR=$CLUSTER_NET.$((NODE_ID + 1))
	PFX="node$NODE_ID ($ADDR): "
	NATIVE_PORT=$CLUSTER_NATIVE_PORT
	STORAGE_PORT=$CLUSTER_STORAGE_PORT
	JMX_PORT=$((CLUSTER_JMX_BASE > 0 ? CLUSTER_JMX_BASE + NODE_ID : 0))
	HEAP=$CLUSTER_HEAP
	EXTRA_JVM_OPTS=$CLUSTER_JVM_OPTS
	NATIVE_VAR=CQLSEQ_CLUSTER_PORT
	STORAGE_VAR=CQLSEQ_CLUSTER_STORAGE_PORT
	JMX_VAR=CQLSEQ_CLUSTER_JMX_PORT
	JMX_HINT=" (node I gets that port + I; 0 turns JMX off)"
	START_CMD="$0 cluster start-node $NODE_ID"
	RESTART_CMD="$0 cluster restart-node $NODE_ID"
	STOP_CMD="$0 cluster stop-node $NODE_ID"
	set_node_dir "$CLUSTER_DIR/node$NODE_ID"
	LOCK_FILE=$CLUSTER_DIR/lock
	LOCK_WHAT="the cluster"
}

# The node's own words are usually the only useful part of a failure, so failures print them.
show_node_logs() {
	local f
	for f in "$STDOUT_LOG" "$SYSTEM_LOG"; do
		[[ -s $f ]] || continue
		printf -- '----- last 40 lines of %s -----\n' "$f" >&2
		tail -n 40 "$f" >&2
	done
	printf -- '----- end of node logs -----\n' >&2
}
die_with_logs() { err "$*"; show_node_logs; exit 1; }

check_port_var() {
	if ! is_uint "$1" || (($1 > 65535)); then die "$2='$1' is not a port number"; fi
}

validate_common() {
	is_uint "$START_TIMEOUT" || die "CQLSEQ_CASSANDRA_START_TIMEOUT='$START_TIMEOUT' is not a number of seconds"
	is_uint "$STOP_TIMEOUT" || die "CQLSEQ_CASSANDRA_STOP_TIMEOUT='$STOP_TIMEOUT' is not a number of seconds"
	[[ $VERSION =~ ^[0-9A-Za-z.-]+$ ]] || die "CQLSEQ_CASSANDRA_VERSION='$VERSION' is not a version"
}

validate_single() {
	check_port_var "$SINGLE_NATIVE_PORT" CQLSEQ_CASSANDRA_PORT
	check_port_var "$SINGLE_STORAGE_PORT" CQLSEQ_CASSANDRA_STORAGE_PORT
	check_port_var "$SINGLE_JMX_PORT" CQLSEQ_CASSANDRA_JMX_PORT
	((SINGLE_NATIVE_PORT > 0 && SINGLE_STORAGE_PORT > 0)) || die "native and storage ports must be > 0"
	[[ $SINGLE_NATIVE_PORT != "$SINGLE_STORAGE_PORT" && $SINGLE_NATIVE_PORT != "$SINGLE_JMX_PORT" &&
		$SINGLE_STORAGE_PORT != "$SINGLE_JMX_PORT" ]] ||
		die "native ($SINGLE_NATIVE_PORT), storage ($SINGLE_STORAGE_PORT) and JMX ($SINGLE_JMX_PORT) ports must differ"
	[[ $SINGLE_HEAP =~ ^[0-9]+[mMgG]$ ]] || die "CQLSEQ_CASSANDRA_HEAP='$SINGLE_HEAP' must look like 1g or 768m"
}

validate_cluster() {
	if ! is_uint "$CLUSTER_NODES" || ((CLUSTER_NODES < 1 || CLUSTER_NODES > CLUSTER_MAX_NODES)); then
		die "CQLSEQ_CLUSTER_NODES='$CLUSTER_NODES' must be a number from 1 to $CLUSTER_MAX_NODES"
	fi
	[[ $CLUSTER_NET =~ ^127\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])$ ]] ||
		die "CQLSEQ_CLUSTER_NET='$CLUSTER_NET' must be the first three parts of a loopback address, like 127.0.0"
	check_port_var "$CLUSTER_NATIVE_PORT" CQLSEQ_CLUSTER_PORT
	check_port_var "$CLUSTER_STORAGE_PORT" CQLSEQ_CLUSTER_STORAGE_PORT
	check_port_var "$CLUSTER_JMX_BASE" CQLSEQ_CLUSTER_JMX_PORT
	((CLUSTER_NATIVE_PORT > 0 && CLUSTER_STORAGE_PORT > 0)) || die "cluster native and storage ports must be > 0"
	((CLUSTER_NATIVE_PORT != CLUSTER_STORAGE_PORT)) || die "cluster native and storage ports must differ"
	if ((CLUSTER_JMX_BASE > 0 && CLUSTER_JMX_BASE + CLUSTER_MAX_NODES > 65535)); then
		die "CQLSEQ_CLUSTER_JMX_PORT=$CLUSTER_JMX_BASE is too high (node I uses it + I)"
	fi
	[[ $CLUSTER_HEAP =~ ^[0-9]+[mMgG]$ ]] || die "CQLSEQ_CLUSTER_HEAP='$CLUSTER_HEAP' must look like 1g or 768m"
}

# ---------------------------------------------------------------- process bookkeeping

# Third field of /proc/PID/stat: R/S/D running or sleeping, T stopped (SIGSTOP), Z zombie.
proc_state() { sed -n 's/^.*) \([A-Za-z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null || true; }

# Only a live JVM started from this state dir counts: pids get reused, and a JVM that died while
# this script was its parent stays a zombie (kill -0 still succeeds) until the script exits.
# $2: the node's conf dir, when not the current node's.
is_our_jvm() {
	local pid=$1 conf=${2:-$CONF_DIR} state
	[[ -n $pid ]] && is_uint "$pid" || return 1
	state=$(proc_state "$pid")
	[[ -n $state && $state != Z && $state != X ]] || return 1
	proc_has_arg "$pid" "-Dcassandra.config=file://$conf/cassandra.yaml"
}

# No pipe into grep -q here: with pipefail, tr dying of SIGPIPE would turn a match into a miss.
proc_has_arg() {
	local args
	args=$(tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null) || return 1
	[[ $'\n'$args$'\n' == *$'\n'"$2"$'\n'* ]]
}

# A JVM exits thread by thread: its main thread turns zombie (and /proc/PID/cmdline empty) while
# other threads are still tearing down the mlock'ed heap, and the sockets close only after that.
# Fully gone = no /proc entry, or a zombie leader with no threads left.
proc_gone() {
	local pid=$1 state
	[[ -d /proc/$pid ]] || return 0
	state=$(proc_state "$pid")
	[[ -z $state ]] && return 0
	[[ $state == Z ]] || return 1
	local tasks=(/proc/"$pid"/task/*)
	((${#tasks[@]} <= 1))
}

# Waits (up to $2 s) for a pid we saw as our node to be fully gone, so its ports are free again.
wait_gone() {
	local pid=$1 deadline=$((SECONDS + $2))
	while ! proc_gone "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
	proc_gone "$pid"
}

# Prints the pid of our running node, or nothing.
running_pid() {
	local pid
	[[ -f $PID_FILE ]] || return 0
	pid=$(<"$PID_FILE")
	if is_our_jvm "$pid"; then printf '%s' "$pid"; fi
}

# Sets RUN_* from the running node's run.env (nothing left over from another node).
load_run_env() {
	unset RUN_ADDR RUN_NATIVE_PORT RUN_STORAGE_PORT RUN_JMX_PORT RUN_VERSION RUN_HEAP RUN_STARTED
	# shellcheck disable=SC1090
	source "$RUN_FILE" 2>/dev/null || true
}

# A CQL-level answer, not just an open port: send a protocol v4 OPTIONS frame to ADDR:PORT and
# expect the SUPPORTED response header (version 0x84, flags 0, stream 1, opcode 0x06).
cql_answers() {
	local addr=$1 port=$2 hdr
	# shellcheck disable=SC2016 # $1 and $2 are expanded by the inner bash
	hdr=$(timeout 5 bash -c '
		exec 3<>"/dev/tcp/$1/$2" || exit 1
		printf "\x04\x00\x00\x01\x05\x00\x00\x00\x00" >&3
		head -c 5 <&3 | od -An -tx1 | tr -d " \n"
	' _ "$addr" "$port" 2>/dev/null) || return 1
	[[ $hdr == 8400000106 ]]
}

# Prints who listens on ADDR:PORT (empty when free). A listener on the wildcard address takes the
# port on ADDR too; one on another address does not: the single node's 127.0.0.1:9042 and cluster
# node 1's 127.0.0.2:9042 live side by side.
port_holder() {
	local addr=$1 port=$2 out
	if command -v ss >/dev/null 2>&1; then
		out=$(ss -Hltnp "sport = :$port" 2>/dev/null | awk -v a="$addr" -v p=":$port" '
			$4 == a p || $4 == "0.0.0.0" p || $4 == "*" p || $4 == "[::]" p || $4 == "[::ffff:" a "]" p' || true)
		[[ -n $out ]] && printf '%s' "$out"
	elif (exec 3<>"/dev/tcp/$addr/$port") 2>/dev/null; then
		printf 'something accepts TCP connections on %s:%s' "$addr" "$port"
	fi
	return 0
}

# Checked before the JVM starts: Cassandra would otherwise die half-way through start-up
# (or, for the native port, a test could silently talk to some other server).
check_port_free() {
	local addr=$1 port=$2 what=$3 var=$4 holder
	holder=$(port_holder "$addr" "$port")
	[[ -z $holder ]] && return 0
	die "${PFX}$what port $addr:$port is already in use by something that is not this script's node:\n$holder\n" \
		"Stop that process, or choose another port with $var=<port>${5:-}."
}

# ---------------------------------------------------------------- prerequisites

java_major() { "$1" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1; }

# Cassandra 5.0 supports JDK 11 and 17; we pin 17. JDK 24+ (e.g. Temurin 25 here) refuses the
# SecurityManager Cassandra installs at start-up, so "whatever java is first" is not good enough.
find_java() {
	[[ -n ${JAVA_HOME_17:-} ]] && return 0 # found already (the cluster starts several nodes)
	local cands=() c v tried=() d
	[[ -n ${JAVA_HOME:-} ]] && cands+=("$JAVA_HOME/bin/java")
	for d in /usr/lib/jvm/*17*; do cands+=("$d/bin/java"); done
	c=$(command -v java 2>/dev/null || true)
	[[ -n $c ]] && cands+=("$c")
	for c in "${cands[@]}"; do
		[[ -x $c ]] || continue
		v=$(java_major "$c")
		if [[ $v == 17 ]]; then
			JAVA=$c
			JAVA_HOME_17=$(dirname "$(dirname "$(readlink -f "$c")")")
			return 0
		fi
		tried+=("$c (major version ${v:-unknown})")
	done
	die "no Java 17 found. Cassandra $VERSION is run on JDK 17 only (JDK 24+ refuses its SecurityManager).\n" \
		"Looked at \$JAVA_HOME, /usr/lib/jvm/*17*, and java on PATH; found: ${tried[*]:-nothing}.\n" \
		"Install one (Debian: apt-get install openjdk-17-jdk-headless) or point JAVA_HOME at a JDK 17."
}

# The lib dir is filled in a temp dir and renamed, with a marker written last, so a copy that was
# interrupted is never mistaken for a complete one.
lib_complete() {
	[[ -f $LIB_DIR/.complete && -f $LIB_DIR/cassandra-all-$VERSION.jar ]] || return 1
	local want have
	want=$(sed -n 's/^jars=//p' "$LIB_DIR/.complete")
	have=$(find "$LIB_DIR" -maxdepth 1 -name '*.jar' | wc -l)
	[[ $want == "$have" ]]
}

fetch_jars() {
	lib_complete && return 0
	command -v mvn >/dev/null 2>&1 ||
		die "Maven (mvn) not found; it is needed once to fetch Cassandra's jars from Maven Central (Debian: apt-get install maven)."
	mkdir -p "$JAR_ROOT" "$LOG_DIR"
	# The single node and the cluster take different locks but share the jars: fetches take this one.
	exec 8>"$JAR_ROOT/.fetch.lock"
	if ! flock -n 8; then
		say "another cassandra.sh is fetching the jars; waiting for it"
		flock -w 1800 8 || die "gave up waiting for $JAR_ROOT/.fetch.lock"
	fi
	if lib_complete; then
		exec 8>&-
		return 0
	fi
	local tmp t0 mvn_log=$LOG_DIR/mvn.log n
	rm -rf "$JAR_ROOT/.fetch-$VERSION".* # left by an interrupted fetch; we hold the lock
	tmp=$(mktemp -d "$JAR_ROOT/.fetch-$VERSION.XXXXXX")
	t0=$(now)
	local args=(-B -f "$SCRIPT_DIR/pom.xml" "-Dcassandra.version=$VERSION"
		dependency:copy-dependencies -DincludeScope=runtime "-DoutputDirectory=$tmp")
	[[ -n $MAVEN_REPO ]] && args=("-Dmaven.repo.local=$MAVEN_REPO" "${args[@]}")
	say "fetching Cassandra $VERSION jars with Maven into $LIB_DIR (log: $mvn_log)"
	if ! JAVA_HOME=$JAVA_HOME_17 mvn "${args[@]}" >"$mvn_log" 2>&1; then
		rm -rf "$tmp"
		err "mvn could not fetch org.apache.cassandra:cassandra-all:$VERSION (see $mvn_log); last lines:"
		grep -E 'ERROR|BUILD' "$mvn_log" | tail -n 20 >&2 || tail -n 20 "$mvn_log" >&2
		exit 1
	fi
	[[ -f $tmp/cassandra-all-$VERSION.jar ]] || { rm -rf "$tmp"; die "mvn succeeded but cassandra-all-$VERSION.jar is missing (see $mvn_log)"; }
	n=$(find "$tmp" -maxdepth 1 -name '*.jar' | wc -l)
	printf 'version=%s\njars=%s\n' "$VERSION" "$n" >"$tmp/.complete"
	rm -rf "$LIB_DIR"
	mv "$tmp" "$LIB_DIR"
	exec 8>&-
	say "fetched $n jars in $(since "$t0")"
}

# ---------------------------------------------------------------- configuration

write_conf() {
	mkdir -p "$CONF_DIR/triggers" "$DATA_DIR"/{data,commitlog,saved_caches,hints,cdc_raw} "$LOG_DIR" "$TMP_DIR"
	local cluster_name tokens seeds hints block_for_peers=""
	if [[ $MODE == single ]]; then
		cluster_name=cqlseq-test
		seeds=127.0.0.1:$STORAGE_PORT
		tokens=$'# One token at 0: no token allocation, which would otherwise wait for ring_delay.\nnum_tokens: 1\ninitial_token: 0'
		hints=false
	else
		# Another name than the single node's: were they ever to meet, gossip would refuse it.
		cluster_name=cqlseq-cluster
		seeds=$CLUSTER_NET.2:$STORAGE_PORT
		# Cassandra 4+'s defaults: 16 vnodes per node, placed by the allocator for RF 3.
		tokens=$'num_tokens: 16\nallocate_tokens_for_local_replication_factor: 3'
		# On (the Cassandra default) here: a node killed by a fault test gets the writes it missed.
		hints=true
		# Before opening CQL a node waits (up to 10 s) until it is connected to all of its peers
		# but one. When fewer are running (node 1 of a stopped cluster) that wait cannot succeed:
		# skip it (-1). Otherwise keep it, so that a node restarted by a fault test does not
		# coordinate requests before it can reach its replicas.
		local j peers=0 up=0
		for j in $(cluster_ids); do
			((j != NODE_ID)) || continue
			peers=$((peers + 1))
			if is_our_jvm "$(cat "$CLUSTER_DIR/node$j/cassandra.pid" 2>/dev/null)" "$CLUSTER_DIR/node$j/conf"; then
				up=$((up + 1))
			fi
		done
		if ((up < peers - 1)); then
			block_for_peers=$'# Fewer peers running than this start-up check waits for: skip it.\nblock_for_peers_timeout_in_secs: -1'
		fi
	fi
	# Every key here was checked against org.apache.cassandra.config.Config of 5.0.8 (5.0 rejects
	# unknown keys at start-up). 5.0 names with units (…_timeout: 10000ms, …: 64MiB), not *_in_ms.
	cat >"$CONF_DIR/cassandra.yaml" <<-EOF
		# Written by testing/cassandra/cassandra.sh on every launch; edits here are overwritten.
		cluster_name: $cluster_name
		$tokens
		partitioner: org.apache.cassandra.dht.Murmur3Partitioner
		endpoint_snitch: SimpleSnitch
		dynamic_snitch: false
		seed_provider:
		  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
		    parameters:
		      - seeds: "$seeds"
		# Both default to a hostname lookup; pin them to this node's loopback address.
		listen_address: $ADDR
		rpc_address: $ADDR
		storage_port: $STORAGE_PORT
		start_native_transport: true
		native_transport_port: $NATIVE_PORT

		data_file_directories:
		  - $DATA_DIR/data
		commitlog_directory: $DATA_DIR/commitlog
		saved_caches_directory: $DATA_DIR/saved_caches
		hints_directory: $DATA_DIR/hints
		cdc_raw_directory: $DATA_DIR/cdc_raw
		commitlog_sync: periodic
		commitlog_sync_period: 10000ms

		# Tests drop and recreate a lot; snapshots on drop/truncate only eat disk and time.
		auto_snapshot: false
		hinted_handoff_enabled: $hints
		# Small footprint for a 1 GiB heap on a 2-core machine.
		memtable_heap_space: 64MiB
		memtable_offheap_space: 64MiB
		file_cache_size: 32MiB
		concurrent_compactors: 1

		# Generous timeouts: large full-table scans on a loaded 2-core CI machine must not flake.
		read_request_timeout: 15000ms
		range_request_timeout: 20000ms
		write_request_timeout: 10000ms
		request_timeout: 20000ms
		# Test seeding uses big unlogged batches; the defaults (5KiB warn / 50KiB fail) reject those
		# spanning several partitions (single-partition batches are never size-checked).
		batch_size_warn_threshold: 256KiB
		batch_size_fail_threshold: 1024KiB

		# Features some tests may exercise; all off by default in 5.0.
		user_defined_functions_enabled: true
		materialized_views_enabled: true
		sasi_indexes_enabled: true
		$block_for_peers
	EOF

	cat >"$CONF_DIR/logback.xml" <<-EOF
		<!-- Written by cassandra.sh. INFO to one file; without a config logback logs DEBUG to the console. -->
		<configuration>
		  <appender name="FILE" class="ch.qos.logback.core.rolling.RollingFileAppender">
		    <file>$SYSTEM_LOG</file>
		    <rollingPolicy class="ch.qos.logback.core.rolling.FixedWindowRollingPolicy">
		      <fileNamePattern>$LOG_DIR/system.log.%i</fileNamePattern>
		      <minIndex>1</minIndex>
		      <maxIndex>3</maxIndex>
		    </rollingPolicy>
		    <triggeringPolicy class="ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy">
		      <maxFileSize>50MB</maxFileSize>
		    </triggeringPolicy>
		    <encoder>
		      <pattern>%-5level [%thread] %date{ISO8601} %logger{0} - %msg%n</pattern>
		    </encoder>
		  </appender>
		  <root level="INFO">
		    <appender-ref ref="FILE"/>
		  </root>
		</configuration>
	EOF
}

# From Cassandra 5.0's conf/jvm17-server.options (plus a few from older 5.0 copies): without them,
# JDK 17 refuses Cassandra's reflection into the JDK and start-up fails in FileUtils' static init
# (IllegalAccessException: ... sun.nio.ch.DirectBuffer.cleaner). nodetool needs them as well.
JDK17_MODULE_OPTS=(
	-Djdk.attach.allowAttachSelf=true
	--add-exports java.base/jdk.internal.misc=ALL-UNNAMED
	--add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
	--add-exports java.management/com.sun.jmx.remote.security=ALL-UNNAMED
	--add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
	--add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
	--add-exports java.rmi/sun.rmi.transport.tcp=ALL-UNNAMED
	--add-exports java.sql/java.sql=ALL-UNNAMED
	--add-exports java.base/java.lang.ref=ALL-UNNAMED
	--add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
	--add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED
	--add-opens java.base/java.lang.module=ALL-UNNAMED
	--add-opens java.base/jdk.internal.loader=ALL-UNNAMED
	--add-opens java.base/jdk.internal.ref=ALL-UNNAMED
	--add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
	--add-opens java.base/jdk.internal.math=ALL-UNNAMED
	--add-opens java.base/jdk.internal.module=ALL-UNNAMED
	--add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
	--add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
	--add-opens java.base/sun.nio.ch=ALL-UNNAMED
	--add-opens java.base/java.io=ALL-UNNAMED
	--add-opens java.base/java.lang.reflect=ALL-UNNAMED
	--add-opens java.base/java.lang=ALL-UNNAMED
	--add-opens java.base/java.util=ALL-UNNAMED
	--add-opens java.base/java.nio=ALL-UNNAMED
	--add-opens java.rmi/sun.rmi.transport.tcp=ALL-UNNAMED
)

jvm_options() {
	JVM_OPTS=(
		"-Xms$HEAP" "-Xmx$HEAP" "-XX:MaxDirectMemorySize=$HEAP" -Xss256k
		-XX:+UseG1GC -XX:+ParallelRefProcEnabled -XX:MaxGCPauseMillis=300
		# hsperfdata is an mmap'd file in /tmp whose writes can stall GC pauses; nothing here reads it.
		-XX:+PerfDisableSharedMem
		-XX:+ExitOnOutOfMemoryError "-XX:ErrorFile=$LOG_DIR/hs_err_%p.log"
		-Djava.net.preferIPv4Stack=true
		# JNA, netty and snappy unpack native libraries into java.io.tmpdir; keep it in the state dir.
		"-Djava.io.tmpdir=$TMP_DIR"
		-Djava.rmi.server.hostname=127.0.0.1
		-Dchronicle.analytics.disable=true
		"${JDK17_MODULE_OPTS[@]}"
		-Dio.netty.tryReflectionSetAccessible=true
		-Dio.netty.allocator.useCacheForAllThreads=true
		-Dio.netty.allocator.maxOrder=11
		# Without cassandra-foreground the daemon closes stdout/stderr, and JVM-level failures
		# would no longer reach logs/stdout.log.
		-Dcassandra-foreground=yes
		"-Dcassandra.config=file://$CONF_DIR/cassandra.yaml"
		"-Dcassandra.storagedir=$DATA_DIR"
		"-Dcassandra.logdir=$LOG_DIR"
		"-Dlogback.configurationFile=file://$CONF_DIR/logback.xml"
		# Do not wait for gossip to settle before opening CQL (seconds of polling otherwise).
		-Dcassandra.skip_wait_for_gossip_to_settle=0
		# On SIGTERM the node otherwise sleeps 2s to let peers hear it is leaving (on loopback
		# they hear it at once).
		-Dcassandra.shutdown_announce_in_ms=100
		# Only to silence a start-up warning about the directory being missing.
		"-Dcassandra.triggers_dir=$CONF_DIR/triggers"
		# Tests need no durability across machine crashes: no fsync. A kill -9'ed JVM still loses
		# nothing, as its writes are in the page cache. (Not -Dcassandra.unsafesystem=true: it skips
		# the flush of schema changes, so a kill -9 loses every keyspace and table created since start.)
		-Dcassandra.skip_sync=true
	)
	if [[ $MODE == single ]]; then
		JVM_OPTS+=(
			# Single-node test start-up: nothing to gossip with, nothing to wait for.
			-Dcassandra.ring_delay_ms=100
			-Dcassandra.load_ring_state=false
			-Dcassandra.superuser_setup_delay_ms=0
		)
	else
		JVM_OPTS+=(
			# A joining node sleeps ring_delay (30 s by default) at several steps; on one machine
			# gossip needs far less. 1 s was verified to let nodes join one after another.
			-Dcassandra.ring_delay_ms=1000
			# Bootstrap streams from any replica and does not insist on one range movement at a time.
			-Dcassandra.consistent.rangemovement=false
			# On SIGTERM a node waits (up to a minute) for its internode queues to drain; when the
			# whole cluster stops at once, messages to peers that are also going away wait for
			# their timeouts (20 s here), and a stop took 3-21 s. This Cassandra test property
			# closes those connections at once; the drain (memtable flush) still runs.
			-Dcassandra.test.messagingService.nonGracefulShutdown=true
			# Not superuser_setup_delay_ms=0 as on the single node: while a known peer is down the
			# role setup task fails and reschedules itself after that delay, and at 0 it logged
			# 2.5 million lines (650 MB) a minute and slowed start-up. The default is 10 s.
		)
		if is_added "$NODE_ID"; then
			# A node added by add-node is there to be decommissioned by remove-node, and
			# decommission first sleeps max(ring_delay, this timeout): 20 s at the default
			# (2 x write_request_timeout). Its only other use: a logged batch whose batchlog this
			# node holds is replayed (the same mutations again) when not done within it.
			JVM_OPTS+=(-Dcassandra.batchlog.replay_timeout_in_ms=2000)
		fi
	fi
	if ((JMX_PORT > 0)); then
		JVM_OPTS+=("-Dcassandra.jmx.local.port=$JMX_PORT")
	fi
	if [[ -n $EXTRA_JVM_OPTS ]]; then
		# Word-splitting is the point here: a space-separated list of extra flags.
		# shellcheck disable=SC2206
		JVM_OPTS+=($EXTRA_JVM_OPTS)
	fi
}

# ---------------------------------------------------------------- start / stop of the current node

take_lock() {
	local wait=$1
	mkdir -p "$(dirname "$LOCK_FILE")"
	exec 9>"$LOCK_FILE"
	if ! flock -n 9; then
		say "another cassandra.sh is starting or stopping $LOCK_WHAT; waiting for it (up to ${wait}s)"
		flock -w "$wait" 9 || die "gave up waiting for the lock $LOCK_FILE after ${wait}s"
	fi
}

# Waits until the node with this pid logged that it listens for CQL and answers a CQL OPTIONS.
# $3 = child when this shell launched it (then its exit status can be had).
wait_ready() {
	local pid=$1 t0=$2 child=${3:-} deadline=$((SECONDS + START_TIMEOUT)) next_note=$((SECONDS + 30)) rc
	while :; do
		if ! is_our_jvm "$pid"; then
			rc=unknown
			if [[ $child == child ]]; then rc=0 && { wait "$pid" 2>/dev/null || rc=$?; }; fi
			rm -f "$PID_FILE" "$RUN_FILE"
			die_with_logs "${PFX}the Cassandra JVM (pid $pid) died during start-up (exit status $rc)" \
				"after $(since "$t0")."
		fi
		if grep -qF "$READY_LINE" "$SYSTEM_LOG" 2>/dev/null && cql_answers "$ADDR" "$NATIVE_PORT"; then
			return 0
		fi
		if ((SECONDS >= deadline)); then
			err "${PFX}Cassandra did not accept CQL on $ADDR:$NATIVE_PORT within ${START_TIMEOUT}s" \
				"(CQLSEQ_CASSANDRA_START_TIMEOUT); killing it (pid $pid)."
			kill_pid "$pid" 10 >/dev/null
			rm -f "$PID_FILE" "$RUN_FILE"
			show_node_logs
			exit 1
		fi
		if ((SECONDS >= next_note)); then
			say "${PFX}still starting after $(since "$t0"); last log line: $(tail -n 1 "$SYSTEM_LOG" 2>/dev/null | cut -c1-160)"
			next_note=$((SECONDS + 30))
		fi
		sleep 0.5
	done
}

# SIGTERM (Cassandra drains and flushes on it), then SIGKILL. SIGCONT too, because a node frozen
# with SIGSTOP by a fault test would otherwise never act on the SIGTERM.
term_pid() {
	kill -TERM "$1" 2>/dev/null || true
	kill -CONT "$1" 2>/dev/null || true
}
await_exit() {
	local pid=$1 grace=$2
	if ! wait_gone "$pid" "$grace"; then
		say "${PFX}pid $pid still alive after ${grace}s; sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		wait_gone "$pid" 20
	fi
}
kill_pid() {
	term_pid "$1"
	await_exit "$1" "$2"
}

# Starts the current node, or reuses it when it runs. Sets START_NOTE to a summary.
node_start() {
	local t0 pid
	t0=$(now)
	pid=$(running_pid)
	if [[ -n $pid ]]; then
		load_run_env
		if [[ ${RUN_NATIVE_PORT:-} != "$NATIVE_PORT" || ${RUN_VERSION:-} != "$VERSION" ]]; then
			die "${PFX}a node from this state dir is already running (pid $pid, Cassandra ${RUN_VERSION:-?} on port" \
				"${RUN_NATIVE_PORT:-?}), but Cassandra $VERSION on port $NATIVE_PORT was asked for; run '$RESTART_CMD'."
		fi
		if [[ $(proc_state "$pid") == T ]]; then
			die "${PFX}the node (pid $pid) is frozen (SIGSTOP); send it SIGCONT (kill -CONT $pid) or run '$STOP_CMD'."
		fi
		if cql_answers "$ADDR" "$NATIVE_PORT"; then
			say "${PFX}reusing the running Cassandra ${RUN_VERSION:-$VERSION} node: pid $pid, CQL on $ADDR:$NATIVE_PORT (state dir $NODE_DIR)"
			START_NOTE="reused"
			return 0
		fi
		say "${PFX}node pid $pid is alive but does not answer CQL yet; waiting for it"
		wait_ready "$pid" "$t0"
		say "${PFX}Cassandra ready on $ADDR:$NATIVE_PORT (pid $pid) after waiting $(since "$t0")"
		START_NOTE="waited $(since "$t0")"
		return 0
	fi
	if [[ -f $PID_FILE ]]; then
		pid=$(<"$PID_FILE")
		# A node killed a moment ago may still be releasing its ports.
		if is_uint "$pid" && [[ -d /proc/$pid && ! -s /proc/$pid/cmdline ]]; then
			wait_gone "$pid" 30 || true
		fi
		say "${PFX}removing stale pid file (pid $pid is not running)"
		rm -f "$PID_FILE" "$RUN_FILE"
	fi

	find_java
	fetch_jars
	check_port_free "$ADDR" "$NATIVE_PORT" "native (CQL)" "$NATIVE_VAR"
	check_port_free "$ADDR" "$STORAGE_PORT" "storage (internode)" "$STORAGE_VAR"
	# Local JMX listens on 127.0.0.1 whatever the node's address.
	((JMX_PORT > 0)) && check_port_free 127.0.0.1 "$JMX_PORT" "JMX" "$JMX_VAR" "$JMX_HINT"
	write_conf
	jvm_options

	# One log per run, so the readiness check and failure tails only see this run.
	[[ -f $SYSTEM_LOG ]] && mv -f "$SYSTEM_LOG" "$SYSTEM_LOG.prev"
	[[ -f $STDOUT_LOG ]] && mv -f "$STDOUT_LOG" "$STDOUT_LOG.prev"

	local t_jvm
	t_jvm=$(now)
	# setsid: own session, so the node outlives this script and the caller's Ctrl-C/SIGHUP.
	# 9>&- 8>&- : the JVM must not inherit the lock fds, or it would hold a lock for its lifetime.
	# The subshell execs setsid which (not being a group leader) execs nohup, which execs java,
	# so $! is the JVM's pid.
	(cd "$NODE_DIR" && exec setsid nohup "$JAVA" "${JVM_OPTS[@]}" -cp "$CONF_DIR:$LIB_DIR/*" \
		org.apache.cassandra.service.CassandraDaemon) </dev/null >"$STDOUT_LOG" 2>&1 9>&- 8>&- &
	pid=$!
	printf '%s\n' "$pid" >"$PID_FILE"
	printf 'RUN_ADDR=%s\nRUN_NATIVE_PORT=%s\nRUN_STORAGE_PORT=%s\nRUN_JMX_PORT=%s\nRUN_VERSION=%s\nRUN_HEAP=%s\nRUN_STARTED=%q\n' \
		"$ADDR" "$NATIVE_PORT" "$STORAGE_PORT" "$JMX_PORT" "$VERSION" "$HEAP" "$(date -Is)" >"$RUN_FILE"
	# Give the exec chain a moment so is_our_jvm sees java's command line, not the subshell's.
	local _
	for _ in $(seq 50); do
		proc_has_arg "$pid" org.apache.cassandra.service.CassandraDaemon && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	say "${PFX}started Cassandra $VERSION (pid $pid, java $JAVA, heap $HEAP); waiting for CQL on $ADDR:$NATIVE_PORT (log: $SYSTEM_LOG)"
	wait_ready "$pid" "$t_jvm" child
	say "${PFX}Cassandra $VERSION ready on $ADDR:$NATIVE_PORT (pid $pid): JVM start to CQL $(since "$t_jvm"), whole command $(since "$t0")"
	START_NOTE="started in $(since "$t_jvm")"
}

node_stop() {
	local pid t0
	t0=$(now)
	pid=$(running_pid)
	if [[ -z $pid ]]; then
		if [[ -f $PID_FILE ]]; then
			say "${PFX}not running (removing stale pid file for pid $(<"$PID_FILE"))"
			rm -f "$PID_FILE" "$RUN_FILE"
		else
			say "${PFX}not running"
		fi
		return 0
	fi
	say "${PFX}stopping Cassandra (pid $pid)"
	if ! kill_pid "$pid" "$STOP_TIMEOUT"; then
		die "${PFX}pid $pid survived SIGTERM and SIGKILL"
	fi
	rm -f "$PID_FILE" "$RUN_FILE"
	say "${PFX}stopped in $(since "$t0")"
}

# Prints one line about the current node. Returns 0 when it answers CQL, 1 when it does not run,
# 2 when it runs but does not answer (starting or stuck), 3 when it is frozen (SIGSTOP).
node_status() {
	local pid state
	pid=$(running_pid)
	if [[ -z $pid ]]; then
		if [[ $MODE == single ]]; then
			echo "not running (state dir $NODE_DIR)"
		elif [[ -f $PID_FILE ]]; then
			echo "not running (pid $(<"$PID_FILE") in its pid file is gone: killed or crashed)"
		else
			echo "not running"
		fi
		return 1
	fi
	load_run_env
	local port=${RUN_NATIVE_PORT:-$NATIVE_PORT}
	state=$(proc_state "$pid")
	if [[ $state == T ]]; then
		echo "running but frozen (SIGSTOP): pid $pid, Cassandra ${RUN_VERSION:-?}, port $port"
		return 3
	elif cql_answers "$ADDR" "$port"; then
		echo "running: pid $pid, Cassandra ${RUN_VERSION:-?}, CQL answering on $ADDR:$port, since ${RUN_STARTED:-?}"
	else
		echo "running: pid $pid, Cassandra ${RUN_VERSION:-?}, but CQL on $ADDR:$port does not answer (starting or stuck)"
		return 2
	fi
}

node_pid() {
	local pid
	pid=$(running_pid)
	[[ -n $pid ]] || { err "${PFX}not running"; return 1; }
	echo "$pid"
}

node_logs() {
	local n=${1:-100}
	is_uint "$n" || die "logs: N must be a number"
	[[ -f $SYSTEM_LOG ]] || die "no log yet at $SYSTEM_LOG"
	tail -n "$n" "$SYSTEM_LOG"
}

node_nodetool() {
	local pid
	pid=$(running_pid)
	[[ -n $pid ]] || die "${PFX}not running"
	load_run_env
	local jmx=${RUN_JMX_PORT:-$JMX_PORT}
	((jmx > 0)) || die "${PFX}the node was started with JMX off ($JMX_VAR=0); nodetool needs it"
	find_java
	LIB_DIR=$JAR_ROOT/${RUN_VERSION:-$VERSION}
	# user.home: nodetool keeps its command history in ~/.cassandra; keep it in the state dir.
	mkdir -p "$NODE_DIR/nodetool-home" "$CONF_DIR"
	# Its own logback config: with the node's, nodetool's errors would land in the node's system.log.
	cat >"$CONF_DIR/logback-tools.xml" <<-EOF
		<configuration>
		  <appender name="STDERR" class="ch.qos.logback.core.ConsoleAppender">
		    <target>System.err</target>
		    <encoder><pattern>%-5level %logger{0} - %msg%n</pattern></encoder>
		  </appender>
		  <root level="WARN"><appender-ref ref="STDERR"/></root>
		</configuration>
	EOF
	exec "$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:CICompilerCount=1 "${JDK17_MODULE_OPTS[@]}" -Djava.net.preferIPv4Stack=true \
		"-Duser.home=$NODE_DIR/nodetool-home" "-Dlogback.configurationFile=file://$CONF_DIR/logback-tools.xml" \
		-cp "$LIB_DIR/*" org.apache.cassandra.tools.NodeTool -h 127.0.0.1 -p "$jmx" "$@"
}

# ---------------------------------------------------------------- cluster

# Node numbers to act on: 1..N, plus any nodeK state dir beyond N (left by a run with a larger
# CQLSEQ_CLUSTER_NODES), so that stop/status/wipe never lose track of a running node.
cluster_ids() {
	local i d
	for ((i = 1; i <= CLUSTER_NODES; i++)); do echo "$i"; done
	for d in "$CLUSTER_DIR"/node*; do
		[[ -d $d ]] || continue
		i=${d##*/node}
		if is_uint "$i" && ((i > CLUSTER_NODES && i <= CLUSTER_MAX_NODES)); then echo "$i"; fi
	done | sort -n
}

# A node that cluster add-node joined to the ring has this file in its state dir. It is a member of
# the ring until cluster remove-node takes it out: cluster start starts it with nodes 1..N, and
# status and hosts count it. (A nodeK dir beyond N without it is left over from a run with a larger
# CQLSEQ_CLUSTER_NODES: stop, status and wipe cover it, start leaves it alone.)
ADDED_MARKER="added-by-add-node"

is_added() { [[ -f $CLUSTER_DIR/node$1/$ADDED_MARKER ]]; }

# The nodes the cluster is made of: 1..N, then the added ones.
member_ids() {
	local i
	for i in $(cluster_ids); do
		if ((i <= CLUSTER_NODES)) || is_added "$i"; then echo "$i"; fi
	done
}

cluster_hosts() {
	local i hosts=() ids
	mapfile -t ids < <(member_ids)
	for i in "${ids[@]}"; do
		if ((CLUSTER_NATIVE_PORT == 9042)); then
			hosts+=("$CLUSTER_NET.$((i + 1))")
		else
			hosts+=("$CLUSTER_NET.$((i + 1)):$CLUSTER_NATIVE_PORT")
		fi
	done
	local IFS=,
	echo "${hosts[*]}"
}

# Selects node I for the commands that take one.
use_node_arg() {
	local i=${1:-}
	[[ -n $i ]] || die "cluster: which node? (1..$CLUSTER_NODES)"
	local ok=false
	if [[ $i =~ ^[1-9][0-9]?$ ]] && ((i <= CLUSTER_MAX_NODES)); then
		if ((i <= CLUSTER_NODES)) || [[ -d $CLUSTER_DIR/node$i ]]; then ok=true; fi
	fi
	$ok || die "cluster: no node '$i' (CQLSEQ_CLUSTER_NODES=$CLUSTER_NODES: nodes 1..$CLUSTER_NODES)"
	use_cluster_node "$i"
}

# Nodes start one after another, each once the previous one answers CQL: the seed (node 1) first,
# and a new node bootstraps only when the ring it joins is stable.
cluster_start() {
	local t0 i notes="" ids
	t0=$(now)
	for ((i = 1; i <= CLUSTER_NODES; i++)); do
		use_cluster_node "$i"
		node_start
		notes+="${notes:+, }node$i $START_NOTE"
	done
	# Then the nodes add-node joined: members of the ring, whose ranges would otherwise have a
	# replica down. The summary says how many there are, so the size is never a surprise.
	local added=()
	mapfile -t ids < <(cluster_ids)
	for i in "${ids[@]}"; do
		((i > CLUSTER_NODES)) || continue
		use_cluster_node "$i"
		if is_added "$i"; then
			node_start
			notes+=", node$i (added) $START_NOTE"
			added+=("node$i")
		elif [[ -n $(running_pid) ]]; then
			say "${PFX}also running (beyond CQLSEQ_CLUSTER_NODES=$CLUSTER_NODES, not added by add-node); left alone"
		fi
	done
	if ((${#added[@]} > 0)); then
		say "cluster of $CLUSTER_NODES nodes + ${#added[@]} added by add-node (${added[*]}; 'cluster remove-node I'" \
			"takes one out) ready on $(cluster_hosts) in $(since "$t0") ($notes)"
	else
		say "cluster of $CLUSTER_NODES nodes ready on $(cluster_hosts) in $(since "$t0") ($notes)"
	fi
}

# All nodes at once: SIGTERM to every one, then wait for each (SIGKILL after the grace time).
cluster_stop() {
	local t0 i pid pids=() ids=() all
	t0=$(now)
	mapfile -t all < <(cluster_ids)
	for i in "${all[@]}"; do
		use_cluster_node "$i"
		pid=$(running_pid)
		if [[ -z $pid ]]; then
			rm -f "$PID_FILE" "$RUN_FILE"
			continue
		fi
		say "${PFX}stopping Cassandra (pid $pid)"
		term_pid "$pid"
		pids+=("$pid")
		ids+=("$i")
	done
	if ((${#pids[@]} == 0)); then
		say "cluster: not running"
		return 0
	fi
	local k
	for k in "${!pids[@]}"; do
		use_cluster_node "${ids[k]}"
		await_exit "${pids[k]}" "$STOP_TIMEOUT" || die "${PFX}pid ${pids[k]} survived SIGTERM and SIGKILL"
		rm -f "$PID_FILE" "$RUN_FILE"
	done
	say "cluster: stopped ${#pids[@]} node(s) in $(since "$t0")"
}

# Exit 0 only when every member (1..N and the added nodes) answers CQL.
cluster_status() {
	local i line rc answering=0 members=0 n_added=0 ids tag
	mapfile -t ids < <(cluster_ids)
	for i in "${ids[@]}"; do
		use_cluster_node "$i"
		rc=0
		line=$(node_status) || rc=$?
		tag=""
		if ((i <= CLUSTER_NODES)); then
			members=$((members + 1))
		elif is_added "$i"; then
			members=$((members + 1))
			n_added=$((n_added + 1))
			tag=" (added)"
		else
			tag=" (beyond CQLSEQ_CLUSTER_NODES, not counted)"
		fi
		printf 'node%s %s%s: %s\n' "$i" "$ADDR" "$tag" "$line"
		if ((rc == 0)) && [[ $tag != " (beyond"* ]]; then answering=$((answering + 1)); fi
	done
	local what="$members nodes"
	((n_added == 0)) || what="$members nodes ($CLUSTER_NODES + $n_added added)"
	echo "cluster: $answering of $what answer CQL (state dir $CLUSTER_DIR)"
	((answering == members))
}

# Fault injection: SIGKILL (default; waits until the process is gone and its ports are free),
# SIGSTOP (freeze) or SIGCONT (thaw) to node I.
cluster_kill() {
	local sig=${1:-KILL} pid
	sig=${sig#SIG}
	case $sig in
	KILL | STOP | CONT) ;;
	*) die "cluster kill: the signal must be KILL, STOP or CONT, not '$sig'" ;;
	esac
	pid=$(running_pid)
	[[ -n $pid ]] || die "${PFX}not running"
	kill -s "$sig" "$pid"
	if [[ $sig == KILL ]]; then
		wait_gone "$pid" 30 || die "${PFX}pid $pid still exists 30s after SIGKILL"
		say "${PFX}killed pid $pid (SIGKILL); '$START_CMD' brings it back"
	else
		say "${PFX}sent SIG$sig to pid $pid"
	fi
}

cluster_wipe() {
	cluster_stop
	local d
	for d in "$CLUSTER_DIR"/node*; do
		[[ -d $d ]] && rm -rf "$d"
	done
	say "cluster: wiped the node state dirs under $CLUSTER_DIR (the jars in $JAR_ROOT are kept)"
}

# Node 1's view of the ring (nodetool status): prints the line of the node at $1, or nothing when
# node 1 does not list it. Returns 1 when nodetool gave no ring at all.
ring_line() {
	local out
	out=$( (use_cluster_node 1 && node_nodetool status) 2>&1 9>&-) || true
	[[ $out == *Datacenter:* ]] || return 1
	awk -v a="$1" '$2 == a' <<<"$out"
}

# Waits (up to START_TIMEOUT) until node 1's ring shows the node at $1 Up and Normal ($2 = UN), or no
# longer lists it ($2 = gone). Sets RING_LINE to its last line.
wait_ring() {
	local addr=$1 want=$2 deadline=$((SECONDS + START_TIMEOUT)) line
	while :; do
		if line=$(ring_line "$addr"); then
			RING_LINE=$line
			case $want in
			UN) [[ $line == UN\ * ]] && return 0 ;;
			gone) [[ -z $line ]] && return 0 ;;
			esac
		fi
		((SECONDS < deadline)) || return 1
		sleep 1
	done
}

# Set while add-node starts its node: a start that fails leaves no member behind.
ADDING=
add_node_failed() {
	[[ -n $ADDING ]] || return 0
	use_cluster_node "$ADDING"
	local pid
	pid=$(running_pid)
	if [[ -n $pid ]]; then kill_pid "$pid" 10 >/dev/null || true; fi
	rm -rf "$NODE_DIR.failed"
	mv "$NODE_DIR" "$NODE_DIR.failed" 2>/dev/null || true
	err "${PFX}did not join the cluster; its state dir is kept as $NODE_DIR.failed for its logs" \
		"(not a member: cluster start, status and hosts ignore it; cluster wipe deletes it)"
}

# Joins one more node to the running cluster: node K, one past the highest node there is (N+1 when
# there is none beyond N), on NET.(K+1), with its own state dir and the same configuration as the
# others (seed node 1, the token allocator, JMX base+K). It bootstraps: it takes its share of the
# ring and streams that share's data from the nodes that held it. Returns once it answers CQL and
# node 1's ring shows it UN; prints its number alone on the last line.
cluster_add_node() {
	((CLUSTER_JMX_BASE > 0)) || die "cluster add-node waits for node 1's ring (nodetool), which needs JMX; CQLSEQ_CLUSTER_JMX_PORT is 0"
	local t0 ids i k=$CLUSTER_NODES
	t0=$(now)
	mapfile -t ids < <(cluster_ids)
	for i in "${ids[@]}"; do
		((i > k)) && k=$i
		((i <= CLUSTER_NODES)) || is_added "$i" || continue
		use_cluster_node "$i"
		node_status >/dev/null ||
			die "${PFX}does not answer CQL: add-node joins a node to a running cluster; run '$0 cluster start' first (see '$0 cluster status')"
	done
	k=$((k + 1))
	((k <= CLUSTER_MAX_NODES)) || die "cluster add-node: node $k would be beyond the $CLUSTER_MAX_NODES nodes this script runs"
	use_cluster_node "$k"
	rm -rf "$NODE_DIR.failed"
	mkdir -p "$NODE_DIR"
	: >"$NODE_DIR/$ADDED_MARKER"
	say "${PFX}joining the cluster as node $k: it bootstraps (takes its share of the ring and streams its data)"
	ADDING=$k
	trap add_node_failed EXIT
	node_start
	trap - EXIT
	ADDING=
	local t_ring
	t_ring=$(now)
	if ! wait_ring "$ADDR" UN; then
		die "${PFX}answers CQL, but node 1's ring did not show it UN within ${START_TIMEOUT}s: '${RING_LINE:-}'." \
			"It is a member of the ring now: '$0 cluster remove-node $k' takes it out."
	fi
	say "${PFX}node 1's ring shows it Normal ($(since "$t_ring") after CQL): $RING_LINE"
	say "${PFX}node $k added in $(since "$t0") ($START_NOTE); the cluster is $(cluster_hosts)"
	echo "$k"
}

# Takes node I (one beyond N: an added node) out of the cluster, so that it is again what cluster
# start makes: a running node is decommissioned (it streams its data to the nodes that take over
# its ranges, and leaves the ring), then stopped; one that does not run is removed from the ring by
# node 1 (nodetool removenode: the others stream its ranges' data among themselves). Then its state
# dir is deleted.
cluster_remove_node() {
	((NODE_ID > CLUSTER_NODES)) ||
		die "cluster remove-node: node $NODE_ID is one of the $CLUSTER_NODES nodes cluster start makes (CQLSEQ_CLUSTER_NODES);" \
			"remove-node takes out a node beyond them, such as one add-node added"
	((CLUSTER_JMX_BASE > 0)) || die "cluster remove-node runs nodetool, which needs JMX; CQLSEQ_CLUSTER_JMX_PORT is 0"
	local t0 pid line id t1
	t0=$(now)
	pid=$(running_pid)
	if [[ -n $pid ]]; then
		[[ $(proc_state "$pid") != T ]] ||
			die "${PFX}the node (pid $pid) is frozen (SIGSTOP); send it SIGCONT (kill -CONT $pid) first"
		cql_answers "$ADDR" "$NATIVE_PORT" ||
			die "${PFX}runs (pid $pid) but does not answer CQL (starting or stuck); it cannot be decommissioned now"
		say "${PFX}decommissioning: it streams its data to the nodes that take over its ranges, then leaves the ring"
		t1=$(now)
		(node_nodetool decommission) 9>&- || die_with_logs "${PFX}nodetool decommission failed"
		say "${PFX}decommissioned in $(since "$t1")"
		node_stop
	else
		line=$(ring_line "$ADDR") || die "cluster remove-node: node 1 did not give its ring (is the cluster running?)"
		if [[ -n $line ]]; then
			id=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^[0-9a-f]+-[0-9a-f]+-[0-9a-f]+-[0-9a-f]+-[0-9a-f]+$/) print $i }' <<<"$line")
			[[ -n $id ]] || die "cluster remove-node: no host ID in node 1's ring line '$line'"
			say "${PFX}not running; node 1 removes it from the ring (host ID $id): $line"
			t1=$(now)
			(use_cluster_node 1 && node_nodetool removenode "$id") 9>&- || die "${PFX}nodetool removenode $id (on node 1) failed"
			say "${PFX}removed from the ring in $(since "$t1")"
		else
			say "${PFX}not running and not in node 1's ring"
		fi
	fi
	wait_ring "$ADDR" gone || die "${PFX}node 1's ring still lists it ${START_TIMEOUT}s later: '${RING_LINE:-}'"
	rm -rf "$NODE_DIR"
	say "${PFX}node $NODE_ID removed in $(since "$t0"); node 1's ring no longer lists it; the cluster is $(cluster_hosts)"
}

# Long enough for a whole stop and start of every node there is, and one more.
cluster_lock_wait() {
	local n
	n=$(cluster_ids | wc -l)
	echo $(((n + 1) * (START_TIMEOUT + STOP_TIMEOUT) + 120))
}

cluster_main() {
	local cmd=${1:-}
	[[ $# -gt 0 ]] && shift
	validate_cluster
	use_cluster_node 1 # for the lock file
	case $cmd in
	start) take_lock "$(cluster_lock_wait)"; cluster_start ;;
	stop) take_lock "$(cluster_lock_wait)"; cluster_stop ;;
	restart) take_lock "$(cluster_lock_wait)"; cluster_stop; cluster_start ;;
	wipe) take_lock "$(cluster_lock_wait)"; cluster_wipe ;;
	status) cluster_status ;;
	hosts) cluster_hosts ;;
	pid) use_node_arg "$@"; node_pid ;;
	kill) use_node_arg "$@"; shift; cluster_kill "$@" ;;
	start-node) use_node_arg "$@"; take_lock "$(cluster_lock_wait)"; node_start ;;
	stop-node) use_node_arg "$@"; take_lock "$(cluster_lock_wait)"; node_stop ;;
	restart-node) use_node_arg "$@"; take_lock "$(cluster_lock_wait)"; node_stop; node_start ;;
	add-node) [[ $# -eq 0 ]] || die "cluster add-node takes no argument: the node is one past the highest there is"
		take_lock "$(cluster_lock_wait)"; cluster_add_node ;;
	remove-node) use_node_arg "$@"; take_lock "$(cluster_lock_wait)"; cluster_remove_node ;;
	logs) use_node_arg "$@"; shift; node_logs "$@" ;;
	nodetool) use_node_arg "$@"; shift; node_nodetool "$@" ;;
	-h | --help | help | "") usage; [[ -n $cmd ]] || exit 2 ;;
	*) usage >&2; exit 2 ;;
	esac
}

# ---------------------------------------------------------------- commands

usage() {
	cat <<-EOF
		usage: $0 start|stop|restart|status|pid|logs [N]|nodetool ARGS...|wipe
		       $0 cluster start|stop|restart|status|hosts|wipe|add-node
		       $0 cluster pid I|kill I [KILL|STOP|CONT]|start-node I|stop-node I|restart-node I|remove-node I
		       $0 cluster logs I [N]|nodetool I ARGS...
		single node: 127.0.0.1, state dir $SINGLE_DIR (CQLSEQ_CASSANDRA_DIR)
		cluster: $CLUSTER_NODES nodes (CQLSEQ_CLUSTER_NODES) on $(cluster_hosts), state dir $CLUSTER_DIR (CQLSEQ_CLUSTER_DIR)
		see $SCRIPT_DIR/README.md
	EOF
}

main() {
	local cmd=${1:-}
	[[ $# -gt 0 ]] && shift
	validate_common
	if [[ $cmd == cluster ]]; then
		cluster_main "$@"
		return
	fi
	validate_single
	use_single
	case $cmd in
	start) take_lock $((START_TIMEOUT + STOP_TIMEOUT + 120)); node_start ;;
	stop) take_lock $((START_TIMEOUT + STOP_TIMEOUT + 120)); node_stop ;;
	restart) take_lock $((START_TIMEOUT + STOP_TIMEOUT + 120)); node_stop; node_start ;;
	wipe)
		take_lock $((START_TIMEOUT + STOP_TIMEOUT + 120))
		node_stop
		rm -rf "$DATA_DIR" "$LOG_DIR" "$CONF_DIR" "$TMP_DIR"
		say "wiped data, logs and conf under $NODE_DIR (jars kept)"
		;;
	status)
		# Exit 1 only when the node does not run (frozen or still starting is 0, as always).
		local rc=0
		node_status || rc=$?
		((rc != 1)) || return 1
		;;
	pid) node_pid ;;
	logs) node_logs "$@" ;;
	nodetool) node_nodetool "$@" ;;
	-h | --help | help) usage ;;
	*) usage >&2; exit 2 ;;
	esac
}

main "$@"
