package cqlseqgocql_test

import (
	"context"
	"fmt"
	"slices"

	"github.com/gocql/gocql"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/cqlseqgocql"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// examplePlayers connects to the test node with gocql and creates a table
// of seven players; the table is dropped afterwards. An Example prints an
// error it meets and returns: its output then differs from the one wanted
// and it fails, saying why, as log.Fatal would not (it ends the test
// binary). Under go test -short the Examples do not run (see TestMain).
func examplePlayers() (*gocql.Session, string, func(), error) {
	ctx := context.Background()
	admin, err := cqlseqtest.Connect(ctx)
	if err != nil {
		return nil, "", nil, err
	}
	ks, err := cqlseqtest.CreateKeyspace(ctx, admin, "gexample")
	if err != nil {
		admin.Close()
		return nil, "", nil, err
	}
	done := func() {
		cqlseqtest.DropKeyspace(ctx, admin, ks)
		admin.Close()
	}
	stmts := []string{"CREATE TABLE " + ks + ".players (team text, id int, full_name text, PRIMARY KEY (team, id))"}
	for i := 1; i <= 7; i++ {
		stmts = append(stmts, fmt.Sprintf("INSERT INTO %s.players (team, id, full_name) VALUES ('red', %d, 'player %d')", ks, i, i))
	}
	for _, st := range stmts {
		if err := admin.Query(st).Exec(); err != nil {
			done()
			return nil, "", nil, err
		}
	}
	session, err := sharedSession()
	if err != nil {
		done()
		return nil, "", nil, err
	}
	return session, ks + ".players", done, nil
}

func ExampleStream() {
	session, players, done, err := examplePlayers()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()

	type Player struct {
		ID       int
		FullName string // the column full_name, by cqlseq's (gocqlx's) rules
	}
	q := session.Query("SELECT id, full_name FROM "+players+" WHERE team = ?", "red")
	for p, err := range cqlseqgocql.Stream[Player](context.Background(), q, cqlseq.WithFetchSize(3)) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(p.ID, p.FullName)
	}
	// Output:
	// 1 player 1
	// 2 player 2
	// 3 player 3
	// 4 player 4
	// 5 player 5
	// 6 player 6
	// 7 player 7
}

func ExamplePages() {
	session, players, done, err := examplePlayers()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()

	q := session.Query("SELECT id FROM "+players+" WHERE team = ?", "red")
	for page, err := range cqlseqgocql.Pages[int](context.Background(), q, cqlseq.WithFetchSize(3)) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("page", page.Number, page.Rows, "more:", page.Cursor != "")
	}
	// Output:
	// page 1 [1 2 3] more: true
	// page 2 [4 5 6] more: true
	// page 3 [7] more: false
}

func ExampleScan() {
	session, players, done, err := examplePlayers()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()

	type Player struct {
		Team     string
		ID       int
		FullName string
	}
	// A whole table, read by token range in parallel: rows of different
	// ranges interleave, so sort them to print.
	var names []string
	for p, err := range cqlseqgocql.Scan[Player](context.Background(), session, players, cqlseq.WithParallelism(2)) {
		if err != nil {
			fmt.Println(err)
			return
		}
		names = append(names, p.FullName)
	}
	slices.Sort(names)
	fmt.Println(len(names), "players:", names)
	// Output:
	// 7 players: [player 1 player 2 player 3 player 4 player 5 player 6 player 7]
}
