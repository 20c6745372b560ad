"""The Python peers of cqlseq's benchmarks.

Two contenders read the data sets of BenchmarkRead (bench/data.go: the same
tables, the same columns, the same statement) at the same fetch sizes
(bench/bench_test.go), and print Go's benchmark format under the names the Go
benchmarks use, so that cmd/report and benchstat take them for two more
contenders of the same benchmark:

    BenchmarkRead/set=small/fetch=1000/impl=async-cassandra-2  1  ... ns/op  ... rows/s ...

    async-cassandra   async-cassandra's AsyncCassandraSession.execute_stream,
                      rows taken with `async for`
    cassandra-driver  the driver's own paging: `for row in` the ResultSet of
                      the query (Session.execute_async(...).result(), which
                      is Session.execute keeping the future, to count
                      pages); it fetches each next page when the current one
                      is used up

Each library connects the way its README shows, with its defaults (the
driver's named tuple rows, consistency LOCAL_ONE, its own protocol
negotiation). A row arrives as the library hands it, every column decoded
into a Python object (int, str, datetime, float, bool); the consumer does
what the Go benchmarks' consumer does with a row: counts it, adds its number
(bucket and id) and the length of its texts. After each read the row count,
the sum of the row numbers and the text length are checked against what was
seeded; a mismatch fails the benchmark.

Each read is timed from the call that sends the query to the end of the
loop, after a garbage collection outside the timer, on sessions that are
connected and warmed up by a read of every data set first.

bench/run.sh runs this program once per round, in a virtual environment
with requirements.txt:

    peers.py [-bench REGEX] [-round N] [-procs N]
    peers.py -describe

-bench narrows the cases as `go test -bench` does (the pattern is split at
slashes, each part matched against the same level of the name); -round N
reverses the order of the two contenders in even rounds; -procs N is the
-N suffix of the names (the Go benchmarks' GOMAXPROCS). -describe prints
configuration lines for the head of raw.txt: the Python, the libraries and
the protocol they settle on with the cluster.

The hosts are those of the Go benchmarks: CQLSEQ_HOSTS (host or host:port,
comma-separated), or else 127.0.0.1 on CQLSEQ_CASSANDRA_PORT (9042).
"""

import argparse
import asyncio
import gc
import importlib.metadata
import os
import platform
import re
import sys
import threading
import time
from dataclasses import dataclass

from async_cassandra import AsyncCluster, StreamConfig
from cassandra.cluster import Cluster
from cassandra.query import SimpleStatement

# The data sets of bench/data.go (BenchSmall, BenchLarge) and the fetch
# sizes of bench/bench_test.go (FetchSizes). bench/peers_test.go checks that
# these lines still say what the Go code says.
FETCH_SIZES = (100, 500, 1000, 5000, 10000)
KINDS = ("click", "view", "buy", "share")


@dataclass(frozen=True)
class DataSet:
    """A table of the benchmarks. Row i has bucket i // partition, id
    i % partition, kind KINDS[i % 4] and a text of text_len characters in
    column text_col."""

    name: str
    table: str
    cols: str
    rows: int
    partition: int
    text_col: int
    text_len: int

    @property
    def select(self):
        return "SELECT " + self.cols + " FROM " + self.table

    def want(self):
        """The rows, the sum of the row numbers and the text length a
        complete read gives."""
        n = self.rows
        kinds = sum(len(KINDS[i % len(KINDS)]) for i in range(n))
        return n, n * (n - 1) // 2, kinds + n * self.text_len


SMALL = DataSet("small", "cqlseq_bench.small_200000", "bucket, id, kind, at, score, done, payload", 200_000, 1000, 6, 48)
LARGE = DataSet("large", "cqlseq_bench.large_40000", "bucket, id, kind, at, body", 40_000, 100, 4, 4000)
SETS = (SMALL, LARGE)


@dataclass
class Stats:
    rows: int = 0
    keys: int = 0  # sum of the row numbers read
    text: int = 0  # text length read
    pages: int = 0  # pages received: the page requests sent
    first_row_ns: int = 0  # from the call to the first row in hand
    elapsed_ns: int = 0


