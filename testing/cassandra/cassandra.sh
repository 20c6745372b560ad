#!/usr/bin/env bash
# cassandra.sh: one throwaway Apache Cassandra node on 127.0.0.1 for cqlseq's integration tests.
#
#   cassandra.sh start | stop | restart | status | pid | logs [N] | nodetool ARGS... | wipe
#
# There is no Docker and no download site here, only Maven Central, so Cassandra is run straight from
# its Maven jars (cassandra-all + runtime dependencies) as a child JVM on JDK 17. Everything the node
# needs or writes lives in one state directory outside the source tree. See README.md for the details
# and for which start-up facts were verified.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

STATE_DIR=${CQLSEQ_CASSANDRA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cqlseq/cassandra}
VERSION=${CQLSEQ_CASSANDRA_VERSION:-5.0.8}
NATIVE_PORT=${CQLSEQ_CASSANDRA_PORT:-9042}
STORAGE_PORT=${CQLSEQ_CASSANDRA_STORAGE_PORT:-7000}
# JMX only serves nodetool (flush/compact in tests). Cassandra opens it only when
# cassandra.jmx.local.port is set; 0 leaves it off so no JMX port can ever clash.
JMX_PORT=${CQLSEQ_CASSANDRA_JMX_PORT:-7199}
HEAP=${CQLSEQ_CASSANDRA_HEAP:-1g}
START_TIMEOUT=${CQLSEQ_CASSANDRA_START_TIMEOUT:-180}
STOP_TIMEOUT=${CQLSEQ_CASSANDRA_STOP_TIMEOUT:-30}
MAVEN_REPO=${CQLSEQ_MAVEN_REPO:-}
EXTRA_JVM_OPTS=${CQLSEQ_CASSANDRA_JVM_OPTS:-}

LIB_DIR=$STATE_DIR/lib/$VERSION
CONF_DIR=$STATE_DIR/conf
DATA_DIR=$STATE_DIR/data
LOG_DIR=$STATE_DIR/logs
TMP_DIR=$STATE_DIR/tmp
PID_FILE=$STATE_DIR/cassandra.pid
RUN_FILE=$STATE_DIR/run.env
LOCK_FILE=$STATE_DIR/lock
SYSTEM_LOG=$LOG_DIR/system.log
STDOUT_LOG=$LOG_DIR/stdout.log
READY_LINE="Starting listening for CQL clients"

say() { printf 'cassandra.sh: %s\n' "$*"; }
# Messages are built from several arguments; "\n" in them starts a new line (without the joining space).
err() {
	local msg="$*"
	printf 'cassandra.sh: ERROR: %b\n' "${msg//\\n /\\n}" >&2
}
die() { err "$*"; exit 1; }

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

now() { printf '%s' "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1fs", b - a }'; }

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

