package cqlseqx_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gocql/gocql"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/scylladb/go-reflectx"
	"github.com/scylladb/gocqlx/v3"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// On the cluster too, cqlseqx.Scan on a session whose mapper is not
// gocqlx's default reads what gocqlx's Select reads on that session.
func TestClusterScanWithSessionMapper(t *testing.T) {
	onCluster(t)
	admin, err := cqlseqtest.ConnectCluster(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ks := fmt.Sprintf("xmapper_%d", time.Now().UnixNano())
	cqlseqtest.Exec(t, admin,
		"CREATE KEYSPACE "+ks+" WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 2}",
		"CREATE TABLE "+ks+".mapped (p int, c int, userid int, v text, PRIMARY KEY (p, c))")
	defer admin.Query("DROP KEYSPACE IF EXISTS " + ks).Exec()
	table := ks + ".mapped"
	if err := cqlseqtest.Seed(context.Background(), admin, "INSERT INTO "+table+" (p, c, userid, v) VALUES (?, ?, ?, ?)", 600, 8,
		func(i int) []any { return []any{i / 3, i % 3, 1000 + i, fmt.Sprint("v", i%7)} }); err != nil {
		t.Fatal(err)
	}
	session := func(t *testing.T, m *reflectx.Mapper) gocqlx.Session {
		c := gocql.NewCluster(cqlseqtest.ClusterHosts()...)
		c.Timeout, c.ConnectTimeout = 20*time.Second, 10*time.Second
		c.Consistency = gocql.Quorum
		s, err := gocqlx.WrapSession(c.CreateSession())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		s.Mapper = m
		return s
	}
	t.Run("lower-case mapper", func(t *testing.T) {
		s := session(t, reflectx.NewMapperFunc("db", strings.ToLower))
		want, got := scanAndSelect(t, s, table, func(r lowerRow) (int, int) { return r.P, r.C }, cqlseq.WithParallelism(6), cqlseq.WithFetchSize(40))
		if diff := gocmp.Diff(want, got); diff != "" || len(got) != 600 || got[0].UserID == 0 {
			t.Fatalf("%d rows (-Select +Scan):\n%s", len(got), diff)
		}
	})
	t.Run("json mapper", func(t *testing.T) {
		s := session(t, reflectx.NewMapperFunc("json", reflectx.CamelToSnakeASCII))
		want, got := scanAndSelect(t, s, table, func(r jsonRow) (int, int) { return r.P, r.C }, cqlseq.WithParallelism(6))
		if diff := gocmp.Diff(want, got); diff != "" || len(got) != 600 || got[0].Value == "" {
			t.Fatalf("%d rows (-Select +Scan):\n%s", len(got), diff)
		}
	})
}