def hosts_and_port():
    """The contact points and the port, as the Go benchmarks find them."""
    env = [h.strip() for h in os.environ.get("CQLSEQ_HOSTS", "").split(",") if h.strip()]
    if not env:
        return ["127.0.0.1"], int(os.environ.get("CQLSEQ_CASSANDRA_PORT") or 9042)
    hosts, ports = [], set()
    for h in env:
        m = re.fullmatch(r"\[(.+)\]:(\d+)|([^:]+):(\d+)|(.+)", h)
        host = m.group(1) or m.group(3) or m.group(5)
        hosts.append(host)
        ports.add(int(m.group(2) or m.group(4) or 9042))
    if len(ports) != 1:
        sys.exit(f"peers.py: the hosts of CQLSEQ_HOSTS={os.environ['CQLSEQ_HOSTS']} listen on different ports; the Python driver takes one")
    return hosts, ports.pop()


class Env:
    """The sessions the contenders read with: the driver's, and
    async-cassandra's (over a driver session of its own), on an event loop
    that runs only while an async-cassandra read does."""

    def __init__(self):
        hosts, port = hosts_and_port()
        self.cluster = Cluster(contact_points=hosts, port=port)
        self.session = self.cluster.connect()
        self.loop = asyncio.new_event_loop()
        self.acluster = AsyncCluster(contact_points=hosts, port=port)
        self.asession = self.loop.run_until_complete(self.acluster.connect())

    def close(self):
        # async-cassandra's own close waits 5 s after the session's shutdown
        # and 5 s after the cluster's; nothing is measured any more, so its
        # driver cluster is shut down directly.
        self.acluster._cluster.shutdown()
        self.loop.close()
        self.cluster.shutdown()


def read_driver(env, s, fetch):
    """cassandra-driver: a SimpleStatement with the fetch size, its
    ResultSet iterated; the driver fetches the next page when a page is used
    up. A callback on the query's future counts the pages. It runs once a
    page on the driver's thread, just after the page is handed over, so the
    count is read once the callback of the last page has run."""
    st = Stats()
    per, txt = s.partition, s.text_col
    rows = keys = text = 0
    last = threading.Event()

    def page(_rows):
        st.pages += 1
        if not future.has_more_pages:
            last.set()

    start = time.perf_counter_ns()
    future = env.session.execute_async(SimpleStatement(s.select, fetch_size=fetch))
    future.add_callback(page)
    for row in future.result():
        if rows == 0:
            st.first_row_ns = time.perf_counter_ns() - start
        rows += 1
        keys += row[0] * per + row[1]
        text += len(row[2]) + len(row[txt])
    st.elapsed_ns = time.perf_counter_ns() - start
    st.rows, st.keys, st.text = rows, keys, text
    if not last.wait(10):
        st.pages = -1  # fails the check
    return st


async def stream_async(env, s, fetch):
    st = Stats()
    per, txt = s.partition, s.text_col
    rows = keys = text = 0
    start = time.perf_counter_ns()
    result = await env.asession.execute_stream(s.select, stream_config=StreamConfig(fetch_size=fetch))
    async with result:
        async for row in result:
            if rows == 0:
                st.first_row_ns = time.perf_counter_ns() - start
            rows += 1
            keys += row[0] * per + row[1]
            text += len(row[2]) + len(row[txt])
    st.elapsed_ns = time.perf_counter_ns() - start
    st.rows, st.keys, st.text, st.pages = rows, keys, text, result.page_number
    return st


def read_async(env, s, fetch):
    """async-cassandra: execute_stream with a StreamConfig of the fetch
    size, its rows taken with `async for`; it requests the next page when a
    page is used up."""
    return env.loop.run_until_complete(asyncio.wait_for(stream_async(env, s, fetch), timeout=600))


CONTENDERS = (("async-cassandra", read_async), ("cassandra-driver", read_driver))