validate_env() {
	local v env
	for v in NATIVE_PORT:CQLSEQ_CASSANDRA_PORT STORAGE_PORT:CQLSEQ_CASSANDRA_STORAGE_PORT JMX_PORT:CQLSEQ_CASSANDRA_JMX_PORT; do
		env=${v#*:} v=${v%%:*}
		if ! is_uint "${!v}" || ((${!v} > 65535)); then die "$env='${!v}' is not a port number"; fi
	done
	((NATIVE_PORT > 0 && STORAGE_PORT > 0)) || die "native and storage ports must be > 0"
	[[ $NATIVE_PORT != "$STORAGE_PORT" && $NATIVE_PORT != "$JMX_PORT" && $STORAGE_PORT != "$JMX_PORT" ]] ||
		die "native ($NATIVE_PORT), storage ($STORAGE_PORT) and JMX ($JMX_PORT) ports must differ"
	is_uint "$START_TIMEOUT" || die "CQLSEQ_CASSANDRA_START_TIMEOUT='$START_TIMEOUT' is not a number of seconds"
	is_uint "$STOP_TIMEOUT" || die "CQLSEQ_CASSANDRA_STOP_TIMEOUT='$STOP_TIMEOUT' is not a number of seconds"
	[[ $HEAP =~ ^[0-9]+[mMgG]$ ]] || die "CQLSEQ_CASSANDRA_HEAP='$HEAP' must look like 1g or 768m"
	[[ $VERSION =~ ^[0-9A-Za-z.-]+$ ]] || die "CQLSEQ_CASSANDRA_VERSION='$VERSION' is not a version"
}

# ---------------------------------------------------------------- process bookkeeping

# Third field of /proc/PID/stat: R/S/D running or sleeping, T stopped (SIGSTOP), Z zombie.
proc_state() { sed -n 's/^.*) \([A-Za-z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null || true; }

# Only a live JVM started from this state dir counts: pids get reused, and a JVM that died while
# this script was its parent stays a zombie (kill -0 still succeeds) until the script exits.
is_our_jvm() {
	local pid=$1 state
	[[ -n $pid ]] && is_uint "$pid" || return 1
	state=$(proc_state "$pid")
	[[ -n $state && $state != Z && $state != X ]] || return 1
	proc_has_arg "$pid" "-Dcassandra.config=file://$CONF_DIR/cassandra.yaml"
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

# A CQL-level answer, not just an open port: send a protocol v4 OPTIONS frame and expect the
# SUPPORTED response header (version 0x84, flags 0, stream 1, opcode 0x06).
cql_answers() {
	local port=$1 hdr
	# shellcheck disable=SC2016 # $1 is expanded by the inner bash
	hdr=$(timeout 5 bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf "\x04\x00\x00\x01\x05\x00\x00\x00\x00" >&3
		head -c 5 <&3 | od -An -tx1 | tr -d " \n"
	' _ "$port" 2>/dev/null) || return 1
	[[ $hdr == 8400000106 ]]
}

# Prints who listens on a TCP port (empty when free).
port_holder() {
	local port=$1 out
	if command -v ss >/dev/null 2>&1; then
		out=$(ss -Hltnp "sport = :$port" 2>/dev/null || true)
		[[ -n $out ]] && printf '%s' "$out"
	elif (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		printf 'something accepts TCP connections on 127.0.0.1:%s' "$port"
	fi
	return 0
}

# Checked before the JVM starts: Cassandra would otherwise die half-way through start-up
# (or, for the native port, a test could silently talk to some other server).
check_port_free() {
	local port=$1 what=$2 var=$3 holder
	holder=$(port_holder "$port")
	[[ -z $holder ]] && return 0
	die "$what port $port is already in use by something that is not this script's node:\n$holder\n" \
		"Stop that process, or choose another port with $var=<port>${4:-}."
}

# ---------------------------------------------------------------- prerequisites

java_major() { "$1" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1; }

# Cassandra 5.0 supports JDK 11 and 17; we pin 17. JDK 24+ (e.g. Temurin 25 here) refuses the
# SecurityManager Cassandra installs at start-up, so "whatever java is first" is not good enough.
find_java() {
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
	mkdir -p "$STATE_DIR/lib" "$LOG_DIR"
	local tmp t0 mvn_log=$LOG_DIR/mvn.log n
	rm -rf "$STATE_DIR/lib/.fetch-$VERSION".* # left by an interrupted fetch; we hold the lock
	tmp=$(mktemp -d "$STATE_DIR/lib/.fetch-$VERSION.XXXXXX")
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
	say "fetched $n jars in $(since "$t0")"
}

# ---------------------------------------------------------------- configuration

write_conf() {
	mkdir -p "$CONF_DIR/triggers" "$DATA_DIR"/{data,commitlog,saved_caches,hints,cdc_raw} "$LOG_DIR" "$TMP_DIR"
	# Every key here was checked against org.apache.cassandra.config.Config of 5.0.8 (5.0 rejects
	# unknown keys at start-up). 5.0 names with units (…_timeout: 10000ms, …: 64MiB), not *_in_ms.
	cat >"$CONF_DIR/cassandra.yaml" <<-EOF
		# Written by testing/cassandra/cassandra.sh on every launch; edits here are overwritten.
		cluster_name: cqlseq-test
		# One token at 0: no token allocation, which would otherwise wait for ring_delay.
		num_tokens: 1
		initial_token: 0
		partitioner: org.apache.cassandra.dht.Murmur3Partitioner
		endpoint_snitch: SimpleSnitch
		dynamic_snitch: false
		seed_provider:
		  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
		    parameters:
		      - seeds: "127.0.0.1:$STORAGE_PORT"
		# Both default to a hostname lookup; pin them to loopback.
		listen_address: 127.0.0.1
		rpc_address: 127.0.0.1
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
		hinted_handoff_enabled: false
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
		# Single-node test start-up: nothing to gossip with, nothing to wait for.
		-Dcassandra.skip_wait_for_gossip_to_settle=0
		-Dcassandra.ring_delay_ms=100
		-Dcassandra.load_ring_state=false
		-Dcassandra.superuser_setup_delay_ms=0
		# On SIGTERM the node otherwise sleeps 2s to let (non-existent) peers hear it is leaving.
		-Dcassandra.shutdown_announce_in_ms=100
		# Only to silence a start-up warning about the directory being missing.
		"-Dcassandra.triggers_dir=$CONF_DIR/triggers"
		# Tests need no durability across machine crashes: no fsync. A kill -9'ed JVM still loses
		# nothing, as its writes are in the page cache. (Not -Dcassandra.unsafesystem=true: it skips
		# the flush of schema changes, so a kill -9 loses every keyspace and table created since start.)
		-Dcassandra.skip_sync=true
	)
	if ((JMX_PORT > 0)); then
		JVM_OPTS+=("-Dcassandra.jmx.local.port=$JMX_PORT")
	fi
	if [[ -n $EXTRA_JVM_OPTS ]]; then
		# Word-splitting is the point here: a space-separated list of extra flags.
		# shellcheck disable=SC2206
		JVM_OPTS+=($EXTRA_JVM_OPTS)
	fi
}

# ---------------------------------------------------------------- start / stop

take_lock() {
	mkdir -p "$STATE_DIR"
	exec 9>"$LOCK_FILE"
	local wait=$((START_TIMEOUT + STOP_TIMEOUT + 120))
	if ! flock -n 9; then
		say "another cassandra.sh is starting or stopping this node; waiting for it (up to ${wait}s)"
		flock -w "$wait" 9 || die "gave up waiting for the lock $LOCK_FILE after ${wait}s"
	fi
}

# Waits until the node with this pid logged that it listens for CQL and answers a CQL OPTIONS.
# $4 = child when this shell launched it (then its exit status can be had).
wait_ready() {
	local pid=$1 port=$2 t0=$3 child=${4:-} deadline=$((SECONDS + START_TIMEOUT)) next_note=$((SECONDS + 30)) rc
	while :; do
		if ! is_our_jvm "$pid"; then
			rc=unknown
			if [[ $child == child ]]; then rc=0 && { wait "$pid" 2>/dev/null || rc=$?; }; fi
			rm -f "$PID_FILE" "$RUN_FILE"
			die_with_logs "the Cassandra JVM (pid $pid) died during start-up (exit status $rc)" \
				"after $(since "$t0")."
		fi
		if grep -qF "$READY_LINE" "$SYSTEM_LOG" 2>/dev/null && cql_answers "$port"; then
			return 0
		fi
		if ((SECONDS >= deadline)); then
			err "Cassandra did not accept CQL on 127.0.0.1:$port within ${START_TIMEOUT}s" \
				"(CQLSEQ_CASSANDRA_START_TIMEOUT); killing it (pid $pid)."
			kill_pid "$pid" 10 >/dev/null
			rm -f "$PID_FILE" "$RUN_FILE"
			show_node_logs
			exit 1
		fi
		if ((SECONDS >= next_note)); then
			say "still starting after $(since "$t0"); last log line: $(tail -n 1 "$SYSTEM_LOG" 2>/dev/null | cut -c1-160)"
			next_note=$((SECONDS + 30))
		fi
		sleep 0.5
	done
}

# SIGTERM (Cassandra drains and flushes on it), then SIGKILL. SIGCONT too, because a node frozen
# with SIGSTOP by a fault test would otherwise never act on the SIGTERM.
kill_pid() {
	local pid=$1 grace=$2
	kill -TERM "$pid" 2>/dev/null || true
	kill -CONT "$pid" 2>/dev/null || true
	if ! wait_gone "$pid" "$grace"; then
		say "pid $pid still alive after ${grace}s; sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		wait_gone "$pid" 20
	fi
}

cmd_start() {
	local t0 pid
	t0=$(now)
	pid=$(running_pid)
	if [[ -n $pid ]]; then
		# shellcheck disable=SC1090
		source "$RUN_FILE" 2>/dev/null || true
		if [[ ${RUN_NATIVE_PORT:-} != "$NATIVE_PORT" || ${RUN_VERSION:-} != "$VERSION" ]]; then
			die "a node from this state dir is already running (pid $pid, Cassandra ${RUN_VERSION:-?} on port" \
				"${RUN_NATIVE_PORT:-?}), but Cassandra $VERSION on port $NATIVE_PORT was asked for; run '$0 restart'."
		fi
		if [[ $(proc_state "$pid") == T ]]; then
			die "the node (pid $pid) is frozen (SIGSTOP); send it SIGCONT (kill -CONT $pid) or run '$0 stop'."
		fi
		if cql_answers "$NATIVE_PORT"; then
			say "reusing the running Cassandra ${RUN_VERSION:-$VERSION} node: pid $pid, CQL on 127.0.0.1:$NATIVE_PORT (state dir $STATE_DIR)"
			return 0
		fi
		say "node pid $pid is alive but does not answer CQL yet; waiting for it"
		wait_ready "$pid" "$NATIVE_PORT" "$t0"
		say "Cassandra ready on 127.0.0.1:$NATIVE_PORT (pid $pid) after waiting $(since "$t0")"
		return 0
	fi
	if [[ -f $PID_FILE ]]; then
		pid=$(<"$PID_FILE")
		# A node killed a moment ago may still be releasing its ports.
		if is_uint "$pid" && [[ -d /proc/$pid && ! -s /proc/$pid/cmdline ]]; then
			wait_gone "$pid" 30 || true
		fi
		say "removing stale pid file (pid $pid is not running)"
		rm -f "$PID_FILE" "$RUN_FILE"
	fi

	find_java
	fetch_jars
	check_port_free "$NATIVE_PORT" "native (CQL)" CQLSEQ_CASSANDRA_PORT
	check_port_free "$STORAGE_PORT" "storage (internode)" CQLSEQ_CASSANDRA_STORAGE_PORT
	((JMX_PORT > 0)) && check_port_free "$JMX_PORT" "JMX" CQLSEQ_CASSANDRA_JMX_PORT " (0 turns JMX off)"
	write_conf
	jvm_options

	# One log per run, so the readiness check and failure tails only see this run.
	[[ -f $SYSTEM_LOG ]] && mv -f "$SYSTEM_LOG" "$SYSTEM_LOG.prev"
	[[ -f $STDOUT_LOG ]] && mv -f "$STDOUT_LOG" "$STDOUT_LOG.prev"

	local t_jvm
	t_jvm=$(now)
	# setsid: own session, so the node outlives this script and the caller's Ctrl-C/SIGHUP.
	# 9>&- : the JVM must not inherit the lock fd, or it would hold the lock for its lifetime.
	# The subshell execs setsid which (not being a group leader) execs nohup, which execs java,
	# so $! is the JVM's pid.
	(cd "$STATE_DIR" && exec setsid nohup "$JAVA" "${JVM_OPTS[@]}" -cp "$CONF_DIR:$LIB_DIR/*" \
		org.apache.cassandra.service.CassandraDaemon) </dev/null >"$STDOUT_LOG" 2>&1 9>&- &
	pid=$!
	printf '%s\n' "$pid" >"$PID_FILE"
	printf 'RUN_NATIVE_PORT=%s\nRUN_STORAGE_PORT=%s\nRUN_JMX_PORT=%s\nRUN_VERSION=%s\nRUN_HEAP=%s\nRUN_STARTED=%q\n' \
		"$NATIVE_PORT" "$STORAGE_PORT" "$JMX_PORT" "$VERSION" "$HEAP" "$(date -Is)" >"$RUN_FILE"
	# Give the exec chain a moment so is_our_jvm sees java's command line, not the subshell's.
	local _
	for _ in $(seq 50); do
		proc_has_arg "$pid" org.apache.cassandra.service.CassandraDaemon && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	say "started Cassandra $VERSION (pid $pid, java $JAVA, heap $HEAP); waiting for CQL on 127.0.0.1:$NATIVE_PORT (log: $SYSTEM_LOG)"
	wait_ready "$pid" "$NATIVE_PORT" "$t_jvm" child
	say "Cassandra $VERSION ready on 127.0.0.1:$NATIVE_PORT (pid $pid): JVM start to CQL $(since "$t_jvm"), whole command $(since "$t0")"
}

cmd_stop() {
	local pid t0
	t0=$(now)
	pid=$(running_pid)
	if [[ -z $pid ]]; then
		if [[ -f $PID_FILE ]]; then
			say "not running (removing stale pid file for pid $(<"$PID_FILE"))"
			rm -f "$PID_FILE" "$RUN_FILE"
		else
			say "not running"
		fi
		return 0
	fi
	say "stopping Cassandra (pid $pid)"
	if ! kill_pid "$pid" "$STOP_TIMEOUT"; then
		die "pid $pid survived SIGTERM and SIGKILL"
	fi
	rm -f "$PID_FILE" "$RUN_FILE"
	say "stopped in $(since "$t0")"
}

cmd_status() {
	local pid state
	pid=$(running_pid)
	if [[ -z $pid ]]; then
		echo "not running (state dir $STATE_DIR)"
		return 1
	fi
	# shellcheck disable=SC1090
	source "$RUN_FILE" 2>/dev/null || true
	local port=${RUN_NATIVE_PORT:-$NATIVE_PORT}
	state=$(proc_state "$pid")
	if [[ $state == T ]]; then
		echo "running but frozen (SIGSTOP): pid $pid, Cassandra ${RUN_VERSION:-?}, port $port"
	elif cql_answers "$port"; then
		echo "running: pid $pid, Cassandra ${RUN_VERSION:-?}, CQL answering on 127.0.0.1:$port, since ${RUN_STARTED:-?}"
	else
		echo "running: pid $pid, Cassandra ${RUN_VERSION:-?}, but CQL on 127.0.0.1:$port does not answer (starting or stuck)"
	fi
	return 0
}

cmd_pid() {
	local pid
	pid=$(running_pid)
	[[ -n $pid ]] || { err "not running"; return 1; }
	echo "$pid"
}

cmd_logs() {
	local n=${1:-100}
	is_uint "$n" || die "logs: N must be a number"
	[[ -f $SYSTEM_LOG ]] || die "no log yet at $SYSTEM_LOG"
	tail -n "$n" "$SYSTEM_LOG"
}

cmd_nodetool() {
	local pid
	pid=$(running_pid)
	[[ -n $pid ]] || die "not running"
	# shellcheck disable=SC1090
	source "$RUN_FILE" 2>/dev/null || true
	local jmx=${RUN_JMX_PORT:-$JMX_PORT}
	((jmx > 0)) || die "the node was started with JMX off (CQLSEQ_CASSANDRA_JMX_PORT=0); nodetool needs it"
	find_java
	LIB_DIR=$STATE_DIR/lib/${RUN_VERSION:-$VERSION}
	# user.home: nodetool keeps its command history in ~/.cassandra; keep it in the state dir.
	mkdir -p "$STATE_DIR/nodetool-home" "$CONF_DIR"
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
	exec "$JAVA" -Xmx256m "${JDK17_MODULE_OPTS[@]}" -Djava.net.preferIPv4Stack=true \
		"-Duser.home=$STATE_DIR/nodetool-home" "-Dlogback.configurationFile=file://$CONF_DIR/logback-tools.xml" \
		-cp "$LIB_DIR/*" org.apache.cassandra.tools.NodeTool -h 127.0.0.1 -p "$jmx" "$@"
}

cmd_wipe() {
	cmd_stop
	rm -rf "$DATA_DIR" "$LOG_DIR" "$CONF_DIR" "$TMP_DIR"
	say "wiped data, logs and conf under $STATE_DIR (jars kept)"
}

usage() {
	cat <<-EOF
		usage: $0 start|stop|restart|status|pid|logs [N]|nodetool ARGS...|wipe
		state dir: $STATE_DIR (CQLSEQ_CASSANDRA_DIR)
		see $SCRIPT_DIR/README.md
	EOF
}

main() {
	local cmd=${1:-}
	[[ $# -gt 0 ]] && shift
	validate_env
	case $cmd in
	start) take_lock; cmd_start ;;
	stop) take_lock; cmd_stop ;;
	restart) take_lock; cmd_stop; cmd_start ;;
	wipe) take_lock; cmd_wipe ;;
	status) cmd_status ;;
	pid) cmd_pid ;;
	logs) cmd_logs "$@" ;;
	nodetool) cmd_nodetool "$@" ;;
	-h | --help | help) usage ;;
	*) usage >&2; exit 2 ;;
	esac
}

main "$@"