def split_pattern(pattern):
    """Splits a -bench pattern at the slashes outside brackets and
    parentheses, as go test does."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 1
        elif c in "[(":
            depth += 1
        elif c in "])":
            depth -= 1
        elif c == "/" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return [re.compile(p) for p in parts]


def matches(filters, name):
    """Whether the benchmark called name runs under the -bench filters: each
    level of the name matches the filter of that level, if any."""
    return all(f.search(level) for f, level in zip(filters, name.split("/")))


def default_procs():
    """The processors a Go program sees (when run.sh cannot tell its
    GOMAXPROCS from the Go benchmarks' output)."""
    if os.environ.get("GOMAXPROCS", "").isdigit():
        return int(os.environ["GOMAXPROCS"])
    return len(os.sched_getaffinity(0))


def fmt(v):
    """A figure as Go's benchmark output prints it: fewer decimals the
    larger it is."""
    a = abs(v)
    if a == 0 or a >= 999.95:
        return f"{v:.0f}"
    if a >= 99.995:
        return f"{v:.1f}"
    if a >= 9.9995:
        return f"{v:.2f}"
    return f"{v:.3f}"


def result_line(name, procs, st):
    """The benchmark line of one read: the figures of BenchmarkRead that
    mean the same for Python (bench_test.go's benchRead)."""
    suffix = f"-{procs}" if procs > 1 else ""
    figures = [
        (st.elapsed_ns, "ns/op"),
        (st.rows / (st.elapsed_ns / 1e9), "rows/s"),
        (st.elapsed_ns / st.rows, "ns/row"),
        (st.pages, "pages/op"),
        (st.first_row_ns, "first-row-ns"),
    ]
    return f"Benchmark{name}{suffix}\t{1:8d}" + "".join(f"\t{fmt(v)} {unit}" for v, unit in figures)


def check(s, st):
    """An error message if the read did not return exactly the seeded rows."""
    rows, keys, text = s.want()
    if (st.rows, st.keys, st.text) != (rows, keys, text):
        return f"read {st.rows} rows (key sum {st.keys}, {st.text} characters of text), want {rows} ({keys}, {text})"
    if st.pages <= 0:
        return f"counted {st.pages} pages"
    return None


def describe():
    """Configuration lines for the head of raw.txt."""
    from cassandra.cython_deps import HAVE_CYTHON

    env = Env()
    try:
        version = env.session.execute("SELECT release_version FROM system.local").one()[0]
        proto = env.cluster.protocol_version
        reactor = env.cluster.connection_class.__name__.removesuffix("Connection").lower()
    finally:
        env.close()
    v = importlib.metadata.version
    ext = "C extensions" if HAVE_CYTHON else "pure Python, no C extensions"
    print(f"python: {platform.python_version()} ({platform.python_implementation()})")
    print(f"python-peers: async-cassandra {v('async-cassandra')}, cassandra-driver {v('cassandra-driver')} "
          f"({ext}, {reactor} event loop); protocol v{proto} with Cassandra {version}")


def main():
    p = argparse.ArgumentParser(description="The Python peers of cqlseq's benchmarks (see the module doc).")
    p.add_argument("-bench", default=".", help="run the cases whose names match, as go test -bench does")
    p.add_argument("-round", type=int, default=1, help="the round: even rounds run the contenders in reverse order")
    p.add_argument("-procs", type=int, default=0, help="the -N suffix of benchmark names (default: the processors)")
    p.add_argument("-describe", action="store_true", help="print configuration lines for raw.txt and exit")
    args = p.parse_args()
    if args.describe:
        describe()
        return 0
    filters = split_pattern(args.bench)
    procs = args.procs or default_procs()
    contenders = CONTENDERS if args.round % 2 else CONTENDERS[::-1]
    cases = []
    for fetch in FETCH_SIZES:
        for s in SETS:
            for impl, read in contenders:
                name = f"Read/set={s.name}/fetch={fetch}/impl={impl}"
                if matches(filters, "Benchmark" + name):
                    cases.append((name, s, fetch, read))
    if not cases:
        return 0

    env = Env()
    failed = False
    try:
        # Warm up: a read of every set the cases read, by each contender.
        for s in SETS:
            if any(c[1] is s for c in cases):
                for impl, read in contenders:
                    if err := check(s, read(env, s, 5000 if s is SMALL else 1000)):
                        print(f"--- FAIL: warming up {impl} on {s.table}: {err}", flush=True)
                        return 1
        for name, s, fetch, read in cases:
            gc.collect()
            st = read(env, s, fetch)
            if err := check(s, st):
                print(f"--- FAIL: Benchmark{name}\n    peers.py: {err}", flush=True)
                failed = True
                continue
            print(result_line(name, procs, st), flush=True)
    finally:
        env.close()
    if failed:
        print("FAIL", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
